//! Async channel workloads: the `chan` suite's `spsc`, `mpsc`, `mpmc` and `ping_pong`, with
//! tasks in place of threads, over each library's async channel on its runtime (see
//! [`crate::peers::achan`]).
//!
//! A sample is taken as in the `sched` suite: a fresh runtime with T workers (untimed), a root
//! task that opens the channel, spawns the sender and receiver tasks and awaits them, timed
//! from inside from its first poll to its return (spawning the tasks is inside the span; the
//! runtime's start and stop are not). `params.threads` is T, both the worker count and, for
//! `mpsc` and `mpmc`, the number of tasks per side; `spsc` and `ping_pong` have one task per
//! side at every T.
//!
//! Senders send distinct numbers; receivers take messages until every sender is gone and the
//! channel is drained, and the root checks the count and the sum of what they took (a lost or
//! duplicated message fails the run); `ping_pong` checks every answer and the echo's count.
//!
//! The Go twin (`bench-harness/go/achan.go`) runs the same cases with goroutines over Go
//! channels under `GOMAXPROCS` = T.

use std::time::Duration;

use super::chan::{BLOCKING_MESSAGES, PING_PONG_ROUNDS};
use super::sched::timed;
use super::{divisible, measure, Case, Config, Contender, Ops};
use crate::peers::achan::{visit_all, AsyncChan, AsyncChanVisitor};
use crate::peers::sched::AsyncSched;
use crate::result::{Params, ResultRow};
use crate::suites::{Suite, Workload};

/// The `achan` suite.
pub const SUITE: Suite = Suite {
    name: "achan",
    description: "weft::chan's async API on weft::sched beside tokio::sync::mpsc, flume and \
                  kanal on tokio's runtime: tasks, not threads",
    workloads: &[
        Workload {
            name: "spsc",
            description: "one sender task and one receiver task on T workers; op = one message",
        },
        Workload {
            name: "mpsc",
            description: "T sender tasks share n messages, one receiver task takes them all, \
                          on T workers; op = one message",
        },
        Workload {
            name: "mpmc",
            description: "T sender tasks and T receiver tasks share n messages on T workers \
                          (not tokio: single consumer); op = one message",
        },
        Workload {
            name: "ping_pong",
            description: "two tasks on T workers, two channels: one sends, the other answers \
                          on the second channel; op = one round trip",
        },
    ],
    implementations,
    implementations_of,
    run,
};

/// Messages per sample on `bounded(1024)`, shared among the senders. (Capacities 0 and 1 send
/// the `chan` suite's [`BLOCKING_MESSAGES`]; `ping_pong` makes its [`PING_PONG_ROUNDS`].)
pub const MESSAGES: Ops = Ops {
    full: 80_000,
    quick: 20_000,
    smoke: 100,
};

/// The capacities of `spsc`, `mpsc` and `mpmc`.
pub const CAPACITIES: [usize; 3] = [0, 1, 1024];

/// The capacities of `ping_pong` (at most one message is ever in flight, so 1024 would be 1).
pub const PING_PONG_CAPACITIES: [usize; 2] = [0, 1];

/// Messages per sample on a channel of `cap`: [`BLOCKING_MESSAGES`] on 0 and 1, else
/// [`MESSAGES`].
pub fn messages(cfg: &Config, cap: usize) -> u64 {
    if cap <= 1 {
        cfg.ops(BLOCKING_MESSAGES)
    } else {
        cfg.ops(MESSAGES)
    }
}

/// Spawns a task on `C`'s runtime (called only inside a root task).
fn spawn<C: AsyncChan, T: Send + 'static>(
    task: impl std::future::Future<Output = T> + Send + 'static,
) -> <C::Runtime as AsyncSched>::Handle<T> {
    <C::Runtime as AsyncSched>::spawn(task)
}

/// What a receiver took: how many messages and the sum of their numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    count: u64,
    sum: u64,
}

/// Receives until the channel is closed and drained.
async fn drain<C: AsyncChan>(mut rx: C::Receiver) -> Tally {
    let mut tally = Tally::default();
    while let Some(k) = C::recv(&mut rx).await {
        tally.count += 1;
        tally.sum += k;
    }
    tally
}

/// `spsc`, `mpsc`, `mpmc`: on a runtime with `workers` workers, `senders` tasks share the
/// messages `0..n` on one channel of `cap`, `receivers` tasks take them. Returns the time the
/// root task took.
///
/// # Panics
///
/// If `n` does not divide among the senders, `receivers > 1` on a single-consumer channel,
/// `cap` is 0 on a library without a rendezvous channel, or a message is lost or duplicated.
pub fn exchange<C: AsyncChan>(
    workload: &'static str,
    cap: usize,
    workers: usize,
    senders: usize,
    receivers: usize,
    n: u64,
) -> Duration {
    assert!(senders > 0 && receivers > 0);
    assert_eq!(
        n % senders as u64,
        0,
        "messages must divide among the senders"
    );
    let count = n / senders as u64;
    timed::<C::Runtime, _>(workers, async move {
        let (tx, rx) = C::bounded(cap);
        let sends: Vec<_> = (0..senders as u64)
            .map(|i| {
                let tx = C::clone_sender(&tx);
                spawn::<C, _>(async move {
                    for k in i * count..(i + 1) * count {
                        C::send(&tx, k).await;
                    }
                })
            })
            .collect();
        drop(tx);
        let mut takes: Vec<_> = (1..receivers)
            .map(|_| {
                let rx = C::clone_receiver(&rx)
                    .unwrap_or_else(|| panic!("{}: single-consumer channel", C::NAME));
                spawn::<C, _>(drain::<C>(rx))
            })
            .collect();
        takes.push(spawn::<C, _>(drain::<C>(rx)));
        for s in sends {
            s.await;
        }
        let mut total = Tally::default();
        for t in takes {
            let t = t.await;
            total.count += t.count;
            total.sum += t.sum;
        }
        assert_eq!(
            total,
            Tally {
                count: n,
                sum: n * (n - 1) / 2
            },
            "{}: {workload} lost or duplicated messages",
            C::NAME
        );
    })
}

/// `ping_pong`: on a runtime with `workers` workers, the root task sends `k` on one channel of
/// `cap` and an echo task answers `k + 1` on a second, for `k` in `0..rounds`. Returns the time
/// the root task took.
///
/// # Panics
///
/// If an answer is not the question plus one, or the echo did not answer `rounds` times.
pub fn ping_pong<C: AsyncChan>(cap: usize, workers: usize, rounds: u64) -> Duration {
    timed::<C::Runtime, _>(workers, async move {
        let (ping_tx, mut ping_rx) = C::bounded(cap);
        let (pong_tx, mut pong_rx) = C::bounded(cap);
        let echo = spawn::<C, _>(async move {
            let mut answered = 0u64;
            while let Some(k) = C::recv(&mut ping_rx).await {
                C::send(&pong_tx, k + 1).await;
                answered += 1;
            }
            answered
        });
        for k in 0..rounds {
            C::send(&ping_tx, k).await;
            let answer = C::recv(&mut pong_rx).await;
            assert_eq!(answer, Some(k + 1), "{}: ping_pong answered wrong", C::NAME);
        }
        drop(ping_tx);
        assert_eq!(echo.await, rounds, "{}: ping_pong lost a message", C::NAME);
    })
}

/// One implementation's workloads, monomorphised, and what it can run.
struct Entry {
    name: &'static str,
    rendezvous: bool,
    multi_consumer: bool,
    exchange: fn(&'static str, usize, usize, usize, usize, u64) -> Duration,
    ping_pong: fn(usize, usize, u64) -> Duration,
}

impl Entry {
    /// Whether this implementation runs `workload` on a channel of `cap`.
    fn runs(&self, workload: &str, cap: usize) -> bool {
        (cap > 0 || self.rendezvous) && (workload != "mpmc" || self.multi_consumer)
    }
}

impl AsyncChanVisitor for Vec<Entry> {
    fn visit<C: AsyncChan>(&mut self) {
        self.push(Entry {
            name: C::NAME,
            rendezvous: C::RENDEZVOUS,
            multi_consumer: C::MULTI_CONSUMER,
            exchange: exchange::<C>,
            ping_pong: ping_pong::<C>,
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

fn implementations_of(workload: &str) -> Vec<&'static str> {
    entries()
        .iter()
        .filter(|e| CAPACITIES.iter().any(|&cap| e.runs(workload, cap)))
        .map(|e| e.name)
        .collect()
}

fn run(cfg: &Config) -> Vec<ResultRow> {
    let entries = entries();
    let mut rows = Vec::new();
    // Measures one case for every implementation that can run it.
    let mut case = |workload: &'static str,
                    threads: usize,
                    cap: usize,
                    ops: u64,
                    sample: &dyn Fn(&Entry, u64) -> Duration| {
        let case = Case {
            suite: SUITE.name,
            workload,
            params: Params::threads(threads).with("capacity", cap),
            ops,
        };
        let contenders = entries
            .iter()
            .filter(|e| e.runs(workload, cap))
            .map(|e| Contender::new(e.name, move |ops| sample(e, ops)))
            .collect();
        rows.extend(measure(cfg, &case, contenders));
    };
    for cap in CAPACITIES {
        for &t in &cfg.threads {
            case("spsc", t, cap, messages(cfg, cap), &|e, n| {
                (e.exchange)("spsc", cap, t, 1, 1, n)
            });
        }
    }
    for cap in CAPACITIES {
        for &t in &cfg.threads {
            let ops = divisible(messages(cfg, cap), t);
            case("mpsc", t, cap, ops, &|e, n| {
                (e.exchange)("mpsc", cap, t, t, 1, n)
            });
        }
    }
    for cap in CAPACITIES {
        for &t in &cfg.threads {
            let ops = divisible(messages(cfg, cap), t);
            case("mpmc", t, cap, ops, &|e, n| {
                (e.exchange)("mpmc", cap, t, t, t, n)
            });
        }
    }
    let rounds = cfg.ops(PING_PONG_ROUNDS);
    for cap in PING_PONG_CAPACITIES {
        for &t in &cfg.threads {
            case("ping_pong", t, cap, rounds, &|e, n| {
                (e.ping_pong)(cap, t, n)
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::achan::{Flume, Kanal, Tokio, Weft};
    use crate::workloads::Size;

    #[test]
    fn workloads_deliver_every_message() {
        for cap in CAPACITIES {
            for workers in [1, 3] {
                exchange::<Weft>("mpmc", cap, workers, 3, 2, 300);
                exchange::<Flume>("mpmc", cap, workers, 2, 3, 300);
                exchange::<Kanal>("mpmc", cap, workers, 3, 3, 300);
                ping_pong::<Weft>(cap, workers, 50);
                ping_pong::<Kanal>(cap, workers, 50);
                if cap > 0 {
                    exchange::<Tokio>("mpsc", cap, workers, 3, 1, 300);
                    ping_pong::<Tokio>(cap, workers, 50);
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "single-consumer")]
    fn tokio_has_one_receiver() {
        exchange::<Tokio>("mpmc", 1, 1, 1, 2, 10);
    }

    /// Each case has a row for exactly the implementations that can run it: tokio is absent
    /// from capacity 0 and from mpmc.
    #[test]
    fn cases_have_the_capable_implementations() {
        let cfg = Config {
            threads: vec![1, 2],
            size: Size::Smoke,
            ..Config::default()
        };
        let rows = run(&cfg);
        let names = |workload: &str, threads: usize, cap: usize| -> Vec<&str> {
            let params = Params::threads(threads).with("capacity", cap);
            rows.iter()
                .filter(|r| r.workload == workload && r.params == params)
                .map(|r| r.implementation.as_str())
                .collect()
        };
        let all = ["weft", "tokio", "flume", "kanal"];
        let rendezvous = ["weft", "flume", "kanal"];
        for t in [1, 2] {
            assert_eq!(names("spsc", t, 1024), all);
            assert_eq!(names("spsc", t, 0), rendezvous);
            assert_eq!(names("mpsc", t, 1), all);
            assert_eq!(names("mpmc", t, 1), rendezvous);
            assert_eq!(names("mpmc", t, 0), rendezvous);
            assert_eq!(names("ping_pong", t, 1), all);
            assert_eq!(names("ping_pong", t, 0), rendezvous);
            assert!(names("ping_pong", t, 1024).is_empty());
        }
        assert_eq!(rows.len(), 2 * (3 + 4 + 4 + 3 + 4 + 4 + 3 + 3 + 3 + 3 + 4));
        assert_eq!(implementations_of("mpmc"), rendezvous);
        assert_eq!(implementations_of("spsc"), all);
    }
}
