//! Mutex workloads: a counter contended by T threads, and the uncontended fast path.

use std::hint::black_box;
use std::time::Duration;

use super::suite::{Suite, Workload};
use super::{divisible, run_threads, SuiteRun};
use crate::config::{Config, Ops};
use crate::peers::mutex::{visit_all, MutexLike, MutexVisitor};
use crate::result::{Params, ResultRow};

/// The `mutex` suite.
pub const SUITE: Suite = Suite {
    name: "mutex",
    description: "weft::sync::Mutex beside std::sync::Mutex and parking_lot::Mutex",
    workloads: &[
        Workload {
            name: "contended",
            description: "T threads each lock, increment a shared u64 and unlock, ops/T times; \
                          op = one lock-increment-unlock (all threads together)",
        },
        Workload {
            name: "uncontended",
            description: "one thread locks and unlocks in a tight loop; op = one lock-unlock",
        },
    ],
    implementations,
    implementations_of: |_| implementations(),
    run,
};

/// Total lock-increment-unlock operations per `contended` sample, shared among the threads.
pub const CONTENDED_OPS: Ops = Ops {
    full: 2_000_000,
    quick: 500_000,
    smoke: 200,
};

/// Lock-unlock pairs per `uncontended` sample.
pub const UNCONTENDED_OPS: Ops = Ops {
    full: 2_000_000,
    quick: 1_000_000,
    smoke: 200,
};

/// `threads` threads each perform `ops / threads` lock-increment-unlock operations on one
/// shared counter. Returns the elapsed time.
///
/// # Panics
///
/// If `ops` is not a multiple of `threads`, or the final count is not `ops` (the mutex failed
/// to exclude).
pub fn contended<M: MutexLike<u64>>(threads: usize, ops: u64) -> Duration {
    assert_eq!(ops % threads as u64, 0, "ops must divide among the threads");
    let per_thread = ops / threads as u64;
    let counter = M::new(0);
    let elapsed = run_threads(threads, |_| {
        for _ in 0..black_box(per_thread) {
            counter.with(|n| *n += 1);
        }
    });
    let total = counter.with(|n| *n);
    assert_eq!(total, ops, "{}: lost increments under contention", M::NAME);
    elapsed
}

/// One thread locks and unlocks `ops` times. Returns the elapsed time.
pub fn uncontended<M: MutexLike<u64>>(ops: u64) -> Duration {
    let lock = M::new(0);
    run_threads(1, |_| {
        for _ in 0..black_box(ops) {
            // The protected value escapes to the optimiser, so the lock cannot be elided.
            lock.with(|n| {
                black_box(n);
            });
        }
    })
}

/// One implementation's workloads, monomorphised.
struct Entry {
    name: &'static str,
    contended: fn(usize, u64) -> Duration,
    uncontended: fn(u64) -> Duration,
}

impl MutexVisitor<u64> for Vec<Entry> {
    fn visit<M: MutexLike<u64> + 'static>(&mut self) {
        self.push(Entry {
            name: M::NAME,
            contended: contended::<M>,
            uncontended: uncontended::<M>,
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
    for &threads in &cfg.threads {
        let ops = divisible(cfg.ops(CONTENDED_OPS), threads);
        run.case("contended", Params::threads(threads), ops, |e, ops| {
            (e.contended)(threads, ops)
        });
    }
    let ops = cfg.ops(UNCONTENDED_OPS);
    run.case("uncontended", Params::threads(1), ops, |e, ops| {
        (e.uncontended)(ops)
    });
    run.into_rows()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lock that forgets some updates: the contended workload must notice.
    struct Forgetful(std::sync::Mutex<u64>);

    impl MutexLike<u64> for Forgetful {
        const NAME: &'static str = "forgetful";

        fn new(value: u64) -> Self {
            Forgetful(std::sync::Mutex::new(value))
        }

        fn with<R>(&self, f: impl FnOnce(&mut u64) -> R) -> R {
            let mut v = self.0.lock().unwrap();
            let r = f(&mut v);
            if *v % 7 == 3 {
                *v -= 1;
            }
            r
        }
    }

    #[test]
    #[should_panic(expected = "lost increments")]
    fn a_lock_that_loses_updates_fails_the_workload() {
        contended::<Forgetful>(2, 100);
    }

    #[test]
    fn contended_counts_every_operation() {
        contended::<weft::sync::Mutex<u64>>(3, 300);
        contended::<std::sync::Mutex<u64>>(2, 300);
    }
}
