//! Work-stealing deque workloads: the owner's fast paths, and stealing by T thieves, single
//! items and batches (see [`crate::peers::deque`] for the implementations).
//!
//! Items are distinct `u64`s; every workload checks the count and the sum of what was taken,
//! so a lost or duplicated item fails the run instead of flattering it.
//!
//! st3 is bounded: each workload gives it the capacity it needs (`push_pop`: the burst; the
//! stealing workloads: every item), which is the setting st3 is built for.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use weft::deque::Steal;

use super::suite::{Suite, Workload};
use super::{run_threads_with, SuiteRun};
use crate::config::{Config, Ops};
use crate::peers::deque::{visit_all, DequeLike, DequeVisitor, MAX_BATCH};
use crate::result::{Params, ResultRow};

/// The `deque` suite.
pub const SUITE: Suite = Suite {
    name: "deque",
    description: "weft::deque (Chase-Lev) beside crossbeam-deque and st3 (bounded)",
    workloads: &[
        Workload {
            name: "push_pop",
            description: "the owner pushes a burst of 1024 items, then pops them all, over and \
                          over (no thieves); op = one push and one pop",
        },
        Workload {
            name: "interleaved",
            description: "the owner pushes one item and pops it, over and over (no thieves); \
                          op = one push and one pop",
        },
        Workload {
            name: "steal",
            description: "the owner fills the deque with n items, then T thieves steal them \
                          one at a time until it is empty (T from --threads; 1 to 2x the \
                          cores is the usual range); op = one item stolen",
        },
        Workload {
            name: "steal_batch",
            description: "the owner fills the deque with n items, then T thieves take them with \
                          steal_batch_and_pop (about half, at most 32, into their own deque, \
                          popped from there) until it is empty; op = one item taken",
        },
    ],
    implementations,
    implementations_of: |_| implementations(),
    run,
};

/// Items the owner pushes and pops per `push_pop` and `interleaved` sample.
pub const OWNER_OPS: Ops = Ops {
    full: 4_000_000,
    quick: 1_000_000,
    smoke: 2_048,
};

/// Items per `steal` and `steal_batch` sample.
pub const STEAL_ITEMS: Ops = Ops {
    full: 1_000_000,
    quick: 200_000,
    smoke: 300,
};

/// Items pushed before popping them back in `push_pop`.
pub const BURST: usize = 1024;

/// Pushes `BURST` items and pops them back, `ops / BURST` times (at least once). Returns the
/// elapsed time.
///
/// # Panics
///
/// If `ops` is not a multiple of [`BURST`], or an item is lost or a push fails.
pub fn push_pop<D: DequeLike>(ops: u64) -> Duration {
    assert_eq!(ops % BURST as u64, 0, "ops must be whole bursts");
    let worker = D::new_worker(BURST);
    let (elapsed, sums) = run_threads_with(vec![worker], |_, worker| {
        let mut sum = 0u64;
        for _ in 0..ops / BURST as u64 {
            for i in 0..BURST as u64 {
                D::push(&worker, black_box(i)).expect("capacity is the burst");
            }
            while let Some(item) = D::pop(&worker) {
                sum += item;
            }
        }
        sum
    });
    let expected = (ops / BURST as u64) * (BURST as u64 * (BURST as u64 - 1) / 2);
    assert_eq!(sums[0], expected, "{}: items lost", D::NAME);
    elapsed
}

/// Pushes one item and pops it, `ops` times. Returns the elapsed time.
///
/// # Panics
///
/// If a popped item is not the one just pushed.
pub fn interleaved<D: DequeLike>(ops: u64) -> Duration {
    let worker = D::new_worker(MAX_BATCH);
    run_threads_with(vec![worker], |_, worker| {
        for i in 0..black_box(ops) {
            D::push(&worker, i).expect("one item fits");
            assert_eq!(D::pop(&worker), Some(i), "{}", D::NAME);
        }
    })
    .0
}

/// How a thief takes items in [`steal_all`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theft {
    /// [`DequeLike::steal`], one item at a time.
    Single,
    /// [`DequeLike::steal_batch_and_pop`], then popping the batch from the thief's deque.
    Batch,
}

/// Fills a deque with `ops` items (not timed), then `thieves` threads take them all with
/// `how`. Returns the elapsed time of the stealing.
///
/// # Panics
///
/// If the items taken are not exactly the items pushed (by count and sum).
pub fn steal_all<D: DequeLike>(thieves: usize, ops: u64, how: Theft) -> Duration {
    let worker = D::new_worker(ops as usize);
    for i in 0..ops {
        D::push(&worker, i).expect("capacity is every item");
    }
    let count = AtomicU64::new(0);
    let sum = AtomicU64::new(0);
    let handles: Vec<_> = (0..thieves)
        .map(|_| (D::stealer(&worker), D::new_worker(MAX_BATCH)))
        .collect();
    let (elapsed, _) = run_threads_with(handles, |_, (victim, mine)| {
        let (mut n, mut s) = (0u64, 0u64);
        loop {
            let got = match how {
                Theft::Single => D::steal(&victim, &mine),
                Theft::Batch => D::steal_batch_and_pop(&victim, &mine),
            };
            match got {
                Steal::Success(item) => {
                    n += 1;
                    s += item;
                    while let Some(item) = D::pop(&mine) {
                        n += 1;
                        s += item;
                    }
                }
                Steal::Retry => {}
                // The owner pushes nothing more: empty is final.
                Steal::Empty => break,
            }
        }
        count.fetch_add(n, Ordering::Relaxed);
        sum.fetch_add(s, Ordering::Relaxed);
    });
    assert_eq!(
        count.into_inner(),
        ops,
        "{}: items lost or duplicated",
        D::NAME
    );
    assert_eq!(
        sum.into_inner(),
        ops * (ops - 1) / 2,
        "{}: wrong items",
        D::NAME
    );
    assert!(D::pop(&worker).is_none());
    elapsed
}

/// One implementation's workloads, monomorphised.
struct Entry {
    name: &'static str,
    push_pop: fn(u64) -> Duration,
    interleaved: fn(u64) -> Duration,
    steal_all: fn(usize, u64, Theft) -> Duration,
}

impl DequeVisitor for Vec<Entry> {
    fn visit<D: DequeLike>(&mut self) {
        self.push(Entry {
            name: D::NAME,
            push_pop: push_pop::<D>,
            interleaved: interleaved::<D>,
            steal_all: steal_all::<D>,
        });
    }
}

fn entries() -> Vec<Entry> {
    let mut entries = Vec::new();
    visit_all(&mut entries);
    entries
}

fn implementations() -> Vec<&'static str> {
    entries().iter().map(|e| e.name).collect()
}

fn run(cfg: &Config) -> Vec<ResultRow> {
    let entries = entries();
    let mut run = SuiteRun::new(cfg, SUITE.name, &entries, |e| e.name);
    let owner_ops = (cfg.ops(OWNER_OPS) / BURST as u64).max(1) * BURST as u64;
    run.case("push_pop", Params::threads(1), owner_ops, |e, ops| {
        (e.push_pop)(ops)
    });
    run.case("interleaved", Params::threads(1), owner_ops, |e, ops| {
        (e.interleaved)(ops)
    });
    for (workload, how) in [("steal", Theft::Single), ("steal_batch", Theft::Batch)] {
        for &thieves in &cfg.threads {
            let ops = cfg.ops(STEAL_ITEMS);
            run.case(workload, Params::threads(thieves), ops, |e, ops| {
                (e.steal_all)(thieves, ops, how)
            });
        }
    }
    run.into_rows()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::deque::{Crossbeam, St3, Weft};

    #[test]
    fn workloads_check_their_results() {
        push_pop::<Weft>(BURST as u64 * 3);
        push_pop::<St3>(BURST as u64);
        interleaved::<Crossbeam>(100);
        for how in [Theft::Single, Theft::Batch] {
            steal_all::<Weft>(3, 1000, how);
            steal_all::<Crossbeam>(2, 1000, how);
            steal_all::<St3>(2, 1000, how);
        }
    }
}
