//! A model-based property test of `weft::chan` on one thread (issue 16, verification).
//!
//! proptest generates sequences of operations over three channels, `bounded(0)`, `bounded(k)`
//! with `k` in `1..=3`, and `unbounded()`, and every step is compared with a `VecDeque` model
//! of each channel: `try_send`, `send` (only where it cannot block), `send_timeout` and
//! `recv_timeout` with a zero timeout, `try_recv`, `recv` (only where it cannot block),
//! `close` from either side, dropping the sender or the receiver, a `select!` /
//! `select_biased!` with `default` over recv and send arms, and `Select::try_select`,
//! `select_deadline` with a past deadline and `try_ready` over any arms. With no partner
//! thread a `bounded(0)` channel is never ready unless closed.
//!
//! After every step `len`, `is_empty`, `is_full`, `is_closed` and `capacity` of every
//! remaining handle must match the model, and the messages alive must be exactly those the
//! model holds. Messages carry an id and record in a ledger whether they were received or
//! dropped: each id must end received once or dropped once, never both, never twice.
//!
//! A non-blocking select may take its default only if the model has no ready arm; the arm it
//! takes must be one the model says is ready (the first ready one when biased), and is applied
//! to the model. Send-arm values are accounted by id, so the test holds whether `select!`
//! evaluates a send arm's value only when the arm is chosen, or (Go's order) every send arm's
//! value on entry, dropping those of the arms not chosen: either way none of them may
//! outlive the select.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;
use weft::chan::{
    bounded, unbounded, Receiver, RecvError, RecvTimeoutError, Select, SendError, SendTimeoutError,
    Sender, TryRecvError, TrySendError,
};

/// The channels of every case: `bounded(0)`, `bounded(k)`, `unbounded()`.
const CHANNELS: usize = 3;

// ---------------------------------------------------------------------------------------------
// Messages and their ledger

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Alive,
    Received,
    Dropped,
}

/// The fate of every message created in a case, by id. Violations are recorded, not
/// panicked on: a panic inside a message's `Drop` during a channel's drop would abort.
#[derive(Default)]
struct Ledger {
    fates: Mutex<Vec<Fate>>,
    violations: Mutex<Vec<String>>,
}

impl Ledger {
    fn create(self: &Arc<Self>) -> Msg {
        let mut fates = self.fates.lock().unwrap();
        fates.push(Fate::Alive);
        Msg {
            id: fates.len() - 1,
            ledger: Arc::clone(self),
            received: false,
        }
    }

    fn settle(&self, id: usize, fate: Fate) {
        let mut fates = self.fates.lock().unwrap();
        if fates[id] != Fate::Alive {
            self.violations
                .lock()
                .unwrap()
                .push(format!("message {id}: {fate:?} after {:?}", fates[id]));
        }
        fates[id] = fate;
    }

    fn fate(&self, id: usize) -> Fate {
        self.fates.lock().unwrap()[id]
    }

    fn alive(&self) -> Vec<usize> {
        let fates = self.fates.lock().unwrap();
        (0..fates.len())
            .filter(|&id| fates[id] == Fate::Alive)
            .collect()
    }

    fn assert_no_violations(&self) {
        let violations = self.violations.lock().unwrap();
        assert!(violations.is_empty(), "{violations:?}");
    }
}

/// A message that records its fate: [`Msg::receive`] when the test takes it out of a
/// channel, its `Drop` otherwise.
struct Msg {
    id: usize,
    ledger: Arc<Ledger>,
    received: bool,
}

impl Msg {
    /// The test received this message: settles it as received and returns its id.
    fn receive(mut self) -> usize {
        self.received = true;
        self.ledger.settle(self.id, Fate::Received);
        self.id
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        if !self.received {
            self.ledger.settle(self.id, Fate::Dropped);
        }
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Msg({})", self.id)
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

#[derive(Clone, Copy, Debug)]
enum Arm {
    Recv(usize),
    Send(usize),
}

/// How a dynamic [`Select`] is run.
#[derive(Clone, Copy, Debug)]
enum NonBlocking {
    TrySelect,
    PastDeadline,
    TryReady,
}

#[derive(Clone, Debug)]
enum Op {
    TrySend(usize),
    /// `send`, only where it cannot block (skipped elsewhere).
    Send(usize),
    SendTimeoutZero(usize),
    TryRecv(usize),
    /// `recv`, only where it cannot block (skipped elsewhere).
    Recv(usize),
    RecvTimeoutZero(usize),
    Close {
        chan: usize,
        from_receiver: bool,
    },
    DropSender(usize),
    DropReceiver(usize),
    /// `select! { recv(a), recv(b), default }`.
    SelectRecvRecv(usize, usize),
    /// `select! { recv(a), send(b), default }`, or `select_biased!`.
    SelectRecvSend(usize, usize, bool),
    /// `select! { send(a), send(b), recv(c), default }`.
    SelectSendSendRecv(usize, usize, usize),
    /// A [`Select`] over any arms.
    Dynamic {
        arms: Vec<Arm>,
        biased: bool,
        how: NonBlocking,
    },
}

fn chan() -> impl Strategy<Value = usize> {
    0..CHANNELS
}

fn arm() -> impl Strategy<Value = Arm> {
    prop_oneof![chan().prop_map(Arm::Recv), chan().prop_map(Arm::Send)]
}

fn op() -> impl Strategy<Value = Op> {
    let how = prop_oneof![
        3 => Just(NonBlocking::TrySelect),
        1 => Just(NonBlocking::PastDeadline),
        1 => Just(NonBlocking::TryReady),
    ];
    prop_oneof![
        4 => chan().prop_map(Op::TrySend),
        4 => chan().prop_map(Op::Send),
        1 => chan().prop_map(Op::SendTimeoutZero),
        4 => chan().prop_map(Op::TryRecv),
        3 => chan().prop_map(Op::Recv),
        1 => chan().prop_map(Op::RecvTimeoutZero),
        1 => (chan(), any::<bool>())
            .prop_map(|(chan, from_receiver)| Op::Close { chan, from_receiver }),
        1 => chan().prop_map(Op::DropSender),
        1 => chan().prop_map(Op::DropReceiver),
        2 => (chan(), chan()).prop_map(|(a, b)| Op::SelectRecvRecv(a, b)),
        3 => (chan(), chan(), any::<bool>()).prop_map(|(a, b, biased)| Op::SelectRecvSend(a, b, biased)),
        2 => (chan(), chan(), chan()).prop_map(|(a, b, c)| Op::SelectSendSendRecv(a, b, c)),
        4 => (prop::collection::vec(arm(), 1..=4), any::<bool>(), how)
            .prop_map(|(arms, biased, how)| Op::Dynamic { arms, biased, how }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model and the channels under test

/// One channel: its handles (each may have been dropped) and its model.
struct Chan {
    tx: Option<Sender<Msg>>,
    rx: Option<Receiver<Msg>>,
    /// `Some(0)`: rendezvous; `None`: unbounded.
    cap: Option<usize>,
    /// The ids buffered, oldest first.
    queue: VecDeque<usize>,
    closed: bool,
}

impl Chan {
    fn new(cap: Option<usize>) -> Self {
        let (tx, rx) = match cap {
            Some(cap) => bounded(cap),
            None => unbounded(),
        };
        Self {
            tx: Some(tx),
            rx: Some(rx),
            cap,
            queue: VecDeque::new(),
            closed: false,
        }
    }

    /// A send would succeed now (no partner thread: never on a rendezvous channel).
    fn has_room(&self) -> bool {
        !self.closed && self.cap.map_or(true, |cap| self.queue.len() < cap)
    }

    /// A send arm can proceed now (with an error if closed).
    fn send_ready(&self) -> bool {
        self.closed || self.has_room()
    }

    /// A receive arm can proceed now (with an error if closed and drained).
    fn recv_ready(&self) -> bool {
        self.closed || !self.queue.is_empty()
    }

    /// Both handles gone: the channel is freed and drops what it buffered.
    fn forget_if_freed(&mut self) {
        if self.tx.is_none() && self.rx.is_none() {
            self.queue.clear();
        }
    }
}

/// The outcome of a completed select arm.
enum Done {
    Recv(Result<Msg, RecvError>),
    Send(Result<(), SendError<Msg>>),
}

struct Harness {
    chans: Vec<Chan>,
    ledger: Arc<Ledger>,
}

impl Harness {
    fn new(k: usize) -> Self {
        Self {
            chans: vec![Chan::new(Some(0)), Chan::new(Some(k)), Chan::new(None)],
            ledger: Arc::default(),
        }
    }

    /// A new message whose id is noted in `slot` (for send arms, which may not be chosen).
    fn offer(&self, slot: &Cell<Option<usize>>) -> Msg {
        let msg = self.ledger.create();
        slot.set(Some(msg.id));
        msg
    }

    fn ready(&self, arm: Arm) -> bool {
        match arm {
            Arm::Recv(c) => self.chans[c].recv_ready(),
            Arm::Send(c) => self.chans[c].send_ready(),
        }
    }

    /// Whether every handle the arms need is still there.
    fn has_handles(&self, arms: &[Arm]) -> bool {
        arms.iter().all(|&arm| match arm {
            Arm::Recv(c) => self.chans[c].rx.is_some(),
            Arm::Send(c) => self.chans[c].tx.is_some(),
        })
    }

    /// Applies a received message (or the closed error) on channel `c` to the model.
    fn received(&mut self, c: usize, got: Result<Msg, RecvError>) {
        let chan = &mut self.chans[c];
        match got {
            Ok(msg) => {
                let id = msg.receive();
                assert_eq!(chan.queue.pop_front(), Some(id), "chan {c}: wrong message");
            }
            Err(RecvError) => {
                assert!(chan.closed, "chan {c}: RecvError while open");
                assert!(
                    chan.queue.is_empty(),
                    "chan {c}: RecvError with {:?}",
                    chan.queue
                );
            }
        }
    }

    /// Applies the outcome of a send of message `id` on channel `c` to the model.
    fn sent(&mut self, c: usize, id: usize, res: Result<(), SendError<Msg>>) {
        let chan = &mut self.chans[c];
        match res {
            Ok(()) => {
                assert!(chan.has_room(), "chan {c}: a send succeeded without room");
                chan.queue.push_back(id);
            }
            Err(SendError(msg)) => {
                assert!(chan.closed, "chan {c}: SendError while open");
                assert_eq!(msg.id, id, "chan {c}: another message handed back");
            }
        }
    }

    /// Checks a non-blocking select's choice against the model and applies it. `offered`
    /// holds the id of each send arm's message, if its value was evaluated.
    fn selected(
        &mut self,
        arms: &[Arm],
        biased: bool,
        offered: &[Cell<Option<usize>>],
        outcome: Option<(usize, Done)>,
    ) {
        let ready: Vec<bool> = arms.iter().map(|&arm| self.ready(arm)).collect();
        let Some((index, done)) = outcome else {
            assert!(
                !ready.contains(&true),
                "took the default while ready: {arms:?} {ready:?}"
            );
            return;
        };
        assert!(
            ready[index],
            "chose arm {index}, not ready: {arms:?} {ready:?}"
        );
        if biased {
            assert_eq!(
                Some(index),
                ready.iter().position(|&r| r),
                "biased: not the first ready arm of {arms:?} {ready:?}"
            );
        }
        match (arms[index], done) {
            (Arm::Recv(c), Done::Recv(got)) => self.received(c, got),
            (Arm::Send(c), Done::Send(res)) => {
                let id = offered[index]
                    .get()
                    .expect("the chosen send arm's value was evaluated");
                self.sent(c, id, res);
            }
            _ => panic!("arm {index} completed in the wrong direction"),
        }
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::TrySend(c) => {
                let Some(tx) = &self.chans[c].tx else { return };
                let msg = self.ledger.create();
                let id = msg.id;
                let res = tx.try_send(msg);
                let chan = &mut self.chans[c];
                match res {
                    Ok(()) => {
                        assert!(chan.has_room(), "chan {c}: try_send succeeded without room");
                        chan.queue.push_back(id);
                    }
                    Err(TrySendError::Full(msg)) => {
                        assert!(!chan.closed, "chan {c}: Full while closed");
                        assert!(!chan.has_room(), "chan {c}: Full with room");
                        assert_eq!(msg.id, id);
                    }
                    Err(TrySendError::Closed(msg)) => {
                        assert!(chan.closed, "chan {c}: Closed while open");
                        assert_eq!(msg.id, id);
                    }
                }
            }
            Op::Send(c) => {
                let chan = &self.chans[c];
                let Some(tx) = &chan.tx else { return };
                if !chan.send_ready() {
                    return; // it would block
                }
                let msg = self.ledger.create();
                let id = msg.id;
                let res = tx.send(msg);
                self.sent(c, id, res);
            }
            Op::SendTimeoutZero(c) => {
                let Some(tx) = &self.chans[c].tx else { return };
                let msg = self.ledger.create();
                let id = msg.id;
                let res = tx.send_timeout(msg, Duration::ZERO);
                let chan = &mut self.chans[c];
                match res {
                    Ok(()) => {
                        assert!(chan.has_room(), "chan {c}: send_timeout without room");
                        chan.queue.push_back(id);
                    }
                    Err(SendTimeoutError::Timeout(msg)) => {
                        assert!(!chan.closed, "chan {c}: Timeout while closed");
                        assert!(!chan.has_room(), "chan {c}: Timeout with room");
                        assert_eq!(msg.id, id);
                    }
                    Err(SendTimeoutError::Closed(msg)) => {
                        assert!(chan.closed, "chan {c}: Closed while open");
                        assert_eq!(msg.id, id);
                    }
                }
            }
            Op::TryRecv(c) => {
                let Some(rx) = &self.chans[c].rx else { return };
                match rx.try_recv() {
                    Ok(msg) => self.received(c, Ok(msg)),
                    Err(e) => {
                        let chan = &self.chans[c];
                        assert!(
                            chan.queue.is_empty(),
                            "chan {c}: {e:?} with {:?}",
                            chan.queue
                        );
                        let expected = if chan.closed {
                            TryRecvError::Closed
                        } else {
                            TryRecvError::Empty
                        };
                        assert_eq!(e, expected, "chan {c}");
                    }
                }
            }
            Op::Recv(c) => {
                let chan = &self.chans[c];
                let Some(rx) = &chan.rx else { return };
                if !chan.recv_ready() {
                    return; // it would block
                }
                let got = rx.recv();
                self.received(c, got);
            }
            Op::RecvTimeoutZero(c) => {
                let Some(rx) = &self.chans[c].rx else { return };
                match rx.recv_timeout(Duration::ZERO) {
                    Ok(msg) => self.received(c, Ok(msg)),
                    Err(e) => {
                        let chan = &self.chans[c];
                        assert!(
                            chan.queue.is_empty(),
                            "chan {c}: {e:?} with {:?}",
                            chan.queue
                        );
                        let expected = if chan.closed {
                            RecvTimeoutError::Closed
                        } else {
                            RecvTimeoutError::Timeout
                        };
                        assert_eq!(e, expected, "chan {c}");
                    }
                }
            }
            Op::Close {
                chan: c,
                from_receiver,
            } => {
                let chan = &mut self.chans[c];
                let first = match (&chan.tx, &chan.rx) {
                    (_, Some(rx)) if from_receiver => rx.close(),
                    (Some(tx), _) => tx.close(),
                    (None, Some(rx)) => rx.close(),
                    (None, None) => return,
                };
                assert_eq!(first, !chan.closed, "chan {c}: close() reported wrongly");
                chan.closed = true;
            }
            Op::DropSender(c) => {
                let chan = &mut self.chans[c];
                if chan.tx.take().is_some() {
                    chan.closed = true;
                    chan.forget_if_freed();
                }
            }
            Op::DropReceiver(c) => {
                let chan = &mut self.chans[c];
                if chan.rx.take().is_some() {
                    chan.closed = true;
                    chan.forget_if_freed();
                }
            }
            Op::SelectRecvRecv(a, b) => {
                let arms = [Arm::Recv(a), Arm::Recv(b)];
                if !self.has_handles(&arms) {
                    return;
                }
                let (ra, rb) = (self.rx(a), self.rx(b));
                let outcome = weft::select! {
                    recv(ra) -> got => Some((0, Done::Recv(got))),
                    recv(rb) -> got => Some((1, Done::Recv(got))),
                    default => None,
                };
                self.selected(&arms, false, &[Cell::new(None), Cell::new(None)], outcome);
            }
            Op::SelectRecvSend(a, b, biased) => {
                let arms = [Arm::Recv(a), Arm::Send(b)];
                if !self.has_handles(&arms) {
                    return;
                }
                let offered = [Cell::new(None), Cell::new(None)];
                let (ra, tb) = (self.rx(a), self.tx(b));
                let outcome = if biased {
                    weft::select_biased! {
                        recv(ra) -> got => Some((0, Done::Recv(got))),
                        send(tb, self.offer(&offered[1])) -> res => Some((1, Done::Send(res))),
                        default => None,
                    }
                } else {
                    weft::select! {
                        recv(ra) -> got => Some((0, Done::Recv(got))),
                        send(tb, self.offer(&offered[1])) -> res => Some((1, Done::Send(res))),
                        default => None,
                    }
                };
                self.selected(&arms, biased, &offered, outcome);
            }
            Op::SelectSendSendRecv(a, b, c) => {
                let arms = [Arm::Send(a), Arm::Send(b), Arm::Recv(c)];
                if !self.has_handles(&arms) {
                    return;
                }
                let offered = [Cell::new(None), Cell::new(None), Cell::new(None)];
                let (ta, tb, rc) = (self.tx(a), self.tx(b), self.rx(c));
                let outcome = weft::select! {
                    send(ta, self.offer(&offered[0])) -> res => Some((0, Done::Send(res))),
                    send(tb, self.offer(&offered[1])) -> res => Some((1, Done::Send(res))),
                    recv(rc) -> got => Some((2, Done::Recv(got))),
                    default => None,
                };
                self.selected(&arms, false, &offered, outcome);
            }
            Op::Dynamic {
                ref arms,
                biased,
                how,
            } => {
                if !self.has_handles(arms) {
                    return;
                }
                let offered: Vec<Cell<Option<usize>>> =
                    arms.iter().map(|_| Cell::new(None)).collect();
                let mut sel = if biased {
                    Select::new_biased()
                } else {
                    Select::new()
                };
                for (i, &arm) in arms.iter().enumerate() {
                    let index = match arm {
                        Arm::Recv(c) => sel.recv(self.rx(c)),
                        Arm::Send(c) => sel.send(self.tx(c)),
                    };
                    assert_eq!(index, i);
                }
                let committed = match how {
                    NonBlocking::TrySelect => sel.try_select().ok(),
                    NonBlocking::PastDeadline => sel.select_deadline(Instant::now()).ok(),
                    NonBlocking::TryReady => {
                        let ready = sel.try_ready().ok();
                        drop(sel);
                        self.check_ready(arms, biased, ready);
                        return;
                    }
                };
                let outcome = committed.map(|op| {
                    let index = op.index();
                    let done = match arms[index] {
                        Arm::Recv(c) => Done::Recv(op.recv(self.rx(c))),
                        Arm::Send(c) => {
                            Done::Send(op.send(self.tx(c), self.offer(&offered[index])))
                        }
                    };
                    (index, done)
                });
                drop(sel);
                self.selected(arms, biased, &offered, outcome);
            }
        }
    }

    /// Checks `try_ready`'s answer (it performs nothing).
    fn check_ready(&self, arms: &[Arm], biased: bool, index: Option<usize>) {
        let ready: Vec<bool> = arms.iter().map(|&arm| self.ready(arm)).collect();
        match index {
            None => assert!(
                !ready.contains(&true),
                "try_ready: none, but {arms:?} {ready:?}"
            ),
            Some(i) => {
                assert!(ready[i], "try_ready: {i} not ready in {arms:?} {ready:?}");
                if biased {
                    assert_eq!(Some(i), ready.iter().position(|&r| r), "try_ready, biased");
                }
            }
        }
    }

    fn rx(&self, c: usize) -> &Receiver<Msg> {
        self.chans[c].rx.as_ref().expect("checked by has_handles")
    }

    fn tx(&self, c: usize) -> &Sender<Msg> {
        self.chans[c].tx.as_ref().expect("checked by has_handles")
    }

    /// Every handle's view matches the model, and the messages alive are the ones buffered.
    fn check(&self) {
        self.ledger.assert_no_violations();
        let mut must_live = Vec::new();
        let mut may_live = Vec::new();
        for (c, chan) in self.chans.iter().enumerate() {
            let len = chan.queue.len();
            if let Some(rx) = &chan.rx {
                assert_eq!(rx.len(), len, "chan {c}: len");
                assert_eq!(rx.is_empty(), len == 0, "chan {c}: is_empty");
                assert_eq!(rx.is_full(), chan.cap == Some(len), "chan {c}: is_full");
                assert_eq!(rx.is_closed(), chan.closed, "chan {c}: is_closed");
                assert_eq!(rx.capacity(), chan.cap, "chan {c}: capacity");
                must_live.extend(chan.queue.iter().copied());
            } else {
                // No receiver left: what it buffered is dropped now or when the channel is
                // freed, either is "dropped once".
                may_live.extend(chan.queue.iter().copied());
            }
            if let Some(tx) = &chan.tx {
                if chan.rx.is_some() {
                    assert_eq!(tx.len(), len, "chan {c}: len (sender)");
                    assert_eq!(tx.is_full(), chan.cap == Some(len), "chan {c}: is_full");
                }
                assert_eq!(tx.is_closed(), chan.closed, "chan {c}: is_closed (sender)");
                assert_eq!(tx.capacity(), chan.cap, "chan {c}: capacity (sender)");
            }
        }
        for id in self.ledger.alive() {
            assert!(
                must_live.contains(&id) || may_live.contains(&id),
                "message {id} alive, but buffered in no channel"
            );
        }
        for id in must_live {
            assert_eq!(self.ledger.fate(id), Fate::Alive, "buffered message {id}");
        }
    }

    /// Drops every channel: every message ever created must now be received or dropped.
    fn finish(mut self) {
        let buffered: Vec<usize> = self
            .chans
            .iter()
            .flat_map(|chan| chan.queue.iter().copied())
            .collect();
        self.chans.clear();
        self.ledger.assert_no_violations();
        assert_eq!(self.ledger.alive(), Vec::<usize>::new(), "leaked");
        for id in buffered {
            assert_eq!(self.ledger.fate(id), Fate::Dropped, "buffered message {id}");
        }
    }
}

fn config() -> Config {
    Config {
        // 256 by default, `PROPTEST_CASES` for a longer run; Miri: a handful of cases.
        cases: if cfg!(miri) {
            4
        } else {
            Config::default().cases
        },
        // Shrunk failures are reported in the test output, not written into the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn channels_match_their_model(k in 1..=3usize, ops in prop::collection::vec(op(), 1..80)) {
        let mut harness = Harness::new(k);
        harness.check();
        for op in &ops {
            harness.step(op);
            harness.check();
        }
        harness.finish();
    }
}
