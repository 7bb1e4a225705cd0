//! The one waiting policy shared by every blocking path: spin briefly with a pause hint, then
//! yield the CPU for a bounded time, then give up so the caller parks on the futex layer.
//!
//! Why all three phases:
//! - A hand-off between two running threads completes in a few hundred nanoseconds (one
//!   cache-line round trip); a futex sleep and wake-up costs microseconds (~25 us on a KVM
//!   guest whose idle vCPU halts). So a waiter first spins, with exponentially growing runs of
//!   `spin_loop` hints, for roughly the time of a few round trips.
//! - When threads outnumber cores, the thread we wait for may be runnable but not running;
//!   spinning then only burns its time slice. `yield_now` hands the CPU over, and costs little
//!   when nobody wants it, so a waiter yields for about as long as a park would cost.
//! - After that the caller must park: nothing in weft spins without bound, so performance does
//!   not collapse when oversubscribed (the failure mode of spin-only designs).
//!
//! The spin phase of a blocking wait ([`spin_then_yield`]) adapts per thread, in the spirit
//! of glibc's adaptive mutexes: a wait that spinning satisfied lengthens the next spin (up to
//! the full budget); a wait during which a yield ran another thread here shortens it (down
//! to a few pauses): spinning then steals the CPU that threads we may be waiting for need. A
//! spin that ran out while nobody else wanted this CPU changes nothing: the partner was slow
//! or parked, which says nothing about the next wait (growing the spin on it made
//! oversubscribed hand-offs slower). Every `PROBE_EVERY`-th wait spins the full budget again
//! to notice that spinning pays once more. A thread of a process allowed on one CPU only
//! (`taskset -c N`, a one-CPU cpuset) never spins. A thread pinned to one CPU inside a
//! process that has several (a benchmark's placement, a thread-per-core runtime) still does:
//! its partner may well run on another CPU.
//!
//! Why the yield phase is timed rather than counted: a wait that merely outlasts the spin
//! (the partner was itself parked and is still waking up) must not end in a park of its own,
//! or the two threads take turns paying the wake-up latency and a two-thread hand-off runs at
//! futex speed. Parking after three yields did exactly that: ~2% of waits parked, and on a
//! KVM guest those parks were most of the run time.
//!
//! Why a channel wait sometimes skips the yield phase ([`spin_then_yield_or_park`]): yielding
//! hands the CPU over but never moves a thread, so two partners that the kernel queued on
//! the same CPU stay there, taking turns at a context switch per message, while the other
//! CPU runs a third thread alone. Only a sleep lets the kernel place them anew: a CPU that
//! goes idle pulls queued threads over, and a woken thread goes to an idle CPU if there is
//! one. So a thread whose last [`PARK_AFTER`] channel waits each ended right after a yield
//! that ran another thread here (its partner, most likely, shares its CPU) parks on its next
//! wait instead of yielding. Three threads on two CPUs (two senders, one receiver on
//! `bounded(1)`) went from ~1.1-2 us to ~70-110 ns per message with it: the kernel had paired
//! the receiver with a sender and left the other sender alone on the second CPU, and
//! stopped doing so once they slept. Waits outside channels (a WaitGroup's fan-in, where
//! every wake-up is a `wake_all`) keep yielding: parking cost them ~10% there.
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

/// Polls `ready` until it yields a value or the budget is spent: spins for this thread's
/// adaptive number of steps (module docs), then yields the CPU for up to [`YIELD_BUDGET`]
/// (at most [`MAX_YIELDS`] times).
///
/// This is the "brief spin, then yield" half of every blocking operation; on `None` the caller
/// parks on the futex layer.
///
/// Under loom it makes a single attempt: a spin phase only lets the model checker's
/// preemption budget run out before a waiter ever parks, hiding the parking paths where lost
/// wake-ups live.
#[inline]
pub(crate) fn spin_then_yield<T>(ready: impl FnMut() -> Option<T>) -> Option<T> {
    poll_then_wait(ready, false)
}

/// [`spin_then_yield`] for the waits of channel operations, which also watches where the
/// partner runs (module docs): after [`PARK_AFTER`] waits in a row that a yield to another
/// thread on this CPU ended, it skips the yield phase (returns `None` after the spin, so the
/// caller parks) until this thread has parked once ([`parked`]).
#[inline]
pub(crate) fn spin_then_yield_or_park<T>(ready: impl FnMut() -> Option<T>) -> Option<T> {
    poll_then_wait(ready, true)
}

/// The one body of [`spin_then_yield`] and [`spin_then_yield_or_park`]: an attempt inline,
/// the waiting out of line (`or_park` selects the channel waits' rule).
#[inline]
fn poll_then_wait<T>(mut ready: impl FnMut() -> Option<T>, or_park: bool) -> Option<T> {
    if let Some(v) = ready() {
        return Some(v);
    }
    #[cfg(weft_loom)]
    {
        let _ = or_park;
        None
    }
    #[cfg(not(weft_loom))]
    spin_then_yield_slow(ready, or_park)
}

/// The calling thread is about to sleep on its parker: the kernel will place it anew when it
/// wakes, so the streak that [`spin_then_yield_or_park`] counts starts over.
#[inline]
pub(crate) fn parked() {
    #[cfg(not(weft_loom))]
    adaptive::parked();
}

/// Channel waits in a row, each ended by a yield that ran another thread on this CPU, after
/// which [`spin_then_yield_or_park`] parks instead of yielding. Measured on the 2-CPU
/// suite (12 interleaved runs of `chan`, weft alone): 4 cured every oversubscribed
/// `bounded(0)`/`bounded(1)` row it helps at all; 2 parked often enough to pay wake-ups on
/// rows that did not need it, 8 left several rows in the paired placement.
#[cfg(not(weft_loom))]
const PARK_AFTER: u32 = 4;

/// How long [`spin_then_yield`] keeps yielding before it gives up and lets its caller park.
///
/// Parking is a bet that the wait is long: once parked, the partner must pay a futex wake and
/// we its latency, a few microseconds on bare metal and ~25 us on this project's KVM guests
/// (a halted vCPU must be rescheduled by the host). Waiting as long as a park would cost
/// before parking bounds the loss to twice the best choice (the ski-rental argument of Karlin
/// et al., "Competitive randomized algorithms for non-uniform problems", 1990). Yielding
/// rather than spinning for that time leaves the CPU to any thread that wants it.
#[cfg(not(weft_loom))]
const YIELD_BUDGET: std::time::Duration = std::time::Duration::from_micros(20);

/// The most yields of one [`spin_then_yield`], whatever the clock says (a coarse clock, Miri).
#[cfg(not(weft_loom))]
const MAX_YIELDS: u32 = 64;

/// A `yield_now` that took this long ran another thread on our CPU: threads outnumber the
/// CPUs (or something else loads this one), so spinning steals the CPU our partner needs.
/// A yield with nobody else runnable returns in well under a microsecond (0.5 us on a KVM
/// guest), a switch to another thread and back takes several.
#[cfg(not(weft_loom))]
const CONTENDED_YIELD: std::time::Duration = std::time::Duration::from_micros(5);

/// Contended yields after which a wait parks: the CPUs are oversubscribed, and a parked
/// waiter leaves the runnable threads (among them the one we wait for) the CPU, where a
/// yielding one keeps taking turns.
#[cfg(not(weft_loom))]
const CONTENDED_YIELDS: u32 = 3;

/// The waiting part of [`spin_then_yield`], out of line so the ready-at-once path stays small.
#[cfg(not(weft_loom))]
#[cold]
#[inline(never)]
fn spin_then_yield_slow<T>(mut ready: impl FnMut() -> Option<T>, or_park: bool) -> Option<T> {
    use std::time::Instant;
    let limit = adaptive::spin_steps();
    // Read before the spin: a wait that the spin satisfies leaves the streak as it is.
    let skip_yields = or_park && adaptive::sharing_cpu();
    for step in 0..limit {
        for _ in 0..1u32 << step {
            hint::spin_loop();
        }
        if let Some(v) = ready() {
            adaptive::spin_paid(step + 1);
            return Some(v);
        }
    }
    if skip_yields {
        return None;
    }
    // The spin was too short: the partner is slow, parked and waking up, or waiting for a CPU.
    // Only the last says spin less next time (the spin steals the CPU it needs), and the
    // yields tell it apart: a slow yield means another thread was queued on this CPU.
    let start = Instant::now();
    let mut before = start;
    let mut found = None;
    let mut contended_yields = 0;
    for _ in 0..MAX_YIELDS {
        thread::yield_now();
        let now = Instant::now();
        if now - before >= CONTENDED_YIELD {
            contended_yields += 1;
        }
        before = now;
        found = ready();
        if found.is_some() || now - start >= YIELD_BUDGET || contended_yields >= CONTENDED_YIELDS {
            break;
        }
    }
    if contended_yields > 0 {
        adaptive::spin_failed();
    }
    if or_park {
        adaptive::handed_over(found.is_some() && contended_yields > 0);
    }
    found
}

/// The per-thread spin length of [`spin_then_yield`], in backoff steps.
///
/// Every access is a `try_with`: a channel operation may run inside a thread-local destructor
/// after this history is gone (where `with` would panic, and the panic abort). Without it a
/// wait spins `MIN_STEPS` and updates nothing.
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
        /// Channel waits in a row that a contended yield ended (see `PARK_AFTER`).
        static STREAK: Cell<u32> = const { Cell::new(0) };
    }

    /// Whether this thread's recent waits say its partner shares its CPU: then park rather
    /// than yield (module docs).
    #[inline]
    pub(super) fn sharing_cpu() -> bool {
        STREAK
            .try_with(Cell::get)
            .is_ok_and(|streak| streak >= super::PARK_AFTER)
    }

    /// A channel wait went through the yield phase: `served_here` if it ended right after a
    /// yield that ran another thread on this CPU.
    #[inline]
    pub(super) fn handed_over(served_here: bool) {
        let _ = STREAK.try_with(|s| {
            s.set(if served_here {
                s.get().saturating_add(1)
            } else {
                0
            })
        });
    }

    /// The thread parks: its next placement is the kernel's fresh choice.
    #[inline]
    pub(super) fn parked() {
        let _ = STREAK.try_with(|s| s.set(0));
    }

    /// How many steps the wait starting now should spin.
    #[inline]
    pub(super) fn spin_steps() -> u32 {
        let Ok(steps) = STEPS.try_with(|s| {
            if s.get() == UNSET {
                s.set(if confined_to_one_cpu() {
                    0
                } else {
                    SPIN_LIMIT + 1
                });
            }
            s.get()
        }) else {
            return MIN_STEPS;
        };
        if steps == 0 {
            return 0;
        }
        // Gone (a thread-local destructor): no probe.
        let waits = WAITS
            .try_with(|w| {
                let n = w.get().wrapping_add(1);
                w.set(n);
                n
            })
            .unwrap_or(1);
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
        let _ = STEPS.try_with(|s| {
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

    /// The spin went unrewarded while other threads wanted this CPU: spin one step less.
    #[inline]
    pub(super) fn spin_failed() {
        let _ = STEPS.try_with(|s| {
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
        // One attempt up front, one per spin step, one per yield (at least one yield).
        assert!(calls >= 2, "{calls}");
        assert!(calls <= 1 + (SPIN_LIMIT + 1) + MAX_YIELDS, "{calls}");
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
            // Spins that lose to other threads on this CPU shrink to the floor...
            for _ in 0..2 * SPIN_LIMIT {
                adaptive::spin_failed();
            }
            let floor = adaptive::current();
            assert!(floor < SPIN_LIMIT, "did not shrink: {floor}");
            // ...and spins that pay (here at the floor's second step) grow again.
            for _ in 0..2 * SPIN_LIMIT {
                let mut calls = 0;
                spin_then_yield(|| {
                    calls += 1;
                    (calls > 2).then_some(())
                });
            }
            assert!(adaptive::current() > floor, "did not grow back");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn channel_waits_park_after_a_streak_of_hand_overs_here() {
        // A fresh thread, so the thread-local streak starts empty.
        std::thread::spawn(|| {
            assert!(!adaptive::sharing_cpu());
            for _ in 0..PARK_AFTER - 1 {
                adaptive::handed_over(true);
            }
            assert!(!adaptive::sharing_cpu());
            // A wait that yielded without meeting another thread breaks the streak.
            adaptive::handed_over(false);
            for _ in 0..PARK_AFTER {
                adaptive::handed_over(true);
            }
            assert!(adaptive::sharing_cpu());
            // Sharing: the wait gives up after its spin, without yielding, and stays in that
            // mode (the caller's next wait too) until the thread has parked.
            let mut calls = 0;
            let got = spin_then_yield_or_park(|| {
                calls += 1;
                None::<()>
            });
            assert_eq!(got, None);
            assert!(calls <= 1 + SPIN_LIMIT + 1, "{calls}");
            assert!(adaptive::sharing_cpu());
            // Waits outside channels ignore the streak.
            assert_eq!(spin_then_yield(|| Some(1)), Some(1));
            parked();
            assert!(!adaptive::sharing_cpu());
        })
        .join()
        .unwrap();
    }

    /// A wait whose yields run another thread on this CPU shortens the next spin; the busy
    /// thread shares our CPU because both are pinned to it.
    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn contended_yields_shrink_the_spin() {
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
        use std::sync::Arc;

        fn pin_to(cpu: usize) -> bool {
            // SAFETY: `cpu_set_t` is plain bits, valid zeroed; the call reads that many bytes.
            unsafe {
                let mut set: libc::cpu_set_t = core::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set) == 0
            }
        }
        // SAFETY: `sched_getcpu` has no preconditions.
        let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let busy = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                if pin_to(cpu) {
                    while !stop.load(Relaxed) {
                        core::hint::spin_loop();
                    }
                }
            })
        };
        let shrank = std::thread::spawn(move || {
            if !pin_to(cpu) || adaptive::spin_steps() == 0 {
                return None;
            }
            for _ in 0..4 * SPIN_LIMIT {
                assert_eq!(spin_then_yield(|| None::<()>), None);
            }
            Some(adaptive::current())
        })
        .join()
        .unwrap();
        stop.store(true, Relaxed);
        busy.join().unwrap();
        if let Some(steps) = shrank {
            assert!(
                steps < SPIN_LIMIT,
                "spin did not shrink under contention: {steps}"
            );
        }
    }
}
