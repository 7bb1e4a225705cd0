//! Helpers shared by the channel tests (`chan_array.rs`, `chan_zero.rs`, `chan_list.rs`,
//! `chan_async.rs`):
//! timing constants sized for native runs and for Miri, a drop-counting message type, and a
//! minimal async toolkit (a `block_on` that parks the thread, a counting waker, poll-once).
//!
//! No external crates: the executor is `std::task::Wake` plus `thread::park`.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use weft::chan::{Receiver, Sender};

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
