//! The one waiting policy shared by every blocking path: spin briefly with a pause hint, then
//! yield the CPU a few times, then give up so the caller parks on the futex layer.
//!
//! Why all three phases:
//! - A hand-off between two running threads completes in a few hundred nanoseconds (one
//!   cache-line round trip); a futex sleep and wake-up costs microseconds. So a waiter first
//!   spins, with exponentially growing runs of `spin_loop` hints, for roughly the time of a few
//!   round trips.
//! - When threads outnumber cores, the thread we wait for may be runnable but not running;
//!   spinning then only burns its time slice. A few `yield_now` calls hand the CPU over.
//! - After that the caller must park: nothing in weft spins without bound, so performance does
//!   not collapse when oversubscribed (the failure mode of spin-only designs).
//!
//! The spin phase of a blocking wait ([`spin_then_yield`]) adapts per thread, in the spirit
//! of glibc's adaptive mutexes: a wait that spinning satisfied lengthens the next spin (up to
//! the full budget), a spin that ran out shortens it (down to a few pauses), and every
//! `PROBE_EVERY`-th wait spins the full budget again to notice that spinning pays once more.
//! When the partner thread is not running (threads outnumber cores, external load, or both
//! pinned to one CPU) spinning fails every time, so waiters stop burning the CPU the partner
//! needs and go straight to yielding and parking. A thread of a process allowed on one CPU
//! only (`taskset -c N`, a one-CPU cpuset) never spins. A thread pinned to one CPU inside a
//! process that has several (a benchmark's placement, a thread-per-core runtime) still does:
//! its partner may well run on another CPU.
//!
//! Under loom the budget shrinks to one spin and one yield so the model checker spends its
//! effort on the parking paths, where lost wake-ups hide.

use crate::primitive::{hint, thread};

/// Steps during which [`Backoff::snooze`] spins: step `k` issues `2^k` pause hints, so the
/// spin phase totals `2^(SPIN_LIMIT+1) - 1` hints (255: about 1-4 us on current x86 parts).
#[cfg(not(weft_loom))]
const SPIN_LIMIT: u32 = 7;
#[cfg(weft_loom)]
const SPIN_LIMIT: u32 = 0;

/// Steps after which the caller should park: the last `YIELD_LIMIT - SPIN_LIMIT` steps yield.
#[cfg(not(weft_loom))]
const YIELD_LIMIT: u32 = 10;
#[cfg(weft_loom)]
const YIELD_LIMIT: u32 = 1;

/// Exponential backoff with a fixed budget. Create one per wait; it is a `u32` on the stack.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    /// A fresh budget.
    #[inline]
    pub(crate) const fn new() -> Self {
        Self { step: 0 }
    }

    /// Backs off after losing a race on a contended atomic (a failed CAS): pure spinning, the
    /// winner is running and already done. Never exhausts the budget.
    #[inline]
    pub(crate) fn spin(&mut self) {
        for _ in 0..1u32 << self.step.min(SPIN_LIMIT) {
            hint::spin_loop();
        }
        if self.step <= SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// Backs off while waiting for another thread to make progress: spins, then yields.
    /// Check [`is_completed`](Self::is_completed) to know when to park instead.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step <= SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                hint::spin_loop();
            }
        } else {
            thread::yield_now();
        }
        if self.step <= YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// True once the budget is spent: the caller should park on the futex layer.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}

/// Polls `ready` with a [`Backoff`] until it yields a value or the budget is spent: spins for
/// this thread's adaptive number of steps (module docs), then yields
/// `YIELD_LIMIT - SPIN_LIMIT` times.
///
/// This is the "brief spin, then yield" half of every blocking operation; on `None` the caller
/// parks on the futex layer.
///
/// Under loom it makes a single attempt: a spin phase only lets the model checker's
/// preemption budget run out before a waiter ever parks, hiding the parking paths where lost
/// wake-ups live.
#[inline]
pub(crate) fn spin_then_yield<T>(mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    if let Some(v) = ready() {
        return Some(v);
    }
    if cfg!(weft_loom) {
        return None;
    }
    spin_then_yield_slow(ready)
}

/// The waiting part of [`spin_then_yield`], out of line so the ready-at-once path stays small.
#[cold]
#[inline(never)]
fn spin_then_yield_slow<T>(mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let limit = adaptive::spin_steps();
    for step in 0..limit {
        for _ in 0..1u32 << step {
            hint::spin_loop();
        }
        if let Some(v) = ready() {
            adaptive::spin_paid(step + 1);
            return Some(v);
        }
    }
    adaptive::spin_failed();
    for _ in SPIN_LIMIT..YIELD_LIMIT {
        thread::yield_now();
        if let Some(v) = ready() {
            return Some(v);
        }
    }
    None
}

/// The per-thread spin length of [`spin_then_yield`], in backoff steps.
#[cfg(not(weft_loom))]
mod adaptive {
    use super::SPIN_LIMIT;
    use std::cell::Cell;

    /// The shortest spin of a thread that may run on several CPUs: 1 + 2 + 4 pauses, a few
    /// hundred nanoseconds, enough for a partner that is mid-operation on another core.
    const MIN_STEPS: u32 = 3;
    /// Every this many waits, spin the full budget whatever the history says.
    const PROBE_EVERY: u32 = 16;
    /// `steps` before the thread's first wait.
    const UNSET: u32 = u32::MAX;

    thread_local! {
        /// Current spin length in steps; 0 in a process confined to one CPU.
        static STEPS: Cell<u32> = const { Cell::new(UNSET) };
        /// Waits so far, for the periodic probe.
        static WAITS: Cell<u32> = const { Cell::new(0) };
    }

    /// How many steps the wait starting now should spin.
    #[inline]
    pub(super) fn spin_steps() -> u32 {
        let steps = STEPS.with(|s| {
            if s.get() == UNSET {
                s.set(if confined_to_one_cpu() {
                    0
                } else {
                    SPIN_LIMIT + 1
                });
            }
            s.get()
        });
        if steps == 0 {
            return 0;
        }
        let waits = WAITS.with(|w| {
            let n = w.get().wrapping_add(1);
            w.set(n);
            n
        });
        if waits % PROBE_EVERY == 0 {
            SPIN_LIMIT + 1
        } else {
            steps
        }
    }

    /// The wait was satisfied after spinning `used` steps: allow at least one step more next
    /// time.
    #[inline]
    pub(super) fn spin_paid(used: u32) {
        STEPS.with(|s| {
            if s.get() != 0 {
                s.set((s.get().max(used) + 1).min(SPIN_LIMIT + 1));
            }
        });
    }

    /// This thread's current spin length (tests).
    #[cfg(test)]
    pub(super) fn current() -> u32 {
        STEPS.with(Cell::get)
    }

    /// The whole spin went unrewarded: halve the next one (one step fewer).
    #[inline]
    pub(super) fn spin_failed() {
        STEPS.with(|s| {
            if s.get() > MIN_STEPS {
                s.set(s.get() - 1);
            }
        });
    }

    /// Whether the process may run on a single CPU only (`taskset -c N`, a cgroup cpuset):
    /// then the thread we wait for can only run when this one stops. The process's mask is
    /// its main thread's (`sched_getaffinity` of the process id): a worker thread that pinned
    /// itself to one CPU does not count, its partner may run on another.
    fn confined_to_one_cpu() -> bool {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: `cpu_set_t` is plain bits, valid zeroed; `sched_getaffinity` writes at
            // most `size_of::<cpu_set_t>()` bytes into it; `getpid` cannot fail.
            unsafe {
                let mut set: libc::cpu_set_t = core::mem::zeroed();
                if libc::sched_getaffinity(
                    libc::getpid(),
                    core::mem::size_of::<libc::cpu_set_t>(),
                    &mut set,
                ) == 0
                {
                    return libc::CPU_COUNT(&set) == 1;
                }
            }
        }
        std::thread::available_parallelism().is_ok_and(|n| n.get() == 1)
    }
}

/// Under loom, no adaptation: `spin_then_yield` returns before using it.
#[cfg(weft_loom)]
mod adaptive {
    pub(super) fn spin_steps() -> u32 {
        0
    }
    pub(super) fn spin_paid(_: u32) {}
    pub(super) fn spin_failed() {}
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn budget_is_finite_and_ordered() {
        let mut b = Backoff::new();
        let mut snoozes = 0;
        while !b.is_completed() {
            b.snooze();
            snoozes += 1;
        }
        assert_eq!(snoozes, YIELD_LIMIT + 1);
    }

    #[test]
    fn spin_then_yield_stops() {
        let mut calls = 0;
        assert_eq!(
            spin_then_yield(|| {
                calls += 1;
                None::<()>
            }),
            None
        );
        // One attempt up front, one per spin step, one per yield.
        assert!(calls > YIELD_LIMIT - SPIN_LIMIT, "{calls}");
        assert!(
            calls <= 1 + (SPIN_LIMIT + 1) + (YIELD_LIMIT - SPIN_LIMIT),
            "{calls}"
        );
        assert_eq!(spin_then_yield(|| Some(7)), Some(7));
    }

    #[test]
    fn spin_length_adapts() {
        // A fresh thread, so the thread-local history starts empty.
        std::thread::spawn(|| {
            let start = adaptive::spin_steps();
            if start == 0 {
                return; // confined to one CPU: never spins, nothing to adapt
            }
            assert_eq!(start, SPIN_LIMIT + 1);
            // Spins that never pay shrink to the floor...
            for _ in 0..2 * SPIN_LIMIT {
                assert_eq!(spin_then_yield(|| None::<()>), None);
            }
            let floor = adaptive::current();
            assert!(floor < SPIN_LIMIT, "did not shrink: {floor}");
            // ...and spins that pay after a few steps grow again.
            for _ in 0..2 * SPIN_LIMIT {
                let mut calls = 0;
                spin_then_yield(|| {
                    calls += 1;
                    (calls > 6).then_some(())
                });
            }
            assert!(adaptive::current() > floor, "did not grow back");
        })
        .join()
        .unwrap();
    }
}
