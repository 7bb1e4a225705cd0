//! A bounded randomized soak of the channels under several threads: every flavour, blocking
//! and async selects over two channels, `default` and timeouts, timed sends and receives,
//! async futures dropped while they wait, and both close orders, with a ledger that checks
//! every message was delivered exactly once, handed back in an error, or dropped exactly once.
//!
//! Each round draws its shape from a seeded generator: the two channels' flavours, how many
//! producers and consumers, how many operations, which close order. A watchdog fails the run
//! with the round's seed and shape when a round does not finish in time (a wedge).
//!
//! Default run: about 3 s. `WEFT_SOAK_SECS=600` soaks longer; `WEFT_SOAK_SEED=n` replays a
//! run (the seed of a failed round is printed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use weft::chan::{
    bounded, unbounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};

// Ledger flags of one message.
const SENT: u8 = 1; // a send reported success
const DELIVERED: u8 = 2; // a receiver got it
const RETURNED: u8 = 4; // an error handed it back to its sender
const DROPPED: u8 = 8; // its Drop ran

/// What happened to every message of a round. Violations are recorded, never panicked on:
/// a panic in `Drop` during a channel's own drop loop would hide the first fault.
#[derive(Default)]
struct Ledger {
    next: AtomicU64,
    flags: Mutex<HashMap<u64, u8>>,
    violations: Mutex<Vec<String>>,
}

impl Ledger {
    fn make(self: &Arc<Self>) -> Msg {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.flags.lock().unwrap().insert(id, 0);
        Msg {
            id,
            ledger: Arc::clone(self),
        }
    }

    fn mark(&self, id: u64, flag: u8) {
        let mut flags = self.flags.lock().unwrap();
        let entry = flags.entry(id).or_insert(0);
        if *entry & flag != 0 {
            let what = match flag {
                SENT => "sent twice",
                DELIVERED => "delivered twice",
                RETURNED => "returned twice",
                _ => "dropped twice",
            };
            self.violations
                .lock()
                .unwrap()
                .push(format!("message {id}: {what}"));
        }
        *entry |= flag;
    }

    /// Checks the end state once every channel end and message is gone. `drained`: the
    /// senders closed first and the consumers received until the channels were empty, so
    /// every successful send must have been delivered.
    fn check(&self, drained: bool, totals: &mut [u64; 4]) -> Vec<String> {
        let mut out = self.violations.lock().unwrap().clone();
        let flags = self.flags.lock().unwrap();
        for &f in flags.values() {
            totals[0] += 1;
            totals[1] += u64::from(f & SENT != 0);
            totals[2] += u64::from(f & DELIVERED != 0);
            totals[3] += u64::from(f & RETURNED != 0);
        }
        let made = self.next.load(Ordering::Relaxed);
        if flags.len() as u64 != made {
            out.push(format!(
                "{} messages made, {} in the ledger",
                made,
                flags.len()
            ));
        }
        for (&id, &f) in flags.iter() {
            if f & DROPPED == 0 {
                out.push(format!(
                    "message {id}: never dropped (leaked), flags {f:#b}"
                ));
            }
            if f & DELIVERED != 0 && f & RETURNED != 0 {
                out.push(format!("message {id}: delivered and also returned"));
            }
            if f & SENT != 0 && f & RETURNED != 0 {
                out.push(format!("message {id}: sent and also returned"));
            }
            if drained && f & SENT != 0 && f & DELIVERED == 0 {
                out.push(format!("message {id}: sent but lost (never delivered)"));
            }
            if out.len() > 20 {
                break;
            }
        }
        out
    }
}

struct Msg {
    id: u64,
    ledger: Arc<Ledger>,
}

impl Msg {
    fn sent(id: u64, ledger: &Ledger) {
        ledger.mark(id, SENT);
    }
    fn delivered(self) {
        self.ledger.mark(self.id, DELIVERED);
    }
    fn returned(self) {
        self.ledger.mark(self.id, RETURNED);
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.ledger.mark(self.id, DROPPED);
    }
}

/// xorshift64*: small, seedable, good enough to pick shapes and operations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, Debug)]
enum Flavour {
    Rendezvous,
    One,
    Three,
    Unbounded,
}

impl Flavour {
    fn pick(rng: &mut Rng) -> Flavour {
        [
            Flavour::Rendezvous,
            Flavour::One,
            Flavour::Three,
            Flavour::Unbounded,
        ][rng.below(4) as usize]
    }
    fn make(self) -> (Sender<Msg>, Receiver<Msg>) {
        match self {
            Flavour::Rendezvous => bounded(0),
            Flavour::One => bounded(1),
            Flavour::Three => bounded(3),
            Flavour::Unbounded => unbounded(),
        }
    }
}

#[derive(Debug)]
struct Shape {
    a: Flavour,
    b: Flavour,
    producers: usize,
    consumers: usize,
    ops: usize,
    /// Receivers close first (after `stop_after` deliveries): senders get their values back.
    receivers_first: bool,
    stop_after: usize,
}

impl Shape {
    fn pick(rng: &mut Rng) -> Shape {
        let ops = if cfg!(debug_assertions) { 300 } else { 2000 };
        Shape {
            a: Flavour::pick(rng),
            b: Flavour::pick(rng),
            producers: 1 + rng.below(3) as usize,
            consumers: 1 + rng.below(2) as usize,
            ops: ops / 2 + rng.below(ops as u64) as usize,
            receivers_first: rng.below(2) == 0,
            stop_after: rng.below(ops as u64) as usize,
        }
    }
}

const SHORT: Duration = Duration::from_micros(300);

/// One producer operation, chosen at random, on one of the two channels or both.
fn produce(rng: &mut Rng, ledger: &Arc<Ledger>, a: &Sender<Msg>, b: &Sender<Msg>) {
    let tx = if rng.below(2) == 0 { a } else { b };
    match rng.below(9) {
        0 => {
            let m = ledger.make();
            let id = m.id;
            match tx.send(m) {
                Ok(()) => Msg::sent(id, ledger),
                Err(e) => e.0.returned(),
            }
        }
        1 => {
            let m = ledger.make();
            let id = m.id;
            match tx.try_send(m) {
                Ok(()) => Msg::sent(id, ledger),
                Err(TrySendError::Full(m) | TrySendError::Closed(m)) => m.returned(),
            }
        }
        2 => {
            let m = ledger.make();
            let id = m.id;
            match tx.send_timeout(m, SHORT) {
                Ok(()) => Msg::sent(id, ledger),
                Err(SendTimeoutError::Timeout(m) | SendTimeoutError::Closed(m)) => m.returned(),
            }
        }
        3 => {
            // Blocking select over both channels: the unchosen value is dropped unsent.
            let (ma, mb) = (ledger.make(), ledger.make());
            let (ia, ib) = (ma.id, mb.id);
            weft::select! {
                send(a, ma) -> r => match r { Ok(()) => Msg::sent(ia, ledger), Err(e) => e.0.returned() },
                send(b, mb) -> r => match r { Ok(()) => Msg::sent(ib, ledger), Err(e) => e.0.returned() },
            }
        }
        4 => {
            let (ma, mb) = (ledger.make(), ledger.make());
            let (ia, ib) = (ma.id, mb.id);
            weft::select! {
                send(a, ma) -> r => match r { Ok(()) => Msg::sent(ia, ledger), Err(e) => e.0.returned() },
                send(b, mb) -> r => match r { Ok(()) => Msg::sent(ib, ledger), Err(e) => e.0.returned() },
                default(SHORT) => {},
            }
        }
        5 => {
            let m = ledger.make();
            let id = m.id;
            weft::select_biased! {
                send(tx, m) -> r => match r { Ok(()) => Msg::sent(id, ledger), Err(e) => e.0.returned() },
                default => {},
            }
        }
        6 => {
            // An async send polled once and dropped if it must wait: its value is sent or
            // dropped with the future, never both.
            let m = ledger.make();
            let id = m.id;
            match tx.send_async(m).now_or_never() {
                Some(Ok(())) => Msg::sent(id, ledger),
                Some(Err(e)) => e.0.returned(),
                None => {}
            }
        }
        7 => {
            // An async send cancelled by a timeout while it waits.
            let m = ledger.make();
            let id = m.id;
            let fut = weft::time::timeout(SHORT, tx.send_async(m));
            match futures::executor::block_on(fut) {
                Ok(Ok(())) => Msg::sent(id, ledger),
                Ok(Err(e)) => e.0.returned(),
                Err(_elapsed) => {}
            }
        }
        _ => {
            // An async select over both, dropped at its await point by a timeout.
            let (ma, mb) = (ledger.make(), ledger.make());
            let (ia, ib) = (ma.id, mb.id);
            let fut = weft::time::timeout(SHORT, async {
                weft::select_async! {
                    send(a, ma) -> r => match r { Ok(()) => Msg::sent(ia, ledger), Err(e) => e.0.returned() },
                    send(b, mb) -> r => match r { Ok(()) => Msg::sent(ib, ledger), Err(e) => e.0.returned() },
                }
            });
            let _ = futures::executor::block_on(fut);
        }
    }
}

/// One consumer step over the channels still open. A receive that finds its channel closed
/// and empty clears that side. Every wait is bounded, so consumers never block each other.
fn consume(rng: &mut Rng, a: &mut Option<Receiver<Msg>>, b: &mut Option<Receiver<Msg>>) -> usize {
    fn take(r: Result<Msg, ()>, side: &mut Option<Receiver<Msg>>) -> usize {
        match r {
            Ok(m) => {
                m.delivered();
                1
            }
            Err(()) => {
                *side = None;
                0
            }
        }
    }
    match (a.as_ref(), b.as_ref()) {
        (Some(ra), Some(rb)) => match rng.below(4) {
            0 => {
                let ra = ra.clone();
                let rb = rb.clone();
                // (bound first: as a block's tail the select's temporaries would outlive
                // `ra` and `rb`, Rust 2021's tail-expression rule)
                let n = weft::select! {
                    recv(ra) -> r => take(r.map_err(drop), a),
                    recv(rb) -> r => take(r.map_err(drop), b),
                    default(SHORT) => 0,
                };
                n
            }
            1 => {
                let ra = ra.clone();
                let rb = rb.clone();
                let fut = weft::time::timeout(SHORT, async {
                    weft::select_async! {
                        recv(ra) -> r => take(r.map_err(drop), a),
                        recv(rb) -> r => take(r.map_err(drop), b),
                    }
                });
                futures::executor::block_on(fut).unwrap_or(0)
            }
            2 => consume_one(rng, a),
            _ => consume_one(rng, b),
        },
        (Some(_), None) => consume_one(rng, a),
        (None, Some(_)) => consume_one(rng, b),
        (None, None) => 0,
    }
}

fn consume_one(rng: &mut Rng, side: &mut Option<Receiver<Msg>>) -> usize {
    let rx = side.as_ref().unwrap();
    let got = match rng.below(4) {
        0 => match rx.try_recv() {
            Ok(m) => Some(m),
            Err(TryRecvError::Empty) => return 0,
            Err(TryRecvError::Closed) => None,
        },
        1 => match rx.recv_timeout(SHORT) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => return 0,
            Err(RecvTimeoutError::Closed) => None,
        },
        2 => match rx.recv_async().now_or_never() {
            Some(Ok(m)) => Some(m),
            Some(Err(_)) => None,
            None => return 0,
        },
        _ => match futures::executor::block_on(weft::time::timeout(SHORT, rx.recv_async())) {
            Ok(Ok(m)) => Some(m),
            Ok(Err(_)) => None,
            Err(_elapsed) => return 0,
        },
    };
    match got {
        Some(m) => {
            m.delivered();
            1
        }
        None => {
            *side = None;
            0
        }
    }
}

/// Runs one round to the end and returns the ledger's verdict.
fn round(seed: u64, shape: &Shape, totals: &mut [u64; 4]) -> Vec<String> {
    let ledger = Arc::new(Ledger::default());
    {
        let (ta, ra) = shape.a.make();
        let (tb, rb) = shape.b.make();
        let delivered = Arc::new(AtomicUsize::new(0));
        let producers_done = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for p in 0..shape.producers {
            let (ta, tb, ledger) = (ta.clone(), tb.clone(), Arc::clone(&ledger));
            let done = Arc::clone(&producers_done);
            let ops = shape.ops;
            threads.push(std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ (p as u64 + 1) << 32);
                for _ in 0..ops {
                    produce(&mut rng, &ledger, &ta, &tb);
                }
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
        for c in 0..shape.consumers {
            let (mut ra, mut rb) = (Some(ra.clone()), Some(rb.clone()));
            let (delivered, stop) = (Arc::clone(&delivered), Arc::clone(&stop));
            let done = Arc::clone(&producers_done);
            let (receivers_first, stop_after, producers) =
                (shape.receivers_first, shape.stop_after, shape.producers);
            threads.push(std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ (c as u64 + 100) << 32);
                while ra.is_some() || rb.is_some() {
                    if receivers_first
                        && (stop.load(Ordering::SeqCst)
                            || delivered.load(Ordering::SeqCst) >= stop_after
                            || done.load(Ordering::SeqCst) == producers)
                    {
                        stop.store(true, Ordering::SeqCst);
                        break; // drops this consumer's receivers
                    }
                    let n = consume(&mut rng, &mut ra, &mut rb);
                    delivered.fetch_add(n, Ordering::SeqCst);
                }
            }));
        }
        // Only the threads hold ends now: senders close when the producers finish, the
        // receivers when the consumers stop or see both channels drained.
        drop((ta, tb, ra, rb));
        for t in threads {
            if let Err(e) = t.join() {
                std::panic::resume_unwind(e);
            }
        }
    }
    // Every end is gone, so every message still buffered has been dropped with its channel.
    ledger.check(!shape.receivers_first, totals)
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a multi-second soak; Miri runs the targeted tests instead"
)]
fn soak_every_flavour_select_close_and_cancel() {
    let secs: f64 = std::env::var("WEFT_SOAK_SECS")
        .ok()
        .map(|s| s.parse().expect("WEFT_SOAK_SECS: a number of seconds"))
        .unwrap_or(3.0);
    let base: u64 = std::env::var("WEFT_SOAK_SEED")
        .ok()
        .map(|s| s.parse().expect("WEFT_SOAK_SEED: an integer"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("soak: base seed {base} (WEFT_SOAK_SEED={base} replays), {secs} s");
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let rounds = AtomicU64::new(0);
    let mut i = 0u64;
    let mut totals = [0u64; 4];
    while Instant::now() < end || i < 4 {
        let seed = base.wrapping_add(i);
        let shape = Shape::pick(&mut Rng::new(seed));
        let (done_tx, done_rx) = mpsc::channel();
        let runner = std::thread::spawn({
            let shape_seed = seed;
            move || {
                let shape = Shape::pick(&mut Rng::new(shape_seed));
                let mut totals = [0; 4];
                let verdict = round(shape_seed, &shape, &mut totals);
                let _ = done_tx.send(());
                (verdict, totals)
            }
        });
        // A round's work is bounded (every wait in it is a short timeout or meets a live
        // partner), so one that outlives the watchdog is wedged.
        match done_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(()) => {}
            Err(_) => panic!("soak round {i} (seed {seed}) wedged: {shape:?}"),
        }
        let (verdict, t) = match runner.join() {
            Ok(v) => v,
            Err(_) => panic!("soak round {i} (seed {seed}) panicked: {shape:?}"),
        };
        assert!(
            verdict.is_empty(),
            "soak round {i} (seed {seed}) {shape:?}: {verdict:#?}"
        );
        for (sum, x) in totals.iter_mut().zip(t) {
            *sum += x;
        }
        rounds.fetch_add(1, Ordering::Relaxed);
        i += 1;
    }
    println!(
        "soak: {} rounds; messages made {}, sent {}, delivered {}, returned {}",
        rounds.load(Ordering::Relaxed),
        totals[0],
        totals[1],
        totals[2],
        totals[3]
    );
    // The soak must have exercised every outcome, or it checked nothing.
    assert!(
        totals[1] > 0 && totals[2] > 0 && totals[3] > 0,
        "{totals:?}"
    );
}
