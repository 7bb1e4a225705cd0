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
//! `select_rx` and `select_both` are the `chan` suite's, with tasks: T channels (T at most
//! [`MAX_SELECT`]), one sender task on each (`select_rx`) sharing the messages, and one
//! receiver task selecting over all of them; or T sender tasks each select-sending over all T
//! and T receiver tasks each select-receiving over all T (`select_both`). Each library selects
//! its own way (see [`crate::peers::achan`]); the capacities add `"unbounded"`.
//!
//! The Go twin (`bench-harness/go/achan.go`) runs the same cases with goroutines over Go
//! channels under `GOMAXPROCS` = T.

use std::time::Duration;

use super::chan::{Capacity, BLOCKING_MESSAGES, PING_PONG_ROUNDS};
use super::sched::timed;
use super::suite::{Suite, Workload};
use super::{divisible, measure, Case, Contender};
use crate::config::{Config, Ops};
use crate::peers::achan::{has_select_send, visit_all, AsyncChan, AsyncChanVisitor, MAX_SELECT};
use crate::peers::sched::AsyncSched;
use crate::result::{Params, ResultRow};

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
        Workload {
            name: "select_rx",
            description: "T channels with one sender task each, one receiver task selecting \
                          over all T, on T workers (T <= 8); op = one message",
        },
        Workload {
            name: "select_both",
            description: "T channels; T sender tasks each select-send over all T, T receiver \
                          tasks each select-receive over all T, on T workers (T <= 8; weft \
                          alone: no peer has a task select-send); op = one message",
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

/// The capacities of `select_rx` and `select_both`.
pub const SELECT_CAPACITIES: [Capacity; 4] = [
    Capacity::Bounded(0),
    Capacity::Bounded(1),
    Capacity::Bounded(1024),
    Capacity::Unbounded,
];

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

/// Messages per sample on a channel of `cap` in the select workloads.
fn select_messages(cfg: &Config, cap: Capacity) -> u64 {
    match cap {
        Capacity::Bounded(cap) => messages(cfg, cap),
        Capacity::Unbounded => cfg.ops(MESSAGES),
    }
}

/// A new channel of `cap`.
///
/// # Panics
///
/// If `C` has no unbounded channel and `cap` asks for one (cases are filtered before).
fn open<C: AsyncChan>(cap: Capacity) -> (C::Sender, C::Receiver) {
    match cap {
        Capacity::Bounded(cap) => C::bounded(cap),
        Capacity::Unbounded => {
            C::unbounded().unwrap_or_else(|| panic!("{}: no unbounded channel", C::NAME))
        }
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

impl Tally {
    fn add(&mut self, other: Tally) {
        self.count += other.count;
        self.sum += other.sum;
    }

    /// Panics unless this is the messages `0..n`, each once (by count and sum).
    fn assert_every_message(self, n: u64, implementation: &str, workload: &str) {
        assert_eq!(
            self,
            Tally {
                count: n,
                sum: n * (n - 1) / 2
            },
            "{implementation}: {workload} lost or duplicated messages"
        );
    }
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
            total.add(t.await);
        }
        total.assert_every_message(n, C::NAME, workload);
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

/// `select_rx` (`select_both` false) and `select_both`: on a runtime with `threads` workers,
/// `threads` channels of `cap` carry the messages `0..n`. In `select_rx` one sender task
/// per channel sends its share on it and one receiver task selects over all of them; in
/// `select_both` `threads` sender tasks each select-send their share over all channels and
/// `threads` receiver tasks each select-receive over all of them until every channel is
/// closed and drained. Returns the time the root task took.
///
/// # Panics
///
/// If `threads` is 0 or above [`MAX_SELECT`], `n` does not divide among the senders, `C`
/// cannot run the case, or a message is lost or duplicated.
pub fn select<C: AsyncChan>(select_both: bool, cap: Capacity, threads: usize, n: u64) -> Duration {
    assert!(
        (1..=MAX_SELECT).contains(&threads),
        "1..={MAX_SELECT} channels"
    );
    assert_eq!(
        n % threads as u64,
        0,
        "messages must divide among the senders"
    );
    let per = n / threads as u64;
    let workload = if select_both {
        "select_both"
    } else {
        "select_rx"
    };
    timed::<C::Runtime, _>(threads, async move {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| open::<C>(cap)).unzip();
        let sends: Vec<_> = if select_both {
            (0..threads as u64)
                .map(|i| {
                    let txs = txs.iter().map(C::clone_sender).collect();
                    let send = C::select_send(txs, i * per..(i + 1) * per)
                        .unwrap_or_else(|| panic!("{}: no select-send", C::NAME));
                    spawn::<C, _>(send)
                })
                .collect()
        } else {
            txs.iter()
                .enumerate()
                .map(|(i, tx)| {
                    let tx = C::clone_sender(tx);
                    let i = i as u64;
                    spawn::<C, _>(async move {
                        for k in i * per..(i + 1) * per {
                            C::send(&tx, k).await;
                        }
                    })
                })
                .collect()
        };
        drop(txs);
        let receivers = if select_both { threads } else { 1 };
        let mut rxs = Some(rxs);
        let takes: Vec<_> = (0..receivers)
            .map(|r| {
                let mine = if r + 1 == receivers {
                    rxs.take().expect("the last receiver takes the originals")
                } else {
                    let all = rxs.as_ref().expect("not yet taken");
                    all.iter()
                        .map(|rx| {
                            C::clone_receiver(rx)
                                .unwrap_or_else(|| panic!("{}: single-consumer channel", C::NAME))
                        })
                        .collect()
                };
                spawn::<C, _>(C::select_drain(mine))
            })
            .collect();
        for s in sends {
            s.await;
        }
        let mut total = Tally::default();
        for t in takes {
            let (count, sum) = t.await;
            total.add(Tally { count, sum });
        }
        total.assert_every_message(n, C::NAME, workload);
    })
}

/// One implementation's workloads, monomorphised, and what it can run.
struct Entry {
    name: &'static str,
    rendezvous: bool,
    multi_consumer: bool,
    unbounded: bool,
    select_recv: bool,
    select_send: bool,
    exchange: fn(&'static str, usize, usize, usize, usize, u64) -> Duration,
    ping_pong: fn(usize, usize, u64) -> Duration,
    select: fn(bool, Capacity, usize, u64) -> Duration,
}

impl Entry {
    /// Whether this implementation runs `workload` on a channel of `cap`.
    fn runs(&self, workload: &str, cap: usize) -> bool {
        (cap > 0 || self.rendezvous) && (workload != "mpmc" || self.multi_consumer)
    }

    /// Whether this implementation runs the select `workload` on a channel of `cap`.
    fn runs_select(&self, workload: &str, cap: Capacity) -> bool {
        let channel = match cap {
            Capacity::Bounded(0) => self.rendezvous,
            Capacity::Bounded(_) => true,
            Capacity::Unbounded => self.unbounded,
        };
        channel
            && self.select_recv
            && (workload != "select_both" || (self.select_send && self.multi_consumer))
    }
}

impl AsyncChanVisitor for Vec<Entry> {
    fn visit<C: AsyncChan>(&mut self) {
        self.push(Entry {
            name: C::NAME,
            rendezvous: C::RENDEZVOUS,
            multi_consumer: C::MULTI_CONSUMER,
            unbounded: C::unbounded().is_some(),
            select_recv: C::SELECT_SAFE_RECV,
            select_send: has_select_send::<C>(),
            exchange: exchange::<C>,
            ping_pong: ping_pong::<C>,
            select: select::<C>,
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
        .filter(|e| match workload {
            "select_rx" | "select_both" => SELECT_CAPACITIES
                .iter()
                .any(|&cap| e.runs_select(workload, cap)),
            _ => CAPACITIES.iter().any(|&cap| e.runs(workload, cap)),
        })
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
    for cap in SELECT_CAPACITIES {
        for &t in cfg.threads.iter().filter(|&&t| t <= MAX_SELECT) {
            let ops = divisible(select_messages(cfg, cap), t);
            for (workload, both) in [("select_rx", false), ("select_both", true)] {
                let case = Case {
                    suite: SUITE.name,
                    workload,
                    params: Params::threads(t).with("capacity", cap.param()),
                    ops,
                };
                let contenders = entries
                    .iter()
                    .filter(|e| e.runs_select(workload, cap))
                    .map(|e| Contender::new(e.name, move |n| (e.select)(both, cap, t, n)))
                    .collect();
                rows.extend(measure(cfg, &case, contenders));
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Size;
    use crate::peers::achan::{Flume, Kanal, Tokio, Weft};

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
    fn select_workloads_deliver_every_message() {
        for cap in SELECT_CAPACITIES {
            for t in [1, 3] {
                select::<Weft>(false, cap, t, 300);
                select::<Weft>(true, cap, t, 300);
                select::<Flume>(false, cap, t, 300);
                if matches!(cap, Capacity::Bounded(c) if c > 0) {
                    select::<Tokio>(false, cap, t, 300);
                }
            }
        }
        select::<Weft>(true, Capacity::Bounded(0), MAX_SELECT, 800);
        select::<Tokio>(false, Capacity::Bounded(1), MAX_SELECT, 800);
        select::<Flume>(false, Capacity::Bounded(0), MAX_SELECT, 800);
    }

    #[test]
    #[should_panic(expected = "no select-send")]
    fn flume_has_no_select_send() {
        select::<Flume>(true, Capacity::Bounded(1), 1, 10);
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
        let all = ["weft", "weft-tokio", "tokio", "flume", "kanal"];
        let rendezvous = ["weft", "weft-tokio", "flume", "kanal"];
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
        let select_rx = |t: usize, cap: Capacity| -> Vec<&str> {
            let params = Params::threads(t).with("capacity", cap.param());
            rows.iter()
                .filter(|r| r.workload == "select_rx" && r.params == params)
                .map(|r| r.implementation.as_str())
                .collect()
        };
        // kanal's receive future is not select-safe: left out of the select workloads.
        for t in [1, 2] {
            assert_eq!(
                select_rx(t, Capacity::Bounded(1)),
                ["weft", "weft-tokio", "tokio", "flume"]
            );
            assert_eq!(
                select_rx(t, Capacity::Bounded(0)),
                ["weft", "weft-tokio", "flume"]
            );
            assert_eq!(
                select_rx(t, Capacity::Unbounded),
                ["weft", "weft-tokio", "flume"]
            );
        }
        let select_both = rows.iter().filter(|r| r.workload == "select_both");
        assert!(select_both
            .clone()
            .all(|r| r.implementation.starts_with("weft")));
        assert_eq!(select_both.count(), 2 * 4 * 2);
        // weft-tokio runs every case weft runs: one more row per case (11 channel cases and
        // 4 + 4 select cases per thread count).
        let select_rows = 2 * (2 + 3 + 3 + 2) + 2 * 4 + 2 * (4 + 4);
        assert_eq!(
            rows.len(),
            2 * (3 + 4 + 4 + 3 + 4 + 4 + 3 + 3 + 3 + 3 + 4) + 2 * 11 + select_rows
        );
        assert_eq!(implementations_of("mpmc"), rendezvous);
        assert_eq!(implementations_of("spsc"), all);
        assert_eq!(
            implementations_of("select_rx"),
            ["weft", "weft-tokio", "tokio", "flume"]
        );
        assert_eq!(implementations_of("select_both"), ["weft", "weft-tokio"]);
    }
}
