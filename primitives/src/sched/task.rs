//! A task: one heap cell holding the future (later its output), a state word, a reference
//! count and a type-erased vtable, addressed by a thin pointer so a run queue's slot (and the
//! stealable `runnext` word) holds it whole. The layout follows the usual design of async
//! runtimes' raw tasks (tokio's `runtime/task/raw.rs` is the best-known one).
//!
//! # State word
//!
//! | bits | meaning |
//! |------|---------|
//! | 0..3 | lifecycle: `IDLE` (waiting for a wake-up), `SCHEDULED` (in a run queue), `RUNNING` (being polled), `NOTIFIED` (woken while being polled), `COMPLETE` (the output, a panic or a cancellation is stored) |
//! | 3    | `JOIN_WAKER`: the join handle stored a waker to call on completion |
//! | 4    | `JOIN_PARKED`: a thread sleeps in `JoinHandle::join` on this word |
//!
//! A wake-up moves `IDLE -> SCHEDULED` (and queues the task) or `RUNNING -> NOTIFIED` (the
//! worker re-queues it after the poll); any other state ignores it, so a task is queued at
//! most once. Only the worker holding the queued reference polls, so the future is touched by
//! one thread at a time, each poll ordered after the previous by the state word.
//!
//! # References
//!
//! A spawn makes two: the join handle's and the queued one ([`TaskRef`]). Each waker clone
//! holds one. The cell is freed (future or output dropped with it) when the count reaches zero.
//!
//! # Panics of user code
//!
//! A task runs user code in its future's `poll` and `Drop`, its output's `Drop` and the join
//! handle's waker (woken, then dropped). None of it may unwind into a worker (it would die,
//! and its queued tasks with it) or into whoever drops the last reference (a channel holding
//! the task's waker, possibly under its lock). So [`TaskRef::run`] and [`TaskRef::cancel`]
//! never unwind, and neither does freeing a cell: a panic of the future (polled or dropped) is
//! stored as the task's [`JoinError`]; any other is reported by the panic hook and absorbed
//! (`crate::unwind::absorb`), since no handle is left to receive it.

use core::any::Any;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::panic::AssertUnwindSafe;
use core::pin::Pin;
use core::ptr::{self, NonNull};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::panic;

use super::core::Task;
use super::Inner;
use crate::backoff::spin_then_yield;
use crate::futex;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use crate::primitive::sync::Arc;
use crate::unwind;

const LIFECYCLE: u32 = 0b111;
const IDLE: u32 = 0;
const SCHEDULED: u32 = 1;
const RUNNING: u32 = 2;
const NOTIFIED: u32 = 3;
const COMPLETE: u32 = 4;
const JOIN_WAKER: u32 = 1 << 3;
const JOIN_PARKED: u32 = 1 << 4;

/// The type-independent head of every task cell.
#[repr(C)]
struct Header {
    /// See the module docs.
    state: AtomicU32,
    refs: AtomicUsize,
    vtable: &'static Vtable,
}

/// The operations that need the future's type.
struct Vtable {
    /// Polls once. The caller moved the state to `RUNNING` and holds a reference.
    poll: unsafe fn(NonNull<Header>) -> Polled,
    /// Drops the future and stores a cancellation. Same precondition as `poll`.
    cancel: unsafe fn(NonNull<Header>),
    /// Moves the output into `*dst` (a `*mut Option<Result<F::Output, JoinError>>`). The caller
    /// saw `COMPLETE` with Acquire and is the join handle.
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Frees the cell. The count reached zero.
    dealloc: unsafe fn(NonNull<Header>),
}

/// What a poll came to.
enum Polled {
    Pending,
    /// Finished (output or panic stored); the caller completes the task.
    Done,
}

/// The part of every cell whose layout does not depend on the future's type. `repr(C)` with
/// the header first, so a `*mut Header` is a `*mut Fixed` is a `*mut Cell<F>`.
#[repr(C)]
struct Fixed {
    header: Header,
    sched: Arc<Inner>,
    /// Written by the join handle while `JOIN_WAKER` is clear (and not `COMPLETE`); taken by
    /// the completing worker when the bit is set.
    join_waker: UnsafeCell<Option<Waker>>,
}

/// The heap cell.
#[repr(C)]
struct Cell<F: Future> {
    fixed: Fixed,
    /// Owned by whoever holds the `RUNNING` state; after `COMPLETE`, by the join handle.
    stage: UnsafeCell<Stage<F>>,
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// An error from a task that did not return its output.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

// The model build's tests reach the type only through the task models.
#[cfg_attr(weft_loom, allow(dead_code))]
impl JoinError {
    /// True if the task panicked: its future's `poll`, or its future's `Drop` (when it
    /// finished, or when it was cancelled).
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(1);
    /// let err = sched.spawn(async { panic!("boom") }).join().unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// True if the task was cancelled: its scheduler was dropped before it finished.
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(1);
    /// let (tx, rx) = weft::chan::bounded::<()>(0);
    /// let stuck = sched.spawn(async move { rx.recv_async().await });
    /// drop(sched); // the task has not finished: queued, or waiting for a message
    /// drop(tx); // a waiting task is woken, and meets no scheduler
    /// assert!(stuck.join().unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// # Errors
    ///
    /// The error itself when it is not a panic.
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(1);
    /// let err = sched.spawn(async { panic!("boom") }).join().unwrap_err();
    /// let payload = err.try_into_panic().unwrap();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic payload, to resume it with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicked.
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(1);
    /// let err = sched.spawn(async { panic!("boom") }).join().unwrap_err();
    /// let payload = err.into_panic();
    /// let resumed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     std::panic::resume_unwind(payload)
    /// }));
    /// assert_eq!(resumed.unwrap_err().downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(p) => p,
            Err(e) => panic!("`JoinError::into_panic` on an error that is not a panic: {e}"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(p) => match panic_message(p.as_ref()) {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(p) => f
                .debug_tuple("JoinError::Panic")
                .field(&panic_message(p.as_ref()).unwrap_or("..."))
                .finish(),
        }
    }
}

impl std::error::Error for JoinError {}

fn panic_message(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

/// An owned reference to a task that is queued (state `SCHEDULED`): running or cancelling it
/// consumes it.
pub(crate) struct TaskRef {
    raw: NonNull<Header>,
}

// SAFETY: a task's future and output are `Send` (required by `spawn`), and every access to
// them is serialised by the state word; the header is atomics and a `'static` vtable.
unsafe impl Send for TaskRef {}

impl Task for TaskRef {
    fn into_raw(self) -> NonNull<()> {
        ManuallyDrop::new(self).raw.cast()
    }

    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        TaskRef { raw: ptr.cast() }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: a `TaskRef` owns one reference, given up here exactly once.
        unsafe { drop_ref(self.raw) }
    }
}

impl TaskRef {
    /// Polls the task once, then completes it, re-queues it (woken while running) or leaves
    /// it to its wakers. Never unwinds (see the module docs).
    pub(crate) fn run(self) {
        let raw = self.raw;
        // SAFETY: `raw` is live while `self` holds its reference.
        let header = unsafe { raw.as_ref() };
        // A queued task is SCHEDULED and only its queued reference's holder (us) changes that;
        // wakers only set bits in other states, the join handle only touches the JOIN bits.
        // Ordering: Acquire pairs with the Release of the wake (or spawn) that queued it, and
        // of the previous poll's Release to IDLE, so this poll sees everything before them.
        let prev = header
            .state
            .fetch_add(RUNNING - SCHEDULED, Ordering::Acquire);
        debug_assert_eq!(prev & LIFECYCLE, SCHEDULED);
        // SAFETY: the state is RUNNING and we hold a reference: the vtable's precondition.
        match unsafe { (header.vtable.poll)(raw) } {
            Polled::Done => complete(self),
            Polled::Pending => {
                let mut s = header.state.load(Ordering::Relaxed);
                loop {
                    let (next, requeue) = match s & LIFECYCLE {
                        RUNNING => ((s & !LIFECYCLE) | IDLE, false),
                        NOTIFIED => ((s & !LIFECYCLE) | SCHEDULED, true),
                        other => unreachable!("task state {other} after a poll"),
                    };
                    // Ordering: Release publishes this poll's writes to the stage to the next
                    // poll, which starts after a waker's AcqRel CAS reads IDLE; Acquire (for the
                    // NOTIFIED case) pairs with that waker's Release.
                    match header.state.compare_exchange_weak(
                        s,
                        next,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) if requeue => {
                            // Woke itself (a yield, or a wake-up during the poll): to the back of
                            // the queue, so it cannot monopolise its worker.
                            super::schedule(self, false);
                            return;
                        }
                        Ok(_) => return, // the wakers hold it now; our reference goes
                        Err(now) => s = now,
                    }
                }
            }
        }
    }

    /// Drops the future of a queued task that will never run (its scheduler shut down) and
    /// completes it with a cancellation (or with the panic of the future's `Drop`). Never
    /// unwinds (see the module docs).
    pub(crate) fn cancel(self) {
        let raw = self.raw;
        // SAFETY: as in `run`.
        let header = unsafe { raw.as_ref() };
        // Ordering: as in `run`: we take over the stage from whoever queued the task.
        let prev = header
            .state
            .fetch_add(RUNNING - SCHEDULED, Ordering::Acquire);
        debug_assert_eq!(prev & LIFECYCLE, SCHEDULED);
        // SAFETY: the state is RUNNING and we hold a reference.
        unsafe { (header.vtable.cancel)(raw) };
        complete(self);
    }
}

/// Marks the task `COMPLETE` (its stage already holds the result), wakes the join handle, and
/// drops the caller's reference.
fn complete(task: TaskRef) {
    let raw = task.raw;
    // SAFETY: `task` holds a reference.
    let header = unsafe { raw.as_ref() };
    // Ordering: Release publishes the stored output to the join handle's Acquire load of
    // COMPLETE; Acquire pairs with the join handle's Release when it set JOIN_WAKER, so its
    // waker is visible before we take it.
    let prev = header
        .state
        .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |s| {
            Some((s & !LIFECYCLE) | COMPLETE)
        })
        .unwrap_or_else(|s| s);
    // SAFETY: `task` holds a reference, so the cell is live.
    let fixed = unsafe { fixed(raw) };
    if prev & JOIN_WAKER != 0 {
        // JOIN_WAKER was set and we moved the state to COMPLETE: the join handle writes the
        // cell only while the bit is clear and the task is not complete, so it never will
        // again, and the Acquire above made its last write visible.
        // SAFETY: so this thread alone accesses the cell now.
        let waker = fixed.join_waker.with_mut(|w| unsafe { (*w).take() });
        if let Some(w) = waker {
            // The handle's waker is user code: its panic must not stop the bookkeeping below
            // (the parked joiner, the live count) nor reach the worker.
            unwind::absorb(|| w.wake());
        }
    }
    if prev & JOIN_PARKED != 0 {
        futex::wake_one(&header.state);
    }
    fixed.sched.task_finished();
    drop(task);
}

/// The scheduler a task belongs to, borrowed from the task.
pub(crate) fn sched_of(task: &TaskRef) -> &Arc<Inner> {
    // SAFETY: `task` holds a reference, so the cell is live for the borrow.
    unsafe { &fixed(task.raw).sched }
}

/// The type-independent part of a live task's cell.
///
/// # Safety
///
/// `raw` is a live task, and stays live for `'a`.
unsafe fn fixed<'a>(raw: NonNull<Header>) -> &'a Fixed {
    // SAFETY: every cell is a repr(C) `Cell<F>` whose first field is a repr(C) `Fixed`, whose
    // first field is the header: the pointers coincide. Liveness is the caller's.
    unsafe { raw.cast::<Fixed>().as_ref() }
}

/// Gives up one reference; frees the cell with the last.
///
/// # Safety
///
/// The caller owns one reference to the live task `raw`.
unsafe fn drop_ref(raw: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the cell live until this decrement.
    let header = unsafe { raw.as_ref() };
    // Ordering: Release so every use of the task through this reference happens-before the
    // free; the last decrementer's Acquire load pairs with all of them. (`Arc` uses a fence
    // here; a load does the same job and ThreadSanitizer, which does not model fences,
    // understands it.)
    if header.refs.fetch_sub(1, Ordering::Release) == 1 {
        header.refs.load(Ordering::Acquire);
        // SAFETY: the count reached zero: nobody else can reach the cell.
        unsafe { (header.vtable.dealloc)(raw) };
    }
}

/// Adds a reference.
///
/// # Safety
///
/// `raw` is live (the caller holds a reference).
unsafe fn add_ref(raw: NonNull<Header>) {
    // SAFETY: the caller's reference keeps it live.
    let header = unsafe { raw.as_ref() };
    // Relaxed, as `Arc::clone`: a new reference is made from an existing one, which already
    // keeps the cell live; nothing is published.
    let old = header.refs.fetch_add(1, Ordering::Relaxed);
    if old > isize::MAX as usize {
        std::process::abort(); // as `Arc`: a leak of clones this large is a bug; never wrap
    }
}

/// Wakes the task: queues it if it waits, marks it if it is being polled.
///
/// # Safety
///
/// `raw` is live (the caller holds a reference, which it keeps).
unsafe fn wake_by_ref(raw: NonNull<Header>) {
    // SAFETY: live, per the caller.
    let header = unsafe { raw.as_ref() };
    let mut s = header.state.load(Ordering::Relaxed);
    loop {
        let next = match s & LIFECYCLE {
            IDLE => (s & !LIFECYCLE) | SCHEDULED,
            RUNNING => (s & !LIFECYCLE) | NOTIFIED,
            _ => return, // already queued or re-queued, or finished
        };
        // Ordering: Release publishes what the waker's caller did before waking (a message it
        // stored) to the next poll, which starts with an Acquire on this word; Acquire pairs
        // with the Release to IDLE that ended the previous poll, so queueing follows it.
        match header
            .state
            .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => break,
            Err(now) => s = now,
        }
    }
    if s & LIFECYCLE == IDLE {
        // SAFETY: live; the new reference is the queued one, owned by the `TaskRef`.
        unsafe { add_ref(raw) };
        super::schedule(TaskRef { raw }, true);
    }
}

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: a waker's data is a live task pointer holding one reference (ours).
    unsafe { add_ref(NonNull::new_unchecked(data as *mut Header)) };
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: as in `waker_clone`; `wake` consumes the waker's reference, dropped after.
    unsafe {
        let raw = NonNull::new_unchecked(data as *mut Header);
        wake_by_ref(raw);
        drop_ref(raw);
    }
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: as in `waker_clone`.
    unsafe { wake_by_ref(NonNull::new_unchecked(data as *mut Header)) }
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: as in `waker_clone`; the waker's reference is given up once.
    unsafe { drop_ref(NonNull::new_unchecked(data as *mut Header)) }
}

/// Allocates a task running `future` on `sched`: the queued reference (to schedule) and the
/// join handle.
pub(crate) fn new_task<F>(future: F, sched: Arc<Inner>) -> (TaskRef, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cell = Box::new(Cell {
        fixed: Fixed {
            header: Header {
                // Queued from the start: the caller schedules the TaskRef.
                state: AtomicU32::new(SCHEDULED),
                refs: AtomicUsize::new(2),
                vtable: vtable::<F>(),
            },
            sched,
            join_waker: UnsafeCell::new(None),
        },
        stage: UnsafeCell::new(Stage::Running(future)),
    });
    // SAFETY: `Box::into_raw` is never null; repr(C) puts the header at offset 0.
    let raw = unsafe { NonNull::new_unchecked(Box::into_raw(cell)) }.cast::<Header>();
    (
        TaskRef { raw },
        JoinHandle {
            raw,
            _output: PhantomData,
        },
    )
}

fn vtable<F: Future + Send + 'static>() -> &'static Vtable
where
    F::Output: Send + 'static,
{
    trait HasVtable {
        const VTABLE: Vtable;
    }
    impl<F: Future + Send + 'static> HasVtable for F
    where
        F::Output: Send + 'static,
    {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F>,
            cancel: cancel::<F>,
            read_output: read_output::<F>,
            dealloc: dealloc::<F>,
        };
    }
    &<F as HasVtable>::VTABLE
}

/// # Safety
///
/// `raw` is a live `Cell<F>`.
unsafe fn cell<'a, F: Future>(raw: NonNull<Header>) -> &'a Cell<F> {
    // SAFETY: repr(C) with the header first; the caller guarantees the type and liveness.
    unsafe { raw.cast::<Cell<F>>().as_ref() }
}

unsafe fn poll<F: Future>(raw: NonNull<Header>) -> Polled {
    // SAFETY: the vtable of a `Cell<F>` is only reached through that cell.
    let cell = unsafe { cell::<F>(raw) };
    // A waker borrowed from our reference: no count change unless it is cloned.
    // SAFETY: the data is the live task; the vtable's functions uphold RawWaker's contract
    // (clone adds a reference, drop gives one up, wake consumes one).
    let waker = ManuallyDrop::new(unsafe {
        Waker::from_raw(RawWaker::new(raw.as_ptr() as *const (), &WAKER_VTABLE))
    });
    let mut cx = Context::from_waker(&waker);
    cell.stage.with_mut(|stage| {
        // SAFETY: the RUNNING state gives this thread sole access to the stage.
        let stage = unsafe { &mut *stage };
        let Stage::Running(future) = stage else {
            unreachable!("a running task's stage holds its future");
        };
        // SAFETY: the future never moves: it lives in the heap cell until it is dropped in
        // place (below, or with the cell).
        let future = unsafe { Pin::new_unchecked(future) };
        let result = match panic::catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
            Ok(Poll::Pending) => return Polled::Pending,
            Ok(Poll::Ready(out)) => Ok(out),
            Err(payload) => Err(JoinError {
                repr: Repr::Panic(payload),
            }),
        };
        finish(stage, result);
        Polled::Done
    })
}

/// Drops the future in place and stores `result`, or the panic of the future's `Drop`: that
/// replaces an output (dropped here, its own panic absorbed) or a cancellation, not a panic of
/// the poll (the drop's is absorbed then: the hook reported both).
fn finish<F: Future>(stage: &mut Stage<F>, result: Result<F::Output, JoinError>) {
    // SAFETY: a `&mut` is valid, initialised and exclusive.
    let dropped = unsafe { clear_stage(stage) };
    *stage = Stage::Finished(match (result, dropped) {
        (result, Ok(())) => result,
        (
            result @ Err(JoinError {
                repr: Repr::Panic(_),
            }),
            Err(payload),
        ) => {
            unwind::discard(payload);
            result
        }
        (result, Err(payload)) => {
            unwind::absorb(move || drop(result));
            Err(JoinError {
                repr: Repr::Panic(payload),
            })
        }
    });
}

/// Drops the stage in place (an unfinished future is pinned there) and leaves `Consumed` in
/// it, also when the drop panics; returns that panic.
///
/// # Safety
///
/// `stage` is valid for reads and writes, initialised, and the caller's alone.
unsafe fn clear_stage<F: Future>(stage: *mut Stage<F>) -> Result<(), unwind::Payload> {
    // SAFETY: per the caller, the stage is initialised and ours; it is dropped once, here.
    let dropped = panic::catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(stage) }));
    // A panicking drop still dropped what it could (drop glue goes on while unwinding), and
    // the old value counts as dropped either way: overwrite it without another drop.
    // SAFETY: valid for writes per the caller; the old value is gone.
    unsafe { ptr::write(stage, Stage::Consumed) };
    dropped
}

unsafe fn cancel<F: Future>(raw: NonNull<Header>) {
    // SAFETY: as in `poll`.
    let cell = unsafe { cell::<F>(raw) };
    cell.stage.with_mut(|stage| {
        // SAFETY: the RUNNING state gives this thread sole access to the stage.
        let stage = unsafe { &mut *stage };
        finish(
            stage,
            Err(JoinError {
                repr: Repr::Cancelled,
            }),
        );
    });
}

/// Moves the output into `dst`, a `*mut Option<Result<F::Output, JoinError>>`.
unsafe fn read_output<F: Future>(raw: NonNull<Header>, dst: *mut ()) {
    // SAFETY: as in `poll`.
    let cell = unsafe { cell::<F>(raw) };
    let stage = cell.stage.with_mut(|stage| {
        // SAFETY: the caller (the join handle) saw COMPLETE with Acquire: the stage is no
        // longer touched by any worker, and the handle reads it once.
        core::mem::replace(unsafe { &mut *stage }, Stage::Consumed)
    });
    let Stage::Finished(result) = stage else {
        panic!("JoinHandle: the task's output was already taken");
    };
    // SAFETY: the caller passes a valid `*mut Option<Result<F::Output, JoinError>>` (the
    // join handle's `T` is this cell's `F::Output`: both come from `new_task`).
    unsafe { *dst.cast::<Option<Result<F::Output, JoinError>>>() = Some(result) };
}

unsafe fn dealloc<F: Future>(raw: NonNull<Header>) {
    // SAFETY: the count reached zero, so this is the last access; the cell came from
    // `Box::into_raw` of a `Box<Cell<F>>` in `new_task`.
    let cell = unsafe { Box::from_raw(raw.cast::<Cell<F>>().as_ptr()) };
    // The user's parts first, each on its own so that one's panic neither skips the other nor
    // unwinds into the thread that dropped the last reference (see the module docs).
    // SAFETY: the last reference: nobody else can reach the cell.
    let waker = cell.fixed.join_waker.with_mut(|w| unsafe { (*w).take() });
    unwind::absorb(move || drop(waker));
    // SAFETY: the last reference gives sole access to the initialised stage.
    if let Err(payload) = cell.stage.with_mut(|stage| unsafe { clear_stage(stage) }) {
        unwind::discard(payload);
    }
    drop(cell); // no user code is left in it
}

/// A handle to a spawned task: a future of its output, or a blocking [`join`](Self::join).
///
/// Dropping the handle detaches the task: it runs to completion and its output is dropped.
/// A panic in a detached task (its future's or its output's `Drop` included) is reported by
/// the panic hook and goes no further, whichever thread drops the task's last reference: the
/// workers go on.
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the output (`T: Send`) out of the cell, synchronised by the
// state word; the rest of the header is atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: every `&self` method only reads the atomic state word.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    fn header(&self) -> &Header {
        // SAFETY: the handle holds a reference, so the cell is live.
        unsafe { self.raw.as_ref() }
    }

    /// True once the task has finished (returned, panicked or was cancelled): a
    /// [`join`](Self::join) then returns at once.
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(1);
    /// let task = sched.spawn(async { 1 });
    /// while !task.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(task.join().unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        // Relaxed suffices for a yes/no answer; taking the output re-reads with Acquire.
        self.header().state.load(Ordering::Relaxed) & LIFECYCLE == COMPLETE
    }

    /// Blocks the calling thread until the task finishes, and returns its output.
    ///
    /// Called from inside a task it blocks that task's worker thread; `.await` the handle
    /// there instead.
    ///
    /// # Errors
    ///
    /// A [`JoinError`] if the task panicked or was cancelled.
    ///
    /// # Panics
    ///
    /// Never: a panic of the task comes back as the `Err` (its payload in
    /// [`JoinError::into_panic`]), as `std::thread::JoinHandle::join` returns one; it is not
    /// resumed on the joining thread.
    ///
    /// ```
    /// let sched = weft::sched::Scheduler::new(2);
    /// let task = sched.spawn(async { (1..=10).sum::<u32>() });
    /// assert_eq!(task.join().unwrap(), 55);
    /// ```
    pub fn join(self) -> Result<T, JoinError> {
        let header = self.header();
        let finished = || {
            // Ordering: Acquire pairs with the Release in `complete`, making the output
            // visible.
            (header.state.load(Ordering::Acquire) & LIFECYCLE == COMPLETE).then_some(())
        };
        if spin_then_yield(finished).is_none() {
            let mut s = header.state.load(Ordering::Acquire);
            while s & LIFECYCLE != COMPLETE {
                if s & JOIN_PARKED == 0 {
                    // Ordering: Acquire for the COMPLETE case of a failure; the CAS and the
                    // completion's update are ordered on this word, so either it sees our
                    // flag (and wakes us) or our CAS fails and we re-read COMPLETE.
                    match header.state.compare_exchange(
                        s,
                        s | JOIN_PARKED,
                        Ordering::Acquire,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => s |= JOIN_PARKED,
                        Err(now) => {
                            s = now;
                            continue;
                        }
                    }
                }
                futex::wait(&header.state, s);
                // Ordering: as above.
                s = header.state.load(Ordering::Acquire);
            }
        }
        self.take_output()
            .expect("a finished task's output is taken once, by its handle")
    }

    /// Moves the output out. The caller saw COMPLETE with Acquire.
    fn take_output(&self) -> Option<Result<T, JoinError>> {
        let mut out: Option<Result<T, JoinError>> = None;
        // COMPLETE was seen with Acquire: the stage is finished and only this handle reads
        // it; the vtable's `read_output` is the one of this task's `Cell<F>` with
        // `F::Output = T`, matching `dst`'s type.
        // SAFETY: so the read is exclusive and `dst` has the type the function writes.
        unsafe {
            (self.header().vtable.read_output)(
                self.raw,
                (&mut out as *mut Option<Result<T, JoinError>>).cast(),
            );
        };
        out
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let header = self.header();
        // SAFETY: the handle holds a reference.
        let fixed = unsafe { fixed(self.raw) };
        // Ordering: Acquire pairs with the Release in `complete` (output visible).
        let mut s = header.state.load(Ordering::Acquire);
        if s & LIFECYCLE == COMPLETE {
            return Poll::Ready(
                self.take_output()
                    .expect("JoinHandle polled after completion"),
            );
        }
        // With the bit set the worker may take the waker at any moment, but only after setting
        // COMPLETE; until then it is only read here (`will_wake` borrows). A shared borrow
        // concurrent with the completer's `take` would race, so we do not look: clear the bit
        // first and own the cell again. Only this handle clears the bit, so the loop ends
        // when the CAS succeeds or the task completes; a failure for any other reason is the
        // task's lifecycle moving on while it runs (a poll starting or ending), not its
        // completion: then the output is not there yet, and reading it would race the worker
        // that polls the future (found by the loom model `awaited_join_handle_races_completion`,
        // where a re-poll of the handle met the task's first poll ending).
        while s & JOIN_WAKER != 0 {
            // Ordering: Acquire for the COMPLETE case of a failure, as above.
            match header.state.compare_exchange(
                s,
                s & !JOIN_WAKER,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => s &= !JOIN_WAKER,
                Err(now) if now & LIFECYCLE == COMPLETE => {
                    return Poll::Ready(
                        self.take_output()
                            .expect("JoinHandle polled after completion"),
                    );
                }
                Err(now) => s = now,
            }
        }
        // JOIN_WAKER is clear and the task not complete: the cell is ours.
        // SAFETY: see the field docs: nobody else touches it in this state.
        fixed.join_waker.with_mut(|w| unsafe {
            match &mut *w {
                Some(old) if old.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        });
        loop {
            // Ordering: Release publishes the waker to `complete`'s Acquire; Acquire for
            // the COMPLETE case of a failure.
            match header.state.compare_exchange_weak(
                s,
                s | JOIN_WAKER,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Poll::Pending,
                Err(now) if now & LIFECYCLE == COMPLETE => {
                    return Poll::Ready(
                        self.take_output()
                            .expect("JoinHandle polled after completion"),
                    );
                }
                Err(now) => s = now, // a lifecycle change while running: retry
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: the handle owns one reference, given up once.
        unsafe { drop_ref(self.raw) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
