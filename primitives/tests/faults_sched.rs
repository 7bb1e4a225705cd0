//! User faults against the scheduler and the deque (issue 16, items 2 and 3): a panic in a
//! detached task's output `Drop`, in a future's `Drop` (on completion, on a `Pending` poll that
//! leaves the worker the last reference, on cancellation), in the `Drop` of a join handle's
//! waker (while running and at shutdown, in the injector and in a worker's own queue), and an
//! item whose `Drop` panics while a deque is dropped.
//!
//! What must hold: no such panic kills a worker (the scheduler goes on running tasks, on
//! `Scheduler::new(1)` and on the global `weft::go` scheduler); where a join handle exists the
//! panic reaches it as a `JoinError`; every value is dropped exactly once; a drop loop drops
//! every element and then propagates the first panic. Each test body runs under a watchdog,
//! so a hang (the symptom of a dead worker) fails the test instead of stalling the suite.
//!
//! The panics are deliberate: the default panic hook prints each one ("thread 'weft-worker-0'
//! panicked at ... (expected)") to stderr, as std reports a thread's panic.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use weft::chan;
use weft::deque::Worker;
use weft::sched::{JoinHandle, Scheduler};
use weft::sync::WaitGroup;

/// How long a test body may take before it counts as hung. Miri runs on a virtual clock that
/// every basic block advances, so it gets more.
const WATCHDOG: Duration = if cfg!(miri) {
    Duration::from_secs(600)
} else {
    Duration::from_secs(25)
};

/// Long enough for a thread that was just released to reach the point the test waits for.
const SETTLE: Duration = if cfg!(miri) {
    Duration::from_millis(500)
} else {
    Duration::from_millis(30)
};

/// Runs `body` on its own thread; a body still running after [`WATCHDOG`] fails the test
/// (the hung thread is left behind), a panic in it is the test's panic.
fn watchdog(name: &str, body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let t = thread::Builder::new()
        .name(format!("{name}-body"))
        .spawn(move || {
            body();
            let _ = done_tx.send(());
        })
        .unwrap();
    match done_rx.recv_timeout(WATCHDOG) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: hung for {WATCHDOG:?} (a dead worker or a lost task)")
        }
        // The body panicked before sending: hand its panic to the harness.
        Err(mpsc::RecvTimeoutError::Disconnected) => match t.join() {
            Err(p) => panic::resume_unwind(p),
            Ok(()) => unreachable!("the body sends before it returns"),
        },
    }
}

/// Waits (polling) until `cond` holds, failing after the watchdog's time.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WATCHDOG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Counts its drops; with `panics`, its `Drop` panics (after counting).
struct Bomb {
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Bomb {
    fn new(drops: &Arc<AtomicUsize>, panics: bool) -> Bomb {
        Bomb {
            drops: Arc::clone(drops),
            panics,
        }
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("Bomb dropped (expected)");
        }
    }
}

/// A future that is pending forever and holds a [`Bomb`]. With `keep_waker` false it drops
/// the waker it is given, so after its poll nothing but the worker's reference keeps the task.
struct PendingBomb {
    _bomb: Bomb,
    keep_waker: bool,
    waker: Option<Waker>,
}

impl Future for PendingBomb {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.keep_waker {
            self.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A waker that does nothing when woken; its last drop drops the [`Bomb`] (only held for that).
struct BombWaker(#[allow(dead_code)] Bomb);

impl Wake for BombWaker {
    fn wake(self: Arc<Self>) {}
}

fn bomb_waker(drops: &Arc<AtomicUsize>, panics: bool) -> Waker {
    Waker::from(Arc::new(BombWaker(Bomb::new(drops, panics))))
}

/// Polls `handle` once with `waker`, which the handle keeps to announce completion.
fn poll_once<T>(
    handle: &mut JoinHandle<T>,
    waker: &Waker,
) -> Poll<Result<T, weft::sched::JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

/// Occupies the only worker of `s` until the returned sender is dropped or sent to; returns
/// once the worker is inside the blocking task.
fn occupy(s: &Scheduler) -> (mpsc::Sender<()>, JoinHandle<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let blocker = s.spawn(async move {
        started_tx.send(()).unwrap();
        let _ = gate_rx.recv(); // blocks the worker thread: deliberate
    });
    started_rx.recv().unwrap();
    (gate_tx, blocker)
}

/// Drops `s` while its only worker is busy, so that what is queued is still queued when the
/// scheduler shuts down: `release` frees the worker once the drop has begun.
fn drop_while_busy(s: Scheduler, release: mpsc::Sender<()>) {
    let releaser = thread::spawn(move || {
        thread::sleep(SETTLE);
        let _ = release.send(());
    });
    drop(s);
    releaser.join().unwrap();
}

/// The scheduler still runs tasks: a fresh one completes, and so does one woken by a channel.
fn still_runs(s: &Scheduler) {
    assert_eq!(s.spawn(async { 7 }).join().unwrap(), 7);
    let (tx, rx) = chan::bounded::<u32>(0);
    let h = s.spawn(async move { rx.recv_async().await.unwrap() + 1 });
    tx.send(41).unwrap();
    assert_eq!(h.join().unwrap(), 42);
}

/// Issue 16 item 2: the JoinHandle is dropped before the task completes, so the worker holds
/// the last reference and drops the output; its `Drop` panics. On the old code the worker died
/// there and the next `join` on `Scheduler::new(1)` hung.
#[test]
fn detached_output_drop_panic_keeps_the_only_worker() {
    watchdog("detached_output_drop_panic_keeps_the_only_worker", || {
        let s = Scheduler::new(1);
        let drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..if cfg!(miri) { 2 } else { 10 } {
            let before = drops.load(Ordering::SeqCst);
            let (tx, rx) = chan::bounded::<()>(0);
            let bomb = Bomb::new(&drops, true);
            drop(s.spawn(async move {
                rx.recv_async().await.unwrap();
                bomb
            }));
            tx.send(()).unwrap(); // only now can it complete, with its handle gone
            wait_until("the output's drop", || {
                drops.load(Ordering::SeqCst) == before + 1
            });
            still_runs(&s);
        }
        s.shutdown();
    });
}

/// The same on the global scheduler behind `weft::go`: one such task per worker (at least two)
/// used to kill every worker, after which nothing spawned with `go` ran again. Not under
/// Miri: the global scheduler's workers outlive the main thread, which Miri reports.
#[test]
#[cfg_attr(
    miri,
    ignore = "the global scheduler's workers outlive the main thread"
)]
fn detached_output_drop_panics_keep_the_global_workers() {
    watchdog(
        "detached_output_drop_panics_keep_the_global_workers",
        || {
            let n = thread::available_parallelism()
                .map_or(2, |n| n.get())
                .max(2);
            let drops = Arc::new(AtomicUsize::new(0));
            let gate = Arc::new(WaitGroup::new());
            gate.add(1);
            for _ in 0..n {
                let (gate, bomb) = (Arc::clone(&gate), Bomb::new(&drops, true));
                drop(weft::go(async move {
                    gate.wait_async().await;
                    bomb
                }));
            }
            gate.done();
            wait_until("every output's drop", || drops.load(Ordering::SeqCst) == n);
            let results: Vec<usize> = (0..4 * n)
                .map(|i| weft::go(async move { i * 2 }))
                .map(|h| h.join().unwrap())
                .collect();
            assert_eq!(results, (0..4 * n).map(|i| i * 2).collect::<Vec<_>>());
            let (tx, rx) = chan::bounded::<usize>(0);
            let h = weft::go(async move { rx.recv_async().await.unwrap() });
            tx.send(5).unwrap();
            assert_eq!(h.join().unwrap(), 5);
            assert_eq!(drops.load(Ordering::SeqCst), n, "each output dropped once");
        },
    );
}

/// The `Pending` path: a detached task whose poll drops its waker leaves the worker with the
/// last reference, so the worker drops the future, whose `Drop` panics.
#[test]
fn future_drop_panic_after_a_pending_poll_keeps_the_worker() {
    watchdog(
        "future_drop_panic_after_a_pending_poll_keeps_the_worker",
        || {
            let s = Scheduler::new(1);
            let drops = Arc::new(AtomicUsize::new(0));
            let (release, blocker) = occupy(&s);
            // Queued behind the blocker, its handle dropped before its first poll.
            drop(s.spawn(PendingBomb {
                _bomb: Bomb::new(&drops, true),
                keep_waker: false,
                waker: None,
            }));
            release.send(()).unwrap();
            blocker.join().unwrap();
            wait_until("the future's drop", || drops.load(Ordering::SeqCst) == 1);
            still_runs(&s);
            // Not `shutdown`: it waits for every task to finish, and this one never did (it was
            // freed, unwakeable, while pending, as a goroutine blocked forever).
            drop(s);
        },
    );
}

/// A future that completes at once with `out`, holding a [`Bomb`] that it drops only when
/// the future itself is dropped (after `Ready`).
struct ReadyBomb {
    _bomb: Bomb,
    out: Option<Bomb>,
}

impl Future for ReadyBomb {
    type Output = Bomb;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Bomb> {
        Poll::Ready(self.out.take().expect("polled after completion"))
    }
}

/// A future whose `Drop` panics after it returned `Ready`: a kept handle gets the panic as a
/// `JoinError` (the output is dropped, also when its own `Drop` panics too), a detached one is
/// reported by the hook only; either way the worker goes on.
#[test]
fn future_drop_panic_after_ready_is_the_tasks_panic() {
    watchdog("future_drop_panic_after_ready_is_the_tasks_panic", || {
        let s = Scheduler::new(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let ready_bomb = |out_panics| ReadyBomb {
            _bomb: Bomb::new(&drops, true),
            out: Some(Bomb::new(&drops, out_panics)),
        };
        for (round, out_panics) in [false, true].into_iter().enumerate() {
            let err = s
                .spawn(ready_bomb(out_panics))
                .join()
                .map(drop)
                .unwrap_err();
            assert!(err.is_panic(), "{err}");
            assert_eq!(err.to_string(), "task panicked: Bomb dropped (expected)");
            assert_eq!(
                drops.load(Ordering::SeqCst),
                4 * round + 2,
                "future and output each dropped once"
            );
            drop(s.spawn(ready_bomb(out_panics)));
            wait_until("the detached task's drops", || {
                drops.load(Ordering::SeqCst) == 4 * round + 4
            });
            still_runs(&s);
        }
        s.shutdown();
    });
}

/// A queued task cancelled at shutdown whose future's `Drop` panics: its handle reports the
/// panic; a detached one's is reported by the hook; every future is dropped exactly once and
/// dropping the scheduler does not unwind.
#[test]
fn future_drop_panic_on_cancellation() {
    watchdog("future_drop_panic_on_cancellation", || {
        let s = Scheduler::new(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let (release, blocker) = occupy(&s);
        let pending = |panics| PendingBomb {
            _bomb: Bomb::new(&drops, panics),
            keep_waker: true,
            waker: None,
        };
        let handles = vec![s.spawn(pending(false)), s.spawn(pending(true))];
        drop(s.spawn(pending(true)));
        drop(s.spawn(pending(false)));
        let unwound = panic::catch_unwind(AssertUnwindSafe(|| drop_while_busy(s, release)));
        assert!(unwound.is_ok(), "a task's panic escaped Scheduler::drop");
        blocker.join().unwrap();
        let mut results = handles.into_iter().map(JoinHandle::join);
        let first = results.next().unwrap().unwrap_err();
        assert!(first.is_cancelled(), "{first}");
        let second = results.next().unwrap().unwrap_err();
        assert!(
            second.is_panic(),
            "a panic in the cancelled future's Drop: {second}"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 4, "every future dropped once");
    });
}

/// A join handle polled with a waker whose `Drop` panics: the worker completing the task wakes
/// (and so drops) it. The worker must survive it and the handle still get its output.
#[test]
fn join_waker_drop_panic_keeps_the_worker() {
    watchdog("join_waker_drop_panic_keeps_the_worker", || {
        let s = Scheduler::new(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::bounded::<u32>(0);
        let mut h = s.spawn(async move { rx.recv_async().await.unwrap() * 2 });
        let waker = bomb_waker(&drops, true);
        assert!(poll_once(&mut h, &waker).is_pending());
        drop(waker); // the handle's clone is the last
        tx.send(21).unwrap();
        wait_until("the waker's drop", || drops.load(Ordering::SeqCst) == 1);
        assert_eq!(h.join().unwrap(), 42);
        still_runs(&s);
        s.shutdown();
    });
}

/// Tasks queued at shutdown whose handles hold a waker (the second one's `Drop` panics):
/// cancelling wakes each waker. `in_worker_queue` puts them in the worker's own deque (spawned
/// from the running task), otherwise in the injector (cancelled by the dropping thread).
/// Every task must still be cancelled, every waker and future dropped once.
fn join_wakers_at_shutdown(in_worker_queue: bool) {
    const TASKS: usize = 5;
    let s = Scheduler::new(1);
    let futures = Arc::new(AtomicUsize::new(0));
    let wakers = Arc::new(AtomicUsize::new(0));
    let pending = {
        let futures = Arc::clone(&futures);
        move || PendingBomb {
            _bomb: Bomb::new(&futures, false),
            keep_waker: true,
            waker: None,
        }
    };
    let (handles_tx, handles_rx) = mpsc::channel();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let blocker = {
        let wakers = Arc::clone(&wakers);
        let pending = pending.clone();
        s.spawn(async move {
            if in_worker_queue {
                // On the worker: `go` pushes onto its own deque, which nobody else runs.
                let handles: Vec<_> = (0..TASKS).map(|_| weft::go(pending())).collect();
                for (i, mut h) in handles.into_iter().enumerate() {
                    assert!(poll_once(&mut h, &bomb_waker(&wakers, i == 1)).is_pending());
                    handles_tx.send(h).unwrap();
                }
            }
            drop(handles_tx);
            let _ = gate_rx.recv(); // blocks the worker thread until the drop began
        })
    };
    let mut handles: Vec<JoinHandle<()>> = handles_rx.iter().collect();
    if !in_worker_queue {
        for i in 0..TASKS {
            let mut h = s.spawn(pending());
            assert!(poll_once(&mut h, &bomb_waker(&wakers, i == 1)).is_pending());
            handles.push(h);
        }
    }
    assert_eq!(handles.len(), TASKS);
    let unwound = panic::catch_unwind(AssertUnwindSafe(|| drop_while_busy(s, gate_tx)));
    assert!(unwound.is_ok(), "a waker's panic escaped Scheduler::drop");
    blocker.join().unwrap();
    for h in handles {
        let err = h.join().unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    }
    assert_eq!(
        futures.load(Ordering::SeqCst),
        TASKS,
        "every future dropped once"
    );
    assert_eq!(
        wakers.load(Ordering::SeqCst),
        TASKS,
        "every waker dropped once"
    );
}

#[test]
fn join_waker_drop_panic_at_shutdown_in_the_injector() {
    watchdog("join_waker_drop_panic_at_shutdown_in_the_injector", || {
        join_wakers_at_shutdown(false)
    });
}

#[test]
fn join_waker_drop_panic_at_shutdown_in_a_worker_queue() {
    watchdog(
        "join_waker_drop_panic_at_shutdown_in_a_worker_queue",
        || join_wakers_at_shutdown(true),
    );
}

/// Issue 16 item 3 for the deque: `items` items of which the second one's `Drop` panics;
/// dropping the last handle drops all of them exactly once, then the panic propagates.
fn deque_drop_with_a_panicking_item(fifo: bool, items: usize, stealer_last: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let w = if fifo {
        Worker::new_fifo()
    } else {
        Worker::new_lifo()
    };
    let stealer = w.stealer();
    for i in 0..items {
        w.push(Bomb::new(&drops, i == 1));
    }
    let (first, last) = if stealer_last {
        (
            Box::new(w) as Box<dyn Send>,
            Box::new(stealer) as Box<dyn Send>,
        )
    } else {
        (
            Box::new(stealer) as Box<dyn Send>,
            Box::new(w) as Box<dyn Send>,
        )
    };
    drop(first);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "a handle is left: nothing dropped yet"
    );
    let unwound = panic::catch_unwind(AssertUnwindSafe(|| drop(last)));
    let payload = unwound.expect_err("the item's panic propagates out of the deque's drop");
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("Bomb dropped (expected)")
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        items,
        "every item dropped exactly once"
    );
}

#[test]
fn deque_drop_drops_every_item_when_one_panics() {
    watchdog("deque_drop_drops_every_item_when_one_panics", || {
        for fifo in [false, true] {
            deque_drop_with_a_panicking_item(fifo, 5, false);
        }
    });
}

#[test]
fn deque_drop_after_growth_drops_every_item_when_one_panics() {
    watchdog(
        "deque_drop_after_growth_drops_every_item_when_one_panics",
        || {
            let items = if cfg!(miri) { 40 } else { 300 };
            for fifo in [false, true] {
                deque_drop_with_a_panicking_item(fifo, items, true);
            }
        },
    );
}
