//! Wait groups: weft's futex `WaitGroup`, crossbeam-utils' `WaitGroup`, and a counter under a
//! `std::sync::Mutex` with a `Condvar` (the standard library has no wait group; this is what
//! code without one writes).

use std::sync::{Condvar, Mutex, PoisonError};

/// A wait group, seen as a sequence of rounds: a waiter opens a round of `n` participants,
/// each participant signals it is done, and the waiter blocks until all have.
///
/// Shaped so that each library is used as intended. weft's group is one shared, reusable
/// counter: opening a round is `add(n)` and tokens carry nothing. crossbeam's group is
/// consumed by `wait` and counts its clones: opening a round creates a fresh group and hands
/// out one clone per participant, and `done` drops the clone.
pub trait WaitGroupLike: Send + Sync {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;
    /// What a participant holds during a round and gives up in [`done`](Self::done).
    type Token: Send;
    /// What the waiter holds during a round and gives up in [`wait`](Self::wait).
    type Waiter;
    /// What a round is opened from, and can be made before it: crossbeam's fresh group (an
    /// allocation); `()` for a group that is reused round after round.
    type Fresh: Send;

    /// The shared state, before any round.
    fn new() -> Self;

    /// Makes what the next round is opened from. [`round`](Self::round) calls it on the
    /// spot; a caller that measures the round alone (the instruction-count bench) calls it
    /// ahead and opens the round with [`round_from`](Self::round_from).
    fn fresh(&self) -> Self::Fresh;

    /// Opens a round of `n` participants from `fresh`: calls `give` exactly `n` times, once
    /// with each participant's token, and returns the waiter's handle.
    fn round_from(
        &self,
        fresh: Self::Fresh,
        n: usize,
        give: impl FnMut(Self::Token),
    ) -> Self::Waiter;

    /// Opens a round of `n` participants, as [`round_from`](Self::round_from) does from a
    /// [`fresh`](Self::fresh) made now.
    #[inline]
    fn round(&self, n: usize, give: impl FnMut(Self::Token)) -> Self::Waiter {
        self.round_from(self.fresh(), n, give)
    }

    /// A participant's "done" for the current round.
    fn done(&self, token: Self::Token);

    /// Blocks until every participant of the round has called [`done`](Self::done).
    fn wait(&self, waiter: Self::Waiter);
}

/// weft's `WaitGroup`, shared by reference and reused for every round.
impl WaitGroupLike for weft::sync::WaitGroup {
    const NAME: &'static str = "weft";
    type Token = ();
    type Waiter = ();
    type Fresh = ();

    fn new() -> Self {
        weft::sync::WaitGroup::new()
    }

    #[inline]
    fn fresh(&self) {}

    #[inline]
    fn round_from(&self, (): (), n: usize, mut give: impl FnMut(())) {
        weft::sync::WaitGroup::add(self, n);
        for _ in 0..n {
            give(());
        }
    }

    #[inline]
    fn done(&self, (): ()) {
        weft::sync::WaitGroup::done(self);
    }

    #[inline]
    fn wait(&self, (): ()) {
        weft::sync::WaitGroup::wait(self);
    }
}

/// crossbeam-utils' `WaitGroup`: a fresh group per round, one clone per participant, the
/// waiter's own handle consumed by `wait`. It has no shared state between rounds.
#[derive(Debug, Default)]
pub struct CrossbeamWaitGroup;

impl WaitGroupLike for CrossbeamWaitGroup {
    const NAME: &'static str = "crossbeam";
    type Token = crossbeam_utils::sync::WaitGroup;
    type Waiter = crossbeam_utils::sync::WaitGroup;
    type Fresh = crossbeam_utils::sync::WaitGroup;

    fn new() -> Self {
        CrossbeamWaitGroup
    }

    #[inline]
    fn fresh(&self) -> Self::Fresh {
        crossbeam_utils::sync::WaitGroup::new()
    }

    #[inline]
    fn round_from(
        &self,
        group: Self::Fresh,
        n: usize,
        mut give: impl FnMut(Self::Token),
    ) -> Self::Waiter {
        for _ in 0..n {
            give(group.clone());
        }
        group
    }

    #[inline]
    fn done(&self, token: Self::Token) {
        drop(token);
    }

    #[inline]
    fn wait(&self, waiter: Self::Waiter) {
        waiter.wait();
    }
}

/// A counter under `std::sync::Mutex` with a `Condvar`: `done` decrements and notifies all
/// waiters when it reaches zero; `wait` sleeps on the condvar until it is zero. Reported as
/// `std`.
#[derive(Debug, Default)]
pub struct CondvarWaitGroup {
    count: Mutex<usize>,
    zero: Condvar,
}

impl WaitGroupLike for CondvarWaitGroup {
    const NAME: &'static str = "std";
    type Token = ();
    type Waiter = ();
    type Fresh = ();

    fn new() -> Self {
        CondvarWaitGroup::default()
    }

    #[inline]
    fn fresh(&self) {}

    #[inline]
    fn round_from(&self, (): (), n: usize, mut give: impl FnMut(())) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += n;
        for _ in 0..n {
            give(());
        }
    }

    #[inline]
    fn done(&self, (): ()) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count
            .checked_sub(1)
            .expect("done() without a matching round");
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    #[inline]
    fn wait(&self, (): ()) {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        drop(
            self.zero
                .wait_while(count, |count| *count > 0)
                .unwrap_or_else(PoisonError::into_inner),
        );
    }
}

/// Something to do once per wait group implementation, with its type in hand.
pub trait WaitGroupVisitor {
    /// Called once for each implementation `W`, in [`visit_all`]'s order.
    fn visit<W: WaitGroupLike + 'static>(&mut self);
}

/// The wait group implementations under comparison, weft first: calls `visitor.visit::<W>()`
/// for each. This is the one list to extend when adding a peer.
pub fn visit_all(visitor: &mut impl WaitGroupVisitor) {
    visitor.visit::<weft::sync::WaitGroup>();
    visitor.visit::<CrossbeamWaitGroup>();
    visitor.visit::<CondvarWaitGroup>();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Three rounds of 4 participants on fresh threads; after each `wait` every participant
    /// of that round must have finished its work. With `ahead`, the rounds are opened from
    /// what [`WaitGroupLike::fresh`] made before any of them, as the instruction-count bench
    /// opens them.
    struct Rounds {
        ahead: bool,
        names: Vec<&'static str>,
    }

    impl WaitGroupVisitor for Rounds {
        fn visit<W: WaitGroupLike + 'static>(&mut self) {
            let group = W::new();
            let mut ahead: Vec<W::Fresh> = Vec::new();
            if self.ahead {
                ahead.extend((0..3).map(|_| group.fresh()));
            }
            let mut ahead = ahead.into_iter();
            let work = AtomicUsize::new(0);
            for round in 1..=3 {
                std::thread::scope(|s| {
                    let give = |token| {
                        let (group, work) = (&group, &work);
                        s.spawn(move || {
                            work.fetch_add(1, Ordering::Relaxed);
                            group.done(token);
                        });
                    };
                    let waiter = match ahead.next() {
                        Some(fresh) => group.round_from(fresh, 4, give),
                        None => group.round(4, give),
                    };
                    group.wait(waiter);
                    assert_eq!(work.load(Ordering::Relaxed), 4 * round, "{}", W::NAME);
                });
            }
            self.names.push(W::NAME);
        }
    }

    #[test]
    fn every_wait_group_waits_for_its_round() {
        for ahead in [false, true] {
            let mut v = Rounds {
                ahead,
                names: Vec::new(),
            };
            visit_all(&mut v);
            assert_eq!(v.names, ["weft", "crossbeam", "std"]);
        }
    }
}
