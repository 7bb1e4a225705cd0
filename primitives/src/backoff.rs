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

/// Polls `ready` with a [`Backoff`] until it yields a value or the budget is spent.
///
/// This is the "brief spin, then yield" half of every blocking operation; on `None` the caller
/// parks on the futex layer.
///
/// Under loom it makes a single attempt: a spin phase only lets the model checker's
/// preemption budget run out before a waiter ever parks, hiding the parking paths where lost
/// wake-ups live.
#[inline]
pub(crate) fn spin_then_yield<T>(mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    if cfg!(weft_loom) {
        return ready();
    }
    let mut backoff = Backoff::new();
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        if backoff.is_completed() {
            return None;
        }
        backoff.snooze();
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
        assert_eq!(calls, YIELD_LIMIT + 2);
        assert_eq!(spin_then_yield(|| Some(7)), Some(7));
    }
}
