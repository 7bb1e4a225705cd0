//! The scheduler's run queues and its sleep/wake protocol, generic over the task handle so the
//! loom models drive the very code the scheduler runs.
//!
//! The design is Go's (`runtime/proc.go`: `findRunnable`, `wakep`, `resetspinning`), built
//! from weft's own parts:
//!
//! - Each worker owns a weft Chase-Lev deque in FIFO mode (its run queue) and a one-task
//!   `runnext` slot. A task woken by a running task goes to `runnext`, so the woken task runs
//!   next on the same worker (the hand-off stays in cache, as Go's `runnext`); the task it
//!   displaces goes to the back of the deque. FIFO rather than LIFO for the rest: with a LIFO
//!   queue, two tasks that keep waking each other would sit on top forever and starve every
//!   older task of a lone worker. At most [`RUNNEXT_STREAK`] `runnext` picks run in a row
//!   before the deque gets a turn (tokio's LIFO-slot limit has the same purpose).
//! - A global injector, weft's unbounded channel, takes tasks from threads that are not
//!   workers. Every [`INJECTOR_EVERY`]th pick looks at it first (Go's 61), so tasks that keep
//!   re-waking each other cannot starve it.
//! - A worker out of work becomes a *searcher* and steals about half of a random victim's
//!   deque (`steal_batch_and_pop`), or a victim's `runnext` on its last round; at most half
//!   of the busy workers search at once (Go's `2*nmspinning >= busy` rule).
//! - A worker that found nothing registers as a sleeper and parks on its own futex parker.
//!
//! # No lost wake-ups
//!
//! Two Dekker-style pairs, each a store, a `SeqCst` fence and a load on either side:
//!
//! 1. A pusher stores a task into a queue, fences, and loads `searching` and `idle`
//!    ([`Shared::notify`]). A sleeper increments `idle` (under the sleepers' lock), fences,
//!    and re-checks every queue before parking. Either the pusher sees the sleeper and wakes
//!    one worker, or the sleeper sees the task.
//! 2. The last searcher to stop decrements `searching`, fences, and re-checks every queue.
//!    A pusher that saw `searching != 0` and therefore woke nobody pushed before its fence, so
//!    the stopping searcher sees that task.
//!
//! A notifier claims the right to wake by moving `searching` from 0 to 1 and hands that count
//! to the worker it wakes, so a burst of pushes wakes one worker, and that worker, when it
//! finds work and stops searching, wakes the next (Go's `resetspinning`): wake-ups cascade
//! only while there is work to take.

// Under loom only the models use this module (the scheduler proper is not built there).
#![cfg_attr(all(weft_loom, not(test)), allow(dead_code))]

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::chan::{self, Receiver, Sender};
use crate::deque::{Steal, Stealer, Worker};
use crate::parker::Parker;
use crate::primitive::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use crate::primitive::sync::Arc;
use crate::sync::Mutex;
use crate::timers::TimerQueue;
use crate::unwind::FirstPanic;
use std::time::Instant;

/// Consecutive `runnext` picks before the deque gets a turn.
const RUNNEXT_STREAK: u32 = 3;

/// Every this many picks, the injector is looked at first (Go's `schedtick%61`).
const INJECTOR_EVERY: u32 = 61;

/// Passes over the victims a searcher makes before it gives up (Go's `stealTries`). Under loom
/// one pass: more only multiplies interleavings without new behaviour.
const STEAL_ROUNDS: u32 = if cfg!(weft_loom) { 1 } else { 4 };

/// Most tasks moved from the injector to a worker's deque at once, beside the one it runs.
const INJECTOR_BATCH: usize = 32;

/// A task handle the run queues can hold: an owned pointer that fits one atomic word (for the
/// stealable `runnext` slot).
pub(crate) trait Task: Send + 'static {
    /// Gives up ownership as a pointer.
    fn into_raw(self) -> NonNull<()>;

    /// Takes back ownership of a pointer made by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    ///
    /// `ptr` came from `into_raw` of this type and ownership was not taken back since.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self;
}

/// What every thread may touch of one worker.
struct Remote<T> {
    stealer: Stealer<T>,
    /// An owned `T` (as [`Task::into_raw`]) or null. The owner swaps tasks in and out;
    /// a thief swaps null in. Whoever swaps a pointer out owns it.
    runnext: AtomicPtr<()>,
    /// The worker's own parker: only that worker parks on it.
    parker: Arc<Parker>,
    /// Owns `T`s that any thread may take: shareable when `T: Send`, as a mutex of `T` is.
    _owns: PhantomData<std::sync::Mutex<T>>,
}

/// Who sleeps. Guarded by a lock: registering to sleep and waking are the slow paths.
struct Sleepers {
    /// Indices of the parked (or about to park) workers.
    stack: Vec<usize>,
    /// `asleep[i]`: worker `i` is on `stack`.
    asleep: Vec<bool>,
    /// The sleeper that parks until the timer queue's next deadline (at most one: the
    /// others park without a deadline). Notifiers pick it last, so it stays asleep on
    /// the timers while another sleeper can take the work.
    watcher: Option<usize>,
}

/// The state the workers and every spawning thread share.
pub(crate) struct Shared<T: Task> {
    injector_tx: Sender<T>,
    injector_rx: Receiver<T>,
    remotes: Box<[Remote<T>]>,
    /// Workers searching for work (stealing), or woken and about to.
    searching: AtomicUsize,
    /// Workers registered in `sleepers` (readable without the lock).
    idle: AtomicUsize,
    sleepers: Mutex<Sleepers>,
    shutdown: AtomicBool,
    /// The scheduler's timers (`crate::timers`): fired by workers looking for work, and
    /// by the watching sleeper at their deadline.
    pub(crate) timers: Arc<TimerQueue>,
}

impl<T: Task> Drop for Shared<T> {
    fn drop(&mut self) {
        // The deques and the injector drop their own tasks; a `runnext` slot holds a raw one.
        // Workers empty their own slot when they stop, so this matters only for a worker that
        // was never joined. Every slot is emptied even if a task's drop panics, and the first
        // panic is resumed after, as `Vec` does (the scheduler's own tasks never unwind from a
        // drop anyway: see `task.rs`).
        let mut panicked = FirstPanic::default();
        for r in self.remotes.iter() {
            // Ordering: Acquire, as in `take_runnext`: we take ownership of the task.
            let p = r.runnext.swap(ptr::null_mut(), Ordering::Acquire);
            if let Some(p) = NonNull::new(p) {
                // SAFETY: as in `take_runnext`; `Task` is implemented for every `T` stored.
                let task = unsafe { T::from_raw(p) };
                panicked.run(move || drop(task));
            }
        }
        panicked.resume();
    }
}

/// One worker's own state: only the worker's thread touches it.
pub(crate) struct Local<T> {
    index: usize,
    queue: Worker<T>,
    tick: u32,
    streak: u32,
    /// This worker is counted in `Shared::searching`.
    searching: bool,
    rng: u32,
}

impl<T: Task> Shared<T> {
    /// A scheduler core with `workers` workers, and each worker's local half.
    pub(crate) fn new(workers: usize) -> (Self, Vec<Local<T>>) {
        assert!(workers > 0, "a scheduler needs at least one worker");
        let (injector_tx, injector_rx) = chan::unbounded();
        let mut locals = Vec::with_capacity(workers);
        let mut remotes = Vec::with_capacity(workers);
        for index in 0..workers {
            let queue = Worker::new_fifo();
            remotes.push(Remote {
                stealer: queue.stealer(),
                runnext: AtomicPtr::new(ptr::null_mut()),
                parker: Arc::new(Parker::new()),
                _owns: PhantomData,
            });
            locals.push(Local {
                index,
                queue,
                tick: 0,
                streak: 0,
                searching: false,
                // Distinct odd seeds: the victim order differs between workers.
                rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
            });
        }
        let shared = Shared {
            injector_tx,
            injector_rx,
            remotes: remotes.into_boxed_slice(),
            searching: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            sleepers: Mutex::new(Sleepers {
                stack: Vec::with_capacity(workers),
                asleep: vec![false; workers],
                watcher: None,
            }),
            shutdown: AtomicBool::new(false),
            timers: Arc::new(TimerQueue::new()),
        };
        (shared, locals)
    }

    /// The number of workers.
    pub(crate) fn workers(&self) -> usize {
        self.remotes.len()
    }

    /// Queues `task` from a thread that is not one of the workers (or after shutdown), and
    /// wakes a worker if none is looking for work.
    pub(crate) fn push_remote(&self, task: T) {
        if self.injector_tx.send(task).is_err() {
            unreachable!("the injector cannot close: `Shared` holds its receiver");
        }
        self.notify();
    }

    /// True once [`shutdown`](Self::shutdown) ran.
    pub(crate) fn is_shutdown(&self) -> bool {
        // Ordering: SeqCst pairs with the SeqCst store in `shutdown`, so a worker that
        // registered to sleep and re-checks sees it (see `shutdown`).
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Takes one task out of the injector (to drain it at shutdown).
    pub(crate) fn pop_injector(&self) -> Option<T> {
        self.injector_rx.try_recv().ok()
    }

    /// Stops the workers: each returns `None` from [`Local::next_task`] at its next look.
    /// Tasks still queued stay queued: drain them with [`Local::drain`] and
    /// [`pop_injector`](Self::pop_injector).
    pub(crate) fn shutdown(&self) {
        // Ordering: SeqCst, see `is_shutdown`. A worker registering to sleep after this store
        // takes the sleepers' lock after the drain below released it, so it sees the flag in
        // its re-check.
        self.shutdown.store(true, Ordering::SeqCst);
        let woken: Vec<usize> = {
            let mut s = self.sleepers.lock();
            let woken = core::mem::take(&mut s.stack);
            for &i in &woken {
                s.asleep[i] = false;
            }
            s.watcher = None;
            // Relaxed: the lock orders it; see `notify` for why the fast check tolerates it.
            self.idle.store(0, Ordering::Relaxed);
            woken
        };
        for i in woken {
            self.remotes[i].parker.unpark();
        }
    }

    /// Wakes one sleeping worker if work may have been pushed where no one is looking.
    /// Call after every push another worker could take.
    pub(crate) fn notify(&self) {
        // Ordering: SeqCst fence pairs with the fences in `Local::sleep` (after registering as
        // idle) and `Local::stop_searching` (after leaving `searching`): the task pushed before
        // this fence is seen by their re-checks, or their counts are seen by the loads below.
        fence(Ordering::SeqCst);
        if self.searching.load(Ordering::Relaxed) != 0 || self.idle.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Relaxed: the CAS only elects one notifier; the wake itself goes through the
        // sleepers' lock and the parker (Release/Acquire).
        if self
            .searching
            .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return; // someone else is searching or waking one
        }
        let woken = {
            let mut s = self.sleepers.lock();
            // The most recent sleeper (warmest cache), unless it is the timers' watcher
            // and another sleeper can go instead.
            let n = s.stack.len();
            let woken = if n > 1 && s.watcher == s.stack.last().copied() {
                Some(s.stack.remove(n - 2))
            } else {
                s.stack.pop()
            };
            if let Some(i) = woken {
                s.asleep[i] = false;
                if s.watcher == Some(i) {
                    s.watcher = None;
                }
                self.idle.fetch_sub(1, Ordering::Relaxed);
            }
            woken
        };
        match woken {
            // The woken worker inherits our `searching` count.
            Some(i) => self.remotes[i].parker.unpark(),
            // Everyone got busy meanwhile; each re-checks the queues before it sleeps.
            None => {
                self.searching.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Whether any queue holds a task (a racy snapshot, for the re-checks before sleeping).
    fn has_work(&self) -> bool {
        !self.injector_rx.is_empty()
            || self.remotes.iter().any(|r| {
                // Relaxed: the caller's SeqCst fence orders this load against pushes; the slot is
                // only inspected, not taken.
                !r.stealer.is_empty() || !r.runnext.load(Ordering::Relaxed).is_null()
            })
    }

    /// Takes a victim's `runnext` task.
    fn take_runnext(&self, victim: usize) -> Option<T> {
        let slot = &self.remotes[victim].runnext;
        // Relaxed pre-check avoids writing to an empty slot's cache line.
        if slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Ordering: Acquire pairs with the Release swap that stored the task, so its contents
        // (written before it was queued) are visible to us.
        let p = slot.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: the slot only ever holds null or a pointer from `T::into_raw` whose
        // ownership was moved into the slot; the swap moved it out to us alone.
        NonNull::new(p).map(|p| unsafe { T::from_raw(p) })
    }
}

impl<T: Task> Local<T> {
    /// Queues `task` on this worker. With `next`, it runs next (`runnext`): for a task woken
    /// by the one running now. Otherwise at the back of the deque: for new tasks and for a task
    /// that woke itself (a yield), so it cannot monopolise the worker. Wakes a sleeping worker
    /// when the deque grew and nobody searches.
    pub(crate) fn push(&mut self, shared: &Shared<T>, task: T, next: bool) {
        if next {
            let slot = &shared.remotes[self.index].runnext;
            // Ordering: Release publishes the task's contents to a thief's Acquire swap in
            // `take_runnext`; Acquire takes ownership of a displaced task the same way.
            let old = slot.swap(task.into_raw().as_ptr(), Ordering::AcqRel);
            let Some(old) = NonNull::new(old) else {
                // Only the slot is taken: this worker runs the task as soon as the running one
                // yields, so waking another worker (microseconds of futex) would buy nothing
                // for a hand-off between tasks. A searcher may still take it from the slot.
                return;
            };
            // SAFETY: as in `take_runnext`: what the swap moved out is ours alone.
            self.queue.push(unsafe { T::from_raw(old) });
        } else {
            self.queue.push(task);
        }
        shared.notify();
    }

    /// The next task to run, waiting (spin, then park) while there is none. `None` once the
    /// scheduler shuts down.
    pub(crate) fn next_task(&mut self, shared: &Shared<T>) -> Option<T> {
        loop {
            if shared.is_shutdown() {
                return None;
            }
            // Due timers first: what they wake is queued (on the injector: this worker's
            // queue is borrowed meanwhile) before we look. With no timers, one load.
            if shared.timers.is_due(Instant::now) {
                shared.timers.fire_due(Instant::now());
            }
            if let Some(task) = self.find_local(shared) {
                return Some(task);
            }
            if !self.searching && !self.begin_search(shared) {
                if self.sleep(shared) {
                    continue;
                }
                return None;
            }
            if let Some(task) = self.steal(shared) {
                self.found_work(shared);
                return Some(task);
            }
            if self.stop_searching(shared) {
                continue; // work appeared while we stopped: search again
            }
            if !self.sleep(shared) {
                return None;
            }
        }
    }

    /// Takes every task left on this worker (its `runnext` and deque), for cancellation at
    /// shutdown.
    pub(crate) fn drain(&mut self, shared: &Shared<T>) -> Vec<T> {
        let mut out = Vec::new();
        out.extend(shared.take_runnext(self.index));
        while let Some(task) = self.queue.pop() {
            out.push(task);
        }
        out
    }

    /// Own queues and the injector, without waiting.
    fn find_local(&mut self, shared: &Shared<T>) -> Option<T> {
        self.tick = self.tick.wrapping_add(1);
        if self.tick % INJECTOR_EVERY == 0 {
            if let Some(task) = self.take_injector(shared) {
                return Some(task);
            }
        }
        if self.streak < RUNNEXT_STREAK {
            if let Some(task) = shared.take_runnext(self.index) {
                self.streak += 1;
                return Some(task);
            }
        }
        if let Some(task) = self.queue.pop() {
            self.streak = 0;
            return Some(task);
        }
        self.streak = 0;
        if let Some(task) = shared.take_runnext(self.index) {
            return Some(task);
        }
        self.take_injector(shared)
    }

    /// One task from the injector, plus a fair share of the rest moved to our deque.
    fn take_injector(&mut self, shared: &Shared<T>) -> Option<T> {
        let task = shared.injector_rx.try_recv().ok()?;
        let share = (shared.injector_rx.len() / shared.workers()).min(INJECTOR_BATCH);
        let mut moved = false;
        for _ in 0..share {
            match shared.injector_rx.try_recv() {
                Ok(t) => {
                    self.queue.push(t);
                    moved = true;
                }
                Err(_) => break,
            }
        }
        if moved {
            shared.notify(); // others may help with the batch
        }
        Some(task)
    }

    /// Go's rule: at most half of the busy workers search at once.
    fn begin_search(&mut self, shared: &Shared<T>) -> bool {
        let busy = shared
            .workers()
            .saturating_sub(shared.idle.load(Ordering::Relaxed));
        if 2 * shared.searching.load(Ordering::Relaxed) >= busy {
            return false;
        }
        shared.searching.fetch_add(1, Ordering::Relaxed);
        self.searching = true;
        true
    }

    /// Steals from the other workers: about half a random victim's deque, their `runnext` on
    /// the last round, and the injector.
    fn steal(&mut self, shared: &Shared<T>) -> Option<T> {
        let n = shared.workers();
        for round in 0..STEAL_ROUNDS {
            let last = round + 1 == STEAL_ROUNDS;
            let start = self.next_rand() as usize % n;
            for k in 0..n {
                let victim = (start + k) % n;
                if victim == self.index {
                    continue;
                }
                loop {
                    match shared.remotes[victim]
                        .stealer
                        .steal_batch_and_pop(&self.queue)
                    {
                        Steal::Success(task) => return Some(task),
                        Steal::Empty => break,
                        Steal::Retry => crate::primitive::hint::spin_loop(),
                    }
                }
                // A victim's runnext is its owner's next task; take it only when a whole pass
                // found nothing else (Go waits a few microseconds for the same reason).
                if last {
                    if let Some(task) = shared.take_runnext(victim) {
                        return Some(task);
                    }
                }
            }
            if let Some(task) = self.take_injector(shared) {
                return Some(task);
            }
            if !last {
                crate::primitive::thread::yield_now();
            }
        }
        None
    }

    /// Leaves the searchers after finding work; the last one to leave wakes another worker,
    /// since where there was one task there may be more.
    fn found_work(&mut self, shared: &Shared<T>) {
        if self.searching {
            self.searching = false;
            if shared.searching.fetch_sub(1, Ordering::Relaxed) == 1 {
                shared.notify();
            }
        }
    }

    /// Leaves the searchers without work. Returns true if work appeared (the caller searches
    /// again, counted as a searcher once more).
    fn stop_searching(&mut self, shared: &Shared<T>) -> bool {
        debug_assert!(self.searching);
        self.searching = false;
        shared.searching.fetch_sub(1, Ordering::Relaxed);
        // Ordering: SeqCst fence pairs with the one in `notify`: a pusher that saw our count
        // (and so woke nobody) pushed before its fence, and this re-check sees its task.
        fence(Ordering::SeqCst);
        if shared.has_work() {
            shared.searching.fetch_add(1, Ordering::Relaxed);
            self.searching = true;
            return true;
        }
        false
    }

    /// Registers as a sleeper, re-checks, and parks until a notifier picks this worker (or,
    /// as the timers' watcher, until their next deadline). Returns false if the scheduler
    /// shut down.
    fn sleep(&mut self, shared: &Shared<T>) -> bool {
        let mut watching = {
            let mut s = shared.sleepers.lock();
            s.stack.push(self.index);
            s.asleep[self.index] = true;
            shared.idle.fetch_add(1, Ordering::Relaxed);
            let watching = s.watcher.is_none();
            if watching {
                s.watcher = Some(self.index);
            }
            watching
        };
        // Ordering: SeqCst fence pairs with the one in `notify` (see the module docs).
        fence(Ordering::SeqCst);
        if shared.has_work() || shared.is_shutdown() || shared.timers.is_due(Instant::now) {
            return self.wake_up(shared, watching);
        }
        let parker = &shared.remotes[self.index].parker;
        loop {
            // The watcher sleeps until the next deadline; `watch` makes an insert of an
            // earlier one unpark it (before or after it parks: the parker keeps the token).
            // Under the sleepers' lock, so the queue's watcher is always the sleeper that
            // `Sleepers::watcher` names (a notifier may have picked us meanwhile).
            let deadline = if watching {
                let s = shared.sleepers.lock();
                if s.watcher == Some(self.index) {
                    shared.timers.watch(parker)
                } else {
                    watching = false;
                    None
                }
            } else {
                None
            };
            let timed_out = !parker.park(deadline);
            // The lock's Acquire pairs with the notifier's release of it after taking us off
            // the stack (its unpark comes after that).
            let picked = !shared.sleepers.lock().asleep[self.index];
            if picked {
                if watching {
                    shared.timers.unwatch(parker);
                }
                if shared.is_shutdown() {
                    return false;
                }
                self.searching = true;
                return true;
            }
            if watching && (timed_out || shared.timers.is_due(Instant::now)) {
                // A timer is due: leave the sleepers and fire it (`next_task`).
                return self.wake_up(shared, watching);
            }
            // A stale token from an earlier round, or an earlier timer: sleep on.
        }
    }

    /// Leaves the sleepers by ourselves (work, a due timer, or the shutdown appeared): as
    /// a searcher, past the half-of-busy limit (as Go's `findRunnable` does after its last
    /// check): work we can only reach by stealing must not leave us looping between the
    /// re-check and a refused search.
    fn wake_up(&mut self, shared: &Shared<T>, watching: bool) -> bool {
        {
            let mut s = shared.sleepers.lock();
            if s.asleep[self.index] {
                s.asleep[self.index] = false;
                s.stack.retain(|&i| i != self.index);
                shared.idle.fetch_sub(1, Ordering::Relaxed);
                shared.searching.fetch_add(1, Ordering::Relaxed);
            }
            // Else a notifier picked us already and counted us as searching.
            if s.watcher == Some(self.index) {
                s.watcher = None;
            }
        }
        if watching {
            shared.timers.unwatch(&shared.remotes[self.index].parker);
        }
        self.searching = true;
        !shared.is_shutdown()
    }

    /// Xorshift32: victim order.
    fn next_rand(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

#[cfg(all(test, weft_loom))]
#[path = "loom_tests.rs"]
mod loom_tests;
