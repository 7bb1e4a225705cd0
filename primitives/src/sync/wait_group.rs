//! Go's `sync.WaitGroup` on one futex word.
//!
//! Semantics follow Go's `sync/waitgroup.go`: `add(n)` raises a counter, `done()` lowers it,
//! `wait()` blocks until it is zero, any number of threads may wait at once, and the group can be
//! reused for a new round once the waits of the previous round have returned. Unlike Go's (a
//! 64-bit state plus a runtime semaphore) the whole group is one 32-bit word that doubles as the
//! futex word, so it needs no allocation and no separate semaphore.
//!
//! # State word
//!
//! | bits  | meaning                                                                |
//! |-------|------------------------------------------------------------------------|
//! | 0..31 | the counter (at most [`WaitGroup::MAX_COUNT`] = 2^31 - 1)              |
//! | 31    | `WAITERS`: some thread may be asleep in `wait`; the `done` that brings the counter to zero must wake them |
//!
//! `done` is one CAS that refuses to go below zero; only the `done` that takes the counter to zero while `WAITERS` is
//! set clears the flag and calls `wake_all`. A waiter sets `WAITERS` with a CAS from the exact
//! value it saw, then sleeps on that value: the CAS and the final `fetch_sub` are ordered on the
//! same word, so either the `done` sees the flag and wakes, or the CAS fails and the waiter
//! re-reads a zero counter. No wake-up can be lost.
//!
//! Async waiters ([`WaitGroup::wait_async`]) keep their wakers in a global table keyed by the
//! group's address (parking_lot's idea of a shared parking lot), so a group stays one word.
//! A waiter registers under its bucket's lock and, still holding it, announces itself with the
//! same `WAITERS` flag: the `done` that zeroes the counter with the flag set takes the bucket's
//! lock after it and removes and wakes every entry of the group. A woken future whose entry is
//! gone knows the counter reached zero, even if a new `add` raised it again before its task
//! ran (as Go's `Wait` returns).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use crate::backoff::spin_then_yield;
use crate::futex;
use crate::primitive::const_fn_unless_loom;
use crate::primitive::sync::atomic::{AtomicU32, Ordering};

const WAITERS: u32 = 1 << 31;
const COUNT: u32 = WAITERS - 1;

/// Waits for a collection of tasks to finish, like Go's `sync.WaitGroup`.
///
/// Call [`add`](Self::add) before starting work, [`done`](Self::done) when each piece
/// finishes, and [`wait`](Self::wait) to block until the counter is back to zero. Unlike
/// `crossbeam_utils::sync::WaitGroup` it is not consumed by waiting: it can be shared by
/// reference (or in a `static`), waited on by many threads at once, and reused.
///
/// # Examples
///
/// ```
/// use weft::sync::WaitGroup;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let wg = WaitGroup::new();
/// let sum = AtomicUsize::new(0);
/// std::thread::scope(|s| {
///     for i in 1..=4 {
///         wg.add(1);
///         let (wg, sum) = (&wg, &sum);
///         s.spawn(move || {
///             sum.fetch_add(i, Ordering::Relaxed);
///             wg.done();
///         });
///     }
///     wg.wait();
///     // Every `done` happened-before `wait` returned.
///     assert_eq!(sum.load(Ordering::Relaxed), 10);
/// });
/// ```
pub struct WaitGroup {
    /// See the state table in the module docs.
    state: AtomicU32,
}

/// The wakers of pending [`WaitAsync`] futures of every group, by the group's address.
///
/// A `std` mutex per bucket rather than weft's: the table is a `static`, and weft's mutex is
/// not `const`-constructible under loom. It is only taken on async waits and on the `done`
/// that wakes waiters, never on a fast path. The model build uses loom's mutex in a table
/// made afresh for each execution (`loom::lazy_static!`), so loom explores the interleavings
/// around it too (`sync::loom_tests`).
mod lot {
    use core::task::Waker;

    #[cfg(weft_loom)]
    use loom::sync::{Mutex, MutexGuard};
    #[cfg(not(weft_loom))]
    use std::sync::{Mutex, MutexGuard};

    pub(super) struct Entry {
        pub(super) group: usize,
        pub(super) key: u64,
        pub(super) waker: Waker,
    }

    #[derive(Default)]
    pub(super) struct Bucket {
        /// The next entry's key (unique within the bucket).
        pub(super) next_key: u64,
        pub(super) entries: Vec<Entry>,
    }

    /// One bucket in the model build: every group shares it, which models the collisions.
    const BUCKETS: usize = if cfg!(weft_loom) { 1 } else { 64 };

    #[cfg(not(weft_loom))]
    static LOT: [Mutex<Bucket>; BUCKETS] = [const {
        Mutex::new(Bucket {
            next_key: 0,
            entries: Vec::new(),
        })
    }; BUCKETS];

    #[cfg(weft_loom)]
    loom::lazy_static! {
        static ref LOT: [Mutex<Bucket>; BUCKETS] = [Mutex::new(Bucket::default())];
    }

    /// The locked bucket of the group at `group`.
    pub(super) fn lock(group: usize) -> MutexGuard<'static, Bucket> {
        // Fibonacci hashing of the address; groups are at least 4-byte aligned.
        let i =
            ((group >> 2).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize)) >> (usize::BITS - 6);
        #[cfg_attr(weft_loom, allow(clippy::modulo_one))] // one bucket in the model build
        let bucket = &LOT[i % BUCKETS];
        // A panic while holding a bucket leaves plain data in a consistent state: go on.
        bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many futures of the group at `group` are registered (for the models).
    #[cfg(all(test, weft_loom))]
    pub(super) fn registered(group: usize) -> usize {
        lock(group)
            .entries
            .iter()
            .filter(|e| e.group == group)
            .count()
    }
}

impl WaitGroup {
    /// The largest counter value a `WaitGroup` can hold (2^31 - 1).
    pub const MAX_COUNT: usize = COUNT as usize;

    const_fn_unless_loom! {
        /// A wait group with a zero counter. `const`, so it can initialise a `static`.
        ///
        /// ```
        /// use weft::sync::WaitGroup;
        /// static WG: WaitGroup = WaitGroup::new();
        /// WG.add(1);
        /// std::thread::spawn(|| WG.done());
        /// WG.wait();
        /// assert_eq!(WG.count(), 0);
        /// ```
        #[inline]
        pub fn new() -> WaitGroup {
            WaitGroup { state: AtomicU32::new(0) }
        }
    }

    /// Adds `n` to the counter.
    ///
    /// As in Go, calls that raise the counter from zero should happen before the `wait` they
    /// are meant to hold back (typically before spawning the work).
    ///
    /// # Panics
    ///
    /// If the counter would exceed [`WaitGroup::MAX_COUNT`]; the counter is left unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = weft::sync::WaitGroup::new();
    /// wg.add(3);
    /// assert_eq!(wg.count(), 3);
    /// ```
    #[inline]
    #[track_caller]
    pub fn add(&self, n: usize) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let count = (s & COUNT) as usize;
            let Some(new) = count.checked_add(n).filter(|&c| c <= Self::MAX_COUNT) else {
                overflow(count, n);
            };
            // Relaxed: raising the counter publishes nothing; the Release that matters is the
            // one in `done`. The CAS keeps the WAITERS bit as it is.
            match self.state.compare_exchange_weak(
                s,
                (s & WAITERS) | new as u32,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
    }

    /// Subtracts one from the counter, waking every waiter if it reaches zero.
    ///
    /// Everything this thread did before `done` happens-before the return of any `wait` that
    /// observes the counter at zero.
    ///
    /// # Panics
    ///
    /// If the counter is already zero ("negative WaitGroup counter", as in Go); the counter is
    /// left at zero, never written.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = weft::sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// assert_eq!(wg.count(), 0);
    /// ```
    #[inline]
    #[track_caller]
    pub fn done(&self) {
        // A CAS loop rather than a `fetch_sub`: a misused `done` on zero must not write even
        // transiently, or another thread could see the wrapped word (waiters bit set, count
        // 2^31 - 1), sleep on it and never be woken, or fail a correct `add` with "overflow".
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & COUNT == 0 {
                negative();
            }
            // Ordering: Release pairs with the Acquire loads in `wait`/`wait_timeout`/`count`
            // that see the counter at zero, publishing this thread's work to the waiters.
            match self
                .state
                .compare_exchange_weak(s, s - 1, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        if s == WAITERS | 1 {
            self.wake_waiters();
        }
    }

    /// The `done` that brought the counter to zero with waiters announced.
    #[cold]
    #[inline(never)]
    fn wake_waiters(&self) {
        // Clear the flag first, then wake: a waiter that slept before this point is woken
        // below; one that comes later sees a zero counter (or sets the flag afresh for a new
        // round).
        self.state.fetch_and(!WAITERS, Ordering::Relaxed);
        futex::wake_all(&self.state);
        let mut woken = Vec::new();
        {
            let group = self.addr();
            let mut bucket = lot::lock(group);
            bucket.entries.retain_mut(|e| {
                if e.group != group {
                    return true;
                }
                woken.push(e.waker.clone());
                false
            });
        }
        for waker in woken {
            waker.wake();
        }
    }

    /// How many [`WaitAsync`] futures of this group are registered (for the models).
    #[cfg(all(test, weft_loom))]
    pub(crate) fn async_waiters(&self) -> usize {
        lot::registered(self.addr())
    }

    /// The key of this group in the async waiters' table.
    fn addr(&self) -> usize {
        self as *const WaitGroup as usize
    }

    /// A future that completes when the counter is zero: [`wait`](Self::wait) for async code.
    /// It frees its thread (or its task's worker) while it waits.
    ///
    /// Like `wait`, it completes if the counter reached zero at any point after the first
    /// poll, even if a new round raised it again before the waiting task ran. Every `done`
    /// that brought the counter to zero happened-before it completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::sync::WaitGroup;
    ///
    /// let sched = weft::sched::Scheduler::new(2);
    /// let wg = Arc::new(WaitGroup::new());
    /// for _ in 0..8 {
    ///     wg.add(1);
    ///     let wg = Arc::clone(&wg);
    ///     sched.spawn(async move { wg.done() });
    /// }
    /// sched.block_on(wg.wait_async());
    /// assert_eq!(wg.count(), 0);
    /// ```
    pub fn wait_async(&self) -> WaitAsync<'_> {
        WaitAsync {
            wg: self,
            key: None,
        }
    }

    /// Runs `future` as a task (like [`go`](crate::go): on the current scheduler, else the
    /// global one) counted by this group: `add(1)` now, `done()` when the task ends, also if
    /// it panics or is cancelled. Go's `WaitGroup.Go`.
    ///
    /// Takes the group by `Arc`: the task may outlive any borrow.
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add), on counter overflow.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use weft::sync::WaitGroup;
    ///
    /// let wg = Arc::new(WaitGroup::new());
    /// let sum = Arc::new(AtomicUsize::new(0));
    /// for i in 1..=10 {
    ///     let sum = Arc::clone(&sum);
    ///     wg.go(async move {
    ///         sum.fetch_add(i, Ordering::Relaxed);
    ///     });
    /// }
    /// wg.wait();
    /// assert_eq!(sum.load(Ordering::Relaxed), 55);
    /// ```
    #[cfg(not(weft_loom))]
    #[track_caller]
    pub fn go<F>(self: &std::sync::Arc<Self>, future: F) -> crate::sched::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        /// Calls `done` when the task's future is dropped: after it returns, when it panics,
        /// or when its scheduler cancels it.
        struct Done(std::sync::Arc<WaitGroup>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.done();
            }
        }
        self.add(1);
        let done = Done(std::sync::Arc::clone(self));
        crate::go(async move {
            let _done = done;
            future.await
        })
    }

    /// Blocks until the counter is zero. Returns at once if it already is.
    ///
    /// Spins briefly (the last `done` is often microseconds away), then sleeps on the futex.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = weft::sync::WaitGroup::new();
    /// wg.add(1);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| wg.done());
    ///     wg.wait();
    /// });
    /// assert_eq!(wg.count(), 0);
    /// ```
    pub fn wait(&self) {
        self.wait_inner(None);
    }

    /// Blocks until the counter is zero or `timeout` has passed. Returns `true` when the
    /// counter reached zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let wg = weft::sync::WaitGroup::new();
    /// wg.add(1);
    /// assert!(!wg.wait_timeout(Duration::from_millis(10)));
    /// wg.done();
    /// assert!(wg.wait_timeout(Duration::from_millis(10)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        if self.is_zero() {
            return true;
        }
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_inner(Some(deadline)),
            None => self.wait_inner(None),
        }
    }

    /// The current counter. A snapshot: other threads may change it right after.
    ///
    /// When it returns 0, every `done` that brought the counter down has happened-before
    /// (Acquire), as with `wait`.
    ///
    /// ```
    /// let wg = weft::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.done();
    /// assert_eq!(wg.count(), 1);
    /// ```
    #[inline]
    pub fn count(&self) -> usize {
        // Ordering: Acquire pairs with the Release `fetch_sub` in `done`.
        (self.state.load(Ordering::Acquire) & COUNT) as usize
    }

    #[inline]
    fn is_zero(&self) -> bool {
        // Ordering: Acquire pairs with the Release `fetch_sub` in `done`.
        self.state.load(Ordering::Acquire) & COUNT == 0
    }

    fn wait_inner(&self, deadline: Option<Instant>) -> bool {
        if spin_then_yield(|| self.is_zero().then_some(())).is_some() {
            return true;
        }
        loop {
            // Ordering: Acquire pairs with the Release `fetch_sub` in `done`.
            let s = self.state.load(Ordering::Acquire);
            if s & COUNT == 0 {
                return true;
            }
            // Announce ourselves with a CAS from the exact value seen: it is ordered against
            // the final `fetch_sub` on this word (see the module docs).
            if s & WAITERS == 0
                && self
                    .state
                    .compare_exchange(s, s | WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let sleep_on = s | WAITERS;
            match deadline {
                None => futex::wait(&self.state, sleep_on),
                Some(deadline) => {
                    if !futex::wait_until(&self.state, sleep_on, deadline) {
                        // The flag may stay set with nobody asleep: the zeroing `done` then
                        // makes one needless wake call, nothing worse.
                        return self.is_zero();
                    }
                }
            }
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn negative() -> ! {
    panic!(
        "weft::sync::WaitGroup: negative WaitGroup counter (done() called more times than add())"
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn overflow(count: usize, n: usize) -> ! {
    panic!(
        "weft::sync::WaitGroup: counter overflow: add({n}) on a counter of {count} exceeds the maximum of {}",
        WaitGroup::MAX_COUNT
    )
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

/// The future of [`WaitGroup::wait_async`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitAsync<'a> {
    wg: &'a WaitGroup,
    /// The key of our entry in the group's bucket, once registered.
    key: Option<u64>,
}

impl Future for WaitAsync<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let wg = self.wg;
        if wg.is_zero() {
            self.unregister();
            return Poll::Ready(());
        }
        let group = wg.addr();
        let mut bucket = lot::lock(group);
        match self.key {
            Some(key) => match bucket.entries.iter_mut().find(|e| e.key == key) {
                // Our entry is gone: the `done` that zeroed the counter took it (after its
                // Release on the counter; the bucket's lock orders us after it).
                None => {
                    self.key = None;
                    // The lock orders us after the zeroing `done` only, not after the round's
                    // other `done`s (their CASes are Release, not Acquire, so they do not pass
                    // each other's work along). An Acquire load of the counter does: the value
                    // it reads (the zeroing `done`'s or a later one, by coherence, since the
                    // lock ordered us after that write) is in the release sequence of every
                    // `done` of the round, all later writes to the word being read-modify-
                    // writes. Found by the loom model `wait_group_async_waiter_is_woken`.
                    // Ordering: Acquire pairs with the Release CAS of every `done`.
                    let _ = wg.state.load(Ordering::Acquire);
                    return Poll::Ready(());
                }
                Some(e) => {
                    if !e.waker.will_wake(cx.waker()) {
                        e.waker = cx.waker().clone();
                    }
                }
            },
            None => {
                let key = bucket.next_key;
                bucket.next_key = key.wrapping_add(1);
                bucket.entries.push(lot::Entry {
                    group,
                    key,
                    waker: cx.waker().clone(),
                });
                self.key = Some(key);
            }
        }
        // Announce ourselves while holding the bucket: the zeroing `done` takes it after us.
        loop {
            // Ordering: Acquire pairs with the Release in `done`, as in `wait`.
            let s = wg.state.load(Ordering::Acquire);
            if s & COUNT == 0 {
                if let Some(key) = self.key.take() {
                    bucket.entries.retain(|e| e.key != key);
                }
                return Poll::Ready(());
            }
            // Relaxed, as in `wait_inner`: ordered on this word against the final `done`.
            if s & WAITERS != 0
                || wg
                    .state
                    .compare_exchange(s, s | WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                return Poll::Pending;
            }
        }
    }
}

impl WaitAsync<'_> {
    /// Withdraws our entry, if it is still registered.
    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            lot::lock(self.wg.addr()).entries.retain(|e| e.key != key);
        }
    }
}

impl Drop for WaitAsync<'_> {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for WaitAsync<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitAsync")
            .field("registered", &self.key.is_some())
            .finish()
    }
}
