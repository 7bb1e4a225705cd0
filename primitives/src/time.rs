//! Go's time, for tasks and for `select`: [`sleep`], [`sleep_until`] and [`timeout`]
//! futures, Go's [`Timer`] and [`Ticker`], and (in [`chan`](crate::chan)) the timer
//! channels [`after`](crate::chan::after), [`at`](crate::chan::at),
//! [`tick`](crate::chan::tick) and [`never`](crate::chan::never).
//!
//! # One timer facility
//!
//! Every async wait on time (a sleeping task, an async receive or `select_async!` on a timer
//! channel) is an entry in one kind of timer queue: a 4-ary heap with O(log n) insert and
//! cancel, whose cancelled entries are freed at once (`src/timers.rs` says why a heap and
//! not a timing wheel). Each weft [`Scheduler`](crate::sched::Scheduler) has its own queue:
//! its workers fire due timers whenever they look for work, and a parked worker sleeps only
//! until the next deadline (an idle scheduler without timers uses no CPU; with one, it wakes
//! once, at the deadline). Futures polled anywhere else (tokio, `futures::executor`, a
//! thread's `block_on`) use a global queue served by one thread, `weft-timer`, started on
//! first use. Blocking waits need neither: a blocking `recv` or `select!` on a timer channel
//! sleeps until the deadline on its own thread.
//!
//! Timers fire in deadline order, never before their deadline; how late depends on the
//! machine (a futex wake-up, tens of microseconds on a loaded host).
//!
//! # Examples
//!
//! A task that sleeps frees its worker: two sleeping tasks on one worker take one sleep's
//! time, not two.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use weft::sched::Scheduler;
//!
//! let sched = Scheduler::new(1);
//! let start = Instant::now();
//! let a = sched.spawn(weft::time::sleep(Duration::from_millis(50)));
//! let b = sched.spawn(weft::time::sleep(Duration::from_millis(50)));
//! a.join().unwrap();
//! b.join().unwrap();
//! assert!(start.elapsed() >= Duration::from_millis(50));
//! ```

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

pub use crate::chan::timer::{Ticker, Timer};
use crate::timers::Registration;

/// A future that completes once `duration` has passed (zero: on its first poll;
/// `Duration::MAX`: never). Go's `time.Sleep`, for tasks: the task's worker runs other
/// tasks meanwhile.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// weft::sched::Scheduler::new(1).block_on(weft::time::sleep(Duration::from_millis(5)));
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    let mut sleep = Sleep::new(now.checked_add(duration));
    sleep.made_at = Some(now);
    sleep
}

/// A future that completes once `deadline` has passed (one in the past: on its first poll).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let deadline = Instant::now() + Duration::from_millis(5);
/// weft::sched::Scheduler::new(1).block_on(weft::time::sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Some(deadline))
}

/// The future of [`sleep`] and [`sleep_until`]. `Unpin`: it can be stored and polled in
/// place, and [`reset`](Self::reset) for a new deadline.
///
/// Its first poll after [`sleep`] does not read the clock again (as tokio's does not): it
/// registers the timer, so a `sleep` first polled only after its deadline completes at the
/// timer queue's next check, one wake-up later, rather than on that poll. A zero duration
/// completes on the first poll.
///
/// Cancel safety: dropping it cancels its timer at once; there is nothing else to lose.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// `None`: never.
    deadline: Option<Instant>,
    /// The timer-queue entry while pending.
    entry: Option<Registration>,
    /// The clock reading `sleep` took to compute the deadline, until the first poll: that poll
    /// decides with it instead of reading the clock again (one read is a good part of a
    /// short-lived timer's cost, as in tokio, whose first poll reads none). It is no later
    /// than the poll, so `made_at >= deadline` (a zero duration) means due; otherwise the
    /// poll registers, and a deadline that passed meanwhile (a sleep first polled late) fires
    /// at the timer queue's next check, never early.
    made_at: Option<Instant>,
}

impl Sleep {
    fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            entry: None,
            made_at: None,
        }
    }

    /// The deadline (`None`: it never completes).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(weft::time::sleep_until(at).deadline(), Some(at));
    /// assert_eq!(weft::time::sleep(Duration::MAX).deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(weft::time::sleep(Duration::ZERO).is_elapsed());
    /// assert!(!weft::time::sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Sets a new deadline; the old timer is cancelled. The next poll waits for the new one.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut nap = weft::time::sleep(Duration::from_secs(60));
    /// nap.reset(Instant::now() + Duration::from_millis(1));
    /// weft::sched::Scheduler::new(1).block_on(nap); // a millisecond, not a minute
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
        self.entry = None;
        self.made_at = None;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending; // never: nothing will wake it, as Go's sleep for ever
        };
        if let Some(made_at) = self.made_at.take() {
            if made_at >= deadline {
                return Poll::Ready(());
            }
            if self.entry.is_none() {
                self.entry = Some(Registration::new(deadline, cx.waker()));
                return Poll::Pending;
            }
        }
        loop {
            if Instant::now() >= deadline {
                self.entry = None;
                return Poll::Ready(());
            }
            match &self.entry {
                // Still queued: keep the entry, with this poll's waker.
                Some(e) if e.update(cx.waker()) => return Poll::Pending,
                // It fired (a race with the clock read above) or its queue closed: look again.
                Some(_) => self.entry = None,
                None => {
                    self.entry = Some(Registration::new(deadline, cx.waker()));
                    return Poll::Pending;
                }
            }
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Runs `future` for at most `duration`: its output, or [`Elapsed`] if the time ran out
/// first (and `future` is dropped). The future is polled first, so one that is ready at
/// once completes even with a zero duration.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weft::time::{sleep, timeout};
///
/// let sched = weft::sched::Scheduler::new(1);
/// let (tx, rx) = weft::chan::bounded::<u32>(1);
/// let slow = sched.block_on(timeout(Duration::from_millis(5), rx.recv_async()));
/// assert!(slow.is_err(), "nothing was sent");
/// tx.send(7).unwrap();
/// let fast = sched.block_on(timeout(Duration::from_secs(5), rx.recv_async()));
/// assert_eq!(fast.unwrap(), Ok(7));
/// # let _ = sleep;
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// [`timeout`] with an absolute deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// let (_tx, rx) = weft::chan::bounded::<u8>(1);
/// let at = Instant::now() + Duration::from_millis(2);
/// let r = weft::sched::Scheduler::new(1).block_on(weft::time::timeout_at(at, rx.recv_async()));
/// assert!(r.is_err() && Instant::now() >= at);
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

/// The future of [`timeout`]. Cancel-safe as far as `F` is: dropping it drops `F`.
#[must_use = "futures do nothing unless polled"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// ```
    /// let t = weft::time::timeout(std::time::Duration::from_secs(1), std::future::ready(5));
    /// let _inner: &std::future::Ready<i32> = t.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, given up.
    ///
    /// ```
    /// let t = weft::time::timeout(std::time::Duration::from_secs(1), std::future::ready(5));
    /// let inner = t.into_inner();
    /// assert_eq!(weft::sched::Scheduler::new(1).block_on(inner), 5);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of `future`: it is never moved out of a pinned
        // `Timeout` (`into_inner` takes `self` by value, which a pinned `!Unpin` one cannot
        // give), and `Timeout` has no `Drop` impl that could move it. `sleep` is `Unpin`,
        // so a `&mut` to it is fine.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(out) = future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline)
            .finish_non_exhaustive()
    }
}

/// The error of [`timeout`]: the time ran out before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
