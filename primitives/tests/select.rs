//! `select!`, `select_biased!` and `Select`: Go's select semantics over every flavour.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use weft::chan::{
    bounded, unbounded, Receiver, RecvError, Select, SelectTimeoutError, SendError, Sender,
    TrySelectError,
};

/// Makes a channel of one flavour.
type Make<T> = fn() -> (Sender<T>, Receiver<T>);

/// The three flavours: rendezvous, ring buffer, list.
fn flavours<T>() -> Vec<(&'static str, Make<T>)> {
    vec![
        ("bounded(0)", || bounded(0)),
        ("bounded(1)", || bounded(1)),
        ("bounded(8)", || bounded(8)),
        ("unbounded", unbounded),
    ]
}

/// Rounds for tests that loop; fewer under Miri.
fn rounds(n: usize) -> usize {
    if cfg!(miri) {
        (n / 50).max(4)
    } else {
        n
    }
}

#[test]
fn ready_arm_is_taken() {
    let (tx1, rx1) = bounded::<i32>(1);
    let (_tx2, rx2) = bounded::<i32>(1);
    tx1.send(5).unwrap();
    let got = weft::select! {
        recv(rx1) -> m => m,
        recv(rx2) -> _m => panic!("rx2 is empty"),
    };
    assert_eq!(got, Ok(5));
}

#[test]
fn biased_takes_the_first_ready_arm() {
    let (tx1, rx1) = unbounded::<i32>();
    let (tx2, rx2) = unbounded::<i32>();
    for i in 0..100 {
        tx1.send(i).unwrap();
        tx2.send(i).unwrap();
    }
    for i in 0..100 {
        let got = weft::select_biased! {
            recv(rx1) -> m => (1, m.unwrap()),
            recv(rx2) -> m => (2, m.unwrap()),
        };
        assert_eq!(got, (1, i));
    }
}

#[test]
fn unbiased_choice_is_near_uniform() {
    // Three ready arms over thousands of rounds: each is chosen about a third of the time. The
    // bounds are wide (a fair choice misses them with probability far below 1e-9).
    let n = rounds(6000);
    let chans: Vec<_> = (0..3).map(|_| unbounded::<()>()).collect();
    for (tx, _) in &chans {
        for _ in 0..n {
            tx.send(()).unwrap();
        }
    }
    let mut counts = [0usize; 3];
    for _ in 0..n {
        let i = weft::select! {
            recv(chans[0].1) -> _m => 0,
            recv(chans[1].1) -> _m => 1,
            recv(chans[2].1) -> _m => 2,
        };
        counts[i] += 1;
    }
    if !cfg!(miri) {
        for c in counts {
            assert!((1700..=2300).contains(&c), "unfair choice: {counts:?}");
        }
    } else {
        assert_eq!(counts.iter().sum::<usize>(), n);
    }
}

#[test]
fn dynamic_select_is_fair_and_biased_variant_is_not() {
    let n = rounds(4000);
    let (tx1, rx1) = unbounded::<()>();
    let (tx2, rx2) = unbounded::<()>();
    for _ in 0..2 * n {
        tx1.send(()).unwrap();
        tx2.send(()).unwrap();
    }
    let mut fair = [0usize; 2];
    let mut sel = Select::new();
    sel.recv(&rx1);
    sel.recv(&rx2);
    for _ in 0..n {
        let oper = sel.select();
        let i = oper.index();
        oper.recv([&rx1, &rx2][i]).unwrap();
        fair[i] += 1;
    }
    if !cfg!(miri) {
        assert!(fair.iter().all(|&c| c > n * 2 / 5), "unfair: {fair:?}");
    }
    let mut biased = Select::new_biased();
    biased.recv(&rx1);
    biased.recv(&rx2);
    for _ in 0..n {
        let oper = biased.select();
        assert_eq!(oper.index(), 0);
        oper.recv(&rx1).unwrap();
    }
}

#[test]
fn default_runs_when_nothing_is_ready() {
    for (name, make) in flavours::<i32>() {
        let (tx, rx) = make();
        let got = weft::select! {
            recv(rx) -> _m => "recv",
            default => "default",
        };
        assert_eq!(got, "default", "{name}");
        if name == "bounded(0)" {
            // No receiver waits: a rendezvous send is not ready either.
            let got = weft::select! {
                send(tx, 1) -> _r => "send",
                default => "default",
            };
            assert_eq!(got, "default", "{name}");
        }
    }
}

#[test]
fn default_timeout_expires_and_waits_long_enough() {
    for (name, make) in flavours::<i32>() {
        let (_tx, rx) = make();
        let start = Instant::now();
        let got = weft::select! {
            recv(rx) -> _m => false,
            default(Duration::from_millis(20)) => true,
        };
        assert!(got, "{name}");
        assert!(start.elapsed() >= Duration::from_millis(20), "{name}");
    }
}

#[test]
fn blocked_select_wakes_for_a_later_send_on_every_flavour() {
    for (name, make) in flavours::<u32>() {
        let (tx_a, rx_a) = make();
        let (_tx_b, rx_b) = bounded::<u32>(1);
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            tx_a.send(9).unwrap();
        });
        let got = weft::select! {
            recv(rx_b) -> _m => panic!("nothing is sent on b"),
            recv(rx_a) -> m => m,
        };
        assert_eq!(got, Ok(9), "{name}");
        t.join().unwrap();
    }
}

#[test]
fn blocked_send_arm_wakes_when_room_appears() {
    for (name, make) in flavours::<u32>() {
        if name == "unbounded" {
            continue; // never full
        }
        let (tx, rx) = make();
        if let Some(cap) = tx.capacity().filter(|&c| c > 0) {
            for i in 0..cap {
                tx.send(i as u32).unwrap();
            }
        }
        let (_tx2, rx2) = bounded::<u32>(1);
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            rx.iter().take(tx_len_after(&rx)).count()
        });
        fn tx_len_after(rx: &Receiver<u32>) -> usize {
            rx.capacity().unwrap() + 1
        }
        let got = weft::select! {
            send(tx, 100) -> r => r,
            recv(rx2) -> _m => panic!("nothing is sent on rx2"),
        };
        assert_eq!(got, Ok(()), "{name}");
        drop(tx);
        assert_eq!(t.join().unwrap(), tx_len_after_cap(name), "{name}");
    }
    fn tx_len_after_cap(name: &str) -> usize {
        match name {
            "bounded(0)" => 1,
            "bounded(1)" => 2,
            _ => 9,
        }
    }
}

#[test]
fn closed_channels_make_their_arms_ready() {
    for (name, make) in flavours::<String>() {
        let (tx, rx) = make();
        tx.close();
        let got = weft::select! {
            recv(rx) -> m => m,
        };
        assert_eq!(got, Err(RecvError), "{name}");
        let got = weft::select! {
            send(tx, "kept".to_string()) -> r => r,
        };
        assert_eq!(got, Err(SendError("kept".to_string())), "{name}");
    }
}

#[test]
fn recv_arm_drains_before_reporting_close() {
    let (tx, rx) = bounded::<i32>(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    let mut got = Vec::new();
    loop {
        let r = weft::select! { recv(rx) -> m => m };
        match r {
            Ok(v) => got.push(v),
            Err(RecvError) => break,
        }
    }
    assert_eq!(got, [1, 2]);
}

#[test]
fn close_wakes_a_blocked_select() {
    for (name, make) in flavours::<i32>() {
        let (tx, rx) = make();
        let (_tx2, rx2) = bounded::<i32>(0);
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            tx.close();
        });
        let got = weft::select! {
            recv(rx2) -> _m => panic!("rx2 never ready"),
            recv(rx) -> m => m,
        };
        assert_eq!(got, Err(RecvError), "{name}");
        t.join().unwrap();
    }
}

#[test]
fn send_values_are_evaluated_on_entering_in_source_order() {
    // Go's order: every channel operand and send value once, in source order, before any
    // operation is attempted; the values of the arms not chosen drop when the select returns.
    let order = std::sync::Mutex::new(Vec::new());
    let note = |what: &'static str| order.lock().unwrap().push(what);
    let make = |v: i32, what: &'static str| {
        note(what);
        v
    };
    let (tx_full, _rx_full) = bounded::<i32>(1);
    tx_full.send(0).unwrap();
    let (tx_ok, rx_ok) = bounded::<i32>(1);
    let dropped = AtomicUsize::new(0);
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let (tx_s, _rx_s) = bounded::<Counted<'_>>(0);
    weft::select! {
        send(*{ note("chan 1"); &tx_full }, make(1, "value 1")) -> _r => panic!("full"),
        send(*{ note("chan 2"); &tx_s }, Counted(&dropped)) -> _r => panic!("no receiver"),
        send(*{ note("chan 3"); &tx_ok }, make(2, "value 3")) -> r => r.unwrap(),
    }
    assert_eq!(
        *order.lock().unwrap(),
        ["chan 1", "value 1", "chan 2", "chan 3", "value 3"]
    );
    assert_eq!(
        dropped.load(Ordering::Relaxed),
        1,
        "the unchosen value drops once"
    );
    assert_eq!(rx_ok.try_recv(), Ok(2));
}

#[test]
fn mixed_element_types() {
    let (tx_a, rx_a) = bounded::<&'static str>(1);
    let (_tx_b, rx_b) = unbounded::<Vec<u8>>();
    let (tx_c, rx_c) = bounded::<u64>(0);
    tx_a.send("a").unwrap();
    let got = weft::select! {
        recv(rx_b) -> _m => String::from("b"),
        recv(rx_a) -> m => m.unwrap().to_string(),
        send(tx_c, 3) -> _r => String::from("c"),
    };
    assert_eq!(got, "a");
    drop(rx_c);
}

#[test]
fn rendezvous_select_never_matches_itself() {
    // A select with both ends of one rendezvous channel has no partner: it times out.
    let (tx, rx) = bounded::<i32>(0);
    let got = weft::select! {
        send(tx, 1) -> _r => "send",
        recv(rx) -> _m => "recv",
        default(Duration::from_millis(20)) => "timeout",
    };
    assert_eq!(got, "timeout");
}

#[test]
fn two_selects_meet_on_rendezvous_channels() {
    // A offers send(c) or recv(d); B offers recv(c) or send(d). Every round exactly one
    // exchange happens, and both sides agree which.
    let n = rounds(2000);
    let (tx_c, rx_c) = bounded::<usize>(0);
    let (tx_d, rx_d) = bounded::<usize>(0);
    let b = thread::spawn(move || {
        let mut log = Vec::with_capacity(n);
        for i in 0..n {
            log.push(weft::select! {
                recv(rx_c) -> m => ('c', m.unwrap()),
                send(tx_d, i) -> r => { r.unwrap(); ('d', i) },
            });
        }
        log
    });
    let mut log = Vec::with_capacity(n);
    for i in 0..n {
        log.push(weft::select! {
            send(tx_c, i) -> r => { r.unwrap(); ('c', i) },
            recv(rx_d) -> m => ('d', m.unwrap()),
        });
    }
    assert_eq!(b.join().unwrap(), log);
}

#[test]
fn select_vs_plain_operations_on_rendezvous() {
    // A selecting sender against a plain receiver, and a selecting receiver against a plain
    // sender: the select may be the one blocked, with its value computed after selection.
    let n = rounds(2000);
    let (tx, rx) = bounded::<usize>(0);
    let (tx2, rx2) = bounded::<usize>(0);
    let t = thread::spawn(move || {
        let a: usize = (0..n).map(|_| rx.recv().unwrap()).sum();
        for i in 0..n {
            tx2.send(i).unwrap();
        }
        a
    });
    for i in 0..n {
        weft::select! { send(tx, i) -> r => r.unwrap() }
    }
    let mut b = 0;
    for _ in 0..n {
        b += weft::select! { recv(rx2) -> m => m.unwrap() };
    }
    let expect = n * (n - 1) / 2;
    assert_eq!((t.join().unwrap(), b), (expect, expect));
}

/// Producers each select-send into one of two channels; consumers select-receive from both.
/// Every message arrives exactly once.
fn exactly_once_through_selects(make_a: Make<u64>, make_b: Make<u64>) {
    const PRODUCERS: u64 = 3;
    const CONSUMERS: usize = 3;
    let per = rounds(3000) as u64;
    let (tx_a, rx_a) = make_a();
    let (tx_b, rx_b) = make_b();
    let seen = Arc::new(
        (0..PRODUCERS * per)
            .map(|_| AtomicUsize::new(0))
            .collect::<Vec<_>>(),
    );
    let start = Arc::new(Barrier::new(PRODUCERS as usize + CONSUMERS));
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let (tx_a, tx_b, start) = (tx_a.clone(), tx_b.clone(), start.clone());
        producers.push(thread::spawn(move || {
            start.wait();
            for i in 0..per {
                let v = p * per + i;
                weft::select! {
                    send(tx_a, v) -> r => r.unwrap(),
                    send(tx_b, v) -> r => r.unwrap(),
                }
            }
        }));
    }
    drop((tx_a, tx_b));
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (rx_a, rx_b, seen, start) =
                (rx_a.clone(), rx_b.clone(), seen.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let (mut a_open, mut b_open) = (true, true);
                while a_open || b_open {
                    let mut sel = Select::new();
                    let ia = a_open.then(|| sel.recv(&rx_a));
                    let ib = b_open.then(|| sel.recv(&rx_b));
                    let oper = sel.select();
                    let i = oper.index();
                    let (rx, open) = if Some(i) == ia {
                        (&rx_a, &mut a_open)
                    } else {
                        assert_eq!(Some(i), ib);
                        (&rx_b, &mut b_open)
                    };
                    match oper.recv(rx) {
                        Ok(v) => {
                            seen[v as usize].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(RecvError) => *open = false,
                    }
                }
            })
        })
        .collect();
    drop((rx_a, rx_b));
    for p in producers {
        p.join().unwrap();
    }
    for c in consumers {
        c.join().unwrap();
    }
    for (v, n) in seen.iter().enumerate() {
        assert_eq!(n.load(Ordering::Relaxed), 1, "message {v}");
    }
}

#[test]
fn exactly_once_rendezvous_and_ring() {
    exactly_once_through_selects(|| bounded(0), || bounded(1));
}

#[test]
fn exactly_once_rendezvous_pair() {
    exactly_once_through_selects(|| bounded(0), || bounded(0));
}

#[test]
fn exactly_once_ring_and_list() {
    exactly_once_through_selects(|| bounded(4), unbounded);
}

#[test]
fn exactly_once_list_and_rendezvous() {
    exactly_once_through_selects(unbounded, || bounded(0));
}

#[test]
fn try_select_and_select_timeout() {
    let (tx, rx) = bounded::<i32>(1);
    let mut sel = Select::new();
    sel.recv(&rx);
    assert!(matches!(sel.try_select(), Err(TrySelectError)));
    assert!(sel.select_timeout(Duration::from_millis(10)).is_err());
    tx.send(3).unwrap();
    let oper = sel.select_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(oper.recv(&rx), Ok(3));
}

#[test]
fn select_deadline_waits_until_the_instant_and_a_past_one_still_takes_a_ready_arm() {
    for (name, make) in flavours::<i32>() {
        let (tx, rx) = make();
        let mut sel = Select::new();
        sel.recv(&rx);
        let deadline = Instant::now() + Duration::from_millis(10);
        assert!(sel.select_deadline(deadline).is_err(), "{name}");
        assert!(
            Instant::now() >= deadline,
            "{name}: returned before its deadline"
        );
        assert_eq!(
            sel.ready_deadline(Instant::now()),
            Err(SelectTimeoutError),
            "{name}"
        );

        // A ready arm is taken even with the deadline behind us (on a rendezvous channel,
        // `ready` first makes sure the sender is already waiting).
        let t = thread::spawn(move || tx.send(5).unwrap());
        assert_eq!(
            sel.ready_deadline(Instant::now() + Duration::from_secs(10)),
            Ok(0)
        );
        let past = Instant::now(); // behind us by the time the select looks at it
        let oper = sel.select_deadline(past).expect("an arm is ready");
        assert_eq!(oper.recv(&rx), Ok(5), "{name}");
        t.join().unwrap();
    }
}

#[test]
fn dynamic_send_on_rendezvous_completes_after_selection() {
    let (tx, rx) = bounded::<String>(0);
    let t = thread::spawn(move || rx.recv().unwrap());
    let mut sel = Select::new();
    let i = sel.send(&tx);
    let oper = sel.select();
    assert_eq!(oper.index(), i);
    oper.send(&tx, "late value".to_string()).unwrap();
    assert_eq!(t.join().unwrap(), "late value");
}

#[test]
fn ready_reports_without_consuming() {
    for (name, make) in flavours::<i32>() {
        let (tx, rx) = make();
        let (_tx2, rx2) = bounded::<i32>(1);
        let mut sel = Select::new();
        sel.recv(&rx2);
        let i = sel.recv(&rx);
        assert_eq!(sel.try_ready(), Err(TrySelectError), "{name}");
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            tx.send(4).unwrap();
        });
        assert_eq!(sel.ready(), i, "{name}");
        // Nothing was consumed: the message (or, on a rendezvous, the sender) is still there.
        assert_eq!(rx.recv(), Ok(4), "{name}");
        t.join().unwrap();
    }
}

#[test]
fn ready_timeout_expires() {
    let (_tx, rx) = bounded::<i32>(0);
    let mut sel = Select::new();
    sel.recv(&rx);
    assert!(sel.ready_timeout(Duration::from_millis(10)).is_err());
}

#[test]
#[should_panic(expected = "not a receive on this receiver")]
fn completing_with_another_handle_panics() {
    let (tx1, rx1) = bounded::<i32>(1);
    let (_tx2, rx2) = bounded::<i32>(1);
    tx1.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx1);
    let oper = sel.select();
    let _ = oper.recv(&rx2);
}

#[test]
fn dropping_a_selected_operation_gives_it_back() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx);
    drop(sel.select());
    drop(sel);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn empty_select_with_default_and_timeout() {
    let got = weft::select! { default => 1 };
    assert_eq!(got, 1);
    let start = Instant::now();
    let got = weft::select! { default(Duration::from_millis(5)) => 2 };
    assert_eq!(got, 2);
    assert!(start.elapsed() >= Duration::from_millis(5));
    let mut sel = Select::new();
    assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
}

#[test]
fn send_arm_values_move_only_when_chosen_in_a_loop() {
    // The idiom of a select in a loop with a pending outgoing value.
    let (tx, rx) = bounded::<Vec<u8>>(1);
    let (done_tx, done_rx) = bounded::<()>(0);
    let t = thread::spawn(move || {
        let got: Vec<_> = rx.iter().take(3).collect();
        done_tx.send(()).unwrap();
        got
    });
    let mut next = 0u8;
    let mut pending = vec![next];
    loop {
        weft::select! {
            send(tx, std::mem::take(&mut pending)) -> r => {
                r.unwrap();
                next += 1;
                pending = vec![next];
            },
            recv(done_rx) -> _m => break,
        }
    }
    assert_eq!(t.join().unwrap(), [vec![0], vec![1], vec![2]]);
}

/// What Go and crossbeam users write: arms whose handle is a temporary (crossbeam's port of
/// Go's tests writes every select so), trailing commas inside the operations, `default()`.
#[test]
fn arms_take_temporaries_and_trailing_commas() {
    struct Conn {
        tx: Sender<u32>,
        rx: Receiver<u32>,
    }
    impl Conn {
        fn rx(&self) -> Receiver<u32> {
            self.rx.clone()
        }
        fn tx(&self) -> Sender<u32> {
            self.tx.clone()
        }
    }
    for (name, make) in flavours::<u32>() {
        let (tx, rx) = make();
        let conn = Conn { tx, rx };
        let (otx, orx) = unbounded::<u32>();
        let sent = weft::select! {
            send(conn.tx(), 5,) -> r => r.is_ok(),
            default() => false,
        };
        // A rendezvous send has no receiver waiting: `default` runs.
        assert_eq!(sent, name != "bounded(0)", "{name}");
        if name == "bounded(0)" {
            let tx = conn.tx();
            let t = thread::spawn(move || tx.send(5).unwrap());
            let got = weft::select! {
                recv(conn.rx(),) -> v => v.unwrap(),
                recv(orx.clone()) -> v => v.unwrap() + 100,
            };
            assert_eq!(got, 5);
            t.join().unwrap();
        } else {
            let got = weft::select_biased! {
                recv(conn.rx(),) -> v => v.unwrap(),
                recv(orx.clone()) -> v => v.unwrap() + 100,
                default(Duration::from_secs(5),) => 0,
            };
            assert_eq!(got, 5, "{name}");
        }
        otx.send(1).unwrap();
        let got = weft::select! {
            recv(conn.rx()) -> v => v.unwrap(),
            recv(orx.clone()) -> v => v.unwrap() + 100,
            default(Duration::from_secs(5)) => 0,
        };
        assert_eq!(got, 101, "{name}");
    }
}

/// A `Select` built on one thread is used on another.
#[test]
fn select_is_send() {
    fn assert_send<S: Send>(_: &S) {}
    let (tx, rx) = bounded::<String>(1);
    let mut sel = Select::new();
    sel.recv(&rx);
    assert_send(&sel);
    tx.send("moved".to_string()).unwrap();
    thread::scope(|s| {
        let got = s
            .spawn(|| {
                let op = sel.select();
                op.recv(&rx).unwrap()
            })
            .join()
            .unwrap();
        assert_eq!(got, "moved");
    });
}
