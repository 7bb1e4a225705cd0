//! Channels with Go's semantics: multi-producer, multi-consumer, blocking and async, and
//! nothing lost.
//!
//! Three flavours, chosen at construction, each in its own file:
//!
//! - [`bounded`]`(cap)` with `cap >= 1`: a lock-free ring buffer (`array.rs`, Vyukov's bounded
//!   MPMC queue).
//! - [`bounded`]`(0)`: a rendezvous channel, Go's `make(chan T)` (`zero.rs`): a send completes
//!   only when a receiver takes the value.
//! - [`unbounded`]`()`: a lock-free linked list of fixed-size blocks (`list.rs`): sends never
//!   wait, one allocation per 31 messages, consumed blocks freed by their last reader.
//!
//! # Closing, as in Go
//!
//! [`close`](Sender::close) from either side, or dropping the last [`Sender`], closes the
//! channel: blocked senders wake and get their message back in the error; later sends fail
//! with the message back; receivers first drain every buffered message, then get
//! [`RecvError`]. Dropping the last [`Receiver`] closes it too; messages still buffered are
//! dropped exactly once, when the channel is freed.
//!
//! # Nothing is lost
//!
//! Every message is delivered exactly once, handed back in an error, or dropped exactly
//! once. This holds under user faults too (`tests/faults.rs` checks each with exact drop
//! counts): a `select!` send value that leaves early (`?`, `return`, `break`) or panics does
//! so before any channel is touched (Go's evaluation order); a [`SelectedOperation`] dropped
//! uncompleted (also while unwinding, or after a wrong-handle completion panicked) gives its
//! operation back (see its docs); a message whose `Drop` panics while the channel is freed
//! does not stop the others from being dropped, and the first panic then propagates. The one
//! escape is [`core::mem::forget`] of a `SelectedOperation`: the channel may stay stuck, and
//! the message of a forgotten receive leaks, but nothing unsound happens.
//!
//! # Waiting
//!
//! A blocked operation spins briefly, yields, then parks on the futex layer and costs no CPU.
//! Async operations ([`Sender::send_async`], [`Receiver::recv_async`]) wait in the same lists
//! with their `Waker`. No allocation per message or per blocking operation: a waiter lives on
//! the waiting thread's stack or inside the future. The futures are cancel-safe: dropping a
//! pending `recv_async` never loses a message, and dropping a pending `send_async` leaves its
//! message either delivered or dropped with the future.
//!
//! # In any async runtime
//!
//! The async operations are waker-only: they work under weft's scheduler, tokio,
//! `futures::executor` or any other executor. [`Receiver::into_stream`] and
//! [`Sender::into_sink`] give owned, `Unpin`, `'static` ends for runtimes and combinators:
//! with the `futures` cargo feature (on by default; it pulls only `futures-core` and
//! `futures-sink`) they are a `futures_core::Stream` and a `futures_sink::Sink`. Channel
//! introspection: [`Sender::same_channel`], [`Sender::sender_count`], weak senders
//! ([`Sender::downgrade`]), [`Receiver::recv_many`], deadline forms.
//!
//! ```
//! // A weft channel between tokio tasks.
//! let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
//! let total = rt.block_on(async {
//!     let (tx, rx) = weft::chan::bounded::<u64>(8);
//!     let producer = tokio::spawn(async move {
//!         for i in 1..=100 {
//!             tx.send_async(i).await.unwrap();
//!         }
//!     });
//!     let mut total = 0;
//!     while let Ok(v) = rx.recv_async().await {
//!         total += v;
//!     }
//!     producer.await.unwrap();
//!     total
//! });
//! assert_eq!(total, 5050);
//! ```
//!
//! # Examples
//!
//! ```
//! use weft::chan;
//!
//! let (tx, rx) = chan::bounded(16);
//! let producer = std::thread::spawn(move || {
//!     for i in 0..100 {
//!         tx.send(i).unwrap();
//!     }
//!     // Dropping the last sender closes the channel.
//! });
//! let sum: u64 = rx.iter().sum(); // ends when the channel is closed and drained
//! producer.join().unwrap();
//! assert_eq!(sum, 4950);
//! ```

mod array;
mod error;
mod handle;
mod list;
mod macros;
mod owned;
mod select;
mod select_async;
pub(crate) mod timer;
pub(crate) mod waiters;
mod zero;

#[cfg(all(test, weft_loom))]
mod loom_tests;
#[cfg(all(test, weft_loom))]
mod timer_loom_tests;

pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use owned::{RecvStream, SendSink};
pub use select::{Select, SelectTimeoutError, SelectedOperation, TrySelectError};
pub use select_async::SelectAsync;

/// What `select!` expands to. Not public API: no stability promise.
#[doc(hidden)]
pub mod __select {
    pub use super::handle::Token;
    pub use super::select::{__run, ArmRef, RecvArm, SendArm, Timeout};
    pub use super::select_async::SelectFuture;
}

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use handle::{RecvHandle, SendHandle, Token};
use waiters::Waiter;

use crate::primitive::sync::atomic::{AtomicUsize, Ordering};
use crate::primitive::sync::Arc;
use std::sync::Arc as StdArc;

/// A channel and its handle counts; the last handle of either side closes it.
struct Shared<C> {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    chan: C,
}

impl<C> Shared<C> {
    fn new(chan: C) -> Arc<Self> {
        Arc::new(Self::with_one_each(chan))
    }

    /// One handle of each side (a timer channel's sender count is never read).
    fn with_one_each(chan: C) -> Self {
        Self {
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            chan,
        }
    }
}

enum Flavor<T> {
    Array(Arc<Shared<array::Channel<T>>>),
    Zero(Arc<Shared<zero::Channel<T>>>),
    List(Arc<Shared<list::Channel<T>>>),
    /// Receive-only: [`after`], [`at`], [`tick`], [`never`] and `weft::time`'s timers. A
    /// std `Arc` in every build (the timer queue's waker holds a `Weak` to it).
    Timer(StdArc<Shared<timer::Channel<T>>>),
}

impl<T> Clone for Flavor<T> {
    fn clone(&self) -> Self {
        match self {
            Flavor::Array(s) => Flavor::Array(Arc::clone(s)),
            Flavor::Zero(s) => Flavor::Zero(Arc::clone(s)),
            Flavor::List(s) => Flavor::List(Arc::clone(s)),
            Flavor::Timer(s) => Flavor::Timer(StdArc::clone(s)),
        }
    }
}

/// Runs `$body` with `$shared` bound to the flavour's `Arc<Shared<_>>` and `$chan` to its
/// channel: one body, every flavour.
macro_rules! dispatch {
    ($flavor:expr, |$shared:ident, $chan:ident| $body:expr) => {
        match $flavor {
            Flavor::Array($shared) => {
                #[allow(unused_variables)]
                let $chan = &$shared.chan;
                $body
            }
            Flavor::Zero($shared) => {
                #[allow(unused_variables)]
                let $chan = &$shared.chan;
                $body
            }
            Flavor::List($shared) => {
                #[allow(unused_variables)]
                let $chan = &$shared.chan;
                $body
            }
            Flavor::Timer($shared) => {
                #[allow(unused_variables)]
                let $chan = &$shared.chan;
                $body
            }
        }
    };
}

/// As [`dispatch!`], for the operations only a [`Sender`] has: a timer channel has none.
macro_rules! dispatch_send {
    ($flavor:expr, |$shared:ident, $chan:ident| $body:expr) => {
        match $flavor {
            Flavor::Array($shared) => {
                let $chan = &$shared.chan;
                $body
            }
            Flavor::Zero($shared) => {
                let $chan = &$shared.chan;
                $body
            }
            Flavor::List($shared) => {
                let $chan = &$shared.chan;
                $body
            }
            Flavor::Timer(_) => unreachable!("a timer channel has no Sender"),
        }
    };
}

/// A channel end as a select arm holds it: the flavour's own end (for the rendezvous
/// channel, with the arm's packet), driven through the `handle` traits each flavour
/// implements in its own file. The one place a select meets the flavours.
pub(crate) enum End<'a, T> {
    Array(&'a array::Channel<T>),
    List(&'a list::Channel<T>),
    Zero(zero::SelectEnd<'a, T>),
    Timer(timer::SelectEnd<'a, T>),
}

impl<T> Flavor<T> {
    /// The channel, as an identity (a completion checks its token against it).
    fn id(&self) -> *const () {
        dispatch!(self, |s, c| core::ptr::from_ref(c).cast::<()>())
    }

    fn end(&self) -> End<'_, T> {
        match self {
            Flavor::Array(s) => End::Array(&s.chan),
            Flavor::List(s) => End::List(&s.chan),
            Flavor::Zero(s) => End::Zero(zero::SelectEnd::new(&s.chan)),
            Flavor::Timer(s) => End::Timer(timer::SelectEnd::new(&s.chan)),
        }
    }
}

impl<T> Receiver<T> {
    /// This receiver's end for a select arm, and its channel's identity.
    pub(crate) fn select_end(&self) -> (End<'_, T>, *const ()) {
        (self.flavor.end(), self.flavor.id())
    }
}

impl<T> Sender<T> {
    /// This sender's end for a select arm, and its channel's identity.
    pub(crate) fn select_end(&self) -> (End<'_, T>, *const ()) {
        (self.flavor.end(), self.flavor.id())
    }
}

/// Calls `$trait::$method` on whichever flavour's end `$end` holds.
macro_rules! forward {
    ($end:expr, RecvHandle::$method:ident($($arg:expr),*)) => {
        match $end {
            End::Array(c) => RecvHandle::$method(*c, $($arg),*),
            End::List(c) => RecvHandle::$method(*c, $($arg),*),
            End::Zero(z) => RecvHandle::$method(z, $($arg),*),
            End::Timer(t) => RecvHandle::$method(t, $($arg),*),
        }
    };
    ($end:expr, SendHandle::$method:ident($($arg:expr),*)) => {
        match $end {
            End::Array(c) => SendHandle::$method(*c, $($arg),*),
            End::List(c) => SendHandle::$method(*c, $($arg),*),
            End::Zero(z) => SendHandle::$method(z, $($arg),*),
            End::Timer(_) => unreachable!("a timer channel has no Sender"),
        }
    };
}

impl<T> RecvHandle<T> for End<'_, T> {
    #[inline]
    fn try_select(&self, token: &mut Token, exact: bool) -> bool {
        forward!(self, RecvHandle::try_select(token, exact))
    }
    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, RecvHandle::register(waiter, oper)) }
    }
    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, RecvHandle::watch(waiter, oper)) }
    }
    fn unregister(&self, waiter: &Waiter) {
        forward!(self, RecvHandle::unregister(waiter));
    }
    fn accept(&self, token: &mut Token, kind: usize) -> bool {
        forward!(self, RecvHandle::accept(token, kind))
    }
    fn is_ready(&self) -> bool {
        forward!(self, RecvHandle::is_ready())
    }
    fn pass_on(&self) {
        forward!(self, RecvHandle::pass_on());
    }
    fn needs_registration(&self) -> bool {
        forward!(self, RecvHandle::needs_registration())
    }
    fn version(&self) -> u128 {
        forward!(self, RecvHandle::version())
    }
    fn deadline(&self) -> Option<Instant> {
        forward!(self, RecvHandle::deadline())
    }
    #[inline]
    unsafe fn complete(&self, token: &Token) -> Result<T, ()> {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, RecvHandle::complete(token)) }
    }
    unsafe fn give_back(&self, token: &Token) -> Option<T> {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, RecvHandle::give_back(token)) }
    }
}

impl<T> SendHandle<T> for End<'_, T> {
    #[inline]
    fn try_select(&self, token: &mut Token, exact: bool) -> bool {
        forward!(self, SendHandle::try_select(token, exact))
    }
    unsafe fn register(
        &self,
        waiter: &Waiter,
        oper: usize,
        value: Option<&Cell<Option<T>>>,
    ) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, SendHandle::register(waiter, oper, value)) }
    }
    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, SendHandle::watch(waiter, oper)) }
    }
    fn unregister(&self, waiter: &Waiter, value: Option<&Cell<Option<T>>>) {
        forward!(self, SendHandle::unregister(waiter, value));
    }
    fn accept(&self, token: &mut Token, kind: usize, value: Option<&Cell<Option<T>>>) -> bool {
        forward!(self, SendHandle::accept(token, kind, value))
    }
    fn is_ready(&self) -> bool {
        forward!(self, SendHandle::is_ready())
    }
    fn pass_on(&self) {
        forward!(self, SendHandle::pass_on());
    }
    fn needs_registration(&self) -> bool {
        forward!(self, SendHandle::needs_registration())
    }
    fn version(&self) -> u128 {
        forward!(self, SendHandle::version())
    }
    #[inline]
    unsafe fn complete(&self, token: &Token, msg: T) -> Result<(), T> {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, SendHandle::complete(token, msg)) }
    }
    unsafe fn give_back(&self, token: &Token) {
        // SAFETY: forwarded from our caller.
        unsafe { forward!(self, SendHandle::give_back(token)) }
    }
}

/// Creates a channel of capacity `cap`: a ring buffer for `cap >= 1`, a rendezvous channel
/// (Go's unbuffered channel) for `cap == 0`.
///
/// On the rendezvous channel a blocking send completes when a receiver has the value. An
/// async receiver, whose future may be dropped at any time, never has a value handed into
/// it; a send that meets only such receivers (a `try_send`, a `send_async`, a task's select
/// send arm) leaves the value in the channel's one-message hand-off slot and completes, as a
/// Go sender does when a receiver waits. The next receive takes it from there; if every
/// waiting receiver goes away first, it waits for the next receiver, or drops with the channel.
///
/// # Panics
///
/// If `cap` is too large to allocate.
///
/// # Examples
///
/// ```
/// let (tx, rx) = weft::chan::bounded(1);
/// tx.send("hi").unwrap();
/// assert!(tx.try_send("full").unwrap_err().is_full());
/// assert_eq!(rx.recv(), Ok("hi"));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let flavor = if cap == 0 {
        Flavor::Zero(Shared::new(zero::Channel::new()))
    } else {
        Flavor::Array(Shared::new(array::Channel::with_capacity(cap)))
    };
    handles(flavor)
}

/// Creates a channel without a capacity limit: sends never wait (nor fail, until the channel
/// is closed). Memory grows with the backlog, one block per 31 messages, and is returned as
/// blocks are consumed.
///
/// # Examples
///
/// ```
/// let (tx, rx) = weft::chan::unbounded();
/// for i in 0..1000 {
///     tx.send(i).unwrap(); // never blocks
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(rx.capacity(), None);
/// assert_eq!(rx.iter().take(3).collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    handles(Flavor::List(Shared::new(list::Channel::new())))
}

/// A channel that yields one value, the instant it was due, once `duration` has passed
/// (Go's `time.After`), then blocks for ever. A zero duration is due at once;
/// `Duration::MAX` (or any deadline past what `Instant` can hold) never is.
///
/// Like every timer channel it is a `Receiver<Instant>` usable wherever one is: `recv`,
/// `recv_timeout`, `recv_async`, iterators, `select!` and `select_async!`. A blocking wait
/// on it sleeps until the deadline on its own thread; an async one is woken by weft's
/// timer facility (see [`weft::time`](crate::time)). Nothing is sent: dropping it frees
/// the timer at once.
///
/// # Examples
///
/// Go's `select { case v := <-ch: ...; case <-time.After(d): ... }`:
///
/// ```
/// use std::time::Duration;
/// use weft::chan::{after, bounded};
///
/// let (_tx, rx) = bounded::<u32>(1);
/// let got = weft::select! {
///     recv(rx) -> v => v.ok(),
///     recv(after(Duration::from_millis(10))) -> _ => None,
/// };
/// assert_eq!(got, None);
/// ```
pub fn after(duration: Duration) -> Receiver<Instant> {
    timer_receiver(Instant::now().checked_add(duration), None)
}

/// A channel that yields `deadline` once it has passed (at once if it already has), then
/// blocks for ever: [`after`] with an absolute deadline.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let deadline = Instant::now() + Duration::from_millis(5);
/// assert_eq!(weft::chan::at(deadline).recv(), Ok(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
pub fn at(deadline: Instant) -> Receiver<Instant> {
    timer_receiver(Some(deadline), None)
}

/// A channel that yields the instant of each tick, every `period` (Go's `time.Tick`). A
/// receiver that falls behind gets the first tick it missed, and the ticks after it are
/// dropped: no backlog builds up. See [`Ticker`](crate::time::Ticker) for one that can be
/// stopped and reset.
///
/// # Panics
///
/// If `period` is zero (Go's `NewTicker` panics too): `"weft::chan::tick: non-positive
/// interval"`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let ticks = weft::chan::tick(Duration::from_millis(2));
/// let first = ticks.recv().unwrap();
/// let second = ticks.recv().unwrap();
/// assert!(first >= start + Duration::from_millis(2));
/// assert!(second >= first + Duration::from_millis(2));
/// ```
pub fn tick(period: Duration) -> Receiver<Instant> {
    assert!(!period.is_zero(), "weft::chan::tick: non-positive interval");
    timer_receiver(Instant::now().checked_add(period), Some(period))
}

/// A channel that never yields a value: for a `select!` arm that is switched off (Go's nil
/// channel in a `select`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weft::chan::{never, RecvTimeoutError};
/// let r = never().recv_timeout(Duration::from_millis(1));
/// assert_eq!(r, Err(RecvTimeoutError::Timeout));
/// ```
pub fn never() -> Receiver<Instant> {
    timer_receiver(None, None)
}

fn timer_receiver(deadline: Option<Instant>, period: Option<Duration>) -> Receiver<Instant> {
    Receiver {
        flavor: Flavor::Timer(timer::Channel::new(deadline, period)),
    }
}

fn handles<T>(flavor: Flavor<T>) -> (Sender<T>, Receiver<T>) {
    (
        Sender {
            flavor: flavor.clone(),
        },
        Receiver { flavor },
    )
}

fn deadline_after(timeout: Duration) -> Option<Instant> {
    // An unrepresentable deadline means "wait forever".
    Instant::now().checked_add(timeout)
}

/// The sending half of a channel. Clone it for more producers.
pub struct Sender<T> {
    flavor: Flavor<T>,
}

/// The receiving half of a channel. Clone it for more consumers: each message goes to one.
pub struct Receiver<T> {
    flavor: Flavor<T>,
}

impl<T> Sender<T> {
    /// Sends `msg`, waiting for room (or, on a rendezvous channel, for a receiver).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message back if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(0);
    /// let t = std::thread::spawn(move || rx.recv().unwrap());
    /// tx.send(5).unwrap(); // returns once the receiver has taken it
    /// assert_eq!(t.join().unwrap(), 5);
    /// ```
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        dispatch_send!(&self.flavor, |s, c| c.send(msg, None))
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `msg` if that is possible without waiting.
    ///
    /// # Errors
    ///
    /// `Full(msg)` if the buffer is full (on a rendezvous channel: no thread is blocked in
    /// `recv`), `Closed(msg)` if the channel is closed.
    ///
    /// ```
    /// use weft::chan::{bounded, TrySendError};
    /// let (tx, rx) = bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        dispatch_send!(&self.flavor, |s, c| c.try_send(msg))
    }

    /// Sends `msg`, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout(msg)` or `Closed(msg)`: the message always comes back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::chan::{bounded, SendTimeoutError};
    /// let (tx, _rx) = bounded(1);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.send_timeout(2, Duration::from_millis(5)), Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let deadline = deadline_after(timeout);
        dispatch_send!(&self.flavor, |s, c| c.send(msg, deadline))
    }

    /// A future that sends `msg`; resolves like [`send`](Self::send).
    ///
    /// Dropping it before it resolves leaves the message either delivered or dropped with the
    /// future, never half-sent. A waiting send lends its message to the channel: on
    /// `bounded(n)` a receive that frees a slot moves it into the buffer and completes the
    /// send for the waiting task (which is woken done, not woken to retry), and on
    /// `bounded(0)` a receiver takes it straight from the future (see [`bounded`] for what
    /// happens when only async receivers wait); so a future dropped after a pending poll may
    /// have sent. Where the caller must know which, use a [`SendSink`]: its
    /// [`cancel`](SendSink::cancel) returns the message if it was not sent.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// let sched = weft::sched::Scheduler::new(1);
    /// let receiver = sched.spawn(async move {
    ///     rx.recv_async().await.unwrap() + rx.recv_async().await.unwrap()
    /// });
    /// sched.block_on(async move {
    ///     tx.send_async(1).await.unwrap();
    ///     tx.send_async(2).await.unwrap(); // waits for room, without holding the worker
    /// });
    /// assert_eq!(receiver.join().unwrap(), 3);
    /// ```
    pub fn send_async(&self, msg: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            state: dispatch_send!(&self.flavor, |s, c| c.send_state(msg)),
        }
    }
}

impl<T> Receiver<T> {
    /// Receives a message, waiting for one.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(2);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        dispatch!(&self.flavor, |s, c| c.recv(None)).map_err(|_| RecvError)
    }

    /// Receives a message if one is ready.
    ///
    /// # Errors
    ///
    /// `Empty` if none is ready, `Closed` once the channel is closed and drained.
    ///
    /// ```
    /// use weft::chan::{unbounded, TryRecvError};
    /// let (tx, rx) = unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1)); // drained first
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        dispatch!(&self.flavor, |s, c| c.try_recv())
    }

    /// Receives a message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Closed` once the channel is closed and drained.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::chan::{bounded, RecvTimeoutError};
    /// let (tx, rx) = bounded::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(2)), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Err(RecvTimeoutError::Closed));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = deadline_after(timeout);
        dispatch!(&self.flavor, |s, c| c.recv(deadline))
    }

    /// A future that receives a message; resolves like [`recv`](Self::recv). Dropping it
    /// never loses a message.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(0);
    /// let sched = weft::sched::Scheduler::new(1);
    /// let got = sched.block_on(async move {
    ///     let sender = weft::go(async move { tx.send_async("ping").await.unwrap() });
    ///     let got = rx.recv_async().await.unwrap();
    ///     sender.await.unwrap();
    ///     got
    /// });
    /// assert_eq!(got, "ping");
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            receiver: self,
            state: dispatch!(&self.flavor, |s, c| c.recv_state()),
        }
    }

    /// A blocking iterator over messages; ends when the channel is closed and drained.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(2);
    /// std::thread::spawn(move || (1..=5).for_each(|i| tx.send(i).unwrap()));
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages ready now; never blocks.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]); // and tx is still open
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

/// The methods both handles share.
macro_rules! common_methods {
    ($handle:ident) => {
        impl<T> $handle<T> {
            /// Closes the channel (see the [module docs](self)). Returns `true` if this call
            /// closed it, `false` if it was already closed.
            ///
            /// ```
            /// let (tx, rx) = weft::chan::bounded(1);
            /// tx.send(1).unwrap();
            /// assert!(rx.close());
            /// assert!(!tx.close(), "already closed");
            /// assert!(tx.send(2).is_err());
            /// assert_eq!(rx.recv(), Ok(1)); // buffered messages are still received
            /// ```
            pub fn close(&self) -> bool {
                dispatch!(&self.flavor, |s, c| c.close())
            }

            /// Whether the channel is closed.
            ///
            /// ```
            /// let (tx, rx) = weft::chan::unbounded::<u8>();
            /// assert!(!rx.is_closed());
            /// drop(tx); // the last sender
            /// assert!(rx.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                dispatch!(&self.flavor, |s, c| c.is_closed())
            }

            /// Messages buffered now (always 0 for a rendezvous channel). A snapshot.
            ///
            /// ```
            /// let (tx, rx) = weft::chan::bounded(4);
            /// tx.send(1).unwrap();
            /// tx.send(2).unwrap();
            /// assert_eq!((tx.len(), rx.len()), (2, 2));
            /// ```
            pub fn len(&self) -> usize {
                dispatch!(&self.flavor, |s, c| c.len())
            }

            /// Whether no message is buffered. A snapshot.
            ///
            /// ```
            /// let (tx, rx) = weft::chan::bounded(1);
            /// assert!(rx.is_empty());
            /// tx.send(()).unwrap();
            /// assert!(!tx.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Whether the buffer is full (always true for a rendezvous channel, never for an
            /// unbounded one). A snapshot.
            ///
            /// ```
            /// let (tx, _rx) = weft::chan::bounded(1);
            /// assert!(!tx.is_full());
            /// tx.send(1).unwrap();
            /// assert!(tx.is_full());
            /// assert!(weft::chan::bounded::<u8>(0).0.is_full());
            /// assert!(!weft::chan::unbounded::<u8>().0.is_full());
            /// ```
            pub fn is_full(&self) -> bool {
                self.capacity().is_some_and(|cap| self.len() == cap)
            }

            /// The capacity: `Some(cap)` for `bounded(cap)`, `None` for `unbounded()`.
            ///
            /// ```
            /// assert_eq!(weft::chan::bounded::<u8>(8).1.capacity(), Some(8));
            /// assert_eq!(weft::chan::bounded::<u8>(0).1.capacity(), Some(0));
            /// assert_eq!(weft::chan::unbounded::<u8>().1.capacity(), None);
            /// ```
            pub fn capacity(&self) -> Option<usize> {
                dispatch!(&self.flavor, |s, c| c.capacity())
            }
        }

        impl<T> fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($handle))
                    .field("len", &self.len())
                    .field("capacity", &self.capacity())
                    .field("closed", &self.is_closed())
                    .finish()
            }
        }
    };
}
common_methods!(Sender);
common_methods!(Receiver);

impl<T> Sender<T> {
    /// Sends `msg`, waiting until `deadline` at most (one in the past: only if it can go at
    /// once).
    ///
    /// # Errors
    ///
    /// `Timeout(msg)` or `Closed(msg)`: the message always comes back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = weft::chan::bounded(1);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// tx.send_deadline(1, deadline).unwrap();
    /// assert!(tx.send_deadline(2, deadline).unwrap_err().is_timeout());
    /// ```
    pub fn send_deadline(&self, msg: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        dispatch_send!(&self.flavor, |s, c| c.send(msg, Some(deadline)))
    }

    /// Whether `self` and `other` are handles of the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::chan::unbounded::<u8>();
    /// let (tx2, _) = weft::chan::unbounded::<u8>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&tx2));
    /// assert!(rx.same_channel_as(&tx));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.flavor.id() == other.flavor.id()
    }

    /// A [`WeakSender`]: a handle that does not keep the channel open, and can be upgraded
    /// to a `Sender` while some other `Sender` lives.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::chan::unbounded::<u8>();
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().send(1).unwrap();
    /// drop(tx); // the last Sender: the channel closes
    /// assert!(weak.upgrade().is_none());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            flavor: self.flavor.clone(),
        }
    }
}

impl<T> Receiver<T> {
    /// Receives a message, waiting until `deadline` at most (one in the past: only a
    /// message ready now).
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Closed` once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_tx, rx) = weft::chan::bounded::<u8>(1);
    /// let r = rx.recv_deadline(Instant::now() + Duration::from_millis(5));
    /// assert!(r.unwrap_err().is_timeout());
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        dispatch!(&self.flavor, |s, c| c.recv(Some(deadline)))
    }

    /// Whether `self` and `other` are handles of the same channel.
    ///
    /// ```
    /// let (_tx, rx) = weft::chan::unbounded::<u8>();
    /// let (_tx2, rx2) = weft::chan::unbounded::<u8>();
    /// assert!(rx.same_channel(&rx.clone()));
    /// assert!(!rx.same_channel(&rx2));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        self.flavor.id() == other.flavor.id()
    }

    /// Whether `tx` sends into this receiver's channel.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded::<u8>(1);
    /// let (tx2, _rx2) = weft::chan::bounded::<u8>(1);
    /// assert!(rx.same_channel_as(&tx));
    /// assert!(!rx.same_channel_as(&tx2));
    /// ```
    pub fn same_channel_as(&self, tx: &Sender<T>) -> bool {
        self.flavor.id() == tx.flavor.id()
    }

    /// Receives up to `limit` messages into `buf`: waits for the first (as
    /// [`recv`](Self::recv)), then takes what is ready now. Returns how many were added
    /// (0 only for `limit == 0`).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained (`buf` unchanged).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(8);
    /// for i in 0..5 {
    ///     tx.send(i).unwrap();
    /// }
    /// let mut buf = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buf, 3), Ok(3));
    /// assert_eq!(rx.recv_many(&mut buf, 10), Ok(2));
    /// assert_eq!(buf, [0, 1, 2, 3, 4]);
    /// ```
    pub fn recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Result<usize, RecvError> {
        if limit == 0 {
            return Ok(0);
        }
        buf.push(self.recv()?);
        Ok(1 + self.take_ready(buf, limit - 1))
    }

    /// The async form of [`recv_many`](Self::recv_many). Cancel-safe: messages are taken
    /// only as the future completes (dropped while waiting for the first, it took none).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::chan::unbounded();
    /// tx.send('a').unwrap();
    /// tx.send('b').unwrap();
    /// let mut buf = Vec::new();
    /// let n = weft::sched::Scheduler::new(1).block_on(rx.recv_many_async(&mut buf, 8));
    /// assert_eq!((n, buf), (Ok(2), vec!['a', 'b']));
    /// ```
    pub async fn recv_many_async(
        &self,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Result<usize, RecvError> {
        if limit == 0 {
            return Ok(0);
        }
        buf.push(self.recv_async().await?);
        Ok(1 + self.take_ready(buf, limit - 1))
    }

    /// Moves up to `limit` ready messages into `buf`.
    fn take_ready(&self, buf: &mut Vec<T>, limit: usize) -> usize {
        let mut n = 0;
        while n < limit {
            match self.try_recv() {
                Ok(m) => buf.push(m),
                Err(_) => break,
            }
            n += 1;
        }
        n
    }
}

/// A sender that does not keep its channel open: [`Sender::downgrade`]. While any
/// [`Sender`] lives, [`upgrade`](Self::upgrade) makes another one; once the last one is
/// gone (the channel closed by it), it returns `None`.
pub struct WeakSender<T> {
    flavor: Flavor<T>,
}

impl<T> WeakSender<T> {
    /// A new `Sender`, if a `Sender` of the channel still lives.
    ///
    /// ```
    /// let (tx, _rx) = weft::chan::bounded::<u8>(1);
    /// let weak = tx.downgrade();
    /// let tx2 = weak.upgrade().expect("tx lives");
    /// drop((tx, tx2)); // the last Sender closes the channel
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let count = match &self.flavor {
            Flavor::Array(s) => &s.senders,
            Flavor::Zero(s) => &s.senders,
            Flavor::List(s) => &s.senders,
            Flavor::Timer(_) => unreachable!("a timer channel has no Sender"),
        };
        // Relaxed, as `Arc`'s weak upgrade: the count only moves away from zero through
        // an existing handle, and a zero is final (the last Sender closed the channel).
        let mut n = count.load(Ordering::Relaxed);
        loop {
            if n == 0 {
                return None;
            }
            assert!(
                n < isize::MAX as usize,
                "weft::chan: too many channel handles"
            );
            match count.compare_exchange_weak(n, n + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    return Some(Sender {
                        flavor: self.flavor.clone(),
                    })
                }
                Err(now) => n = now,
            }
        }
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        Self {
            flavor: self.flavor.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").finish_non_exhaustive()
    }
}

/// The handle counts of a channel.
macro_rules! count_methods {
    ($handle:ident) => {
        impl<T> $handle<T> {
            /// How many [`Sender`]s the channel has now (0 for a timer channel). A snapshot.
            ///
            /// ```
            /// let (tx, rx) = weft::chan::unbounded::<u8>();
            /// let tx2 = tx.clone();
            /// assert_eq!((tx.sender_count(), rx.sender_count()), (2, 2));
            /// drop(tx2);
            /// assert_eq!(rx.sender_count(), 1);
            /// ```
            pub fn sender_count(&self) -> usize {
                match &self.flavor {
                    Flavor::Timer(_) => 0,
                    f => dispatch!(f, |s, c| s.senders.load(Ordering::Relaxed)),
                }
            }

            /// How many [`Receiver`]s the channel has now. A snapshot.
            ///
            /// ```
            /// let (tx, rx) = weft::chan::bounded::<u8>(0);
            /// let _rx2 = rx.clone();
            /// assert_eq!((tx.receiver_count(), rx.receiver_count()), (2, 2));
            /// ```
            pub fn receiver_count(&self) -> usize {
                dispatch!(&self.flavor, |s, c| s.receivers.load(Ordering::Relaxed))
            }
        }

        // Like crossbeam-channel's handles: no operation leaves a channel broken when a
        // panic unwinds through it (nothing is poisoned; see the module docs on faults).
        impl<T> std::panic::UnwindSafe for $handle<T> {}
        impl<T> std::panic::RefUnwindSafe for $handle<T> {}
    };
}
count_methods!(Sender);
count_methods!(Receiver);
impl<T> std::panic::UnwindSafe for WeakSender<T> {}
impl<T> std::panic::RefUnwindSafe for WeakSender<T> {}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        dispatch!(&self.flavor, |s, c| add_handle(&s.senders));
        Sender {
            flavor: self.flavor.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        dispatch!(&self.flavor, |s, c| add_handle(&s.receivers));
        Receiver {
            flavor: self.flavor.clone(),
        }
    }
}

fn add_handle(count: &AtomicUsize) {
    // Relaxed, as for `Arc::clone`: a new handle is made from an existing one, which keeps the
    // count above zero meanwhile.
    let old = count.fetch_add(1, Ordering::Relaxed);
    // Like `Arc`, refuse a count that could wrap (only reachable by leaking handles).
    assert!(
        old < isize::MAX as usize,
        "weft::chan: too many channel handles"
    );
}

/// Drops one handle; the last one closes the channel.
fn drop_handle(count: &AtomicUsize, close: impl FnOnce() -> bool) {
    // Ordering: AcqRel, as in `Arc::drop`: every other handle's use happens-before the close
    // by the last one.
    if count.fetch_sub(1, Ordering::AcqRel) == 1 {
        close();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        dispatch!(&self.flavor, |s, c| drop_handle(&s.senders, || c.close()));
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Flavor::Timer(s) = &self.flavor {
            // A timer channel is kept for reuse rather than closed (see `timer::spare`).
            drop_handle(&s.receivers, || timer::Channel::last_receiver_gone(s));
            return;
        }
        dispatch!(&self.flavor, |s, c| drop_handle(&s.receivers, || c.close()));
    }
}

/// The future of [`Sender::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    state: FlavorSend<T>,
}

/// The future of [`Receiver::recv_async`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    receiver: &'a Receiver<T>,
    state: FlavorRecv<T>,
}

/// Per-flavour state of a pending send: the message and the registration.
pub(crate) enum FlavorSend<T> {
    Array(array::AsyncSend<T>),
    Zero(zero::AsyncSend<T>),
    List(Option<T>),
}

/// Per-flavour state of a pending receive.
pub(crate) enum FlavorRecv<T> {
    Array(waiters::AsyncWait),
    Zero(zero::AsyncRecv<T>),
    List(waiters::AsyncWait),
    Timer(waiters::AsyncWait),
}

impl<T> Sender<T> {
    /// One poll of a send whose state (`send_state`) lives at a fixed address.
    ///
    /// # Safety
    ///
    /// `state` stays pinned until [`finish_send_state`](Self::finish_send_state) ran for it.
    unsafe fn poll_send_state(
        &self,
        state: &mut FlavorSend<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        let poll = match (&self.flavor, state) {
            // SAFETY: forwarded from our caller.
            (Flavor::Array(s), FlavorSend::Array(st)) => unsafe {
                s.chan.poll_send(st, cx.waker())
            },
            // SAFETY: as above.
            (Flavor::Zero(s), FlavorSend::Zero(st)) => unsafe { s.chan.poll_send(st, cx.waker()) },
            (Flavor::List(s), FlavorSend::List(msg)) => s.chan.poll_send(msg),
            _ => unreachable!("send state of another flavour"),
        };
        poll.map(|r| r.map_err(SendError))
    }

    /// Withdraws a send state's registration; afterwards its message, if not delivered, is
    /// in the state ([`FlavorSend::into_unsent`]).
    #[inline]
    fn finish_send_state(&self, state: &mut FlavorSend<T>) {
        match (&self.flavor, state) {
            (Flavor::Array(s), FlavorSend::Array(st)) => s.chan.finish_send(st),
            (Flavor::Zero(s), FlavorSend::Zero(st)) => s.chan.finish_send(st),
            // Never registered; an unsent message stays in the state.
            (Flavor::List(_), FlavorSend::List(_)) => {}
            _ => unreachable!("send state of another flavour"),
        }
    }
}

impl<T> Sender<T> {
    /// A fresh async send state for `msg`.
    fn new_send_state(&self, msg: T) -> FlavorSend<T> {
        dispatch_send!(&self.flavor, |s, c| c.send_state(msg))
    }
}

impl<T> Receiver<T> {
    /// A fresh async receive state.
    fn new_recv_state(&self) -> FlavorRecv<T> {
        dispatch!(&self.flavor, |s, c| c.recv_state())
    }
}

impl<T> FlavorSend<T> {
    /// The message of a finished send state that was not delivered.
    fn into_unsent(self) -> Option<T> {
        match self {
            FlavorSend::Array(st) => st.take_unsent(),
            FlavorSend::List(msg) => msg,
            FlavorSend::Zero(st) => st.take_unsent(),
        }
    }
}

impl<T> Receiver<T> {
    /// One poll of a receive whose state (`recv_state`) lives at a fixed address.
    ///
    /// # Safety
    ///
    /// `state` stays pinned until [`finish_recv_state`](Self::finish_recv_state) ran for it.
    unsafe fn poll_recv_state(
        &self,
        state: &mut FlavorRecv<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, RecvError>> {
        let poll = match (&self.flavor, state) {
            // SAFETY: forwarded from our caller.
            (Flavor::Array(s), FlavorRecv::Array(wait)) => unsafe {
                s.chan.poll_recv(wait, cx.waker())
            },
            // SAFETY: as above.
            (Flavor::Zero(s), FlavorRecv::Zero(st)) => unsafe { s.chan.poll_recv(st, cx.waker()) },
            // SAFETY: as above.
            (Flavor::List(s), FlavorRecv::List(wait)) => unsafe {
                s.chan.poll_recv(wait, cx.waker())
            },
            // SAFETY: as above.
            (Flavor::Timer(s), FlavorRecv::Timer(wait)) => unsafe {
                s.chan.poll_recv(wait, cx.waker())
            },
            _ => unreachable!("receive state of another flavour"),
        };
        poll.map(|r| r.map_err(|()| RecvError))
    }

    /// Withdraws a receive state's registration (passing on a wake-up it took).
    #[inline]
    fn finish_recv_state(&self, state: &mut FlavorRecv<T>) {
        match (&self.flavor, state) {
            (Flavor::Array(s), FlavorRecv::Array(wait)) => s.chan.finish_recv(wait),
            (Flavor::Zero(s), FlavorRecv::Zero(st)) => s.chan.finish_recv(st),
            (Flavor::List(s), FlavorRecv::List(wait)) => s.chan.finish_recv(wait),
            (Flavor::Timer(s), FlavorRecv::Timer(wait)) => s.chan.finish_recv(wait),
            _ => unreachable!("receive state of another flavour"),
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: we never move out of `this`; the registration inside `state` stays at its
        // address until `Drop` withdraws it (the pinning contract of `poll_send_state`).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `state` is pinned inside this future and finished in `Drop`.
        unsafe { this.sender.poll_send_state(&mut this.state, cx) }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.sender.finish_send_state(&mut self.state);
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: as in `SendFuture::poll`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `state` is pinned inside this future and finished in `Drop`.
        unsafe { this.receiver.poll_recv_state(&mut this.state, cx) }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.receiver.finish_recv_state(&mut self.state);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}

/// Blocking iterator of [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-blocking iterator of [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator of `Receiver`'s `IntoIterator`.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
