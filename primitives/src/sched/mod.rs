//! A thin Go-like scheduler: goroutines for Rust, composed from weft's own primitives.
//!
//! [`Scheduler`] runs `Future + Send + 'static` tasks on a fixed set of worker threads. Each
//! worker owns a weft Chase-Lev deque and a `runnext` slot; tasks spawned from outside go to a
//! global injector (weft's unbounded channel); idle workers steal about half of a random
//! victim's queue, and sleep on weft's futex parker when there is nothing to steal, so an idle
//! scheduler uses no CPU. A task waiting on a weft channel (`recv_async`, `send_async`), a
//! [`WaitGroup::wait_async`](crate::sync::WaitGroup::wait_async) or a [`JoinHandle`] frees its
//! worker for other tasks. The queues and the sleep/wake protocol live in `core.rs` (with its
//! loom models); the task cell in `task.rs`.
//!
//! [`go`] spawns on the scheduler of the task or [`Scheduler::block_on`] it is called from,
//! else on a global scheduler with one worker per CPU, started on first use.
//!
//! # Examples
//!
//! Go's ping-pong over unbuffered channels, as tasks:
//!
//! ```
//! use weft::sched::Scheduler;
//!
//! let sched = Scheduler::new(2);
//! let (ping_tx, ping_rx) = weft::chan::bounded::<u32>(0);
//! let (pong_tx, pong_rx) = weft::chan::bounded::<u32>(0);
//! let echo = sched.spawn(async move {
//!     while let Ok(n) = ping_rx.recv_async().await {
//!         pong_tx.send_async(n + 1).await.unwrap();
//!     }
//! });
//! let last = sched.block_on(async move {
//!     let mut n = 0;
//!     for _ in 0..1000 {
//!         ping_tx.send_async(n).await.unwrap();
//!         n = pong_rx.recv_async().await.unwrap();
//!     }
//!     n // dropping ping_tx closes the channel: the echo task ends
//! });
//! assert_eq!(last, 1000);
//! echo.join().unwrap();
//! ```
//!
//! # Blocking inside tasks
//!
//! A task that blocks its thread (a blocking `recv`, `WaitGroup::wait`, `JoinHandle::join`,
//! a long computation) holds its worker meanwhile; a task it woke just before may wait for that
//! worker until another worker steals it. Use the async forms inside tasks.

// Also in the model build's tests, where `model_imp` stands in for the scheduler.
#[cfg(any(not(weft_loom), test))]
mod task;

pub(crate) mod core;

#[cfg(not(weft_loom))]
pub use self::imp::*;
#[cfg(not(weft_loom))]
pub use task::{JoinError, JoinHandle};

#[cfg(all(weft_loom, test))]
use self::model_imp::{schedule, Inner};

/// The model build's stand-in for the scheduler behind tasks: `task.rs` needs only "queue
/// this task" (`schedule`) and "a task finished" (`Inner::task_finished`). A run queue under
/// loom's mutex, which the task models (`task_loom_tests.rs`) drain by hand, so loom explores
/// the task state machine (wakes during a poll, completion against the join handle) without
/// the workers around it (those have their own models, `loom_tests.rs`).
#[cfg(all(weft_loom, test))]
mod model_imp {
    use super::task::{sched_of, TaskRef};
    use crate::primitive::sync::atomic::{AtomicUsize, Ordering};
    use crate::primitive::sync::Arc;

    pub(crate) struct Inner {
        queue: loom::sync::Mutex<Vec<TaskRef>>,
        finished: AtomicUsize,
    }

    impl Inner {
        pub(super) fn new() -> Arc<Self> {
            Arc::new(Self {
                queue: loom::sync::Mutex::new(Vec::new()),
                finished: AtomicUsize::new(0),
            })
        }

        pub(super) fn task_finished(&self) {
            self.finished.fetch_add(1, Ordering::Relaxed);
        }

        /// Tasks completed so far.
        pub(super) fn finished(&self) -> usize {
            self.finished.load(Ordering::Relaxed)
        }

        /// Runs queued tasks (also those queued meanwhile) until the queue is empty.
        pub(super) fn run_queued(&self) {
            self.drain_with(TaskRef::run);
        }

        /// Cancels the queued tasks, as a scheduler's shutdown does.
        pub(super) fn cancel_queued(&self) {
            self.drain_with(TaskRef::cancel);
        }

        /// Pops tasks one at a time (the lock released before `act`, which may queue more)
        /// until the queue is empty.
        fn drain_with(&self, act: fn(TaskRef)) {
            loop {
                let next = self.queue.lock().unwrap().pop();
                match next {
                    Some(task) => act(task),
                    None => return,
                }
            }
        }
    }

    pub(super) fn schedule(task: TaskRef, _next: bool) {
        let inner = Arc::clone(sched_of(&task));
        inner.queue.lock().unwrap().push(task);
    }
}

#[cfg(all(test, weft_loom))]
mod task_loom_tests;

#[cfg(not(weft_loom))]
mod imp {
    use core::cell::{Cell, RefCell};
    use core::fmt;
    use core::future::Future;
    use core::marker::PhantomData;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, OnceLock};
    use std::task::Wake;
    use std::thread;

    use super::core::{Local, Shared};
    use super::task::{new_task, JoinHandle, TaskRef};
    use crate::parker::Parker;
    use crate::sync::WaitGroup;

    /// What the tasks and the scheduler's owner share.
    pub(crate) struct Inner {
        pub(super) core: Shared<TaskRef>,
        /// Tasks spawned and not yet finished: `shutdown` waits for zero.
        live: WaitGroup,
        /// Set by `Scheduler::drop` before its last drain of the injector.
        reaped: AtomicBool,
    }

    impl Inner {
        /// Called once per task, when it completes.
        pub(super) fn task_finished(&self) {
            self.live.done();
        }

        fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            self.live.add(1);
            let (task, handle) = new_task(future, Arc::clone(self));
            // A spawned task goes to the back of the spawning worker's queue (Go's `newproc`
            // puts it in `runnext`; at the back, a spawning loop runs its children in order
            // and a spawner cannot be starved by its own children).
            schedule_on(self, task, false);
            handle
        }

        /// Cancels every task left in the injector (at shutdown). `cancel` never unwinds, so
        /// a panicking future or waker cannot cut the drain short.
        fn drain_injector(&self) {
            while let Some(task) = self.core.pop_injector() {
                task.cancel();
            }
        }
    }

    /// The worker the current thread is, if any.
    struct WorkerCtx {
        inner: Arc<Inner>,
        local: RefCell<Local<TaskRef>>,
    }

    thread_local! {
        /// Set on a worker thread for its life: the worker's context.
        static WORKER: Cell<*const WorkerCtx> = const { Cell::new(core::ptr::null()) };
        /// Set inside `block_on`: the scheduler `go` spawns on.
        static BLOCK_ON: RefCell<Option<Arc<Inner>>> = const { RefCell::new(None) };
    }

    /// Runs `f` with the current thread's worker context, if it is a worker. In a
    /// thread-local destructor after `WORKER` is gone (a wake or a `go` may run there), the
    /// thread is no worker any more: `None`.
    fn with_worker<R>(f: impl FnOnce(Option<&WorkerCtx>) -> R) -> R {
        let p = WORKER.try_with(Cell::get).unwrap_or(core::ptr::null());
        // SAFETY: the pointer is set by `worker_main` to a context that lives on its stack
        // for as long as the pointer is set, and only this thread reads it.
        f(unsafe { p.as_ref() })
    }

    /// Queues a task that was just woken (`next`: by the task running on this worker, so it
    /// runs next) or that woke itself (`next` false: to the back).
    pub(super) fn schedule(task: TaskRef, next: bool) {
        let sched = Arc::as_ptr(super::task::sched_of(&task));
        // On a worker of the task's scheduler, that worker's `Arc` keeps the scheduler alive
        // past the push (after which the task, and its own `Arc`, may be gone); elsewhere, a
        // clone does (waking from outside costs a futex wake-up anyway).
        let task = with_worker(|w| match w {
            Some(w) if core::ptr::eq(Arc::as_ptr(&w.inner), sched) => {
                schedule_on(&w.inner, task, next);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            let inner = Arc::clone(super::task::sched_of(&task));
            schedule_on(&inner, task, next);
        }
    }

    /// Queues `task` on `inner` (alive for the call, per the caller).
    ///
    /// This runs inside wakers, which channels call with their locks held, so it never drops a
    /// future (that could re-enter a channel): after shutdown a woken task goes to the injector
    /// like any other, and is cancelled at a safe point (the dropping thread's drain, or a
    /// reaper thread for a wake that comes after the drop finished).
    fn schedule_on(inner: &Arc<Inner>, task: TaskRef, next: bool) {
        let task = if inner.core.is_shutdown() {
            Some(task)
        } else {
            with_worker(|w| match w {
                Some(w) if Arc::ptr_eq(&w.inner, inner) => {
                    // Inside a poll on this worker (a wake or a spawn by the running task): the
                    // worker loop does not borrow the local queue while a task runs.
                    match w.local.try_borrow_mut() {
                        Ok(mut local) => {
                            local.push(&inner.core, task, next);
                            None
                        }
                        Err(_) => Some(task),
                    }
                }
                _ => Some(task),
            })
        };
        let Some(task) = task else { return };
        inner.core.push_remote(task);
        // Ordering: SeqCst pairs with the SeqCst store of `reaped` in `Scheduler::drop`,
        // which drains after it: either that drain takes our task, or we see the flag.
        if inner.reaped.load(Ordering::SeqCst) {
            let inner = Arc::clone(inner);
            // A late wake after the scheduler was dropped: cancel off this (possibly
            // lock-holding) call stack. Rare: only wakes that arrive after the drop.
            thread::spawn(move || inner.drain_injector());
        }
    }

    /// Points `WORKER` at a worker's context while it lives; clears it when dropped, also
    /// while unwinding, so the pointer never outlives the context on the stack.
    struct WorkerGuard<'a>(PhantomData<&'a WorkerCtx>);

    impl<'a> WorkerGuard<'a> {
        fn set(ctx: &'a WorkerCtx) -> Self {
            WORKER.with(|w| w.set(ctx));
            // Timers made on this thread go to the scheduler's queue.
            crate::timers::set_current(Some(Arc::clone(&ctx.inner.core.timers)));
            WorkerGuard(PhantomData)
        }
    }

    impl Drop for WorkerGuard<'_> {
        fn drop(&mut self) {
            WORKER.with(|w| w.set(core::ptr::null()));
            crate::timers::set_current(None);
        }
    }

    fn worker_main(inner: Arc<Inner>, local: Local<TaskRef>) {
        let ctx = WorkerCtx {
            inner,
            local: RefCell::new(local),
        };
        // Declared after `ctx`, so dropped (the pointer cleared) before it, on every path.
        let guard = WorkerGuard::set(&ctx);
        loop {
            let task = ctx.local.borrow_mut().next_task(&ctx.inner.core);
            match task {
                // Never unwinds: a panic of user code inside is caught there (task.rs).
                Some(task) => task.run(),
                None => break,
            }
        }
        let left = ctx.local.borrow_mut().drain(&ctx.inner.core);
        // No longer a worker: what the cancelled futures wake goes to the injector, which
        // `Scheduler::drop` drains, not to the local queue just emptied.
        drop(guard);
        for task in left {
            task.cancel(); // never unwinds either, so every task is cancelled
        }
    }

    /// A set of worker threads running tasks: Go's scheduler, in a library.
    ///
    /// Dropping it stops the workers once their current polls return, cancels the queued
    /// tasks (their futures are dropped; their [`JoinHandle`]s report
    /// [`JoinError::is_cancelled`](crate::sched::JoinError::is_cancelled)), and joins the threads. A task that was waiting (on a
    /// channel, say) is cancelled when it is next woken; one that is never woken again stays
    /// suspended with what it holds, as a goroutine blocked forever does.
    /// [`shutdown`](Self::shutdown) first waits for every task to finish.
    ///
    /// # Examples
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(2);
    /// let handles: Vec<_> = (0..10u64).map(|i| sched.spawn(async move { i * i })).collect();
    /// let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    /// assert_eq!(sum, 285);
    /// ```
    pub struct Scheduler {
        inner: Arc<Inner>,
        threads: Vec<thread::JoinHandle<()>>,
    }

    /// Configures a [`Scheduler`].
    #[derive(Debug, Clone)]
    pub struct Builder {
        workers: usize,
        name: String,
    }

    impl Default for Builder {
        fn default() -> Self {
            Builder {
                workers: thread::available_parallelism().map_or(1, |n| n.get()),
                name: "weft-worker".to_owned(),
            }
        }
    }

    impl Builder {
        /// The number of worker threads (default: the CPUs this process may use).
        ///
        /// # Panics
        ///
        /// If `n` is zero.
        ///
        /// ```
        /// let sched = weft::sched::Scheduler::builder().workers(3).build();
        /// assert_eq!(sched.workers(), 3);
        /// ```
        #[track_caller]
        pub fn workers(mut self, n: usize) -> Self {
            assert!(
                n > 0,
                "a Scheduler needs at least one worker thread (got 0)"
            );
            self.workers = n;
            self
        }

        /// The worker threads' name prefix (default `weft-worker`); each gets `-<index>`.
        ///
        /// ```
        /// let sched = weft::sched::Scheduler::builder()
        ///     .workers(1)
        ///     .thread_name("io")
        ///     .build();
        /// let name = sched.spawn(async { std::thread::current().name().map(str::to_owned) });
        /// assert_eq!(name.join().unwrap().as_deref(), Some("io-0"));
        /// ```
        pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
            self.name = prefix.into();
            self
        }

        /// Starts the workers.
        ///
        /// # Panics
        ///
        /// If the OS refuses to start a thread.
        ///
        /// ```
        /// let sched = weft::sched::Scheduler::builder().workers(2).build();
        /// assert_eq!(sched.block_on(async { 1 + 1 }), 2);
        /// ```
        pub fn build(self) -> Scheduler {
            let (core, locals) = Shared::new(self.workers);
            let inner = Arc::new(Inner {
                core,
                live: WaitGroup::new(),
                reaped: AtomicBool::new(false),
            });
            let threads = locals
                .into_iter()
                .enumerate()
                .map(|(i, local)| {
                    let inner = Arc::clone(&inner);
                    thread::Builder::new()
                        .name(format!("{}-{i}", self.name))
                        .spawn(move || worker_main(inner, local))
                        .expect("failed to start a scheduler worker thread")
                })
                .collect();
            Scheduler { inner, threads }
        }
    }

    impl Scheduler {
        /// A scheduler with `workers` worker threads.
        ///
        /// # Panics
        ///
        /// If `workers` is zero.
        ///
        /// ```
        /// let sched = weft::sched::Scheduler::new(2);
        /// let task = sched.spawn(async { "done" });
        /// assert_eq!(task.join().unwrap(), "done");
        /// ```
        #[track_caller]
        pub fn new(workers: usize) -> Scheduler {
            Builder::default().workers(workers).build()
        }

        /// A [`Builder`] to set the worker count and thread names.
        ///
        /// ```
        /// let sched = weft::sched::Scheduler::builder().workers(1).build();
        /// assert_eq!(sched.workers(), 1);
        /// ```
        pub fn builder() -> Builder {
            Builder::default()
        }

        /// The number of worker threads.
        ///
        /// ```
        /// assert_eq!(weft::sched::Scheduler::new(4).workers(), 4);
        /// ```
        pub fn workers(&self) -> usize {
            self.inner.core.workers()
        }

        /// Runs `future` as a task on the workers.
        ///
        /// A panic inside the task (its `poll`, or its future's `Drop`) is caught; its handle
        /// returns it as a [`JoinError`](crate::sched::JoinError). No panic of a task kills a worker: one that has no
        /// handle to go to (in a detached task, its output's `Drop`, a join handle's waker) is
        /// reported by the panic hook, as std reports a thread's panic, and the worker goes on.
        ///
        /// ```
        /// let sched = weft::sched::Scheduler::new(2);
        /// let squares: Vec<_> = (1..=4u64).map(|i| sched.spawn(async move { i * i })).collect();
        /// let sum: u64 = squares.into_iter().map(|t| t.join().unwrap()).sum();
        /// assert_eq!(sum, 30);
        /// ```
        pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            self.inner.spawn(future)
        }

        /// Runs `future` on the calling thread to completion, while the workers run tasks;
        /// [`go`] inside it spawns on this scheduler (except inside a thread-local destructor
        /// that runs after weft's own thread-locals are destroyed: there `go` spawns on the
        /// global scheduler).
        ///
        /// # Panics
        ///
        /// If `future` panics (the panic propagates).
        ///
        /// ```
        /// let sched = weft::sched::Scheduler::new(1);
        /// let answer = sched.block_on(async {
        ///     // `go` here spawns on `sched`.
        ///     weft::go(async { 6 * 7 }).await.unwrap()
        /// });
        /// assert_eq!(answer, 42);
        /// ```
        pub fn block_on<F: Future>(&self, future: F) -> F::Output {
            // In a thread-local destructor after `BLOCK_ON` is gone there is nothing to set
            // (or restore): `go` inside `future` then spawns on the global scheduler.
            let prev = BLOCK_ON
                .try_with(|b| b.replace(Some(Arc::clone(&self.inner))))
                .ok();
            struct Restore(Option<Option<Arc<Inner>>>);
            impl Drop for Restore {
                fn drop(&mut self) {
                    if let Some(prev) = self.0.take() {
                        let _ = BLOCK_ON.try_with(|b| *b.borrow_mut() = prev);
                    }
                }
            }
            let _restore = Restore(prev);
            block_on(future)
        }

        /// Waits for every spawned task to finish (including tasks they spawn meanwhile),
        /// then stops the workers.
        ///
        /// ```
        /// use std::sync::atomic::{AtomicUsize, Ordering};
        /// use std::sync::Arc;
        ///
        /// let sched = weft::sched::Scheduler::new(2);
        /// let done = Arc::new(AtomicUsize::new(0));
        /// for _ in 0..8 {
        ///     let done = Arc::clone(&done);
        ///     // Detached: no handle is kept.
        ///     drop(sched.spawn(async move { done.fetch_add(1, Ordering::Relaxed) }));
        /// }
        /// sched.shutdown();
        /// assert_eq!(done.load(Ordering::Relaxed), 8);
        /// ```
        pub fn shutdown(self) {
            self.inner.live.wait();
            drop(self);
        }
    }

    impl Drop for Scheduler {
        fn drop(&mut self) {
            self.inner.core.shutdown();
            let me = thread::current().id();
            for t in self.threads.drain(..) {
                // A task dropping its own scheduler cannot join its own thread: it exits when
                // the task returns.
                if t.thread().id() != me {
                    let _ = t.join();
                }
            }
            // The timers' pending entries wake their tasks (into the injector, cancelled
            // below); a future polled again elsewhere registers in that context's queue.
            // Also breaks the cycle scheduler -> queue -> waker -> task -> scheduler.
            self.inner.core.timers.close();
            // Cancelling a task drops its future, which may wake others (into the injector).
            self.inner.drain_injector();
            // Ordering: SeqCst, see `schedule_on`.
            self.inner.reaped.store(true, Ordering::SeqCst);
            self.inner.drain_injector();
        }
    }

    impl fmt::Debug for Scheduler {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Scheduler")
                .field("workers", &self.workers())
                .finish_non_exhaustive()
        }
    }

    /// Wakes a thread blocked in `block_on`.
    struct ThreadWaker(crate::primitive::sync::Arc<Parker>);

    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Polls `future` on this thread, parking between polls.
    fn block_on<F: Future>(future: F) -> F::Output {
        let parker = Parker::current();
        let waker = Waker::from(Arc::new(ThreadWaker(parker.clone())));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            parker.park(None);
        }
    }

    /// Spawns `future` as a task, like Go's `go` statement.
    ///
    /// Inside a task, or inside [`Scheduler::block_on`], it spawns on that scheduler.
    /// Elsewhere it spawns on a global scheduler with one worker per CPU, started on first use
    /// and never stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(0);
    /// weft::go(async move { tx.send_async("hello").await.unwrap() });
    /// assert_eq!(rx.recv().unwrap(), "hello");
    /// ```
    pub fn go<F>(future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if let Some(inner) = with_worker(|w| w.map(|w| Arc::clone(&w.inner))) {
            return inner.spawn(future);
        }
        // Gone (a thread-local destructor): not inside a `block_on` any more.
        if let Some(inner) = BLOCK_ON.try_with(|b| b.borrow().clone()).ok().flatten() {
            return inner.spawn(future);
        }
        static GLOBAL: OnceLock<Scheduler> = OnceLock::new();
        GLOBAL
            .get_or_init(|| Builder::default().thread_name("weft-go").build())
            .spawn(future)
    }

    /// Yields to the other tasks of the worker: the task goes to the back of its worker's
    /// queue. (Go's `runtime.Gosched`.)
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(1);
    /// sched.block_on(async {
    ///     for _ in 0..3 {
    ///         weft::sched::yield_now().await;
    ///     }
    /// });
    /// ```
    pub fn yield_now() -> YieldNow {
        YieldNow { yielded: false }
    }

    /// The future of [`yield_now`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct YieldNow {
        yielded: bool,
    }

    impl Future for YieldNow {
        type Output = ();

        fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.yielded {
                return Poll::Ready(());
            }
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
