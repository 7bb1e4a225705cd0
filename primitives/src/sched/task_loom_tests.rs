//! loom models of a task's state machine (`task.rs`), run by `ci/loom.sh`: wake-ups before,
//! during and after a poll, completion against a join handle that blocks (`join`), awaits
//! (its waker) or is dropped, and cancellation. The scheduler is the model build's stand-in
//! (`model_imp` in `mod.rs`): a run queue the model drains by hand.
//!
//! A lost wake-up (of the task, or of its joiner) is a loom deadlock or a task left
//! unfinished; a task freed twice or never is a failed assertion or loom's leak check on the
//! `Arc`s a task holds (its scheduler's, and its output's).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::task::{new_task, JoinHandle};
use super::{schedule, Inner};
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.check(f);
}

/// Opened once from outside; a future on it is pending until then.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn open(&self) {
        // Ordering: Release pairs with the Acquire in `GateFuture::poll`.
        self.open.store(true, Ordering::Release);
        let waker = self.waker.lock().unwrap().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Completes with `value` once the gate is open.
struct GateFuture<T> {
    gate: Arc<Gate>,
    value: Option<T>,
}

impl<T: Unpin> Future for GateFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // Ordering: Acquire pairs with the Release in `Gate::open`.
        if !self.gate.open.load(Ordering::Acquire) {
            *self.gate.waker.lock().unwrap() = Some(cx.waker().clone());
            // Re-check after registering: `open` takes the waker after its store.
            if !self.gate.open.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        Poll::Ready(self.value.take().expect("polled after completion"))
    }
}

/// A task on a fresh stand-in scheduler, queued, that completes with `value` once its gate
/// opens: the scheduler, the gate and the join handle.
fn spawn_gated<T: Send + Unpin + 'static>(value: T) -> (Arc<Inner>, Arc<Gate>, JoinHandle<T>) {
    let inner = Inner::new();
    let gate = Arc::new(Gate::default());
    let (task, handle) = new_task(
        GateFuture {
            gate: Arc::clone(&gate),
            value: Some(value),
        },
        Arc::clone(&inner),
    );
    schedule(task, false);
    (inner, gate, handle)
}

/// Opens `gate` on another thread.
fn open_from_another_thread(gate: &Arc<Gate>) -> thread::JoinHandle<()> {
    let gate = Arc::clone(gate);
    thread::spawn(move || gate.open())
}

/// A task woken from another thread before, during or after its first poll runs again and
/// completes once; a joiner blocked in `join` (its futex park racing the completion) gets
/// the output. The output is an `Arc`, so loom's leak check sees it dropped exactly once.
#[test]
fn task_woken_around_its_poll_completes_and_join_gets_the_output() {
    model(2, || {
        let output = Arc::new(7usize);
        let (inner, gate, handle) = spawn_gated(Arc::clone(&output));
        let opener = open_from_another_thread(&gate);
        let joiner = thread::spawn(move || *handle.join().expect("the task returns"));
        inner.run_queued();
        // After the opener's wake, the task is queued again unless it already finished.
        opener.join().unwrap();
        inner.run_queued();
        assert_eq!(inner.finished(), 1);
        assert_eq!(joiner.join().unwrap(), 7);
        drop(gate);
        assert_eq!(
            Arc::strong_count(&output),
            1,
            "the task's output was not dropped"
        );
    });
}

/// The join handle awaited as a future (its waker stored with `JOIN_WAKER`) races the
/// completion: the awaiting thread is woken and reads the output.
#[test]
fn awaited_join_handle_races_completion() {
    model(2, || {
        let (inner, gate, handle) = spawn_gated(5usize);
        let joiner = thread::spawn(move || loom::future::block_on(handle).expect("returns"));
        let opener = open_from_another_thread(&gate);
        inner.run_queued();
        opener.join().unwrap();
        inner.run_queued();
        assert_eq!(joiner.join().unwrap(), 5);
        assert_eq!(inner.finished(), 1);
    });
}

/// A join handle dropped while the task completes on another thread: the last of the two
/// references frees the task and its output exactly once (loom's leak check on the output's
/// `Arc` and on the scheduler's).
#[test]
fn join_handle_dropped_while_the_task_completes() {
    model(3, || {
        let inner = Inner::new();
        let output = Arc::new(());
        let (task, handle) = new_task(core::future::ready(Arc::clone(&output)), Arc::clone(&inner));
        schedule(task, false);
        let dropper = thread::spawn(move || drop(handle));
        inner.run_queued();
        dropper.join().unwrap();
        assert_eq!(inner.finished(), 1);
        assert_eq!(Arc::strong_count(&output), 1, "the output was not dropped");
    });
}

/// A pending task woken from outside while its scheduler cancels what is queued (shutdown):
/// it is cancelled or run, once; its future (holding an `Arc`) is dropped exactly once; the
/// joiner gets the output or a cancellation.
#[test]
fn wake_races_cancellation() {
    model(2, || {
        let payload = Arc::new(3usize);
        let (inner, gate, handle) = spawn_gated(Arc::clone(&payload));
        inner.run_queued(); // first poll: pending, the waker is at the gate
        let opener = open_from_another_thread(&gate);
        inner.cancel_queued();
        opener.join().unwrap();
        inner.cancel_queued();
        assert_eq!(inner.finished(), 1);
        match handle.join() {
            Ok(v) => assert_eq!(*v, 3),
            Err(e) => assert!(e.is_cancelled()),
        }
        drop(gate);
        assert_eq!(Arc::strong_count(&payload), 1, "the future was not dropped");
    });
}
