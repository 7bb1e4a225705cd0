//! User faults against the channels and `select`: early exits (`?`, `return`, `break`) and
//! panics in a send arm's value, a `SelectedOperation` dropped (also while unwinding) or
//! completed with the wrong handle, and messages whose `Drop` panics. Each test counts every
//! message's drops exactly, checks the channel still works afterwards, and runs under a
//! watchdog, so that a wedged channel fails the test instead of hanging it.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use weft::chan::{bounded, unbounded, Receiver, Select, Sender};

/// Runs `body` on its own thread; fails if it panics or takes longer than a generous bound.
fn watchdog(body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    let limit = slow_factor() * if cfg!(miri) { 600 } else { 30 };
    let limit = Duration::from_secs(limit);
    match done_rx.recv_timeout(limit) {
        Ok(()) => worker.join().expect("the body finished"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic::resume_unwind(worker.join().expect_err("the body panicked"))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung: a channel was left wedged"),
    }
}

/// How much slower than native this run is: `WEFT_SLOW_FACTOR` (ci/valgrind.sh sets it).
fn slow_factor() -> u64 {
    std::env::var("WEFT_SLOW_FACTOR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// A message that counts its drops; `panics` makes its `Drop` panic (after counting).
struct Msg {
    id: usize,
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics && !thread::panicking() {
            panic!("message {} panics in drop", self.id);
        }
    }
}

fn msg(id: usize, drops: &Arc<AtomicUsize>) -> Msg {
    Msg {
        id,
        drops: Arc::clone(drops),
        panics: false,
    }
}

/// The three flavours, with a capacity: 0 is the rendezvous channel, `None` the list.
const FLAVOURS: [Option<usize>; 3] = [Some(1), Some(0), None];

fn channel<T>(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
    match cap {
        Some(n) => bounded(n),
        None => unbounded(),
    }
}

/// Checks that `tx`/`rx` still pass messages in both orders (a rendezvous needs a partner).
fn still_works(tx: &Sender<Msg>, rx: &Receiver<Msg>, drops: &Arc<AtomicUsize>) {
    let before = drops.load(Ordering::SeqCst);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..3 {
                tx.send(msg(100 + i, drops)).unwrap();
            }
        });
        for i in 0..3 {
            let got = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the channel still delivers");
            assert_eq!(got.id, 100 + i);
        }
    });
    assert!(rx.try_recv().is_err(), "nothing extra is buffered");
    assert_eq!(drops.load(Ordering::SeqCst), before + 3);
}

/// One send and receive first, so that a stale message sits in the slot a select claims
/// next (the double free of issue #16 read it again).
fn warm(tx: &Sender<Msg>, rx: &Receiver<Msg>, drops: &Arc<AtomicUsize>) {
    thread::scope(|s| {
        s.spawn(|| tx.send(msg(0, drops)).unwrap());
        drop(rx.recv().unwrap());
    });
}

/// `true`, opaquely: an early exit the compiler cannot see is taken.
fn leave() -> bool {
    std::hint::black_box(true)
}

fn send_with_question_mark(tx: &Sender<Msg>, v: Option<Msg>) -> Option<()> {
    weft::select! {
        send(tx, v?) -> _r => {},
        default => {},
    }
    Some(())
}

#[test]
fn early_exits_in_a_send_value_touch_no_channel() {
    watchdog(|| {
        for cap in FLAVOURS {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = channel::<Msg>(cap);
            warm(&tx, &rx, &drops);
            // `?`
            assert_eq!(send_with_question_mark(&tx, None), None);
            // `break` out of a loop, from the second arm's value: the first arm's value was
            // evaluated (Go's order) and drops once.
            let mut rounds = 0;
            loop {
                rounds += 1;
                weft::select! {
                    send(tx, msg(1, &drops)) -> _r => {},
                    send(tx, if rounds == 1 { break } else { msg(2, &drops) }) -> _r => {},
                    default => {},
                }
            }
            assert_eq!(rounds, 1);
            // `return` from a closure
            let f = || -> u32 {
                weft::select! {
                    send(tx, if leave() { return 7 } else { msg(4, &drops) }) -> _r => 0,
                    recv(rx) -> _m => 1,
                }
            };
            assert_eq!(f(), 7);
            // panic
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                weft::select! {
                    send(tx, msg(3, &drops)) -> _r => {},
                    send(tx, if leave() { panic!("value panics") } else { msg(5, &drops) }) -> _r => {},
                    default => {},
                }
            }));
            assert!(caught.is_err());
            // msg 0 (received), msg 1, msg 3: each dropped exactly once; nothing was sent.
            assert_eq!(drops.load(Ordering::SeqCst), 3, "flavour {cap:?}");
            assert_eq!(rx.len(), 0);
            still_works(&tx, &rx, &drops);
            drop((tx, rx));
            assert_eq!(drops.load(Ordering::SeqCst), 6, "flavour {cap:?}");
        }
    });
}

#[test]
fn the_issue_reproducer_on_bounded_one() {
    // Issue #16's reproducer: a `?` in the value after one send and receive, then drop both
    // ends (a double free before the fix).
    watchdog(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Msg>(1);
        tx.send(msg(0, &drops)).unwrap();
        drop(rx.recv().unwrap());
        fn f(tx: &Sender<Msg>, v: Option<Msg>) -> Option<()> {
            weft::select! { send(tx, v?) -> _r => {} }
            Some(())
        }
        assert_eq!(f(&tx, None), None);
        assert!(rx.try_recv().is_err());
        drop((tx, rx));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// A selected send that is given back, three ways: dropped, dropped while unwinding, and
/// completed with the wrong sender.
fn give_back_send(tx: &Sender<Msg>, other: &Sender<Msg>, how: usize, drops: &Arc<AtomicUsize>) {
    let mut sel = Select::new();
    sel.send(tx);
    let op = sel
        .select_timeout(Duration::from_secs(10))
        .expect("a send is ready");
    match how {
        0 => drop(op),
        1 => {
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                let _op = op;
                panic!("user code panics before completing");
            }));
            assert!(caught.is_err());
        }
        _ => {
            let m = msg(9, drops);
            let caught = panic::catch_unwind(AssertUnwindSafe(|| op.send(other, m)));
            let err = caught.expect_err("the wrong sender panics");
            let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(text.contains("not a send on this sender"), "{text}");
        }
    }
}

#[test]
fn a_selected_send_given_back_leaves_the_channel_as_it_was() {
    watchdog(|| {
        for cap in [Some(1), Some(3), None] {
            for how in 0..3 {
                let drops = Arc::new(AtomicUsize::new(0));
                let (tx, rx) = channel::<Msg>(cap);
                let (other, _other_rx) = unbounded::<Msg>();
                warm(&tx, &rx, &drops);
                give_back_send(&tx, &other, how, &drops);
                // The wrong-handle message was dropped by the failed call (how 2).
                let base = 1 + usize::from(how == 2);
                assert_eq!(rx.len(), 0, "flavour {cap:?}, how {how}");
                assert!(rx.try_recv().is_err());
                // Capacity is intact: a bounded(n) channel takes n messages again.
                if let Some(n) = cap {
                    for i in 0..n {
                        tx.try_send(msg(10 + i, &drops)).expect("room is back");
                    }
                    assert!(tx.try_send(msg(99, &drops)).is_err());
                    for i in 0..n {
                        assert_eq!(rx.try_recv().unwrap().id, 10 + i);
                    }
                    assert_eq!(drops.load(Ordering::SeqCst), base + n + 1);
                }
                still_works(&tx, &rx, &drops);
            }
        }
    });
}

#[test]
fn a_send_given_back_after_a_later_claim_leaves_a_hole_receivers_pass() {
    watchdog(|| {
        for cap in [Some(4), None] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = channel::<Msg>(cap);
            let mut sel = Select::new();
            sel.send(&tx);
            let op = sel.try_select().expect("room");
            // Another send claims the slot after ours, so ours cannot be rolled back.
            tx.send(msg(1, &drops)).unwrap();
            drop(op);
            assert_eq!(rx.len(), 1, "the hole is not a message: {cap:?}");
            assert_eq!(rx.try_recv().unwrap().id, 1);
            assert!(rx.try_recv().is_err());
            assert_eq!(rx.len(), 0);
            still_works(&tx, &rx, &drops);
            // A hole left in the buffer when the channel drops is not dropped as a message.
            drop(sel);
            let mut sel = Select::new();
            sel.send(&tx);
            let op = sel.try_select().expect("room");
            tx.send(msg(2, &drops)).unwrap();
            drop(op);
            drop(sel);
            drop((tx, rx));
            assert_eq!(drops.load(Ordering::SeqCst), 5);
        }
    });
}

#[test]
fn a_selected_receive_given_back_keeps_its_message() {
    watchdog(|| {
        for cap in [Some(2), None] {
            for how in 0..3 {
                let drops = Arc::new(AtomicUsize::new(0));
                let (tx, rx) = channel::<Msg>(cap);
                let (_other_tx, other) = unbounded::<Msg>();
                tx.send(msg(1, &drops)).unwrap();
                tx.send(msg(2, &drops)).unwrap();
                {
                    let mut sel = Select::new();
                    sel.recv(&rx);
                    let op = sel.try_select().expect("a message is there");
                    match how {
                        0 => drop(op),
                        1 => {
                            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                                let _op = op;
                                panic!("user code panics");
                            }));
                            assert!(caught.is_err());
                        }
                        _ => {
                            let caught = panic::catch_unwind(AssertUnwindSafe(|| op.recv(&other)));
                            assert!(caught.is_err(), "the wrong receiver panics");
                        }
                    }
                }
                // Rolled back in place: order and count unchanged.
                assert_eq!(rx.len(), 2);
                assert_eq!(rx.try_recv().unwrap().id, 1);
                assert_eq!(rx.try_recv().unwrap().id, 2);
                assert_eq!(drops.load(Ordering::SeqCst), 2);
                still_works(&tx, &rx, &drops);
            }
        }
    });
}

#[test]
fn a_receive_overtaken_before_its_give_back_is_delivered_by_the_next_select() {
    watchdog(|| {
        for cap in [Some(2), None] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = channel::<Msg>(cap);
            tx.send(msg(1, &drops)).unwrap();
            tx.send(msg(2, &drops)).unwrap();
            let mut sel = Select::new();
            sel.recv(&rx);
            let op = sel.try_select().expect("a message is there");
            // Another receiver claims past ours: ours cannot go back in place.
            assert_eq!(rx.try_recv().unwrap().id, 2);
            drop(op);
            let op = sel.try_select().expect("the kept message is ready");
            assert_eq!(op.recv(&rx).unwrap().id, 1);
            assert!(sel.try_select().is_err());
            // Kept once more, then the Select drops with it: dropped exactly once.
            tx.send(msg(3, &drops)).unwrap();
            tx.send(msg(4, &drops)).unwrap();
            let op = sel.try_select().unwrap();
            assert_eq!(rx.try_recv().unwrap().id, 4);
            drop(op);
            drop(sel);
            assert_eq!(drops.load(Ordering::SeqCst), 4);
            still_works(&tx, &rx, &drops);
        }
    });
}

#[test]
fn a_rendezvous_partner_of_a_given_back_send_keeps_waiting_and_times_out_as_asked() {
    watchdog(|| {
        for how in 0..3 {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = bounded::<Msg>(0);
            let (other, _other_rx) = unbounded::<Msg>();
            thread::scope(|s| {
                let t0 = Instant::now();
                let waiting = s.spawn(|| {
                    let start = Instant::now();
                    let got = rx.recv_timeout(Duration::from_millis(300));
                    (got.map(|m| m.id), start.elapsed())
                });
                // Select the waiting receiver (it registers, then our select finds it).
                let mut sel = Select::new();
                sel.send(&tx);
                give_back_send_after(&mut sel, &other, how, &drops);
                // The committed receiver waits for the give-back, which comes when the
                // operation drops: after the panic hook ran, when the user code panics (its
                // backtrace capture alone took 6 s under ThreadSanitizer). It must time out
                // at its deadline or just after the give-back, whichever is later.
                let given_back = t0.elapsed();
                let (got, waited) = waiting.join().unwrap();
                assert!(got.is_err(), "no message was sent");
                assert!(waited >= Duration::from_millis(300), "{waited:?}");
                let due = given_back.max(Duration::from_millis(300));
                assert!(
                    waited < due + Duration::from_secs(5),
                    "it timed out as asked: {waited:?}, given back after {given_back:?}"
                );
            });
            still_works(&tx, &rx, &drops);
        }
    });
}

fn give_back_send_after(
    sel: &mut Select<'_>,
    other: &Sender<Msg>,
    how: usize,
    drops: &Arc<AtomicUsize>,
) {
    let op = sel
        .select_timeout(Duration::from_secs(10))
        .expect("the receiver arrives");
    match how {
        0 => drop(op),
        1 => {
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                let _op = op;
                panic!("user code panics");
            }));
            assert!(caught.is_err());
        }
        _ => {
            let m = msg(9, drops);
            assert!(panic::catch_unwind(AssertUnwindSafe(|| op.send(other, m))).is_err());
        }
    }
}

#[test]
fn a_rendezvous_sender_whose_selected_receive_is_given_back_keeps_its_message() {
    watchdog(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Msg>(0);
        thread::scope(|s| {
            let sender = s.spawn(|| tx.send_timeout(msg(1, &drops), Duration::from_secs(10)));
            // Let the sender register first, then select it and give it back. (Had our
            // select registered first, the sender would hand the message into our arm and
            // leave: see the next test.)
            thread::sleep(Duration::from_millis(50));
            let mut sel = Select::new();
            sel.recv(&rx);
            let op = sel.select_timeout(Duration::from_secs(10)).unwrap();
            drop(op);
            drop(sel);
            // The sender still waits with its message; a plain receive takes it.
            let got = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(got.id, 1);
            assert!(sender.join().unwrap().is_ok());
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        still_works(&tx, &rx, &drops);
    });
}

#[test]
fn a_select_send_given_back_to_a_selecting_receiver_lets_it_select_again() {
    // Both ends are dynamic selects on a rendezvous channel; the sending one gives back.
    watchdog(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Msg>(0);
        let (tx2, rx2) = bounded::<Msg>(1);
        thread::scope(|s| {
            let receiver = s.spawn(|| {
                let mut sel = Select::new();
                sel.recv(&rx);
                sel.recv(&rx2);
                let op = sel.select_timeout(Duration::from_secs(10)).unwrap();
                match op.index() {
                    0 => op.recv(&rx).unwrap().id,
                    _ => op.recv(&rx2).unwrap().id,
                }
            });
            thread::sleep(Duration::from_millis(20));
            let mut sel = Select::new();
            sel.send(&tx);
            drop(sel.select_timeout(Duration::from_secs(10)).unwrap());
            tx2.send(msg(2, &drops)).unwrap();
            assert_eq!(receiver.join().unwrap(), 2);
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        still_works(&tx, &rx, &drops);
    });
}

#[test]
fn a_panicking_message_drop_does_not_leak_the_others() {
    watchdog(|| {
        for cap in [Some(8), None] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = channel::<Msg>(cap);
            for id in 0..5 {
                let mut m = msg(id, &drops);
                m.panics = id == 1;
                tx.send(m).unwrap();
            }
            let caught = panic::catch_unwind(AssertUnwindSafe(|| drop((tx, rx))));
            assert!(caught.is_err(), "the first panic propagates");
            assert_eq!(
                drops.load(Ordering::SeqCst),
                5,
                "every message dropped: {cap:?}"
            );
        }
    });
}

#[test]
fn select_send_arms_not_chosen_drop_their_values_on_every_flavour() {
    watchdog(|| {
        for cap in FLAVOURS {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = channel::<Msg>(cap);
            let (ready_tx, ready_rx) = bounded::<u8>(1);
            ready_tx.send(1).unwrap();
            // The biased select takes the ready receive first; the send's value drops.
            weft::select_biased! {
                recv(ready_rx) -> r => assert_eq!(r, Ok(1)),
                send(tx, msg(1, &drops)) -> _r => panic!("the first arm was ready"),
            }
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert!(rx.try_recv().is_err());
            still_works(&tx, &rx, &drops);
        }
    });
}

#[test]
fn a_blocked_select_send_on_a_rendezvous_delivers_once_or_keeps_its_value() {
    // The select! send arm registers its value in its packet; a receiver takes it from
    // there. When the select times out instead, the value is dropped once.
    watchdog(|| {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Msg>(0);
        let mut sent = 0;
        let mut received = 0;
        thread::scope(|s| {
            let r = s.spawn(|| {
                let mut got = 0;
                while let Ok(m) = rx.recv_timeout(Duration::from_millis(200)) {
                    assert_eq!(m.id, got);
                    got += 1;
                }
                got
            });
            let mut id = 0;
            for _ in 0..rounds {
                weft::select! {
                    send(tx, msg(id, &drops)) -> r => { r.unwrap(); sent += 1; id += 1; },
                    default(Duration::from_millis(1)) => {},
                }
            }
            received = r.join().unwrap();
        });
        assert_eq!(sent, received);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            rounds,
            "every value dropped once"
        );
    });
}

#[test]
fn a_rendezvous_message_handed_into_a_given_back_receive_stays_with_the_select() {
    watchdog(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<Msg>(0);
        let mut sel = Select::new();
        sel.recv(&rx);
        thread::scope(|s| {
            // The select registers first; the sender then hands its message into the
            // select's packet and returns.
            let sender = s.spawn(|| {
                thread::sleep(Duration::from_millis(50));
                tx.send(msg(1, &drops))
            });
            let op = sel.select_timeout(Duration::from_secs(10)).unwrap();
            drop(op);
            assert!(sender.join().unwrap().is_ok());
        });
        // Delivered by the select's next selection of that operation.
        let op = sel.try_select().expect("the kept message is ready");
        assert_eq!(op.recv(&rx).unwrap().id, 1);
        assert!(sel.try_select().is_err());
        drop(sel);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        still_works(&tx, &rx, &drops);
    });
}
