//! Helpers shared by the channel tests (`chan_array.rs`, `chan_zero.rs`, `chan_list.rs`,
//! `chan_async.rs`):
//! timing constants sized for native runs and for Miri, a drop-counting message type, a
//! minimal async toolkit (a `block_on` that parks the thread, a counting waker, poll-once),
//! and the scenarios the flavours share (close, close races, drops, timeouts), each run by
//! every flavour's file on a channel of its own.
//!
//! No external crates: the executor is `std::task::Wake` plus `thread::park`.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::cell::Cell;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use weft::chan::{
    bounded, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender,
    TryRecvError, TrySendError,
};

/// Upper bound for "returned at the deadline, not absurdly later", and the deadline of every
/// liveness check (a lost wake-up fails the test instead of hanging it). Under Miri, time is
/// Miri's virtual clock, so bounds are looser there.
pub const SLACK: Duration = if cfg!(miri) {
    Duration::from_secs(60)
} else {
    Duration::from_secs(5)
};

/// Long enough for a blocked thread to spend its spin-then-yield budget and park on the futex.
/// Natively the budget is microseconds; under Miri every spin hint is a yield and every basic
/// block costs virtual time, so it is tens of virtual milliseconds. Never needed for
/// correctness: tests sleep `PARK` only to make the sleeping paths the likely ones.
pub const PARK: Duration = if cfg!(miri) {
    Duration::from_millis(200)
} else {
    Duration::from_millis(10)
};

/// A timeout for deadline checks that outlasts the spin budget (see `PARK`), so the waiter
/// really times out asleep on the futex.
pub const TIMEOUT: Duration = if cfg!(miri) {
    Duration::from_millis(500)
} else {
    Duration::from_millis(50)
};

/// Compile-time `T: Send + Sync` check.
pub fn assert_send_sync<T: ?Sized + Send + Sync>() {}

/// Compile-time `T: Send` check.
pub fn assert_send<T: ?Sized + Send>() {}

/// Compile-time "does NOT implement" check (the static_assertions trick): if `$ty` implemented
/// `$trait`, both blanket impls would apply and the call would be ambiguous, a compile error.
/// (Test files declare `#[macro_use] mod common;`.)
#[allow(unused_macros)]
macro_rules! assert_not_impl {
    ($ty:ty: $trait:path) => {{
        trait AmbiguousIfImpl<A> {
            fn some_item() {}
        }
        impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
        #[allow(dead_code)]
        struct Invalid;
        impl<T: ?Sized + $trait> AmbiguousIfImpl<Invalid> for T {}
        let _ = <$ty as AmbiguousIfImpl<_>>::some_item;
    }};
}

// ---------------------------------------------------------------------------------------------
// Counting drops
// ---------------------------------------------------------------------------------------------

/// Counts drops per message id, so a test can check that every message was dropped exactly
/// once (not leaked, not dropped twice), and which ones.
#[derive(Debug)]
pub struct DropTracker {
    per_id: Vec<AtomicUsize>,
}

impl DropTracker {
    /// A tracker for ids `0..n`.
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            per_id: (0..n).map(|_| AtomicUsize::new(0)).collect(),
        })
    }

    /// How many times the message with `id` has been dropped.
    pub fn drops(&self, id: usize) -> usize {
        self.per_id[id].load(Ordering::SeqCst)
    }

    /// Total drops over every id.
    pub fn total(&self) -> usize {
        self.per_id.iter().map(|c| c.load(Ordering::SeqCst)).sum()
    }

    /// Asserts every id in `0..n` was dropped exactly once.
    pub fn assert_all_dropped_once(&self) {
        for (id, c) in self.per_id.iter().enumerate() {
            let n = c.load(Ordering::SeqCst);
            assert_eq!(
                n, 1,
                "message {id} dropped {n} times, expected exactly once"
            );
        }
    }
}

/// A message that records its drop in a [`DropTracker`].
#[derive(Debug)]
pub struct Tracked {
    pub id: usize,
    tracker: Arc<DropTracker>,
}

impl Tracked {
    pub fn new(tracker: &Arc<DropTracker>, id: usize) -> Self {
        assert!(
            id < tracker.per_id.len(),
            "id {id} out of the tracker's range"
        );
        Self {
            id,
            tracker: Arc::clone(tracker),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.tracker.per_id[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// Async toolkit
// ---------------------------------------------------------------------------------------------

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` to completion on the calling thread, parking between polls. The thread's park
/// token makes a wake between `Pending` and `park` harmless.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on_until(fut, None).expect("no deadline")
}

/// As [`block_on`], but gives up (returning `None`, dropping the future) once `timeout` has
/// passed: a liveness check, so a lost wake-up fails the test instead of hanging it.
pub fn block_on_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
    block_on_until(fut, Some(Instant::now() + timeout))
}

fn block_on_until<F: Future>(fut: F, deadline: Option<Instant>) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        match deadline {
            None => thread::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return None;
                }
                thread::park_timeout(d - now);
            }
        }
    }
}

/// A waker that counts its wake-ups and does nothing else.
#[derive(Debug, Default)]
pub struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    /// A new counter and a `Waker` that bumps it.
    pub fn new() -> (Arc<Self>, Waker) {
        let c = Arc::new(Self::default());
        let w = Waker::from(Arc::clone(&c));
        (c, w)
    }

    /// Wake-ups so far.
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A one-shot callback run from inside a waker operation.
type Hook = Box<dyn FnOnce() + Send>;

/// A waker that counts wake-ups and can run a callback the first time it is cloned or woken.
///
/// The channel clones a task's waker when it registers the task and wakes it when it selects
/// it, both *inside* a channel operation. A hook therefore lets a single-threaded test run
/// code at exactly those points (deterministically, where threads would need a lucky
/// preemption), e.g. "a send lands between the receiver's first attempt and its
/// registration". `std::task::Wake` offers no clone hook, hence the raw vtable.
pub struct HookWaker {
    wakes: AtomicUsize,
    on_clone: Mutex<Option<Hook>>,
    on_wake: Mutex<Option<Hook>>,
}

static HOOK_VTABLE: RawWakerVTable =
    RawWakerVTable::new(hook_clone, hook_wake, hook_wake_by_ref, hook_drop);

/// # Safety
/// `data` comes from `Arc::<HookWaker>::into_raw` and its strong count is held by the waker
/// being cloned.
unsafe fn hook_clone(data: *const ()) -> RawWaker {
    // SAFETY: per the contract above, the `HookWaker` is alive for the duration of the call.
    let hook = unsafe { &*data.cast::<HookWaker>() };
    // Take the callback before running it, so it may clone or wake this waker itself.
    let f = hook.on_clone.lock().unwrap().take();
    if let Some(f) = f {
        f();
    }
    // SAFETY: `data` is an `Arc::into_raw` pointer whose count is at least 1 (held by the
    // waker being cloned); the new `RawWaker` owns the count added here.
    unsafe { Arc::increment_strong_count(data.cast::<HookWaker>()) };
    RawWaker::new(data, &HOOK_VTABLE)
}

/// # Safety
/// As `hook_clone`; consumes the waker's strong count.
unsafe fn hook_wake(data: *const ()) {
    // SAFETY: forwarded from our caller.
    unsafe {
        hook_wake_by_ref(data);
        hook_drop(data);
    }
}

/// # Safety
/// As `hook_clone`.
unsafe fn hook_wake_by_ref(data: *const ()) {
    // SAFETY: per the contract, the `HookWaker` is alive for the duration of the call.
    let hook = unsafe { &*data.cast::<HookWaker>() };
    hook.wakes.fetch_add(1, Ordering::SeqCst);
    let f = hook.on_wake.lock().unwrap().take();
    if let Some(f) = f {
        f();
    }
}

/// # Safety
/// As `hook_clone`; releases the waker's strong count.
unsafe fn hook_drop(data: *const ()) {
    // SAFETY: the waker being dropped owned one strong count of this `Arc`.
    drop(unsafe { Arc::from_raw(data.cast::<HookWaker>()) });
}

impl HookWaker {
    /// A waker running `on_clone` at its first clone and `on_wake` at its first wake-up.
    pub fn new(on_clone: Option<Hook>, on_wake: Option<Hook>) -> (Arc<Self>, Waker) {
        let hook = Arc::new(Self {
            wakes: AtomicUsize::new(0),
            on_clone: Mutex::new(on_clone),
            on_wake: Mutex::new(on_wake),
        });
        let data = Arc::into_raw(Arc::clone(&hook)).cast::<()>();
        // SAFETY: the vtable's functions follow the `RawWaker` contract for an
        // `Arc<HookWaker>` pointer (clone adds a count, wake/drop release one), and
        // `HookWaker` is `Send + Sync`, so the waker may travel between threads.
        let waker = unsafe { Waker::from_raw(RawWaker::new(data, &HOOK_VTABLE)) };
        (hook, waker)
    }

    /// Wake-ups so far.
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }

    /// Whether the clone hook has run (or there was none).
    pub fn clone_hook_ran(&self) -> bool {
        self.on_clone.lock().unwrap().is_none()
    }

    /// Whether the wake hook has run (or there was none).
    pub fn wake_hook_ran(&self) -> bool {
        self.on_wake.lock().unwrap().is_none()
    }
}

/// Polls a pinned future once with `waker`.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// Runs its closure when dropped, unwinding included; see [`on_drop`] and [`on_panic`].
#[must_use = "the closure runs when the guard drops"]
pub struct Defer<F: FnMut()>(F);

impl<F: FnMut()> Drop for Defer<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// A guard that runs `f` when dropped, whether the scope ends normally or by a panic: e.g. a
/// thread announcing "finished" so that threads looping until everyone has finished cannot
/// loop forever after it panicked.
pub fn on_drop<F: FnMut()>(f: F) -> Defer<F> {
    Defer(f)
}

/// A guard that runs `f` only if dropped while its thread panics. Tests use it to close a
/// channel when a thread fails: a partner blocked on that channel without a deadline then
/// fails with `Closed` instead of waiting forever for a thread that is gone (a hang is worse
/// than a failure).
pub fn on_panic(mut f: impl FnMut()) -> Defer<impl FnMut()> {
    Defer(move || {
        if thread::panicking() {
            f();
        }
    })
}

/// Spins (yielding) until `cond` holds, failing the test after [`SLACK`].
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < SLACK, "timed out waiting for {what}");
        thread::yield_now();
    }
}

// ---------------------------------------------------------------------------------------------
// Multi-threaded workloads shared by every flavour
// ---------------------------------------------------------------------------------------------

/// Both handles of a channel, as `bounded` and `unbounded` return them.
pub type Chan<T> = (Sender<T>, Receiver<T>);

/// `producers` threads each send `per_producer` messages `(producer, seq)`; `consumers`
/// threads receive until the channel is closed (by the drop of the last sender) and drained.
///
/// Checks: every message arrives exactly once (a per-message counter), and every consumer sees
/// each producer's messages in increasing `seq` order (a producer's sends are sequential, so
/// no consumer can receive a later one before an earlier one). Returns how many messages each
/// consumer got.
pub fn mpmc_exactly_once(
    cap: usize,
    producers: usize,
    consumers: usize,
    per_producer: usize,
) -> Vec<usize> {
    mpmc_exactly_once_on(weft::chan::bounded(cap), producers, consumers, per_producer)
}

/// [`mpmc_exactly_once`] on a given (fresh, empty, open) channel of any flavour, e.g.
/// `weft::chan::unbounded()`. Takes both handles: the channel closes when the producers
/// finish, as there.
pub fn mpmc_exactly_once_on(
    (tx, rx): Chan<(usize, usize)>,
    producers: usize,
    consumers: usize,
    per_producer: usize,
) -> Vec<usize> {
    let seen: Vec<AtomicUsize> = (0..producers * per_producer)
        .map(|_| AtomicUsize::new(0))
        .collect();
    let counts = thread::scope(|s| {
        for p in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                for seq in 0..per_producer {
                    tx.send((p, seq)).expect("receivers outlive producers");
                }
            });
        }
        drop(tx);
        let handles: Vec<_> = (0..consumers)
            .map(|_| {
                let (rx, seen) = (rx.clone(), &seen);
                s.spawn(move || {
                    // A consumer that fails closes the channel, so producers blocked on a
                    // full buffer fail too instead of waiting forever.
                    let _close = on_panic(|| {
                        rx.close();
                    });
                    let mut last: Vec<Option<usize>> = vec![None; producers];
                    let mut got = 0;
                    for (p, seq) in &rx {
                        if let Some(prev) = last[p] {
                            assert!(
                                seq > prev,
                                "producer {p}: seq {seq} received after {prev} by one consumer"
                            );
                        }
                        last[p] = Some(seq);
                        seen[p * per_producer + seq].fetch_add(1, Ordering::Relaxed);
                        got += 1;
                    }
                    got
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    for (i, n) in seen.iter().enumerate() {
        let n = n.load(Ordering::Relaxed);
        assert_eq!(
            n,
            1,
            "message (producer {}, seq {}) received {n} times",
            i / per_producer,
            i % per_producer
        );
    }
    assert_eq!(counts.iter().sum::<usize>(), producers * per_producer);
    drop(rx);
    counts
}

/// Exact quotas, no close: `producers` threads send `per_producer` messages each, `consumers`
/// threads receive exactly `per_consumer` each, every operation blocking with a deadline of
/// [`SLACK`]. The channel stays open throughout, so nothing but the channel's own wake-ups
/// moves a parked thread: a lost wake-up leaves a thread asleep while its operation could
/// proceed, and shows as an operation that only returned at its deadline (the retry after the
/// timeout may then succeed, so the elapsed time is what is checked).
pub fn exact_quotas(
    cap: usize,
    producers: usize,
    per_producer: usize,
    consumers: usize,
    per_consumer: usize,
) {
    exact_quotas_on(
        weft::chan::bounded(cap),
        producers,
        per_producer,
        consumers,
        per_consumer,
    );
}

/// [`exact_quotas`] on a given (fresh, empty, open) channel of any flavour, e.g.
/// `weft::chan::unbounded()`.
pub fn exact_quotas_on(
    (tx, rx): Chan<usize>,
    producers: usize,
    per_producer: usize,
    consumers: usize,
    per_consumer: usize,
) {
    assert_eq!(producers * per_producer, consumers * per_consumer);
    let sum = AtomicUsize::new(0);
    thread::scope(|s| {
        for p in 0..producers {
            let tx = &tx;
            s.spawn(move || {
                for i in 0..per_producer {
                    let start = Instant::now();
                    let r = tx.send_timeout(p * per_producer + i, SLACK);
                    let took = start.elapsed();
                    assert!(
                        took < SLACK,
                        "send stalled until its deadline ({took:?}, result {r:?}): lost wake-up"
                    );
                    r.unwrap();
                }
            });
        }
        for _ in 0..consumers {
            let (rx, sum) = (&rx, &sum);
            s.spawn(move || {
                for _ in 0..per_consumer {
                    let start = Instant::now();
                    let r = rx.recv_timeout(SLACK);
                    let took = start.elapsed();
                    assert!(
                        took < SLACK,
                        "recv stalled until its deadline ({took:?}, result {r:?}): lost wake-up"
                    );
                    sum.fetch_add(r.unwrap(), Ordering::Relaxed);
                }
            });
        }
    });
    let n = producers * per_producer;
    assert_eq!(sum.into_inner(), n * (n - 1) / 2);
    assert!(rx.is_empty());
    assert!(!tx.is_closed());
}

// ---------------------------------------------------------------------------------------------
// Scenarios shared by the flavours
// ---------------------------------------------------------------------------------------------
//
// Each takes a fresh channel (both handles), a constructor when it needs several, or, where
// only the bounded flavours apply (a blocked sender), a capacity. The flavour files call them
// with their own sizes and keep what only their flavour does.

/// A small deterministic generator (xorshift64*), so "random" schedules replay exactly.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// The compile-time half of every flavour's `send_sync` test (the handles are one type for all
/// flavours): both handles are Send + Sync for `T: Send`, like std's and crossbeam's channels;
/// a non-Send `T` makes them neither.
pub fn handles_are_send_sync() {
    assert_send_sync::<Sender<i32>>();
    assert_send_sync::<Receiver<i32>>();
    assert_send_sync::<Sender<Cell<i32>>>();
    assert_send_sync::<Receiver<Cell<i32>>>();
    assert_send_sync::<Sender<Box<dyn FnOnce() + Send>>>();
    assert_not_impl!(Sender<Rc<i32>>: Send);
    assert_not_impl!(Sender<Rc<i32>>: Sync);
    assert_not_impl!(Receiver<Rc<i32>>: Send);
    assert_not_impl!(Receiver<Rc<i32>>: Sync);
}

/// `Debug` shows length, capacity (`cap`) and closed state; clones are the same channel. Takes
/// a buffering channel with room for two messages.
pub fn handles_debug_and_clone((tx, rx): Chan<i32>, cap: Option<usize>) {
    tx.send(1).unwrap();
    assert_eq!(
        format!("{tx:?}"),
        format!("Sender {{ len: 1, capacity: {cap:?}, closed: false }}")
    );
    let rx2 = rx.clone();
    let tx2 = tx.clone();
    tx2.send(2).unwrap();
    assert_eq!(
        format!("{rx2:?}"),
        format!("Receiver {{ len: 2, capacity: {cap:?}, closed: false }}")
    );
    // Clones are the same channel.
    assert_eq!(rx2.recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    rx2.close();
    assert_eq!(
        format!("{rx:?}"),
        format!("Receiver {{ len: 0, capacity: {cap:?}, closed: true }}")
    );
}

/// `try_iter` takes the `buffered` messages there and stops; `iter` blocks until the channel
/// is closed and drained (`streamed` messages from another thread); `&Receiver` and `Receiver`
/// are `IntoIterator`, here over `dropped` messages left by a dropped sender. `make` gives
/// fresh buffering channels with room for `buffered` and for `dropped` (at least one)
/// messages.
pub fn iterators(make: impl Fn() -> Chan<usize>, buffered: usize, streamed: usize, dropped: usize) {
    assert!(dropped >= 1, "the `IntoIterator` forms need a message");
    let (tx, rx) = make();
    for i in 0..buffered {
        tx.send(i).unwrap();
    }
    // try_iter takes what is there and stops; it never blocks.
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        (0..buffered).collect::<Vec<_>>()
    );
    assert_eq!(rx.try_iter().next(), None);

    // iter / &Receiver / Receiver block until closed and drained.
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..streamed {
                tx.send(i).unwrap();
            }
            tx.close();
        });
        assert_eq!(
            rx.iter().collect::<Vec<_>>(),
            (0..streamed).collect::<Vec<_>>()
        );
    });
    assert_eq!(rx.iter().next(), None);

    let (tx, rx) = make();
    for i in 0..dropped {
        tx.send(i).unwrap();
    }
    drop(tx);
    // `&Receiver` and `Receiver` are `IntoIterator` (the `for` loop forms).
    assert_eq!((&rx).into_iter().next(), Some(0));
    let mut owned = Vec::new();
    for v in rx {
        owned.push(v);
    }
    assert_eq!(owned, (1..dropped).collect::<Vec<_>>());
}

/// Asserts that `recv_timeout(TIMEOUT)` times out, having waited the whole timeout and not
/// absurdly longer.
pub fn assert_recv_times_out<T: Debug>(rx: &Receiver<T>) {
    let start = Instant::now();
    let r = rx.recv_timeout(TIMEOUT);
    let took = start.elapsed();
    assert!(
        matches!(r, Err(RecvTimeoutError::Timeout)),
        "expected Timeout, got {r:?}"
    );
    assert!(took >= TIMEOUT, "gave up early: {took:?}");
    assert!(took < SLACK, "gave up far too late: {took:?}");
}

/// Asserts that `send_timeout(msg, TIMEOUT)` times out, having waited the whole timeout and
/// not absurdly longer, and hands `msg` back.
pub fn assert_send_times_out<T: Debug>(tx: &Sender<T>, msg: T) -> T {
    let start = Instant::now();
    let r = tx.send_timeout(msg, TIMEOUT);
    let took = start.elapsed();
    let back = match r {
        Err(SendTimeoutError::Timeout(v)) => v,
        other => panic!("expected Timeout, got {other:?}"),
    };
    assert!(took >= TIMEOUT, "gave up early: {took:?}");
    assert!(took < SLACK, "gave up far too late: {took:?}");
    back
}

// Close, single thread -------------------------------------------------------------------------

/// On a closed channel, every sending method (`send`, `try_send`, `send_timeout`, `send_async`)
/// fails with the message back, undropped, and closed as the reason; returns the message.
pub fn every_send_hands_back<T: Debug>(tx: &Sender<T>, msg: T) -> T {
    let back = tx.send(msg).unwrap_err().into_inner();
    let back = match tx.try_send(back) {
        Err(TrySendError::Closed(v)) => v,
        other => panic!("expected Closed, got {other:?}"),
    };
    let back = match tx.send_timeout(back, TIMEOUT) {
        Err(SendTimeoutError::Closed(v)) => v,
        other => panic!("expected Closed, got {other:?}"),
    };
    block_on(tx.send_async(back)).unwrap_err().into_inner()
}

/// Closes a channel holding `n` messages (`0..n`; the rendezvous flavour holds none) from the
/// sender. The first close wins and later ones report false; sends fail with the message back
/// from every sending method, whatever the room; receivers drain the `n` messages (by every
/// receiving method in turn) before they see the close, from every receiving method, at once.
pub fn close_from_sender_then_drain((tx, rx): Chan<usize>, n: usize) {
    for i in 0..n {
        tx.send(i).unwrap();
    }
    assert!(!tx.is_closed() && !rx.is_closed());
    assert!(tx.close(), "first close closes");
    assert!(!tx.close() && !rx.close(), "later closes report false");
    assert!(tx.is_closed() && rx.is_closed());

    // Sends fail with the message back, from every sending method.
    assert_eq!(tx.send(1000), Err(SendError(1000)));
    assert_eq!(tx.try_send(1001), Err(TrySendError::Closed(1001)));
    assert_eq!(
        tx.send_timeout(1002, TIMEOUT),
        Err(SendTimeoutError::Closed(1002))
    );
    assert_eq!(block_on(tx.send_async(1003)), Err(SendError(1003)));
    assert_eq!(rx.len(), n, "failed sends added nothing");

    // Receivers drain first, then see the close, from every receiving method.
    for i in 0..n {
        let r = match i % 4 {
            0 => rx.recv().ok(),
            1 => rx.try_recv().ok(),
            2 => rx.recv_timeout(TIMEOUT).ok(),
            _ => block_on(rx.recv_async()).ok(),
        };
        assert_eq!(r, Some(i), "n {n}");
    }
    assert!(rx.is_empty());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(rx.recv(), Err(RecvError));
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(SLACK), Err(RecvTimeoutError::Closed));
    assert!(start.elapsed() < SLACK, "closed must not wait");
    assert_eq!(block_on(rx.recv_async()), Err(RecvError));
}

/// Closes a channel holding `n` messages from the receiver: the sender sees the close, and
/// (Go's semantics) the buffered messages are still received before it shows.
pub fn close_from_receiver((tx, rx): Chan<usize>, n: usize) {
    for i in 0..n {
        tx.send(i).unwrap();
    }
    assert!(rx.close());
    assert!(!tx.close());
    assert!(tx.is_closed());
    assert_eq!(tx.send(1000), Err(SendError(1000)));
    // Go's semantics: close does not discard buffered messages.
    assert_eq!(rx.iter().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
    assert_eq!(rx.recv(), Err(RecvError));
}

/// The drop of the last sender (not of a clone) closes a buffering channel (room for two);
/// the messages sent before are still received.
pub fn last_sender_drop_closes((tx, rx): Chan<i32>) {
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a clone is still alive");
    tx2.send(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.recv(), Err(RecvError));
    assert!(!rx.close(), "already closed by the drop");
}

/// The drop of the last receiver (not of a clone) closes a buffering channel (room for one):
/// every sending method then hands its message back undropped, and the message buffered
/// before is dropped with the channel.
pub fn last_receiver_drop_closes((tx, rx): Chan<Tracked>) {
    let drops = DropTracker::new(2);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "a clone is still alive");
    tx.send(Tracked::new(&drops, 0)).unwrap();
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(
        drops.total(),
        0,
        "the buffered message stays until the channel is freed"
    );
    let back = every_send_hands_back(&tx, Tracked::new(&drops, 1));
    assert_eq!(back.id, 1);
    assert_eq!(drops.total(), 0);
    drop(back);
    assert_eq!(drops.drops(1), 1);
    drop(tx);
    assert_eq!(drops.drops(0), 1, "dropped with the channel");
    assert_eq!(drops.total(), 2);
}

// Drops ---------------------------------------------------------------------------------------

/// Producers send `per` tracked messages each; the consumer stops halfway and drops its
/// receiver, which closes the channel: blocked and later senders get their messages back,
/// undropped. Every message ends up dropped exactly once: by the consumer, by a failed sender,
/// or with the channel (what was still buffered).
pub fn drops_across_threads((tx, rx): Chan<Tracked>, per: usize) {
    let producers = if cfg!(miri) { 2 } else { 4 };
    let total = producers * per;
    let drops = DropTracker::new(total);
    let returned = AtomicUsize::new(0);
    thread::scope(|s| {
        for p in 0..producers {
            let (tx, drops, returned) = (tx.clone(), &drops, &returned);
            s.spawn(move || {
                for i in 0..per {
                    let id = p * per + i;
                    if let Err(SendError(v)) = tx.send(Tracked::new(drops, id)) {
                        assert_eq!(v.id, id, "the failed send's own message comes back");
                        assert_eq!(drops.drops(id), 0, "handed back, not dropped");
                        returned.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        let rx = rx;
        for _ in 0..total / 2 {
            drop(rx.recv().unwrap());
        }
        // `rx` drops here: the channel closes with messages (maybe) still buffered.
    });
    assert!(tx.is_closed());
    let (buffered, returned) = (tx.len(), returned.into_inner());
    assert_eq!(
        drops.total(),
        total / 2 + returned,
        "the buffered ones wait for the channel"
    );
    // Received + handed back + still buffered (dropped with the channel) = all.
    assert_eq!(total / 2 + returned + buffered, total);
    drop(tx);
    drops.assert_all_dropped_once();
}

// Close races ---------------------------------------------------------------------------------

/// Senders blocked on a full bounded channel (`cap` tracked messages buffered; none for the
/// rendezvous flavour), woken by each way of closing it in turn: a sender's close, a
/// receiver's close, the drop of the last receiver. Every sender (half of them in
/// `send_timeout`, half in `send`) must wake well before its deadline with its own message
/// back, undropped; after a sender's close the buffered messages are still received.
pub fn close_wakes_blocked_senders(cap: usize) {
    blocked_senders_get_their_message_back(cap, "sender's close", |tx, rx| {
        assert!(tx.close());
        // The buffered messages are still there for receivers.
        for id in 0..cap {
            assert_eq!(rx.recv().unwrap().id, id);
        }
        assert_eq!(rx.recv().map(|m| m.id), Err(RecvError));
    });
    blocked_senders_get_their_message_back(cap, "receiver's close", |tx, rx| {
        assert!(rx.close());
        assert!(tx.is_closed());
    });
    blocked_senders_get_their_message_back(cap, "last receiver's drop", |_tx, rx| drop(rx));
}

/// Spawns one sender per id beyond the `cap` buffered messages, each sending its tracked
/// message on the full channel; then runs `close` (after the senders have had time to park)
/// and checks every sender got its own message back (`how` names the close in failures).
fn blocked_senders_get_their_message_back(
    cap: usize,
    how: &str,
    close: impl FnOnce(Sender<Tracked>, Receiver<Tracked>),
) {
    let senders = if cfg!(miri) { 2 } else { 4 };
    let drops = DropTracker::new(cap + senders);
    let (tx, rx) = bounded(cap);
    for id in 0..cap {
        tx.send(Tracked::new(&drops, id)).unwrap();
    }
    let started = AtomicUsize::new(0);
    thread::scope(|s| {
        let handles: Vec<_> = (cap..cap + senders)
            .map(|id| {
                let (tx, drops, started) = (tx.clone(), &drops, &started);
                s.spawn(move || {
                    started.fetch_add(1, Ordering::Relaxed);
                    let start = Instant::now();
                    let back = if id % 2 == 0 {
                        match tx.send_timeout(Tracked::new(drops, id), 2 * SLACK) {
                            Err(SendTimeoutError::Closed(v)) => v,
                            other => panic!("{how}: expected Closed, got {other:?}"),
                        }
                    } else {
                        tx.send(Tracked::new(drops, id)).unwrap_err().into_inner()
                    };
                    let took = start.elapsed();
                    assert!(took < SLACK, "{how}: woken by the deadline ({took:?})");
                    assert_eq!(back.id, id);
                    assert_eq!(drops.drops(id), 0, "{how}: handed back, not dropped");
                })
            })
            .collect();
        wait_for("senders to start", || {
            started.load(Ordering::Relaxed) == senders
        });
        thread::sleep(PARK);
        close(tx, rx);
        for h in handles {
            h.join().unwrap();
        }
    });
    drops.assert_all_dropped_once();
}

/// Receivers blocked on an empty channel from `make`, woken by each way of closing it in
/// turn: a sender's close, a receiver's close, the drop of the last sender. Each receiver
/// (half of them in `recv_timeout`, half in `recv`) must wake with `Closed` well before its
/// deadline.
pub fn close_wakes_blocked_receivers(make: impl Fn() -> Chan<u32>) {
    blocked_receivers_see_the_close(make(), "sender's close", |tx, _rx| assert!(tx.close()));
    blocked_receivers_see_the_close(make(), "receiver's close", |_tx, rx| assert!(rx.close()));
    blocked_receivers_see_the_close(make(), "last sender's drop", |tx, _rx| drop(tx));
}

/// Spawns receivers blocked on the empty channel, then runs `close` (after they have had time
/// to park); each must wake with `Closed` well before its deadline (`how` names the close in
/// failures).
fn blocked_receivers_see_the_close(
    (tx, rx): Chan<u32>,
    how: &str,
    close: impl FnOnce(Sender<u32>, Receiver<u32>),
) {
    let receivers = if cfg!(miri) { 2 } else { 4 };
    let started = AtomicUsize::new(0);
    thread::scope(|s| {
        let handles: Vec<_> = (0..receivers)
            .map(|i| {
                let (rx, started) = (rx.clone(), &started);
                s.spawn(move || {
                    started.fetch_add(1, Ordering::Relaxed);
                    let start = Instant::now();
                    if i % 2 == 0 {
                        assert_eq!(
                            rx.recv_timeout(2 * SLACK),
                            Err(RecvTimeoutError::Closed),
                            "{how}"
                        );
                    } else {
                        assert_eq!(rx.recv(), Err(RecvError), "{how}");
                    }
                    let took = start.elapsed();
                    assert!(took < SLACK, "{how}: woken by the deadline ({took:?})");
                })
            })
            .collect();
        wait_for("receivers to start", || {
            started.load(Ordering::Relaxed) == receivers
        });
        thread::sleep(PARK);
        close(tx, rx);
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// Threads on both sides of a channel from `make` close it at once (after a barrier); exactly
/// one call wins, and both sides then see it closed.
pub fn close_returns_true_exactly_once(make: impl Fn() -> Chan<u8>) {
    const ROUNDS: usize = if cfg!(miri) { 3 } else { 200 };
    const THREADS: usize = if cfg!(miri) { 3 } else { 4 };
    for _ in 0..ROUNDS {
        let (tx, rx) = make();
        let barrier = Barrier::new(THREADS);
        let wins = AtomicUsize::new(0);
        thread::scope(|s| {
            for t in 0..THREADS {
                let (tx, rx, barrier, wins) = (tx.clone(), rx.clone(), &barrier, &wins);
                s.spawn(move || {
                    barrier.wait();
                    let won = if t % 2 == 0 { tx.close() } else { rx.close() };
                    if won {
                        wins.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(wins.into_inner(), 1);
        assert!(tx.is_closed() && rx.is_closed());
    }
}

/// Each of `rounds` rounds: producers (`per` tracked messages each) and two consumers run on a
/// channel from `make` while a third party closes it (from the sending side in even rounds,
/// the receiving side in odd ones) after `round % 7 * yield_step` yields (one per step under
/// Miri).
///
/// Every message must end exactly once: received, or handed back to its sender; receivers
/// drain what was buffered before they see the close, so nothing is left to drop with the
/// channel, and no receive succeeds after a receiver has seen the channel closed and drained.
/// A producer whose send failed must see every later send fail too. One receiver blocks in
/// `recv_timeout`, so that a close failing to wake it fails the test, the other in `recv`.
pub fn close_races_with_traffic(
    make: impl Fn() -> Chan<Tracked>,
    rounds: usize,
    per: usize,
    yield_step: usize,
) {
    let producers = if cfg!(miri) { 2 } else { 3 };
    for round in 0..rounds {
        let drops = DropTracker::new(producers * per);
        let (tx, rx) = make();
        let received = AtomicUsize::new(0);
        let returned = AtomicUsize::new(0);
        thread::scope(|s| {
            for p in 0..producers {
                let (tx, drops, returned) = (tx.clone(), &drops, &returned);
                s.spawn(move || {
                    let mut closed = false;
                    for i in 0..per {
                        let id = p * per + i;
                        match tx.send(Tracked::new(drops, id)) {
                            Ok(()) => assert!(!closed, "a send succeeded after one failed"),
                            Err(e) => {
                                closed = true;
                                assert_eq!(e.into_inner().id, id);
                                returned.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                });
            }
            for c in 0..2 {
                let (rx, received) = (rx.clone(), &received);
                s.spawn(move || {
                    loop {
                        let r = if c == 0 {
                            rx.recv_timeout(SLACK)
                        } else {
                            rx.recv().map_err(RecvTimeoutError::from)
                        };
                        match r {
                            Ok(m) => {
                                drop(m);
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(RecvTimeoutError::Closed) => break,
                            Err(RecvTimeoutError::Timeout) => panic!("receiver missed the close"),
                        }
                    }
                    assert!(rx.is_closed());
                    assert_eq!(rx.try_recv().map(|m| m.id), Err(TryRecvError::Closed));
                });
            }
            let closer = (tx.clone(), rx.clone());
            s.spawn(move || {
                for _ in 0..round % 7 * if cfg!(miri) { 1 } else { yield_step } {
                    thread::yield_now();
                }
                if round % 2 == 0 {
                    closer.0.close();
                } else {
                    closer.1.close();
                }
            });
        });
        let (received, returned) = (received.into_inner(), returned.into_inner());
        assert!(rx.is_empty(), "receivers drained the channel");
        assert_eq!(received + returned, producers * per, "round {round}");
        assert_eq!(
            drops.total(),
            producers * per,
            "all dropped before the channel is"
        );
        drop((tx, rx));
        drops.assert_all_dropped_once();
    }
}

// Many threads --------------------------------------------------------------------------------

/// One sender, one receiver, `n` messages in order; the sender's drop then closes the channel.
pub fn spsc_fifo((tx, rx): Chan<usize>, n: usize) {
    thread::scope(|s| {
        s.spawn(move || {
            for i in 0..n {
                tx.send(i).unwrap();
            }
        });
        for i in 0..n {
            assert_eq!(rx.recv(), Ok(i));
        }
        assert_eq!(rx.recv(), Err(RecvError), "closed by the sender's drop");
    });
}

/// A message's heap contents, written before the send, are visible after the recv, across
/// `n` messages from another thread: Miri and TSan see a missing edge as a data race.
pub fn send_publishes_plain_memory((tx, rx): Chan<Vec<usize>>, n: usize) {
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n {
                tx.send(vec![i; 16]).unwrap();
            }
        });
        for i in 0..n {
            let v = rx.recv().unwrap();
            assert!(v.iter().all(|&x| x == i));
        }
    });
}

// Timeouts ------------------------------------------------------------------------------------

/// A receiver blocked in `recv_timeout` on the empty channel completes, well before its
/// deadline, when a message arrives.
///
/// The sleep only makes "already asleep when the message comes" likely; the receiver may
/// equally find the message at its first attempt. If it fails, it closes the channel: on a
/// rendezvous the main thread's `send` would otherwise wait forever for it.
pub fn recv_timeout_succeeds_mid_wait((tx, rx): Chan<u32>) {
    let waiting = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            let _close = on_panic(|| {
                rx.close();
            });
            waiting.store(true, Ordering::Relaxed);
            let start = Instant::now();
            assert_eq!(rx.recv_timeout(2 * SLACK), Ok(7));
            assert!(start.elapsed() < SLACK);
        });
        wait_for("the receiver", || waiting.load(Ordering::Relaxed));
        thread::sleep(PARK);
        tx.send(7).unwrap();
    });
}

/// A sender blocked in `send_timeout` on a full bounded channel (`cap` messages buffered)
/// completes, well before its deadline, when a receive makes room (for the rendezvous flavour:
/// takes its message).
///
/// As for receivers, the sleep only makes the asleep case likely. A failing sender closes the
/// channel, so that the main thread's `recv` on a rendezvous cannot wait forever for it.
pub fn send_timeout_succeeds_mid_wait(cap: usize) {
    let (tx, rx) = bounded(cap);
    for i in 0..cap {
        tx.send(i).unwrap();
    }
    let waiting = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            let _close = on_panic(|| {
                tx.close();
            });
            waiting.store(true, Ordering::Relaxed);
            let start = Instant::now();
            tx.send_timeout(cap, 2 * SLACK)
                .expect("room frees mid-wait");
            assert!(start.elapsed() < SLACK);
        });
        wait_for("the sender", || waiting.load(Ordering::Relaxed));
        thread::sleep(PARK);
        assert_eq!(rx.recv(), Ok(0));
    });
    // The rest, the waiter's message last.
    for i in 1..=cap {
        assert_eq!(rx.recv(), Ok(i));
    }
}

/// A receiver that timed out must not stay in the wait list and absorb the notification meant
/// for a receiver still blocked: one short and one long waiter on the empty channel; after the
/// short one gives up, a send must wake the long one.
///
/// A long waiter that gives up (the failure this looks for) closes the channel, and the send's
/// result is checked only after the long waiter's: on a rendezvous, the main thread's `send`
/// would otherwise wait forever for a receiver that is gone, a hang instead of a failure.
pub fn timed_out_receivers_do_not_swallow_wake_ups((tx, rx): Chan<u32>) {
    thread::scope(|s| {
        let long = s.spawn(|| {
            let start = Instant::now();
            let r = rx.recv_timeout(2 * SLACK);
            if r.is_err() {
                rx.close();
            }
            (r, start.elapsed())
        });
        s.spawn(|| assert_eq!(rx.recv_timeout(TIMEOUT), Err(RecvTimeoutError::Timeout)))
            .join()
            .unwrap();
        thread::sleep(PARK);
        let sent = tx.send(1);
        let (r, took) = long.join().unwrap();
        assert_eq!(r, Ok(1));
        assert!(
            took < SLACK,
            "the long waiter missed its wake-up ({took:?})"
        );
        sent.unwrap();
    });
}

/// The same for senders on a full bounded channel (`cap` messages buffered): after the short
/// sender gives up, a receive must reach the long one. As there, a long sender that gives up
/// closes the channel, so the main thread's `recv` on a rendezvous cannot wait forever.
pub fn timed_out_senders_do_not_swallow_wake_ups(cap: usize) {
    let (tx, rx) = bounded(cap);
    for i in 0..cap {
        tx.send(i).unwrap();
    }
    thread::scope(|s| {
        let long = s.spawn(|| {
            let start = Instant::now();
            let r = tx.send_timeout(cap, 2 * SLACK);
            if r.is_err() {
                tx.close();
            }
            (r, start.elapsed())
        });
        s.spawn(|| {
            assert_eq!(
                tx.send_timeout(1000, TIMEOUT),
                Err(SendTimeoutError::Timeout(1000))
            )
        })
        .join()
        .unwrap();
        thread::sleep(PARK);
        let got = rx.recv();
        let (r, took) = long.join().unwrap();
        assert_eq!(r, Ok(()));
        assert!(
            took < SLACK,
            "the long waiter missed its wake-up ({took:?})"
        );
        assert_eq!(got, Ok(0));
    });
    // The rest, the long waiter's message last.
    for i in 1..=cap {
        assert_eq!(rx.recv(), Ok(i));
    }
}

/// `threads` senders (`n` messages each) and `threads` receivers with short, varied timeouts
/// (zero to a millisecond) on the channel: a message is received exactly when its send
/// reported success, then once, and handed back exactly when it reported a timeout. Returns
/// how many sends timed out.
pub fn racing_timeouts((tx, rx): Chan<usize>, threads: usize, n: usize) -> usize {
    const TIMEOUTS: [Duration; 4] = [
        Duration::ZERO,
        Duration::from_micros(5),
        Duration::from_micros(100),
        Duration::from_millis(1),
    ];
    let seen: Vec<AtomicUsize> = (0..threads * n).map(|_| AtomicUsize::new(0)).collect();
    let sent_ok: Vec<AtomicBool> = (0..threads * n).map(|_| AtomicBool::new(false)).collect();
    let done = AtomicUsize::new(0);
    thread::scope(|s| {
        for p in 0..threads {
            let (tx, sent_ok, done) = (&tx, &sent_ok, &done);
            s.spawn(move || {
                // Counted as done even if this sender fails: the receivers loop until every
                // sender is, and must not loop forever.
                let _done = on_drop(|| {
                    done.fetch_add(1, Ordering::Relaxed);
                });
                for i in 0..n {
                    let v = p * n + i;
                    match tx.send_timeout(v, TIMEOUTS[(i + p) % 4]) {
                        Ok(()) => sent_ok[v].store(true, Ordering::Relaxed),
                        Err(e) => {
                            assert!(e.is_timeout());
                            assert_eq!(e.into_inner(), v);
                        }
                    }
                }
            });
        }
        for c in 0..threads {
            let (rx, seen, done) = (&rx, &seen, &done);
            s.spawn(move || {
                let mut i = 0;
                loop {
                    match rx.recv_timeout(TIMEOUTS[(i + c) % 4]) {
                        Ok(v) => {
                            seen[v].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            if done.load(Ordering::Relaxed) == threads && rx.is_empty() {
                                break;
                            }
                        }
                        Err(RecvTimeoutError::Closed) => unreachable!(),
                    }
                    i += 1;
                }
            });
        }
    });
    let mut timed_out = 0;
    for (v, (n, ok)) in seen.iter().zip(&sent_ok).enumerate() {
        let (n, ok) = (n.load(Ordering::Relaxed), ok.load(Ordering::Relaxed));
        assert_eq!(
            n,
            usize::from(ok),
            "message {v}: received {n} times, send reported {}",
            if ok { "success" } else { "timeout" }
        );
        timed_out += usize::from(!ok);
    }
    timed_out
}

// Async ---------------------------------------------------------------------------------------

/// A receive polled once (registered) and dropped, on an empty channel: a later message goes
/// to another receiver, a thread or a task, and the dropped future is never woken.
pub fn dropped_pending_recv_loses_nothing((tx, rx): Chan<u32>) {
    let (c, w) = CountingWaker::new();
    {
        let mut recv = std::pin::pin!(rx.recv_async());
        assert!(poll_once(recv.as_mut(), &w).is_pending());
    }
    thread::scope(|s| {
        s.spawn(|| tx.send(1).unwrap());
        let start = Instant::now();
        assert_eq!(rx.recv_timeout(SLACK), Ok(1));
        assert!(start.elapsed() < SLACK);
    });
    thread::scope(|s| {
        s.spawn(|| tx.send(2).unwrap());
        assert_eq!(block_on_timeout(rx.recv_async(), SLACK), Some(Ok(2)));
    });
    assert_eq!(c.wakes(), 0, "a dropped future is never woken");
}

/// A pending receive first in line and a thread blocked in `recv_timeout` behind it, on an
/// empty buffering channel: a message wakes the future, which is dropped without being polled
/// again; its wake-up must pass to the thread, which gets the message well before its
/// deadline.
pub fn dropped_notified_recv_passes_the_wake_up_to_a_thread((tx, rx): Chan<u32>) {
    let (c1, w1) = CountingWaker::new();
    let mut first = Box::pin(rx.recv_async());
    assert!(poll_once(first.as_mut(), &w1).is_pending());
    thread::scope(|s| {
        let receiver = s.spawn(|| {
            let start = Instant::now();
            (rx.recv_timeout(2 * SLACK), start.elapsed())
        });
        thread::sleep(PARK); // let the thread register behind the future (not required)
        tx.try_send(1).unwrap();
        assert_eq!(c1.wakes(), 1, "the first in line (the future) is woken");
        drop(first);
        let (r, took) = receiver.join().unwrap();
        assert_eq!(r, Ok(1));
        assert!(
            took < SLACK,
            "the thread missed the passed-on wake-up ({took:?})"
        );
    });
}

/// Two senders (`per` messages each, yielding now and then) run until they drop their handles,
/// which closes the channel; meanwhile two threads keep creating receive futures, polling each
/// once and dropping it (keeping what a poll happens to return), and a blocking receiver
/// receives. Every value is received exactly once, and the blocking receiver is never left
/// asleep by a cancelled future (its deadline would expire).
pub fn cancel_storm((tx, rx): Chan<usize>, per: usize) {
    let cap = rx.capacity();
    let seen: Vec<AtomicUsize> = (0..2 * per).map(|_| AtomicUsize::new(0)).collect();
    let (_, w) = CountingWaker::new();
    thread::scope(|s| {
        for p in 0..2 {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    tx.send_timeout(p * per + i, SLACK).unwrap();
                    if i % 16 == 0 {
                        thread::yield_now();
                    }
                }
            });
        }
        drop(tx);
        for _ in 0..2 {
            let (rx, seen, w) = (&rx, &seen, &w);
            s.spawn(move || {
                while !rx.is_closed() {
                    let mut recv = std::pin::pin!(rx.recv_async());
                    if let Poll::Ready(Ok(v)) = poll_once(recv.as_mut(), w) {
                        seen[v].fetch_add(1, Ordering::Relaxed);
                    }
                    thread::yield_now();
                }
            });
        }
        let (rx, seen) = (&rx, &seen);
        s.spawn(move || loop {
            let start = Instant::now();
            match rx.recv_timeout(SLACK) {
                Ok(v) => {
                    seen[v].fetch_add(1, Ordering::Relaxed);
                }
                Err(RecvTimeoutError::Closed) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("receiver stalled for {:?}", start.elapsed())
                }
            }
        });
    });
    for (v, c) in seen.iter().enumerate() {
        assert_eq!(c.load(Ordering::Relaxed), 1, "capacity {cap:?}: value {v}");
    }
}
