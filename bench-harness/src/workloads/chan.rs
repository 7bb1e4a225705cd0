//! Channel workloads: crossbeam-channel's standard ones (seq, spsc, mpsc, mpmc, select_rx,
//! select_both, from its `benchmarks/`) plus a ping-pong round trip, each on a rendezvous
//! channel, `bounded(1)`, `bounded(1024)` and an unbounded channel, for every implementation
//! that has the channel and operations the case needs (see [`crate::peers::chan`]).
//!
//! The Go twin (`bench-harness/go/chan.go`) runs the same cases with the same operation
//! counts, except the unbounded ones (Go has no unbounded channel).
//!
//! Every case runs for each message size the config asks for (`msg_bytes`: 0, 8 or 64 bytes;
//! see [`crate::peers::chan::Message`]); the Go twin sends words (8 bytes) alone.
//!
//! Senders send distinct messages; receivers take messages until every sender is gone and
//! the channel is drained, and the workload checks the count and the sum of the numbers of
//! what they received (the count alone for the empty message): a lost or duplicated message
//! fails the run instead of hanging it.

use std::time::Duration;

use super::suite::{Suite, Workload};
use super::{divisible, measure, run_threads_with, Case, Contender};
use crate::config::{Config, Ops};
use crate::peers::chan::{
    has_multi_consumer, has_select_recv, has_select_send, has_unbounded, visit_all, ChanLike,
    ChanVisitor, Line, Message,
};
use crate::result::{Params, ResultRow};

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

/// A new channel of `M` of `cap`.
///
/// # Panics
///
/// If `C` has no unbounded channel and `cap` asks for one (cases are filtered before).
fn open<C: ChanLike, M: Message>(cap: Capacity) -> (C::Sender<M>, C::Receiver<M>) {
    match cap {
        Capacity::Bounded(cap) => C::bounded(cap),
        Capacity::Unbounded => {
            C::unbounded().unwrap_or_else(|| panic!("{}: no unbounded channel", C::NAME))
        }
    }
}

/// What a receiver took: how many messages and the sum of their numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    count: u64,
    sum: u64,
}

impl Tally {
    #[inline]
    fn add<M: Message>(&mut self, msg: M) {
        self.count += 1;
        self.sum += msg.number();
    }
}

/// Panics unless the tallies add up to the messages `0..n` of `M`, each once (for the empty
/// message, which carries no number: unless they add up to `n` messages).
fn check<M: Message>(name: &str, workload: &str, tallies: impl IntoIterator<Item = Tally>, n: u64) {
    let total = tallies.into_iter().fold(Tally::default(), |a, t| Tally {
        count: a.count + t.count,
        sum: a.sum + t.sum,
    });
    let want = Tally {
        count: n,
        sum: if M::NUMBERED { n * (n - 1) / 2 } else { 0 },
    };
    assert_eq!(
        total, want,
        "{name}: {workload} lost or duplicated messages"
    );
}

/// One thread's part in a sample, with the channel ends it owns.
enum Role<C: ChanLike, M: Message> {
    /// Send the messages `first..first + count` on one channel.
    Send {
        tx: C::Sender<M>,
        first: u64,
        count: u64,
    },
    /// Receive from one channel until it is closed and drained.
    Recv(C::Receiver<M>),
    /// Send the messages `first..first + count`, each on whichever of the channels is ready.
    SelectSend {
        txs: Vec<C::Sender<M>>,
        first: u64,
        count: u64,
    },
    /// Receive from whichever of the channels is ready until all are closed and drained.
    SelectRecv(Vec<C::Receiver<M>>),
    /// Send message `k` and wait for message `k + 1`, for `k` in `0..rounds`.
    Ping {
        tx: C::Sender<M>,
        rx: C::Receiver<M>,
        rounds: u64,
    },
    /// Answer `rounds` messages with the message made from their number plus one.
    Pong {
        tx: C::Sender<M>,
        rx: C::Receiver<M>,
        rounds: u64,
    },
}

/// Plays `role`; a receiver returns what it took. Its channel ends are dropped on return,
/// inside the timed span (the last sender's drop is what ends the receivers' loops).
fn play<C: ChanLike, M: Message>(role: Role<C, M>) -> Option<Tally> {
    let mut tally = Tally::default();
    match role {
        Role::Send { tx, first, count } => {
            for k in first..first + count {
                C::send(&tx, M::new(k));
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
            for k in first..first + count {
                send(M::new(k));
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
            for k in 0..rounds {
                C::send(&tx, M::new(k));
                let answer = C::recv(&rx).map(M::number);
                let want = if M::NUMBERED { k + 1 } else { 0 };
                assert_eq!(answer, Some(want), "{}: ping_pong answered wrong", C::NAME);
            }
            return None;
        }
        Role::Pong { tx, rx, rounds } => {
            for _ in 0..rounds {
                let msg = C::recv(&rx).expect("ping_pong: ping channel closed early");
                C::send(&tx, M::new(msg.number() + 1));
            }
            return None;
        }
    }
    Some(tally)
}

/// Runs the roles, each on its own thread, checks the receivers' tallies against `n`
/// messages, and returns the elapsed time.
fn run_roles<C: ChanLike, M: Message>(workload: &str, roles: Vec<Role<C, M>>, n: u64) -> Duration {
    let (elapsed, tallies) = run_threads_with(roles, |_, role| play(role));
    check::<M>(C::NAME, workload, tallies.into_iter().flatten(), n);
    elapsed
}

/// `seq`: one thread sends `n` messages of `M` into a channel of `cap` (which must hold them
/// all), then receives them. Returns the elapsed time.
///
/// # Panics
///
/// If `cap` cannot hold `n` messages, or a message is lost.
pub fn seq<C: ChanLike, M: Message>(cap: Capacity, n: u64) -> Duration {
    if let Capacity::Bounded(cap) = cap {
        assert!(
            cap as u64 >= n,
            "seq needs a channel that holds every message"
        );
    }
    let (tx, rx) = open::<C, M>(cap);
    let (elapsed, tallies) = run_threads_with(vec![(tx, rx)], |_, (tx, rx)| {
        for k in 0..n {
            C::send(&tx, M::new(k));
        }
        let mut tally = Tally::default();
        for _ in 0..n {
            tally.add(C::recv(&rx).expect("seq: channel closed early"));
        }
        tally
    });
    check::<M>(C::NAME, "seq", tallies, n);
    elapsed
}

/// `spsc`, `mpsc`, `mpmc`: `senders` threads share `n` messages of `M` on one channel of
/// `cap`, `receivers` threads take them. Returns the elapsed time.
///
/// # Panics
///
/// If `n` does not divide among the senders, `receivers > 1` on a single-consumer channel,
/// or a message is lost or duplicated.
pub fn exchange<C: ChanLike, M: Message>(
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
    let (tx, rx) = open::<C, M>(cap);
    let mut roles: Vec<Role<C, M>> = (0..senders as u64)
        .map(|i| Role::Send {
            tx: C::clone_sender(&tx),
            first: i * count,
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

/// `select_rx`: `threads` channels of `M` of `cap` with one sender each (sharing `n`
/// messages), one receiver selecting over all of them. Returns the elapsed time.
///
/// # Panics
///
/// If `C` has no select, `n` does not divide among the senders, or a message is lost or
/// duplicated.
pub fn select_rx<C: ChanLike, M: Message>(cap: Capacity, threads: usize, n: u64) -> Duration {
    assert_eq!(
        n % threads as u64,
        0,
        "messages must divide among the senders"
    );
    let count = n / threads as u64;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| open::<C, M>(cap)).unzip();
    let mut roles: Vec<Role<C, M>> = txs
        .into_iter()
        .zip(0..)
        .map(|(tx, i)| Role::Send {
            tx,
            first: i * count,
            count,
        })
        .collect();
    roles.push(Role::SelectRecv(rxs));
    run_roles("select_rx", roles, n)
}

/// `select_both`: `threads` channels of `M` of `cap`; `threads` senders (sharing `n`
/// messages) each select-send over all of them, `threads` receivers each select-receive
/// over all of them. Returns the elapsed time.
///
/// # Panics
///
/// If `C` has no select or no multi-consumer channel, `n` does not divide among the
/// senders, or a message is lost or duplicated.
pub fn select_both<C: ChanLike, M: Message>(cap: Capacity, threads: usize, n: u64) -> Duration {
    assert_eq!(
        n % threads as u64,
        0,
        "messages must divide among the senders"
    );
    let count = n / threads as u64;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| open::<C, M>(cap)).unzip();
    let mut roles: Vec<Role<C, M>> = (0..threads as u64)
        .map(|i| Role::SelectSend {
            txs: txs.iter().map(C::clone_sender).collect(),
            first: i * count,
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

/// `ping_pong`: two threads bounce a message of `M` `rounds` times over two channels of
/// `cap`, the answer made from the question's number plus one. Returns the elapsed time.
///
/// # Panics
///
/// If an answer is not the question plus one.
pub fn ping_pong<C: ChanLike, M: Message>(cap: Capacity, rounds: u64) -> Duration {
    let (ping_tx, ping_rx) = open::<C, M>(cap);
    let (pong_tx, pong_rx) = open::<C, M>(cap);
    let roles: Vec<Role<C, M>> = vec![
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

/// A message size, as a case parameter (`msg_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgSize {
    /// `()`: 0 bytes.
    Empty,
    /// `u64`: 8 bytes.
    Word,
    /// [`Line`]: 64 bytes.
    Line,
}

impl MsgSize {
    /// Every size, smallest first.
    pub const ALL: [MsgSize; 3] = [MsgSize::Empty, MsgSize::Word, MsgSize::Line];

    /// The size of `bytes` bytes, if it is one of [`MsgSize::ALL`].
    pub fn from_bytes(bytes: usize) -> Option<MsgSize> {
        MsgSize::ALL.into_iter().find(|s| s.bytes() == bytes)
    }

    /// Its size in bytes.
    pub fn bytes(self) -> usize {
        match self {
            MsgSize::Empty => <() as Message>::BYTES,
            MsgSize::Word => u64::BYTES,
            MsgSize::Line => Line::BYTES,
        }
    }
}

/// One implementation's workloads for one message type, monomorphised.
struct Fns {
    seq: fn(Capacity, u64) -> Duration,
    exchange: fn(&str, Capacity, usize, usize, u64) -> Duration,
    select_rx: fn(Capacity, usize, u64) -> Duration,
    select_both: fn(Capacity, usize, u64) -> Duration,
    ping_pong: fn(Capacity, u64) -> Duration,
}

impl Fns {
    fn of<C: ChanLike, M: Message>() -> Fns {
        Fns {
            seq: seq::<C, M>,
            exchange: exchange::<C, M>,
            select_rx: select_rx::<C, M>,
            select_both: select_both::<C, M>,
            ping_pong: ping_pong::<C, M>,
        }
    }
}

/// One implementation's workloads, monomorphised for each message size, and what it can run.
struct Entry {
    name: &'static str,
    unbounded: bool,
    multi_consumer: bool,
    select_recv: bool,
    select_send: bool,
    /// In [`MsgSize::ALL`]'s order.
    fns: [Fns; 3],
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

    /// The workloads for messages of `size`.
    fn with(&self, size: MsgSize) -> &Fns {
        &self.fns[MsgSize::ALL
            .iter()
            .position(|&s| s == size)
            .expect("a size")]
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
            fns: [
                Fns::of::<C, ()>(),
                Fns::of::<C, u64>(),
                Fns::of::<C, Line>(),
            ],
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
    let sizes: Vec<MsgSize> = cfg
        .msg_bytes()
        .into_iter()
        .filter_map(MsgSize::from_bytes)
        .collect();
    let mut rows = Vec::new();
    // Measures one case for every implementation that can run it, for each message size.
    let mut case = |workload: &'static str,
                    threads: usize,
                    cap: Capacity,
                    ops: u64,
                    sample: &dyn Fn(&Fns, u64) -> Duration| {
        for &size in &sizes {
            let case = Case {
                suite: SUITE.name,
                workload,
                params: Params::threads(threads)
                    .with("capacity", cap.param())
                    .with("msg_bytes", size.bytes()),
                ops,
            };
            let contenders = entries
                .iter()
                .filter(|e| e.runs(workload, cap))
                .map(|e| Contender::new(e.name, move |ops| sample(e.with(size), ops)))
                .collect();
            rows.extend(measure(cfg, &case, contenders));
        }
    };

    let n = cfg.ops(MESSAGES);
    for cap in [Capacity::Bounded(n as usize), Capacity::Unbounded] {
        case("seq", 1, cap, n, &|f, n| (f.seq)(cap, n));
    }
    for cap in CAPACITIES {
        let n = messages(cfg, cap);
        case("spsc", 1, cap, n, &|f, n| {
            (f.exchange)("spsc", cap, 1, 1, n)
        });
    }
    for cap in CAPACITIES {
        for &t in &cfg.threads {
            let ops = divisible(messages(cfg, cap), t);
            case("mpsc", t, cap, ops, &|f, n| {
                (f.exchange)("mpsc", cap, t, 1, n)
            });
        }
    }
    for cap in CAPACITIES {
        for &t in &cfg.threads {
            let ops = divisible(messages(cfg, cap), t);
            case("mpmc", t, cap, ops, &|f, n| {
                (f.exchange)("mpmc", cap, t, t, n)
            });
        }
    }
    for cap in CAPACITIES {
        for &t in cfg.threads.iter().filter(|&&t| t <= MAX_SELECT) {
            let ops = divisible(messages(cfg, cap), t);
            case("select_rx", t, cap, ops, &|f, n| (f.select_rx)(cap, t, n));
            case("select_both", t, cap, ops, &|f, n| {
                (f.select_both)(cap, t, n)
            });
        }
    }
    let rounds = cfg.ops(PING_PONG_ROUNDS);
    for cap in PING_PONG_CAPACITIES {
        case("ping_pong", 1, cap, rounds, &|f, n| (f.ping_pong)(cap, n));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Size;
    use crate::peers::chan::{Crossbeam, Flume, Kanal, Std, Weft};

    /// A channel that drops every 7th message sent: the workloads must notice, not hang.
    struct Leaky;

    impl ChanLike for Leaky {
        const NAME: &'static str = "leaky";
        type Sender<M: Message> = crossbeam_channel::Sender<M>;
        type Receiver<M: Message> = crossbeam_channel::Receiver<M>;

        fn bounded<M: Message>(cap: usize) -> (Self::Sender<M>, Self::Receiver<M>) {
            crossbeam_channel::bounded(cap)
        }

        fn unbounded<M: Message>() -> Option<(Self::Sender<M>, Self::Receiver<M>)> {
            None
        }

        fn clone_sender<M: Message>(tx: &Self::Sender<M>) -> Self::Sender<M> {
            tx.clone()
        }

        fn clone_receiver<M: Message>(rx: &Self::Receiver<M>) -> Option<Self::Receiver<M>> {
            Some(rx.clone())
        }

        fn send<M: Message>(tx: &Self::Sender<M>, msg: M) {
            use std::sync::atomic::{AtomicU64, Ordering};
            static SENT: AtomicU64 = AtomicU64::new(0);
            if SENT.fetch_add(1, Ordering::Relaxed) % 7 != 3 {
                tx.send(msg).unwrap();
            }
        }

        fn recv<M: Message>(rx: &Self::Receiver<M>) -> Option<M> {
            rx.recv().ok()
        }
    }

    #[test]
    #[should_panic(expected = "leaky: mpmc lost or duplicated messages")]
    fn a_channel_that_loses_messages_fails_the_workload() {
        exchange::<Leaky, u64>("mpmc", Capacity::Bounded(4), 2, 2, 100);
    }

    #[test]
    #[should_panic(expected = "leaky: spsc lost or duplicated messages")]
    fn lost_empty_messages_are_counted() {
        exchange::<Leaky, ()>("spsc", Capacity::Bounded(4), 1, 1, 100);
    }

    #[test]
    fn workloads_deliver_every_message() {
        for cap in [
            Capacity::Bounded(0),
            Capacity::Bounded(1),
            Capacity::Unbounded,
        ] {
            exchange::<Crossbeam, Line>("mpmc", cap, 3, 3, 300);
            exchange::<Kanal, ()>("mpmc", cap, 2, 3, 300);
            exchange::<Kanal, Line>("mpmc", cap, 2, 3, 300);
            exchange::<Std, u64>("mpsc", cap, 3, 1, 300);
            select_rx::<Flume, ()>(cap, 3, 300);
            select_both::<Crossbeam, Line>(cap, 3, 300);
            ping_pong::<Flume, u64>(cap, 50);
            exchange::<Weft, ()>("mpmc", cap, 3, 2, 300);
            exchange::<Weft, Line>("mpmc", cap, 3, 2, 300);
            select_both::<Weft, ()>(cap, 2, 300);
            ping_pong::<Weft, Line>(cap, 50);
            ping_pong::<Weft, ()>(cap, 50);
        }
        seq::<Weft, Line>(Capacity::Bounded(100), 100);
        seq::<Weft, ()>(Capacity::Unbounded, 100);
        seq::<Std, u64>(Capacity::Unbounded, 100);
    }

    #[test]
    fn message_sizes() {
        let sizes: Vec<usize> = MsgSize::ALL.iter().map(|s| s.bytes()).collect();
        assert_eq!(sizes, crate::config::MSG_BYTES);
        assert_eq!(MsgSize::from_bytes(64), Some(MsgSize::Line));
        assert_eq!(MsgSize::from_bytes(16), None);
    }

    /// Every case runs once per message size asked for, with `msg_bytes` in its parameters.
    #[test]
    fn cases_run_for_each_message_size() {
        let cfg = Config {
            threads: vec![2],
            size: Size::Smoke,
            msg_bytes: Some(vec![0, 64]),
            implementations: Some(vec!["weft".into()]),
            ..Config::default()
        };
        let rows = run(&cfg);
        for bytes in [0, 64] {
            let with = |w: &str| {
                rows.iter()
                    .filter(|r| r.workload == w && r.params.extra["msg_bytes"] == bytes)
                    .count()
            };
            assert_eq!(with("ping_pong"), 3, "{bytes}");
            assert_eq!(with("spsc"), 4, "{bytes}");
        }
        assert!(rows.iter().all(|r| r.params.extra["msg_bytes"] != 8));
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
            let params = Params::threads(threads)
                .with("capacity", cap.param())
                .with("msg_bytes", 8);
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
