//! A futex mutex with Go-style starvation hand-off.
//!
//! The algorithm is the three-state futex lock of Drepper's "Futexes Are Tricky" (2011, mutex
//! #2: unlocked / locked / locked-with-waiters), as laid out in Mara Bos, *Rust Atomics and
//! Locks*, ch. 9, extended with the starvation mode of Go's `sync.Mutex` (runtime `sync/mutex.go`,
//! Go 1.9+): a waiter that has waited longer than [`STARVATION_THRESHOLD`] gets the lock handed
//! to it directly at the next unlock, and newcomers may not barge past it.
//!
//! # State word (one `AtomicU32`, which is also the futex word)
//!
//! | bit | name       | meaning                                                              |
//! |-----|------------|----------------------------------------------------------------------|
//! | 0   | `LOCKED`   | some thread owns the lock                                            |
//! | 1   | `PARKED`   | threads may be asleep on the futex; unlock must wake one             |
//! | 2   | `STARVING` | one waiter has waited > 1 ms; unlock hands the lock to it            |
//! | 3   | `HANDOFF`  | the lock has been handed to the starving waiter, which has not yet claimed it |
//!
//! Invariants: the word is either `0` (unlocked) or has `LOCKED` set; `STARVING` and `HANDOFF`
//! are only ever set while `LOCKED` is. Only one waiter at a time owns `STARVING` (it set it
//! with a CAS and is the only one that clears it).
//!
//! # Paths
//!
//! - Uncontended `lock` is one CAS `0 -> LOCKED`; uncontended `unlock` is one CAS
//!   `LOCKED -> 0` and no syscall. Both are small and inlined; everything else is `#[cold]`.
//! - Contended `lock` first spins (the shared [`Backoff`] policy) but only while the word is
//!   exactly `LOCKED`, i.e. while nobody is parked: once someone sleeps, newcomers sleep too
//!   instead of stealing CPU from the owner. Then it sets `PARKED` and sleeps on the futex.
//! - `unlock` with `PARKED` clears the word and wakes one sleeper, which re-acquires with
//!   `LOCKED | PARKED` (it cannot know whether others still sleep).
//! - Starvation: a woken waiter that finds the lock taken again and has waited past the
//!   threshold CASes `STARVING` in. From then on the lock cannot be released to `0`: `unlock`
//!   sets `HANDOFF` (keeping `LOCKED`, so no newcomer can take it) and wakes all sleepers; the
//!   starving waiter claims it by clearing `HANDOFF | STARVING`, the others go back to sleep.
//!
//! Cost of the starvation mode: one `wake_all` per hand-off (every sleeper wakes, all but one
//! sleep again) and no barging while it lasts, so throughput drops to that of a FIFO hand-off.
//! It only engages after a waiter has been passed over for a whole millisecond, which under
//! ordinary contention does not happen.
//!
//! No poisoning: a panic while the lock is held releases it (the guard's `Drop` runs during
//! unwinding) and the data is left as the panicking code left it, like `parking_lot`.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::time::Duration;
use std::time::Instant;

use crate::backoff::Backoff;
use crate::futex;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::const_fn_unless_loom;
use crate::primitive::sync::atomic::{AtomicU32, Ordering};

const LOCKED: u32 = 1;
const PARKED: u32 = 2;
const STARVING: u32 = 4;
const HANDOFF: u32 = 8;

/// How long a waiter may be passed over before it asks for a direct hand-off (Go uses 1 ms).
pub const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// A mutual-exclusion lock that sleeps on a futex, with Go's starvation protection.
///
/// The state is one 4-byte word; an uncontended `lock`/`unlock` pair is two CAS instructions
/// and no system call. The algorithm is described at the top of `src/sync/mutex.rs`.
///
/// There is no poisoning: if a thread panics while holding the lock, the lock is released and
/// later `lock` calls succeed, seeing the data as the panicking thread left it.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::thread;
/// use weft::sync::Mutex;
///
/// let counter = Arc::new(Mutex::new(0u64));
/// let handles: Vec<_> = (0..4)
///     .map(|_| {
///         let counter = Arc::clone(&counter);
///         thread::spawn(move || {
///             for _ in 0..1000 {
///                 *counter.lock() += 1;
///             }
///         })
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(*counter.lock(), 4000);
/// ```
pub struct Mutex<T: ?Sized> {
    /// See the state table in the module docs.
    state: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one thread at a time, so moving the mutex (and
// with it ownership of `T`) to another thread is sound exactly when `T: Send`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// Sharing `&Mutex<T>` lets any thread obtain `&mut T` through a guard, but only one at a time
// (mutual exclusion, with Acquire/Release on the state word ordering the accesses).
// SAFETY: that is what `T: Send` permits; `T: Sync` is not needed, as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Proof that the lock is held; gives access to the data and unlocks when dropped.
///
/// Like std's guard it is `!Send` (the unlock belongs to the locking thread's critical
/// section) and `Sync` when `T: Sync`.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// `*const ()` makes the guard `!Send`; `Sync` is restored below for `T: Sync`.
    _not_send: PhantomData<*const ()>,
}

// SAFETY: `&MutexGuard` only gives out `&T`, so sharing the guard across threads is sharing
// `&T`, sound when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    const_fn_unless_loom! {
        /// Creates an unlocked mutex holding `value`. `const`, so it can initialise a `static`.
        ///
        /// # Examples
        ///
        /// ```
        /// use weft::sync::Mutex;
        /// static NAMES: Mutex<Vec<&str>> = Mutex::new(Vec::new());
        /// NAMES.lock().push("weft");
        /// assert_eq!(NAMES.lock().len(), 1);
        /// ```
        #[inline]
        pub fn new(value: T) -> Mutex<T> {
            Mutex { state: AtomicU32::new(0), data: UnsafeCell::new(value) }
        }
    }

    /// Consumes the mutex and returns the data. No locking: ownership proves exclusivity.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = weft::sync::Mutex::new(String::from("x"));
    /// assert_eq!(m.into_inner(), "x");
    /// ```
    #[inline]
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the lock, sleeping until it is available.
    ///
    /// Spins briefly while the owner is running and nobody sleeps, then parks on the futex.
    /// Not reentrant: locking twice on one thread deadlocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = weft::sync::Mutex::new(1);
    /// *m.lock() += 1;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // Ordering: Acquire pairs with the Release in `unlock`/`unlock_slow` of the previous
        // owner, so its writes to the data happen-before ours.
        if self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended(None);
        }
        self.guard()
    }

    /// Acquires the lock if it is free right now; never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = weft::sync::Mutex::new(());
    /// let g = m.try_lock().expect("free");
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // Ordering: Acquire pairs with the previous owner's Release in `unlock`.
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| self.guard())
    }

    /// Acquires the lock, waiting at most `timeout`. Returns `None` if it could not.
    ///
    /// A timeout too large to represent as a deadline waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = weft::sync::Mutex::new(0);
    /// let g = m.lock();
    /// assert!(m.try_lock_for(Duration::from_millis(5)).is_none());
    /// drop(g);
    /// assert!(m.try_lock_for(Duration::from_millis(5)).is_some());
    /// ```
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        if let Some(guard) = self.try_lock() {
            return Some(guard);
        }
        // `None` deadline (overflow) means wait forever.
        let deadline = Instant::now().checked_add(timeout);
        self.lock_contended(Some(deadline)).then(|| self.guard())
    }

    /// Returns a mutable reference to the data; no locking, `&mut self` proves exclusivity.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = weft::sync::Mutex::new(1);
    /// *m.get_mut() = 5;
    /// assert_eq!(*m.lock(), 5);
    /// ```
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    #[inline]
    fn guard(&self) -> MutexGuard<'_, T> {
        MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        }
    }

    /// The slow path of `lock` / `try_lock_for`. `deadline`: `None` waits forever,
    /// `Some(None)` waits forever too (the deadline overflowed), `Some(Some(t))` gives up at
    /// `t`. Returns whether the lock was acquired.
    #[cold]
    #[inline(never)]
    fn lock_contended(&self, deadline: Option<Option<Instant>>) -> bool {
        // Phase 1: spin, but only while the owner runs and nobody sleeps (word == LOCKED).
        let mut backoff = Backoff::new();
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s == 0 {
                // Ordering: Acquire pairs with the Release of the unlock that produced 0.
                match self.state.compare_exchange_weak(
                    0,
                    LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(_) => continue,
                }
            }
            if s != LOCKED || backoff.is_completed() {
                break;
            }
            backoff.snooze();
        }

        // Phase 2: sleep on the futex, with the starvation clock running.
        let start = StarvationClock::start();
        let mut starving = false;
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if starving {
                if s & HANDOFF != 0 {
                    // The lock was handed to us and stays LOCKED; clear the hand-off bits.
                    // Ordering: Acquire pairs with the Release CAS in `unlock_slow` that set
                    // HANDOFF, so the previous owner's writes happen-before ours.
                    self.state
                        .fetch_and(!(HANDOFF | STARVING), Ordering::Acquire);
                    #[cfg(all(test, weft_loom))]
                    loom_probe::HANDOFFS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                    return true;
                }
            } else if s == 0 {
                // Free: take it. We may not be the only sleeper, so keep PARKED set.
                // Ordering: Acquire pairs with the Release of the unlock that produced 0.
                if self
                    .state
                    .compare_exchange(0, LOCKED | PARKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            } else if s & STARVING == 0 && start.expired() {
                // Passed over for too long: ask for a hand-off. Only one waiter wins this.
                if self
                    .state
                    .compare_exchange(
                        s,
                        s | STARVING | PARKED,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    starving = true;
                }
                continue;
            }

            // Make sure the next unlock wakes us, then sleep while the word is unchanged.
            if s & PARKED == 0
                && self
                    .state
                    .compare_exchange(s, s | PARKED, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let sleep_on = s | PARKED;
            match deadline {
                None | Some(None) => futex::wait(&self.state, sleep_on),
                Some(Some(deadline)) => {
                    if !futex::wait_until(&self.state, sleep_on, deadline) {
                        return self.give_up(starving);
                    }
                }
            }
        }
    }

    /// A timed-out waiter leaves. If it owned `STARVING` it must withdraw the request; if the
    /// hand-off already happened it owns the lock and keeps it.
    #[cold]
    fn give_up(&self, starving: bool) -> bool {
        if !starving {
            // PARKED may stay set with nobody asleep: the next unlock makes one harmless
            // wake-up call. Correctness never depends on PARKED being exact.
            return false;
        }
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & HANDOFF != 0 {
                // Ordering: Acquire pairs with the Release CAS in `unlock_slow` (see above).
                self.state
                    .fetch_and(!(HANDOFF | STARVING), Ordering::Acquire);
                return true;
            }
            // STARVING implies LOCKED, so clearing it leaves a valid locked state whose owner
            // will release normally (waking a sleeper since PARKED is set).
            match self.state.compare_exchange_weak(
                s,
                s & !STARVING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    #[cfg(all(test, weft_loom))]
                    loom_probe::WITHDRAWN.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                    return false;
                }
                Err(now) => s = now,
            }
        }
    }

    /// Releases the lock. Called only by the guard's `Drop`.
    #[inline]
    fn unlock(&self) {
        // Ordering: Release pairs with the Acquire of the next `lock`, publishing our writes.
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn unlock_slow(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            debug_assert!(
                s & LOCKED != 0 && s & HANDOFF == 0,
                "unlock of a mutex not held: {s:#x}"
            );
            if s & STARVING != 0 {
                // Hand the lock over without releasing it: LOCKED stays set, so nobody barges.
                // Ordering: Release pairs with the starving waiter's Acquire when it sees
                // HANDOFF, publishing our critical section to it.
                match self.state.compare_exchange_weak(
                    s,
                    s | HANDOFF,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // The starving waiter is one of possibly many sleepers on this word and
                        // the futex cannot target it: wake them all; the rest sleep again.
                        futex::wake_all(&self.state);
                        return;
                    }
                    Err(now) => s = now,
                }
            } else {
                // Ordering: Release pairs with the Acquire of the next owner's CAS.
                match self
                    .state
                    .compare_exchange_weak(s, 0, Ordering::Release, Ordering::Relaxed)
                {
                    Ok(_) => {
                        if s & PARKED != 0 {
                            futex::wake_one(&self.state);
                        }
                        return;
                    }
                    Err(now) => s = now,
                }
            }
        }
    }
}

/// Lets the loom models prove that an execution took the hand-off path. A plain std atomic on
/// purpose: it is instrumentation outside the model, counted across all executions.
#[cfg(all(test, weft_loom))]
pub(super) mod loom_probe {
    use core::sync::atomic::AtomicUsize;
    /// Hand-offs claimed by a starving waiter.
    pub(crate) static HANDOFFS: AtomicUsize = AtomicUsize::new(0);
    /// Starvation requests withdrawn by a waiter whose deadline expired.
    pub(crate) static WITHDRAWN: AtomicUsize = AtomicUsize::new(0);
}

/// Measures how long a parked waiter has been passed over.
///
/// Real builds use the monotonic clock (read once when the waiter first parks and once per
/// wake-up, both on the slow path next to a syscall). Under loom time does not exist, so a
/// waiter counts as starved after its first fruitless wake-up: the model checker then explores
/// the hand-off path.
struct StarvationClock {
    #[cfg(not(weft_loom))]
    since: Instant,
    #[cfg(weft_loom)]
    checks: core::cell::Cell<u32>,
}

impl StarvationClock {
    fn start() -> Self {
        Self {
            #[cfg(not(weft_loom))]
            since: Instant::now(),
            #[cfg(weft_loom)]
            checks: core::cell::Cell::new(0),
        }
    }

    fn expired(&self) -> bool {
        #[cfg(not(weft_loom))]
        {
            self.since.elapsed() >= STARVATION_THRESHOLD
        }
        #[cfg(weft_loom)]
        {
            let n = self.checks.get();
            self.checks.set(n + 1);
            n >= 1
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock, so no `&mut T` exists
        // elsewhere; the reference cannot outlive the guard (borrow of `self`).
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: holding the lock makes this thread the only one touching the data, and
        // `&mut self` makes this the only live reference derived from this guard.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}
