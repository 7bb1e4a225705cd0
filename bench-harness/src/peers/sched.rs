//! Schedulers: weft's work-stealing task scheduler, tokio's multi-thread runtime, and rayon's
//! fork-join thread pool.
//!
//! Two adapter traits, because the peers offer two programming models:
//!
//! - [`AsyncSched`]: runtimes of `Future` tasks (weft, tokio). A task spawns tasks, awaits
//!   their handles, yields, and talks over the runtime's async channels; every workload has a
//!   form for these.
//! - [`ForkJoinSched`]: pools of closures that must finish inside a scope (rayon). No task
//!   outlives its parent, none can wait for a message, so only the fork-join workloads
//!   (`spawn_many`, `skynet`, `fib`) have a form for these.
//!
//! Each workload's body runs on the runtime's own workers: [`AsyncSched::run`] spawns it as a
//! root task, [`ForkJoinSched::run`] runs it inside the pool (rayon's `install`), so tasks it
//! spawns are spawned from a worker, as a Go program spawns goroutines from a goroutine.

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A runtime of `Future` tasks on `workers` threads, as the scheduler workloads use it.
pub trait AsyncSched: Sized + 'static {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;

    /// A spawned task's handle: a future of its output.
    type Handle<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;
    /// The sending end of [`channel`](Self::channel).
    type Tx<T: Send + 'static>: Send + Sync + 'static;
    /// The receiving end of [`channel`](Self::channel).
    type Rx<T: Send + 'static>: Send + 'static;
    /// The sending end of [`oneshot`](Self::oneshot).
    type Notify: Send + 'static;
    /// The receiving end of [`oneshot`](Self::oneshot).
    type Wait: Send + 'static;

    /// A runtime with `workers` worker threads, started.
    fn new(workers: usize) -> Self;

    /// Runs `body` as a task on the workers and blocks the calling thread until it returns.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of `body` (a workload that found a wrong result).
    fn run<F>(&self, body: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `future` on the runtime of the calling task (called only inside [`run`](Self::run)).
    fn spawn<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Yields the worker to the other runnable tasks once.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// The runtime's channel with the least buffering, for a two-task exchange.
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>);

    /// Sends `value`, waiting while the channel is full.
    ///
    /// # Panics
    ///
    /// If the receiver is gone.
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = ()> + Send;

    /// The next value, or `None` once every sender is gone and the channel is empty.
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> impl Future<Output = Option<T>> + Send;

    /// A channel for one `u64`, sent without waiting.
    fn oneshot() -> (Self::Notify, Self::Wait);

    /// Sends the one value of a [`oneshot`](Self::oneshot).
    ///
    /// # Panics
    ///
    /// If the receiver is gone.
    fn notify(notify: Self::Notify, value: u64);

    /// Waits for the value of a [`oneshot`](Self::oneshot).
    ///
    /// # Panics
    ///
    /// If the sender was dropped without sending.
    fn wait(wait: Self::Wait) -> impl Future<Output = u64> + Send;
}

/// A fork-join pool on `workers` threads, as the fork-join workloads use it.
pub trait ForkJoinSched: Sized + 'static {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;

    /// A pool with `workers` threads.
    fn new(workers: usize) -> Self;

    /// Runs `body` on one of the pool's threads and returns its result.
    fn run<R: Send>(&self, body: impl FnOnce() -> R + Send) -> R;

    /// Runs `a` and `b`, possibly in parallel, and returns both results (called only inside
    /// [`run`](Self::run)).
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;

    /// Spawns one job per element of `slots`, `f(i, &mut slots[i])`, and returns when all of
    /// them have finished (called only inside [`run`](Self::run)).
    fn scope_each<T: Send>(slots: &mut [T], f: impl Fn(usize, &mut T) + Sync);
}

/// A task handle whose output is unwrapped: a task's panic is re-raised in its awaiter.
#[derive(Debug)]
pub struct Unwrapped<H>(H);

impl<H, T, E> Future for Unwrapped<H>
where
    H: Future<Output = Result<T, E>> + Unpin,
    E: IntoPanic,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|e| resume_unwind(e.into_payload())))
    }
}

/// A join error that may carry a panic's payload.
pub trait IntoPanic: Debug {
    /// The panic's payload, else a payload describing the error (a cancelled task).
    fn into_payload(self) -> Box<dyn Any + Send>;
}

impl IntoPanic for weft::sched::JoinError {
    fn into_payload(self) -> Box<dyn Any + Send> {
        self.try_into_panic()
            .unwrap_or_else(|e| Box::new(format!("task failed: {e:?}")))
    }
}

impl IntoPanic for tokio::task::JoinError {
    fn into_payload(self) -> Box<dyn Any + Send> {
        self.try_into_panic()
            .unwrap_or_else(|e| Box::new(format!("task failed: {e:?}")))
    }
}

/// weft's scheduler: per-worker Chase-Lev deques, a global injector, futex parking.
/// Channels are weft's: `bounded(0)` (rendezvous) and `bounded(1)` for the one-shot.
impl AsyncSched for weft::sched::Scheduler {
    const NAME: &'static str = "weft";

    type Handle<T: Send + 'static> = Unwrapped<weft::sched::JoinHandle<T>>;
    type Tx<T: Send + 'static> = weft::chan::Sender<T>;
    type Rx<T: Send + 'static> = weft::chan::Receiver<T>;
    type Notify = weft::chan::Sender<u64>;
    type Wait = weft::chan::Receiver<u64>;

    fn new(workers: usize) -> Self {
        weft::sched::Scheduler::new(workers)
    }

    fn run<F>(&self, body: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn(body)
            .join()
            .unwrap_or_else(|e| resume_unwind(e.into_payload()))
    }

    #[inline]
    fn spawn<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(weft::go(future))
    }

    #[inline]
    fn yield_now() -> impl Future<Output = ()> + Send {
        weft::sched::yield_now()
    }

    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        weft::chan::bounded(0)
    }

    #[inline]
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        if tx.send_async(value).await.is_err() {
            panic!("weft: the receiver is gone");
        }
    }

    #[inline]
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv_async().await.ok()
    }

    fn oneshot() -> (Self::Notify, Self::Wait) {
        weft::chan::bounded(1)
    }

    fn notify(notify: Self::Notify, value: u64) {
        assert!(notify.try_send(value).is_ok(), "weft: the waiter is gone");
    }

    async fn wait(wait: Self::Wait) -> u64 {
        wait.recv_async()
            .await
            .expect("weft: the notifier left without sending")
    }
}

/// tokio's multi-thread runtime (`worker_threads` = the worker count). tokio has no
/// rendezvous channel: the exchange uses `tokio::sync::mpsc::channel(1)`, the smallest it has;
/// the one-shot is `tokio::sync::oneshot`.
impl AsyncSched for tokio::runtime::Runtime {
    const NAME: &'static str = "tokio";

    type Handle<T: Send + 'static> = Unwrapped<tokio::task::JoinHandle<T>>;
    type Tx<T: Send + 'static> = tokio::sync::mpsc::Sender<T>;
    type Rx<T: Send + 'static> = tokio::sync::mpsc::Receiver<T>;
    type Notify = tokio::sync::oneshot::Sender<u64>;
    type Wait = tokio::sync::oneshot::Receiver<u64>;

    fn new(workers: usize) -> Self {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("tokio: failed to start the runtime")
    }

    fn run<F>(&self, body: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.block_on(Unwrapped(self.spawn(body)))
    }

    #[inline]
    fn spawn<F>(future: F) -> Self::Handle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(tokio::spawn(future))
    }

    #[inline]
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::mpsc::channel(1)
    }

    #[inline]
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) {
        if tx.send(value).await.is_err() {
            panic!("tokio: the receiver is gone");
        }
    }

    #[inline]
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        rx.recv()
    }

    fn oneshot() -> (Self::Notify, Self::Wait) {
        tokio::sync::oneshot::channel()
    }

    fn notify(notify: Self::Notify, value: u64) {
        assert!(notify.send(value).is_ok(), "tokio: the waiter is gone");
    }

    async fn wait(wait: Self::Wait) -> u64 {
        wait.await
            .expect("tokio: the notifier left without sending")
    }
}

/// A rayon thread pool (`num_threads` = the worker count): `install`, `rayon::join`, and a
/// `rayon::scope` with one `spawn` per job.
impl ForkJoinSched for rayon::ThreadPool {
    const NAME: &'static str = "rayon";

    fn new(workers: usize) -> Self {
        rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .expect("rayon: failed to start the pool")
    }

    fn run<R: Send>(&self, body: impl FnOnce() -> R + Send) -> R {
        self.install(body)
    }

    #[inline]
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        rayon::join(a, b)
    }

    #[inline]
    fn scope_each<T: Send>(slots: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
        let f = &f;
        rayon::scope(|s| {
            for (i, slot) in slots.iter_mut().enumerate() {
                s.spawn(move |_| f(i, slot));
            }
        });
    }
}

/// Something to do once per scheduler implementation, with its type in hand.
pub trait SchedVisitor {
    /// Called for each async runtime `S`, in [`visit_all`]'s order.
    fn visit_async<S: AsyncSched>(&mut self);
    /// Called for each fork-join pool `S`, in [`visit_all`]'s order.
    fn visit_fork_join<S: ForkJoinSched>(&mut self);
}

/// The scheduler implementations under comparison, weft first. This is the one list to extend
/// when adding a peer.
pub fn visit_all(visitor: &mut impl SchedVisitor) {
    visitor.visit_async::<weft::sched::Scheduler>();
    visitor.visit_async::<tokio::runtime::Runtime>();
    visitor.visit_fork_join::<rayon::ThreadPool>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every runtime runs a root task that spawns, yields, exchanges and joins.
    struct Basics(Vec<&'static str>);

    impl SchedVisitor for Basics {
        fn visit_async<S: AsyncSched>(&mut self) {
            let rt = S::new(2);
            let got = rt.run(async {
                let (tx, mut rx) = S::channel::<u64>();
                let (done, wait) = S::oneshot();
                let echo = S::spawn(async move {
                    let mut seen = 0;
                    while let Some(n) = S::recv(&mut rx).await {
                        seen += n;
                        S::yield_now().await;
                    }
                    S::notify(done, seen);
                    7
                });
                for n in 1..=10 {
                    S::send(&tx, n).await;
                }
                drop(tx);
                echo.await + S::wait(wait).await
            });
            assert_eq!(got, 7 + 55, "{}", S::NAME);
            self.0.push(S::NAME);
        }

        fn visit_fork_join<S: ForkJoinSched>(&mut self) {
            let pool = S::new(2);
            let got = pool.run(|| {
                let mut slots = [0u64; 10];
                S::scope_each(&mut slots, |i, s| *s = i as u64);
                let (a, b) = S::join(|| slots.iter().sum::<u64>(), || 1);
                a + b
            });
            assert_eq!(got, 46, "{}", S::NAME);
            self.0.push(S::NAME);
        }
    }

    #[test]
    fn every_scheduler_spawns_exchanges_and_joins() {
        let mut v = Basics(Vec::new());
        visit_all(&mut v);
        assert_eq!(v.0, ["weft", "tokio", "rayon"]);
    }

    #[test]
    #[should_panic(expected = "inner failure")]
    fn a_task_panic_reaches_the_caller() {
        fn check<S: AsyncSched>() {
            S::new(1).run(async {
                S::spawn(async { panic!("inner failure") }).await;
            });
        }
        check::<weft::sched::Scheduler>();
    }
}
