//! Timer channels: [`after`](super::after), [`at`](super::at), [`tick`](super::tick),
//! [`never`](super::never) and the channels of `weft::time::{Timer, Ticker}`. A receive-only
//! flavour of `Receiver<Instant>` whose value is computed from the clock, as
//! crossbeam-channel's `at`/`tick` flavours are: a receive takes the due instant once it has
//! passed, and nothing is ever sent, so no thread or task has to fire the timer for a
//! blocking receive or a blocking `select` (they wait by deadline on their own thread).
//!
//! # State
//!
//! One lock guards the channel's `deadline` (the next due instant, `None`: never), its
//! `period` (a ticker's), the close, a `version` bumped by every change (consume, reset,
//! stop, close: a linearizable `default` compares it) and, while an async task waits, one
//! `entry` in a timer queue (`crate::timers`) for `deadline`, whose waker notifies the
//! channel's wait list when it fires. Only async waits need the entry; a thread waits with
//! the deadline as its park timeout.
//!
//! # Go's semantics
//!
//! - A one-shot timer yields one value, then blocks for ever (`deadline = None`).
//! - A ticker delivers its first missed tick to a slow receiver and drops the rest: the
//!   next deadline is the first tick after the receive (Go's `Ticker` drops ticks, no
//!   backlog).
//! - Go 1.23's `Stop`/`Reset`: no stale value is received after either returns, because
//!   readiness is computed from the current deadline under the lock, never buffered.

use core::cell::Cell;
use core::task::{Poll, Waker};
use core::time::Duration;
use std::sync::{Arc as StdArc, Weak};
use std::task::Wake;
use std::time::Instant;

use super::error::{RecvTimeoutError, TryRecvError};
use super::handle::{RecvHandle, Token};
use super::waiters::{AsyncWait, WaitList, Waiter, ABORTED, CLOSED, NOTIFIED};
use crate::primitive::sync::atomic::{fence, Ordering};
use crate::sync::Mutex;
use crate::timers::Registration;

#[derive(Debug)]
struct State {
    deadline: Option<Instant>,
    /// Go's "active": started or reset, and since then neither received nor stopped (also
    /// for a deadline too far to represent, which never comes).
    armed: bool,
    period: Option<Duration>,
    closed: bool,
    version: u64,
    /// Notifies the wait list at `deadline`, while an async task waits (see the module docs).
    entry: Option<Registration>,
    /// The waker `entry` is registered with, made on first use.
    fire: Option<Waker>,
}

/// The whole allocation of a timer channel: its handle counts and the channel, one
/// allocation per `after`, `at`, `tick` (the flavour's `Arc`, a std one: the timer queue's
/// waker holds a `Weak` to it).
pub(super) type Shared = super::Shared<Channel<Instant>>;

/// The untyped part of a timer channel, shared with its timer-queue waker.
pub(crate) struct Core {
    state: Mutex<State>,
    waiters: WaitList,
    /// The allocation this core lives in, for the timer queue's waker.
    me: Weak<Shared>,
}

impl core::fmt::Debug for Core {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Core")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A timer queue entry's waker: notifies the channel's waiters (the channel may be gone).
struct Fire(Weak<Shared>);

impl Wake for Fire {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        if let Some(shared) = self.0.upgrade() {
            shared.chan.core.fire();
        }
    }
}

/// The next tick of period `p` strictly after `now`, for a tick due at `due <= now`; `None`
/// if it is not representable (it never comes).
fn next_tick(due: Instant, p: Duration, now: Instant) -> Option<Instant> {
    let late = now.saturating_duration_since(due).as_nanos();
    let missed = late / p.as_nanos();
    let steps = u32::try_from(missed + 1).ok()?;
    due.checked_add(p.checked_mul(steps)?)
}

impl Core {
    fn new(deadline: Option<Instant>, period: Option<Duration>, me: Weak<Shared>) -> Self {
        Core {
            state: Mutex::new(State {
                deadline,
                armed: true,
                period,
                closed: false,
                version: 0,
                entry: None,
                fire: None,
            }),
            waiters: WaitList::new(),
            me,
        }
    }

    /// Takes the due value: `Ok((due, version after taking))`.
    fn take(&self) -> Result<(Instant, u64), TryRecvError> {
        let mut s = self.state.lock();
        if s.closed {
            return Err(TryRecvError::Closed);
        }
        let Some(due) = s.deadline else {
            return Err(TryRecvError::Empty);
        };
        let now = Instant::now();
        if now < due {
            return Err(TryRecvError::Empty);
        }
        s.version += 1;
        match s.period {
            Some(p) => {
                s.deadline = next_tick(due, p, now);
                self.rearm(&mut s);
            }
            None => {
                s.deadline = None;
                s.armed = false;
                s.entry = None;
            }
        }
        Ok((due, s.version))
    }

    /// Puts a taken value back if nothing changed since (`version`): a select's given-back
    /// commitment. `false`: the caller keeps the value.
    fn put_back(&self, due: Instant, version: u64) -> bool {
        let mut s = self.state.lock();
        if s.closed || s.version != version {
            return false;
        }
        s.deadline = Some(due);
        s.armed = true;
        s.version += 1;
        self.rearm(&mut s);
        drop(s);
        // The value is receivable again: a receiver may have started waiting meanwhile.
        self.waiters.notify_all(NOTIFIED);
        true
    }

    /// After the deadline changed: an entry for it if an async task waits, else none.
    fn rearm(&self, s: &mut State) {
        if s.deadline.is_some() && self.waiters.any_task() {
            self.arm(s);
        } else {
            s.entry = None;
        }
    }

    /// Makes sure `entry` is registered for the current deadline (for an async waiter).
    fn arm(&self, s: &mut State) {
        match s.deadline {
            Some(d) if !s.closed => {
                let current = s
                    .entry
                    .as_ref()
                    .is_some_and(|e| e.deadline() == d && e.is_pending());
                if !current {
                    let fire = s
                        .fire
                        .get_or_insert_with(|| Waker::from(StdArc::new(Fire(self.me.clone()))))
                        .clone();
                    // The old entry (if any) is cancelled as it is replaced.
                    s.entry = Some(Registration::new(d, &fire));
                }
            }
            _ => s.entry = None,
        }
    }

    /// For an async waiter that just registered in `waiters`.
    fn arm_for_task(&self) {
        let mut s = self.state.lock();
        self.arm(&mut s);
    }

    /// The entry fired: its deadline passed. Wake the waiters; each tries again.
    fn fire(&self) {
        let gone = {
            let mut s = self.state.lock();
            // A fire for an entry replaced meanwhile (a reset) leaves the new one.
            if s.entry.as_ref().is_some_and(|e| !e.is_pending()) {
                s.entry.take()
            } else {
                None
            }
        };
        drop(gone);
        self.waiters.notify_all(NOTIFIED);
    }

    fn is_ready(&self) -> bool {
        let s = self.state.lock();
        s.closed || s.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn deadline(&self) -> Option<Instant> {
        let s = self.state.lock();
        if s.closed {
            None
        } else {
            s.deadline
        }
    }

    fn version(&self) -> u128 {
        let s = self.state.lock();
        u128::from(s.version) << 1 | u128::from(s.closed)
    }

    /// Sets a new deadline (and period); returns whether the timer was active (a value
    /// pending or due, not yet received). Every waiter recomputes how long it waits.
    pub(crate) fn reset(&self, deadline: Option<Instant>, period: Option<Duration>) -> bool {
        let active = {
            let mut s = self.state.lock();
            let active = !s.closed && s.armed;
            s.deadline = deadline;
            s.armed = true;
            s.period = period;
            s.version += 1;
            self.rearm(&mut s);
            active
        };
        self.waiters.notify_all(NOTIFIED);
        active
    }

    /// Stops the timer: no value is received until a reset. Returns whether it was active.
    pub(crate) fn stop(&self) -> bool {
        let mut s = self.state.lock();
        let active = !s.closed && s.armed;
        s.deadline = None;
        s.armed = false;
        s.version += 1;
        // A waiter waits on until the old deadline, finds nothing, and waits on for ever:
        // no need to wake it now.
        let entry = s.entry.take();
        drop(s);
        drop(entry);
        active
    }

    fn close(&self) -> bool {
        let entry = {
            let mut s = self.state.lock();
            if s.closed {
                return false;
            }
            s.closed = true;
            s.version += 1;
            s.entry.take()
        };
        drop(entry);
        self.waiters.notify_all(CLOSED);
        true
    }

    fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// With the last receiver gone: readies the channel for reuse without a close (nobody
    /// is left to see one). A pending timer-queue entry is cancelled; `fire`, the entry's
    /// waker, is kept for the next generation. An entry already taken out to fire may still
    /// run `fire` afterwards (its `Weak` upgrades while the allocation lives): that takes
    /// the state lock and notifies the wait list, so for the renewed channel it is one
    /// spurious wake-up, after which every waiter re-checks its deadline, and it takes the
    /// new generation's entry only once that one has fired too. No one else is registered
    /// in `waiters` (registering takes a receiver, and there is none).
    fn retire(&self) {
        let entry = self.state.lock().entry.take();
        // Cancelled outside the lock: the queue's firing side takes `state` after its own.
        drop(entry);
        debug_assert!(
            self.waiters.is_empty_exact(),
            "a retired channel has no waiter"
        );
    }

    /// Makes a retired channel (see [`retire`](Self::retire)) a fresh timer channel due at
    /// `deadline`, repeating every `period`. Its version moves on, though nothing that saw
    /// the old one can compare against it (no handle of the old channel is left).
    fn renew(&self, deadline: Option<Instant>, period: Option<Duration>) {
        debug_assert!(
            self.waiters.is_empty_exact(),
            "a retired channel has no waiter"
        );
        let mut s = self.state.lock();
        s.deadline = deadline;
        s.armed = true;
        s.period = period;
        s.closed = false;
        s.version += 1;
        debug_assert!(s.entry.is_none(), "a retired channel has no entry");
    }
}

/// This thread's spare timer channel: the allocation of the last one dropped (see
/// [`Channel::last_receiver_gone`]), reused by the next [`Channel::new`]. A Go loop that
/// selects with `time.After(d)` per message makes and drops one timer channel per message;
/// with the spare that is no allocation and no free, the two most expensive steps of it
/// (measured in docs/PERFORMANCE.md, "the after arm").
///
/// Invariant: besides the kept `Arc`, the only strong references to its allocation are
/// those of receivers whose drop already counted itself out (their drop touches nothing but
/// the `Arc`'s own count from then on) and those a [`Fire`] upgrades from its `Weak` while an
/// earlier generation's timer-queue entry fires late, which run only `Core::fire`: it takes
/// the state lock and notifies the wait list (see `Core::retire`). Neither touches the
/// handle counts, and nothing else can make a reference: the only `Weak`s are `me` and the
/// one in `fire`. Its receiver count is 0 and its wait list empty (registering takes a
/// receiver). So `renew`, under the state lock, and the new receiver's count have the
/// channel to themselves.
mod spare {
    use core::cell::Cell;
    use std::sync::Arc as StdArc;

    use super::Shared;

    // The model build keeps the spare in loom's per-thread storage, which each model run
    // makes and drops with its threads, so the models exercise reuse as well.
    #[cfg(not(weft_loom))]
    std::thread_local! {
        static SPARE: Cell<Option<StdArc<Shared>>> = const { Cell::new(None) };
    }
    #[cfg(weft_loom)]
    loom::thread_local! {
        static SPARE: Cell<Option<StdArc<Shared>>> = Cell::new(None);
    }

    /// The spare allocation, if this thread has one.
    pub(super) fn take() -> Option<StdArc<Shared>> {
        // In a thread-local destructor the slot may be gone: allocate afresh.
        SPARE.try_with(Cell::take).ok().flatten()
    }

    /// Keeps `shared` (retired, its last receiver going) as the spare, unless there is one
    /// already; otherwise the receiver's own drop frees it.
    pub(super) fn keep(shared: &StdArc<Shared>) {
        let _ = SPARE.try_with(|slot| {
            let spare = slot.take();
            slot.set(Some(spare.unwrap_or_else(|| StdArc::clone(shared))));
        });
    }
}

/// A timer channel of element type `T`, made only as `Channel<Instant>` (`make` is the
/// identity then, `keep` is [`spare::keep`]): the flavour is generic so that `Receiver<T>`
/// can hold it, and the two function pointers are how generic code reaches the `Instant`
/// code without a cast.
pub(crate) struct Channel<T> {
    core: Core,
    make: fn(Instant) -> T,
    keep: fn(&StdArc<super::Shared<Channel<T>>>),
}

impl Channel<Instant> {
    /// A timer due at `deadline` (`None`: never), repeating every `period`, with its one
    /// receiver's count: the allocation this thread's last dropped timer channel left (see
    /// [`spare`]), or a new one.
    pub(super) fn new(deadline: Option<Instant>, period: Option<Duration>) -> StdArc<Shared> {
        if let Some(shared) = spare::take() {
            shared.chan.core.renew(deadline, period);
            // Relaxed: no one else reads the count (`spare`'s invariant); whatever hands the
            // new receiver to another thread publishes the count with it.
            shared.receivers.store(1, Ordering::Relaxed);
            return shared;
        }
        StdArc::new_cyclic(|me| {
            super::Shared::with_one_each(Self {
                core: Core::new(deadline, period, me.clone()),
                make: core::convert::identity,
                keep: spare::keep,
            })
        })
    }
}

impl<T> Channel<T> {
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// The last receiver of `shared` is going away. Nothing is left to see a close (a timer
    /// channel has no senders), so the channel is not closed but retired and left to this
    /// thread's spare slot for the next timer channel: the `after`-per-message loop then
    /// costs no allocation, whether or not a task waited on it.
    pub(super) fn last_receiver_gone(shared: &StdArc<super::Shared<Channel<T>>>) -> bool {
        shared.chan.core.retire();
        (shared.chan.keep)(shared);
        true
    }

    fn attempt(&self) -> Option<Result<T, ()>> {
        match self.core.take() {
            Ok((due, _)) => Some(Ok((self.make)(due))),
            Err(TryRecvError::Closed) => Some(Err(())),
            Err(TryRecvError::Empty) => None,
        }
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.core.take().map(|(due, _)| (self.make)(due))
    }

    /// Waits for the deadline (or a reset, or the close) on this thread; gives up at
    /// `deadline`.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        loop {
            if let Some(r) = self.attempt() {
                return r.map_err(|()| RecvTimeoutError::Closed);
            }
            let waiter = Waiter::for_thread();
            // SAFETY: `waiter` lives on this frame until the iteration ends; every path
            // below removes its entry first (we unregister after an abort; a notifier that
            // selected it removed it).
            unsafe { self.core.waiters.register(&waiter) };
            // Ordering: SeqCst fence between registering and re-checking, as `block_on`
            // (the notifiers here change the state under its lock before they notify, so
            // the lock orders them too).
            fence(Ordering::SeqCst);
            if let Some(r) = self.attempt() {
                if waiter.try_abort().is_ok() {
                    self.core.waiters.unregister(&waiter);
                }
                return r.map_err(|()| RecvTimeoutError::Closed);
            }
            let wake_at = match (self.core.deadline(), deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if waiter.wait(wake_at) == ABORTED {
                self.core.waiters.unregister(&waiter);
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return match self.attempt() {
                        Some(r) => r.map_err(|()| RecvTimeoutError::Closed),
                        None => Err(RecvTimeoutError::Timeout),
                    };
                }
            }
            // The timer's deadline passed, or it was reset or closed: try again.
        }
    }

    pub(crate) fn recv_state(&self) -> super::FlavorRecv<T> {
        super::FlavorRecv::Timer(AsyncWait::default())
    }

    /// # Safety
    ///
    /// As [`AsyncWait::poll`]: `wait` stays pinned until `finish_recv` runs.
    pub(crate) unsafe fn poll_recv(
        &self,
        wait: &mut AsyncWait,
        waker: &Waker,
    ) -> Poll<Result<T, ()>> {
        // SAFETY: forwarded from our caller.
        let poll = unsafe { wait.poll(&self.core.waiters, waker, || self.attempt()) };
        if poll.is_pending() {
            // Registered: a timer-queue entry notifies us at the deadline. If the deadline
            // passed since the attempt, the entry fires at once.
            self.core.arm_for_task();
        }
        poll
    }

    #[inline]
    pub(crate) fn finish_recv(&self, wait: &mut AsyncWait) {
        wait.finish(&self.core.waiters);
    }

    pub(crate) fn close(&self) -> bool {
        self.core.close()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// 1 while a value is due, else 0.
    pub(crate) fn len(&self) -> usize {
        usize::from(!self.core.is_closed() && self.core.is_ready())
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        Some(1)
    }
}

/// A timer channel's end in a select arm: the value its commitment took, until completed.
pub(crate) struct SelectEnd<'a, T> {
    chan: &'a Channel<T>,
    /// The due instant and the channel's version right after taking it (for `give_back`).
    taken: Cell<Option<(Instant, u64)>>,
}

impl<'a, T> SelectEnd<'a, T> {
    pub(crate) fn new(chan: &'a Channel<T>) -> Self {
        Self {
            chan,
            taken: Cell::new(None),
        }
    }
}

impl<T> RecvHandle<T> for SelectEnd<'_, T> {
    fn try_select(&self, token: &mut Token, _: bool) -> bool {
        match self.chan.core.take() {
            Ok(taken) => {
                self.taken.set(Some(taken));
                token.ptr = core::ptr::from_ref(self.chan).cast();
                true
            }
            Err(TryRecvError::Closed) => {
                token.ptr = core::ptr::null();
                true
            }
            Err(TryRecvError::Empty) => false,
        }
    }

    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { self.chan.core.waiters.register_oper(waiter, oper) };
        // Ordering: SeqCst fence between registering and re-checking, as in `recv`.
        fence(Ordering::SeqCst);
        if waiter.owned_by_task() {
            // An async select: a timer-queue entry wakes it at the deadline. A thread
            // (blocking select) waits by deadline itself (`RecvHandle::deadline`).
            self.chan.core.arm_for_task();
        }
        self.chan.core.is_ready()
    }

    fn unregister(&self, waiter: &Waiter) {
        self.chan.core.waiters.unregister(waiter);
    }

    fn is_ready(&self) -> bool {
        self.chan.core.is_ready()
    }

    fn pass_on(&self) {
        self.chan.core.waiters.notify_one();
    }

    fn version(&self) -> u128 {
        self.chan.core.version()
    }

    fn deadline(&self) -> Option<Instant> {
        self.chan.core.deadline()
    }

    unsafe fn complete(&self, token: &Token) -> Result<T, ()> {
        if token.ptr.is_null() {
            return Err(());
        }
        let (due, _) = self
            .taken
            .take()
            .expect("a committed timer receive holds its value");
        Ok((self.chan.make)(due))
    }

    unsafe fn give_back(&self, token: &Token) -> Option<T> {
        if token.ptr.is_null() {
            return None;
        }
        let (due, version) = self.taken.take()?;
        if self.chan.core.put_back(due, version) {
            None
        } else {
            Some((self.chan.make)(due))
        }
    }
}

/// Go's `time.Timer`: a channel that yields one value once its duration has passed, and
/// can be stopped and reset. Go 1.23's semantics: after [`stop`](Self::stop) or
/// [`reset`](Self::reset) returns, no value from before is received (the channel is not
/// a buffer the timer sends into; its readiness is the current deadline).
///
/// The channel is [`receiver`](Self::receiver), a `Receiver<Instant>` like any other:
/// receive from it, select on it, clone it. Dropping the `Timer` and every clone of its
/// receiver frees the timer at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weft::time::Timer;
///
/// let timer = Timer::new(Duration::from_secs(3600));
/// assert!(timer.stop(), "it was running");
/// assert!(!timer.reset(Duration::from_millis(1)), "stopped timers are not active");
/// let fired = timer.receiver().recv().unwrap();
/// assert!(!timer.stop(), "its value was received");
/// # let _ = fired;
/// ```
pub struct Timer {
    rx: super::Receiver<Instant>,
}

/// Go's `time.Ticker`: a channel that yields the instant of each tick, every period. A
/// slow receiver gets the first tick it missed, and the ticks after it are dropped (no
/// backlog); [`reset`](Self::reset) and [`stop`](Self::stop) as Go's (1.23: no stale
/// tick after either).
///
/// # Examples
///
/// A rate limiter (Go by Example's "rate limiting"): at most one request per tick.
///
/// ```
/// use std::time::{Duration, Instant};
/// use weft::time::Ticker;
///
/// let start = Instant::now();
/// let limiter = Ticker::new(Duration::from_millis(2));
/// for _request in 0..3 {
///     limiter.receiver().recv().unwrap();
/// }
/// assert!(start.elapsed() >= Duration::from_millis(6));
/// limiter.stop();
/// ```
pub struct Ticker {
    rx: super::Receiver<Instant>,
}

fn core_of(rx: &super::Receiver<Instant>) -> &Core {
    match &rx.flavor {
        super::Flavor::Timer(s) => s.chan.core(),
        _ => unreachable!("a Timer's receiver is a timer channel"),
    }
}

impl Timer {
    /// A timer due in `duration` (zero: at once; `Duration::MAX`: never).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let timer = weft::time::Timer::new(Duration::from_millis(2));
    /// let fired = timer.receiver().recv().unwrap();
    /// assert!(fired >= start + Duration::from_millis(2));
    /// ```
    pub fn new(duration: Duration) -> Self {
        Self {
            rx: super::after(duration),
        }
    }

    /// A timer due at `deadline` (one in the past: at once).
    ///
    /// ```
    /// use std::time::Instant;
    /// let timer = weft::time::Timer::at(Instant::now()); // already due
    /// assert!(timer.receiver().recv().is_ok());
    /// ```
    pub fn at(deadline: Instant) -> Self {
        Self {
            rx: super::at(deadline),
        }
    }

    /// The timer's channel.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, jobs) = weft::chan::bounded::<u32>(1);
    /// let timer = weft::time::Timer::new(Duration::from_millis(1));
    /// weft::select! {
    ///     recv(jobs) -> _ => unreachable!("no job is sent"),
    ///     recv(timer.receiver()) -> at => assert!(at.is_ok()),
    /// };
    /// ```
    pub fn receiver(&self) -> &super::Receiver<Instant> {
        &self.rx
    }

    /// Makes the timer due in `duration` from now. Returns whether it was active (running,
    /// or due and not yet received). No value due before the reset is received after it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let timer = weft::time::Timer::new(Duration::from_secs(60));
    /// assert!(timer.reset(Duration::from_millis(1)), "it was running");
    /// assert!(timer.receiver().recv().is_ok()); // a millisecond, not a minute
    /// ```
    pub fn reset(&self, duration: Duration) -> bool {
        core_of(&self.rx).reset(Instant::now().checked_add(duration), None)
    }

    /// Makes the timer due at `deadline`; as [`reset`](Self::reset).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let timer = weft::time::Timer::new(Duration::from_secs(60));
    /// timer.reset_at(Instant::now());
    /// assert!(timer.receiver().recv().is_ok());
    /// ```
    pub fn reset_at(&self, deadline: Instant) -> bool {
        core_of(&self.rx).reset(Some(deadline), None)
    }

    /// Stops the timer: nothing is received from it until a reset. Returns whether it was
    /// active (so `true` means its value was never received, and now never will be).
    ///
    /// ```
    /// use std::time::Duration;
    /// let timer = weft::time::Timer::new(Duration::from_millis(1));
    /// assert!(timer.stop());
    /// assert!(timer.receiver().recv_timeout(Duration::from_millis(20)).is_err(), "stopped");
    /// assert!(!timer.stop(), "no longer active");
    /// ```
    pub fn stop(&self) -> bool {
        core_of(&self.rx).stop()
    }
}

impl Ticker {
    /// A ticker that ticks every `period`, the first tick one period from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = weft::time::Ticker::new(Duration::from_millis(1));
    /// let ticks: Vec<_> = ticker.receiver().iter().take(3).collect();
    /// assert!(ticks.windows(2).all(|w| w[0] < w[1]));
    /// ```
    ///
    /// # Panics
    ///
    /// If `period` is zero: `"weft::time::Ticker: non-positive interval"`.
    pub fn new(period: Duration) -> Self {
        assert!(
            !period.is_zero(),
            "weft::time::Ticker: non-positive interval"
        );
        Self {
            rx: super::tick(period),
        }
    }

    /// The ticker's channel.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = weft::time::Ticker::new(Duration::from_millis(1));
    /// assert!(ticker.receiver().recv_timeout(Duration::from_secs(5)).is_ok());
    /// ```
    pub fn receiver(&self) -> &super::Receiver<Instant> {
        &self.rx
    }

    /// Restarts the ticker with `period`, the next tick one period from now; a tick that
    /// was due and not received is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = weft::time::Ticker::new(Duration::from_secs(60));
    /// ticker.reset(Duration::from_millis(1));
    /// assert!(ticker.receiver().recv_timeout(Duration::from_secs(5)).is_ok());
    /// ```
    ///
    /// # Panics
    ///
    /// If `period` is zero: `"weft::time::Ticker: non-positive interval"`.
    pub fn reset(&self, period: Duration) {
        assert!(
            !period.is_zero(),
            "weft::time::Ticker: non-positive interval"
        );
        core_of(&self.rx).reset(Instant::now().checked_add(period), Some(period));
    }

    /// Stops the ticker: no more ticks, and a due one is dropped, until a reset.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = weft::time::Ticker::new(Duration::from_millis(1));
    /// ticker.stop();
    /// assert!(ticker.receiver().recv_timeout(Duration::from_millis(20)).is_err());
    /// ```
    pub fn stop(&self) {
        core_of(&self.rx).stop();
    }
}

impl core::fmt::Debug for Timer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &core_of(&self.rx).deadline())
            .finish()
    }
}

impl core::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ticker")
            .field("next", &core_of(&self.rx).deadline())
            .finish()
    }
}
