//! Channel workloads: crossbeam-channel's standard ones (seq, spsc, mpsc, mpmc, select_rx,
//! select_both, from its `benchmarks/`) plus a ping-pong round trip, each on a rendezvous
//! channel, `bounded(1)`, `bounded(1024)` and an unbounded channel, for every implementation
//! that has the channel and operations the case needs (see [`crate::peers::chan`]).
//!
//! The Go twin (`bench-harness/go/chan.go`) runs the same cases with the same operation
//! counts, except the unbounded ones (Go has no unbounded channel).
//!
//! Senders send distinct values; receivers take messages until every sender is gone and the
//! channel is drained, and the workload checks the count and the sum of what they received:
//! a lost or duplicated message fails the run instead of hanging it.

use std::time::Duration;

use super::{divisible, measure, run_threads_with, Case, Config, Contender, Ops};
use crate::peers::chan::{
    has_multi_consumer, has_select_recv, has_select_send, has_unbounded, visit_all, ChanLike,
    ChanVisitor, Msg,
};
use crate::result::{Params, ResultRow};
use crate::suites::{Suite, Workload};

/// The `chan` suite.
pub const SUITE: Suite = Suite {
    name: "chan",
    description: "weft::chan beside crossbeam-channel, flume, kanal and std::sync::mpsc",
    workloads: &[
        Workload {
            name: "seq",
            description: "one thread sends n messages into a channel that holds them all \
                          (capacity n, or unbounded), then receives them; op = one message",
        },
        Workload {
            name: "spsc",
            description: "one sender and one receiver; op = one message",
        },
        Workload {
            name: "mpsc",
            description: "T senders share n messages, one receiver takes them all; \
                          op = one message",
        },
        Workload {
            name: "mpmc",
            description: "T senders and T receivers share n messages (not std: single \
                          consumer); op = one message",
        },
        Workload {
            name: "select_rx",
            description: "T channels with one sender each, one receiver selecting over all T \
                          (T <= 8; weft and crossbeam Select, flume Selector); op = one message",
        },
        Workload {
            name: "select_both",
            description: "T channels; T senders each select-send over all T, T receivers \
                          each select-receive over all T (T <= 8; weft and crossbeam Select; \
                          not flume: its select-send duplicates messages); op = one message",
        },
        Workload {
            name: "ping_pong",
            description: "two threads, two channels: one sends, the other answers on the \
                          second channel; op = one round trip",
        },
    ],
    implementations,
    implementations_of,
    run,
};

/// Messages per sample (shared among the senders) of `seq` (and its bounded capacity) and of
/// the other workloads but `ping_pong` on `bounded(1024)` and unbounded channels.
pub const MESSAGES: Ops = Ops {
    full: 200_000,
    quick: 50_000,
    smoke: 100,
};

/// Messages per sample on `bounded(0)` and `bounded(1)`, where nearly every message waits
/// for the other side: where a wait parks a thread (most of these channels) it costs
/// microseconds, so far fewer messages fit a sample.
pub const BLOCKING_MESSAGES: Ops = Ops {
    full: 20_000,
    quick: 5_000,
    smoke: 50,
};

/// Round trips per `ping_pong` sample (every message waits for the other side).
pub const PING_PONG_ROUNDS: Ops = Ops {
    full: 20_000,
    quick: 5_000,
    smoke: 20,
};

/// Messages per sample on a channel of `cap`: [`BLOCKING_MESSAGES`] on capacities 0 and 1,
/// else [`MESSAGES`].
pub fn messages(cfg: &Config, cap: Capacity) -> u64 {
    match cap {
        Capacity::Bounded(0 | 1) => cfg.ops(BLOCKING_MESSAGES),
        _ => cfg.ops(MESSAGES),
    }
}

/// The most channels `select_rx` and `select_both` select over (the Go twin's `select` has
/// this many cases written out); larger thread counts skip them.
pub const MAX_SELECT: usize = 8;

/// A channel's capacity, as a case parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// At most this many messages buffered; 0 is a rendezvous channel.
    Bounded(usize),
    /// No limit.
    Unbounded,
}

impl Capacity {
    /// The `capacity` parameter in result files: the number, or `"unbounded"`.
    pub fn param(self) -> serde_json::Value {
        match self {
            Capacity::Bounded(cap) => cap.into(),
            Capacity::Unbounded => "unbounded".into(),
        }
    }
}

/// The capacities of spsc, mpsc, mpmc, select_rx and select_both.
pub const CAPACITIES: [Capacity; 4] = [
    Capacity::Bounded(0),
    Capacity::Bounded(1),
    Capacity::Bounded(1024),
    Capacity::Unbounded,
];

/// The capacities of ping_pong (at most one message is ever in flight, so 1024 would be 1).
pub const PING_PONG_CAPACITIES: [Capacity; 3] = [
    Capacity::Bounded(0),
    Capacity::Bounded(1),
    Capacity::Unbounded,
];

/// A new channel of `cap`.
///
/// # Panics
///
/// If `C` has no unbounded channel and `cap` asks for one (cases are filtered before).
fn open<C: ChanLike>(cap: Capacity) -> (C::Sender, C::Receiver) {
    match cap {
        Capacity::Bounded(cap) => C::bounded(cap),
        Capacity::Unbounded => {
            C::unbounded().unwrap_or_else(|| panic!("{}: no unbounded channel", C::NAME))
        }
    }
}

/// What a receiver took: how many messages and their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    count: u64,
    sum: u64,
}

impl Tally {
    #[inline]
    fn add(&mut self, msg: Msg) {
        self.count += 1;
        self.sum += msg as u64;
    }
}

/// Panics unless the tallies add up to the messages `0..n`, each once.
fn check(name: &str, workload: &str, tallies: impl IntoIterator<Item = Tally>, n: u64) {
    let total = tallies.into_iter().fold(Tally::default(), |a, t| Tally {
        count: a.count + t.count,
        sum: a.sum + t.sum,
    });
    let want = Tally {
        count: n,
        sum: n * (n - 1) / 2,
    };
    assert_eq!(
        total, want,
        "{name}: {workload} lost or duplicated messages"
    );
}

/// One thread's part in a sample, with the channel ends it owns.
enum Role<C: ChanLike> {
    /// Send `first..first + count` on one channel.
    Send {
        tx: C::Sender,
        first: Msg,
        count: u64,
    },
    /// Receive from one channel until it is closed and drained.
    Recv(C::Receiver),
    /// Send `first..first + count`, each on whichever of the channels is ready.
    SelectSend {
        txs: Vec<C::Sender>,
        first: Msg,
        count: u64,
    },
    /// Receive from whichever of the channels is ready until all are closed and drained.
    SelectRecv(Vec<C::Receiver>),
    /// Send `k` and wait for `k + 1`, for `k` in `0..rounds`.
    Ping {
        tx: C::Sender,
        rx: C::Receiver,
        rounds: u64,
    },
    /// Answer `rounds` messages with the message plus one.
    Pong {
        tx: C::Sender,
        rx: C::Receiver,
        rounds: u64,
    },
}

/// Plays `role`; a receiver returns what it took. Its channel ends are dropped on return,
/// inside the timed span (the last sender's drop is what ends the receivers' loops).
fn play<C: ChanLike>(role: Role<C>) -> Option<Tally> {
    let mut tally = Tally::default();
    match role {
        Role::Send { tx, first, count } => {
            for k in 0..count as Msg {
                C::send(&tx, first + k);
            }
            return None;
        }
        Role::Recv(rx) => {
            while let Some(msg) = C::recv(&rx) {
                tally.add(msg);
            }
        }
        Role::SelectSend { txs, first, count } => {
            let mut send = C::select_send(&txs).expect("select checked before");
            for k in 0..count as Msg {
                send(first + k);
            }
            return None;
        }
        Role::SelectRecv(rxs) => {
            let mut recv = C::select_recv(&rxs).expect("select checked before");
            while let Some(msg) = recv() {
                tally.add(msg);
            }
        }
        Role::Ping { tx, rx, rounds } => {
            for k in 0..rounds as Msg {
                C::send(&tx, k);
                let answer = C::recv(&rx);
                assert_eq!(answer, Some(k + 1), "{}: ping_pong answered wrong", C::NAME);
            }
            return None;
        }
        Role::Pong { tx, rx, rounds } => {
            for _ in 0..rounds {
                let msg = C::recv(&rx).expect("ping_pong: ping channel closed early");
                C::send(&tx, msg + 1);
            }
            return None;
        }
    }
    Some(tally)
}

/// Runs the roles, each on its own thread, checks the receivers' tallies against `n`
/// messages, and returns the elapsed time.
fn run_roles<C: ChanLike>(workload: &str, roles: Vec<Role<C>>, n: u64) -> Duration {
    let (elapsed, tallies) = run_threads_with(roles, |_, role| play(role));
    check(C::NAME, workload, tallies.into_iter().flatten(), n);
    elapsed
}

/// `seq`: one thread sends `n` messages into a channel of `cap` (which must hold them all),
/// then receives them. Returns the elapsed time.
///
/// # Panics
///
/// If `cap` cannot hold `n` messages, or a message is lost.
pub fn seq<C: ChanLike>(cap: Capacity, n: u64) -> Duration {
    if let Capacity::Bounded(cap) = cap {
        assert!(
            cap as u64 >= n,
            "seq needs a channel that holds every message"
        );
    }
    let (tx, rx) = open::<C>(cap);
    let (elapsed, tallies) = run_threads_with(vec![(tx, rx)], |_, (tx, rx)| {
        for k in 0..n as Msg {
            C::send(&tx, k);
        }
        let mut tally = Tally::default();
        for _ in 0..n {
            tally.add(C::recv(&rx).expect("seq: channel closed early"));
        }
        tally
    });
    check(C::NAME, "seq", tallies, n);
    elapsed
}

/// `spsc`, `mpsc`, `mpmc`: `senders` threads share `n` messages on one channel of `cap`,
/// `receivers` threads take them. Returns the elapsed time.
///
/// # Panics
///
/// If `n` does not divide among the senders, `receivers > 1` on a single-consumer channel,
/// or a message is lost or duplicated.
pub fn exchange<C: ChanLike>(
    workload: &str,
    cap: Capacity,
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
    let (tx, rx) = open::<C>(cap);
    let mut roles: Vec<Role<C>> = (0..senders)
        .map(|i| Role::Send {
            tx: C::clone_sender(&tx),
            first: i * count as Msg,
            count,
        })
        .collect();
    drop(tx);
    for _ in 1..receivers {
        let rx = C::clone_receiver(&rx)
            .unwrap_or_else(|| panic!("{}: single-consumer channel", C::NAME));
        roles.push(Role::Recv(rx));
    }
    roles.push(Role::Recv(rx));
    run_roles(workload, roles, n)
}

/// `select_rx`: `threads` channels of `cap` with one sender each (sharing `n` messages), one
/// receiver selecting over all of them. Returns the elapsed time.
///
/// # Panics
///
/// If `C` has no select, `n` does not divide among the senders, or a message is lost or
/// duplicated.
pub fn select_rx<C: ChanLike>(cap: Capacity, threads: usize, n: u64) -> Duration {
    assert_eq!(
        n % threads as u64,
        0,
        "messages must divide among the senders"
    );
    let count = n / threads as u64;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| open::<C>(cap)).unzip();
    let mut roles: Vec<Role<C>> = txs
        .into_iter()
        .enumerate()
        .map(|(i, tx)| Role::Send {
            tx,
            first: i * count as Msg,
            count,
        })
        .collect();
    roles.push(Role::SelectRecv(rxs));
    run_roles("select_rx", roles, n)
}

/// `select_both`: `threads` channels of `cap`; `threads` senders (sharing `n` messages)
/// each select-send over all of them, `threads` receivers each select-receive over all of
/// them. Returns the elapsed time.
///
/// # Panics
///
/// If `C` has no select or no multi-consumer channel, `n` does not divide among the
/// senders, or a message is lost or duplicated.
pub fn select_both<C: ChanLike>(cap: Capacity, threads: usize, n: u64) -> Duration {
    assert_eq!(
        n % threads as u64,
        0,
        "messages must divide among the senders"
    );
    let count = n / threads as u64;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| open::<C>(cap)).unzip();
    let mut roles: Vec<Role<C>> = (0..threads)
        .map(|i| Role::SelectSend {
            txs: txs.iter().map(C::clone_sender).collect(),
            first: i * count as Msg,
            count,
        })
        .collect();
    drop(txs);
    for _ in 1..threads {
        let clones = rxs.iter().map(|rx| {
            C::clone_receiver(rx).unwrap_or_else(|| panic!("{}: single consumer", C::NAME))
        });
        roles.push(Role::SelectRecv(clones.collect()));
    }
    roles.push(Role::SelectRecv(rxs));
    run_roles("select_both", roles, n)
}

/// `ping_pong`: two threads bounce a counter `rounds` times over two channels of `cap`.
/// Returns the elapsed time.
///
/// # Panics
///
/// If an answer is not the question plus one.
pub fn ping_pong<C: ChanLike>(cap: Capacity, rounds: u64) -> Duration {
    let (ping_tx, ping_rx) = open::<C>(cap);
    let (pong_tx, pong_rx) = open::<C>(cap);
    let roles: Vec<Role<C>> = vec![
        Role::Ping {
            tx: ping_tx,
            rx: pong_rx,
            rounds,
        },
        Role::Pong {
            tx: pong_tx,
            rx: ping_rx,
            rounds,
        },
    ];
    run_threads_with(roles, |_, role| play(role)).0
}

/// One implementation's workloads, monomorphised, and what it can run.
struct Entry {
    name: &'static str,
    unbounded: bool,
    multi_consumer: bool,
    select_recv: bool,
    select_send: bool,
    seq: fn(Capacity, u64) -> Duration,
    exchange: fn(&str, Capacity, usize, usize, u64) -> Duration,
    select_rx: fn(Capacity, usize, u64) -> Duration,
    select_both: fn(Capacity, usize, u64) -> Duration,
    ping_pong: fn(Capacity, u64) -> Duration,
}

impl Entry {
    /// Whether this implementation runs `workload` on a channel of `cap`.
    fn runs(&self, workload: &str, cap: Capacity) -> bool {
        let channel = cap != Capacity::Unbounded || self.unbounded;
        channel
            && match workload {
                "mpmc" => self.multi_consumer,
                "select_rx" => self.select_recv,
                "select_both" => self.select_send && self.select_recv && self.multi_consumer,
                _ => true,
            }
    }
}

impl ChanVisitor for Vec<Entry> {
    fn visit<C: ChanLike>(&mut self) {
        self.push(Entry {
            name: C::NAME,
            unbounded: has_unbounded::<C>(),
            multi_consumer: has_multi_consumer::<C>(),
            select_recv: has_select_recv::<C>(),
            select_send: has_select_send::<C>(),
            seq: seq::<C>,
            exchange: exchange::<C>,
            select_rx: select_rx::<C>,
            select_both: select_both::<C>,
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
                    cap: Capacity,
                    ops: u64,
                    sample: &dyn Fn(&Entry, u64) -> Duration| {
        let case = Case {
            suite: SUITE.name,
            workload,
            params: Params::threads(threads).with("capacity", cap.param()),
            ops,
        };
        let contenders = entries
            .iter()
            .filter(|e| e.runs(workload, cap))
            .map(|e| Contender::new(e.name, move |ops| sample(e, ops)))
            .collect();
        rows.extend(measure(cfg, &case, contenders));
    };

    let n = cfg.ops(MESSAGES);
    for cap in [Capacity::Bounded(n as usize), Capacity::Unbounded] {
        case("seq", 1, cap, n, &|e, n| (e.seq)(cap, n));
    }
    for cap in CAPACITIES {
        let n = messages(cfg, cap);
        case("spsc", 1, cap, n, &|e, n| {
            (e.exchange)("spsc", cap, 1, 1, n)
        });
    }
    for cap in CAPACITIES {
        for &t in &cfg.threads {
            let ops = divisible(messages(cfg, cap), t);
            case("mpsc", t, cap, ops, &|e, n| {
                (e.exchange)("mpsc", cap, t, 1, n)
            });
        }
    }
    for cap in CAPACITIES {
        for &t in &cfg.threads {
            let ops = divisible(messages(cfg, cap), t);
            case("mpmc", t, cap, ops, &|e, n| {
                (e.exchange)("mpmc", cap, t, t, n)
            });
        }
    }
    for cap in CAPACITIES {
        for &t in cfg.threads.iter().filter(|&&t| t <= MAX_SELECT) {
            let ops = divisible(messages(cfg, cap), t);
            case("select_rx", t, cap, ops, &|e, n| (e.select_rx)(cap, t, n));
            case("select_both", t, cap, ops, &|e, n| {
                (e.select_both)(cap, t, n)
            });
        }
    }
    let rounds = cfg.ops(PING_PONG_ROUNDS);
    for cap in PING_PONG_CAPACITIES {
        case("ping_pong", 1, cap, rounds, &|e, n| (e.ping_pong)(cap, n));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::chan::{Crossbeam, Flume, Kanal, Std, Weft};
    use crate::workloads::Size;

    /// A channel that drops every 7th message: the workloads must notice, not hang.
    struct Leaky;

    impl ChanLike for Leaky {
        const NAME: &'static str = "leaky";
        type Sender = crossbeam_channel::Sender<Msg>;
        type Receiver = crossbeam_channel::Receiver<Msg>;

        fn bounded(cap: usize) -> (Self::Sender, Self::Receiver) {
            crossbeam_channel::bounded(cap)
        }

        fn unbounded() -> Option<(Self::Sender, Self::Receiver)> {
            None
        }

        fn clone_sender(tx: &Self::Sender) -> Self::Sender {
            tx.clone()
        }

        fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
            Some(rx.clone())
        }

        fn send(tx: &Self::Sender, msg: Msg) {
            if msg % 7 != 3 {
                tx.send(msg).unwrap();
            }
        }

        fn recv(rx: &Self::Receiver) -> Option<Msg> {
            rx.recv().ok()
        }
    }

    #[test]
    #[should_panic(expected = "leaky: mpmc lost or duplicated messages")]
    fn a_channel_that_loses_messages_fails_the_workload() {
        exchange::<Leaky>("mpmc", Capacity::Bounded(4), 2, 2, 100);
    }

    #[test]
    fn workloads_deliver_every_message() {
        for cap in [
            Capacity::Bounded(0),
            Capacity::Bounded(1),
            Capacity::Unbounded,
        ] {
            exchange::<Crossbeam>("mpmc", cap, 3, 3, 300);
            exchange::<Kanal>("mpmc", cap, 2, 3, 300);
            exchange::<Std>("mpsc", cap, 3, 1, 300);
            select_rx::<Flume>(cap, 3, 300);
            select_both::<Crossbeam>(cap, 3, 300);
            ping_pong::<Flume>(cap, 50);
        }
        for cap in [Capacity::Bounded(0), Capacity::Bounded(1)] {
            exchange::<Weft>("mpmc", cap, 3, 2, 300);
            ping_pong::<Weft>(cap, 50);
        }
        seq::<Weft>(Capacity::Bounded(100), 100);
        seq::<Std>(Capacity::Unbounded, 100);
    }

    #[test]
    fn capacities_are_numbers_or_unbounded() {
        assert_eq!(Capacity::Bounded(0).param(), serde_json::json!(0));
        assert_eq!(Capacity::Unbounded.param(), serde_json::json!("unbounded"));
    }

    /// Each case has a row for exactly the implementations that can run it: weft is absent
    /// from select, std from mpmc and select, kanal from select, flume from select_both.
    #[test]
    fn cases_have_the_capable_implementations() {
        let cfg = Config {
            threads: vec![2, 9],
            size: Size::Smoke,
            ..Config::default()
        };
        let rows = run(&cfg);
        let names = |workload: &str, threads: usize, cap: Capacity| -> Vec<&str> {
            let params = Params::threads(threads).with("capacity", cap.param());
            rows.iter()
                .filter(|r| r.workload == workload && r.params == params)
                .map(|r| r.implementation.as_str())
                .collect()
        };
        let all = ["weft", "crossbeam", "flume", "kanal", "std"];
        assert_eq!(names("seq", 1, Capacity::Bounded(100)), all);
        assert_eq!(names("seq", 1, Capacity::Unbounded), all);
        assert_eq!(names("spsc", 1, Capacity::Bounded(0)), all);
        assert_eq!(names("mpsc", 9, Capacity::Unbounded), all);
        assert_eq!(
            names("mpmc", 2, Capacity::Bounded(1024)),
            ["weft", "crossbeam", "flume", "kanal"]
        );
        assert_eq!(
            names("mpmc", 2, Capacity::Unbounded),
            ["weft", "crossbeam", "flume", "kanal"]
        );
        assert_eq!(
            names("select_rx", 2, Capacity::Bounded(1)),
            ["weft", "crossbeam", "flume"]
        );
        assert_eq!(
            names("select_both", 2, Capacity::Unbounded),
            ["weft", "crossbeam"]
        );
        for workload in ["select_rx", "select_both"] {
            assert!(names(workload, 9, Capacity::Bounded(1)).is_empty());
        }
        assert_eq!(names("ping_pong", 1, Capacity::Bounded(0)), all);
        assert_eq!(names("ping_pong", 1, Capacity::Unbounded), all);
        assert!(names("ping_pong", 1, Capacity::Bounded(1024)).is_empty());
        assert_eq!(implementations_of("select_both"), ["weft", "crossbeam"]);
        assert_eq!(implementations_of("seq"), all);
    }
}
