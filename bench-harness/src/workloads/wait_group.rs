//! Wait group workloads: a fan-in round with persistent workers, and the single-thread fast
//! path.

use std::hint::{black_box, spin_loop};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use super::suite::{Suite, Workload};
use super::{run_threads, SuiteRun};
use crate::config::{Config, Ops};
use crate::peers::wait_group::{visit_all, WaitGroupLike, WaitGroupVisitor};
use crate::result::{Params, ResultRow};

/// The `waitgroup` suite.
pub const SUITE: Suite = Suite {
    name: "waitgroup",
    description: "weft::sync::WaitGroup beside crossbeam_utils::sync::WaitGroup and a \
                  std Mutex<usize> + Condvar counter",
    workloads: &[
        Workload {
            name: "fan_in",
            description: "T persistent workers and one waiter (T+1 threads); per round the \
                          waiter opens a round of T, releases the workers, each worker calls \
                          done, the waiter waits; op = one round",
        },
        Workload {
            name: "uncontended",
            description: "one thread opens a round of 1, calls done, then waits; \
                          op = one add-done-wait",
        },
    ],
    implementations,
    implementations_of: |_| implementations(),
    run,
};

/// Rounds per `fan_in` sample.
pub const FAN_IN_ROUNDS: Ops = Ops {
    full: 2_000,
    quick: 1_000,
    smoke: 20,
};

/// Add-done-wait operations per `uncontended` sample.
pub const UNCONTENDED_OPS: Ops = Ops {
    full: 300_000,
    quick: 150_000,
    smoke: 200,
};

/// The round counter's value that tells the workers to exit.
const STOP: u64 = u64::MAX;

/// A worker's mailbox: the token for the current round, and the last round it started.
struct Slot<T> {
    token: Option<T>,
    started: u64,
}

/// Publishes [`STOP`] when the waiter leaves, normally or by panicking, so workers never
/// wait for a round that will not come.
struct StopOnDrop<'a>(&'a AtomicU64);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        // Ordering: Release pairs with the Acquire load in `next_round`, like a round.
        self.0.store(STOP, Ordering::Release);
    }
}

/// Waits until `round` differs from `seen` and returns it: spins briefly, then yields.
/// The same start signal for every implementation, so only the wait group differs.
fn next_round(round: &AtomicU64, seen: u64) -> u64 {
    let mut spins = 0u32;
    loop {
        // Ordering: Acquire pairs with the waiter's Release store of the round, so the
        // waiter's writes to this worker's slot (the token) happen-before we take it.
        let r = round.load(Ordering::Acquire);
        if r != seen {
            return r;
        }
        if spins < 64 {
            spins += 1;
            spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

/// `workers` persistent threads and one waiter run `rounds` rounds. Each round the waiter
/// opens a round of `workers` participants (handing each worker its token through its slot),
/// releases the workers by bumping a round counter, and waits; each worker takes its token
/// and calls `done`. Returns the elapsed time.
///
/// The start signal and the token hand-off (a spin-then-yield on one atomic counter, an
/// uncontended `std::sync::Mutex` per worker) are the same code for every implementation.
///
/// # Panics
///
/// If the wait group let the waiter through before every worker of the round had started
/// (a worker's slot still holds its token, or has not seen the round).
pub fn fan_in<W: WaitGroupLike>(workers: usize, rounds: u64) -> Duration {
    assert!(workers > 0, "fan_in needs at least one worker");
    let group = W::new();
    let round = AtomicU64::new(0);
    let slots: Vec<Mutex<Slot<W::Token>>> = (0..workers)
        .map(|_| {
            Mutex::new(Slot {
                token: None,
                started: 0,
            })
        })
        .collect();
    let lock = |i: usize| slots[i].lock().unwrap_or_else(PoisonError::into_inner);

    run_threads(workers + 1, |i| {
        if i == 0 {
            let _stop = StopOnDrop(&round);
            for r in 1..=rounds {
                let mut next = 0;
                let waiter = group.round(workers, |token| {
                    let mut slot = lock(next);
                    assert!(
                        slot.token.is_none() && slot.started == r - 1,
                        "{}: wait returned before worker {next} finished round {}",
                        W::NAME,
                        r - 1
                    );
                    slot.token = Some(token);
                    next += 1;
                });
                assert_eq!(next, workers, "{}: wrong number of tokens", W::NAME);
                // Ordering: Release pairs with the workers' Acquire in `next_round`.
                round.store(r, Ordering::Release);
                group.wait(waiter);
            }
            for w in 0..workers {
                let slot = lock(w);
                assert!(
                    slot.token.is_none() && slot.started == rounds,
                    "{}: wait returned before worker {w} finished the last round",
                    W::NAME
                );
            }
        } else {
            let mut seen = 0;
            loop {
                seen = next_round(&round, seen);
                if seen == STOP {
                    return;
                }
                let token = {
                    let mut slot = lock(i - 1);
                    slot.started = seen;
                    slot.token.take().expect("a round without a token")
                };
                group.done(token);
            }
        }
    })
}

/// One thread opens a round of one participant, calls `done` and `wait`, `ops` times.
/// Returns the elapsed time.
pub fn uncontended<W: WaitGroupLike>(ops: u64) -> Duration {
    let group = W::new();
    run_threads(1, |_| {
        let group = black_box(&group);
        for _ in 0..black_box(ops) {
            let mut token = None;
            let waiter = group.round(1, |t| token = Some(t));
            group.done(token.expect("a round of one gives one token"));
            group.wait(waiter);
        }
    })
}

/// One implementation's workloads, monomorphised.
struct Entry {
    name: &'static str,
    fan_in: fn(usize, u64) -> Duration,
    uncontended: fn(u64) -> Duration,
}

impl WaitGroupVisitor for Vec<Entry> {
    fn visit<W: WaitGroupLike + 'static>(&mut self) {
        self.push(Entry {
            name: W::NAME,
            fan_in: fan_in::<W>,
            uncontended: uncontended::<W>,
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

/// Worker counts for `fan_in`: 2 (the reference point) and the configured thread counts.
fn fan_in_workers(cfg: &Config) -> Vec<usize> {
    let mut workers = cfg.threads.clone();
    workers.push(2);
    workers.sort_unstable();
    workers.dedup();
    workers
}

fn run(cfg: &Config) -> Vec<ResultRow> {
    let entries = entries();
    let mut run = SuiteRun::new(cfg, SUITE.name, &entries, |e| e.name);
    for workers in fan_in_workers(cfg) {
        let ops = cfg.ops(FAN_IN_ROUNDS);
        run.case("fan_in", Params::threads(workers), ops, |e, ops| {
            (e.fan_in)(workers, ops)
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
    use crate::peers::wait_group::{CondvarWaitGroup, CrossbeamWaitGroup};

    /// A wait group whose `wait` does not wait: the fan-in workload must notice.
    struct Impatient;

    impl WaitGroupLike for Impatient {
        const NAME: &'static str = "impatient";
        type Token = ();
        type Waiter = ();
        type Fresh = ();

        fn new() -> Self {
            Impatient
        }

        fn fresh(&self) {}

        fn round_from(&self, (): (), n: usize, mut give: impl FnMut(())) {
            for _ in 0..n {
                give(());
            }
        }

        fn done(&self, (): ()) {
            // Slow workers make the missing wait visible at once.
            thread::sleep(Duration::from_millis(1));
        }

        fn wait(&self, (): ()) {}
    }

    #[test]
    #[should_panic(expected = "wait returned before worker")]
    fn a_wait_that_does_not_wait_fails_the_workload() {
        fan_in::<Impatient>(2, 50);
    }

    #[test]
    fn fan_in_completes_for_every_implementation() {
        for workers in [1, 3] {
            fan_in::<weft::sync::WaitGroup>(workers, 50);
            fan_in::<CrossbeamWaitGroup>(workers, 50);
            fan_in::<CondvarWaitGroup>(workers, 50);
        }
    }

    #[test]
    fn fan_in_always_includes_two_workers() {
        let cfg = Config {
            threads: vec![8, 1],
            ..Config::default()
        };
        assert_eq!(fan_in_workers(&cfg), [1, 2, 8]);
    }
}
