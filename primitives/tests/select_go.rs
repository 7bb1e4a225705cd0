//! Go's own `select` checks that weft's semantics share, restated here (after Go's
//! runtime/chan_test.go `TestSelectFairness`, `TestPseudoRandomSend`, `TestNonblockSelectRace`,
//! and crossbeam-channel's `linearizable_default` / `linearizable_try`): the choice among
//! ready arms is uniform, also among arms registered while blocked, and a select with
//! `default` (or `try_select`) takes the default only if at some instant no arm was ready.

use std::thread;
use std::time::Duration;

use weft::chan::{bounded, unbounded, Receiver, Select, Sender};

/// Pearson's chi-square statistic of `counts` against a uniform distribution.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// The 99.9th percentile of chi-square with `df` degrees of freedom, for `df` 1..=7: a
/// uniform chooser fails a check once in a thousand runs.
fn chi_square_limit(df: usize) -> f64 {
    [10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32][df - 1]
}

fn rounds() -> u64 {
    if cfg!(miri) {
        200
    } else {
        20_000
    }
}

fn assert_uniform(counts: &[u64], what: &str) {
    if cfg!(miri) {
        // Too few rounds for a statistical test: every arm chosen at least once.
        assert!(counts.iter().all(|&c| c > 0), "{what}: {counts:?}");
        return;
    }
    let chi = chi_square(counts);
    assert!(
        chi < chi_square_limit(counts.len() - 1),
        "{what}: not uniform: {counts:?} (chi-square {chi:.1})"
    );
}

#[test]
fn ready_arms_after_never_ready_ones_are_chosen_uniformly() {
    // Arms [never, never, ready, ready]: a random start with rotation gave 75% / 25%.
    let (_keep1, never1) = bounded::<u8>(1);
    let (_keep2, never2) = bounded::<u8>(1);
    let (tx3, r3) = bounded::<u8>(1);
    let (tx4, r4) = bounded::<u8>(1);
    let mut counts = [0u64; 2];
    for _ in 0..rounds() {
        let _ = tx3.try_send(3);
        let _ = tx4.try_send(4);
        weft::select! {
            recv(never1) -> _m => unreachable!(),
            recv(never2) -> _m => unreachable!(),
            recv(r3) -> _m => counts[0] += 1,
            recv(r4) -> _m => counts[1] += 1,
        }
    }
    assert_uniform(&counts, "select! [never, never, ready, ready]");

    let mut sel = Select::new();
    sel.recv(&never1);
    sel.recv(&never2);
    sel.recv(&r3);
    sel.recv(&r4);
    let mut counts = [0u64; 2];
    for _ in 0..rounds() {
        let _ = tx3.try_send(3);
        let _ = tx4.try_send(4);
        let op = sel.try_select().expect("two arms are ready");
        let i = op.index();
        match i {
            2 => drop(op.recv(&r3).unwrap()),
            3 => drop(op.recv(&r4).unwrap()),
            _ => unreachable!("arm {i} is never ready"),
        }
        counts[i - 2] += 1;
    }
    assert_uniform(&counts, "Select [never, never, ready, ready]");
}

#[test]
fn select_fairness_over_four_ready_channels() {
    // Go's TestSelectFairness: every channel always ready; each must be chosen about as
    // often as the others.
    let chans: Vec<(Sender<u8>, Receiver<u8>)> = (0..4).map(|_| bounded(1)).collect();
    let mut counts = [0u64; 4];
    for _ in 0..rounds() {
        for (tx, _) in &chans {
            let _ = tx.try_send(0);
        }
        let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
        weft::select! {
            recv(r0) -> _m => counts[0] += 1,
            recv(r1) -> _m => counts[1] += 1,
            recv(r2) -> _m => counts[2] += 1,
            recv(r3) -> _m => counts[3] += 1,
        }
    }
    assert_uniform(&counts, "select! over four ready channels");

    // The same through `Select`, with arms not in index order of readiness.
    let mut sel = Select::new();
    for (_, rx) in &chans {
        sel.recv(rx);
    }
    let mut counts = [0u64; 4];
    for _ in 0..rounds() {
        for (tx, _) in &chans {
            let _ = tx.try_send(0);
        }
        let op = sel.try_select().unwrap();
        let i = op.index();
        op.recv(&chans[i].1).unwrap();
        counts[i] += 1;
    }
    assert_uniform(&counts, "Select over four ready channels");
}

#[test]
fn duplicate_arms_on_one_channel_are_chosen_uniformly() {
    let (tx, rx) = unbounded::<u8>();
    let mut counts = [0u64; 3];
    for _ in 0..rounds() {
        tx.send(0).unwrap();
        weft::select! {
            recv(rx) -> _m => counts[0] += 1,
            recv(rx) -> _m => counts[1] += 1,
            recv(rx) -> _m => counts[2] += 1,
        }
    }
    assert_uniform(&counts, "duplicate receive arms");
}

#[test]
fn pseudo_random_send_while_blocked() {
    // Go's TestPseudoRandomSend: a select with two send arms on one rendezvous channel,
    // blocked until a slow receiver comes: both values must turn up. Registration in
    // index order made the receiver always take the first arm's value.
    let n = if cfg!(miri) { 20 } else { 400 };
    let (tx, rx) = bounded::<u8>(0);
    let got = thread::scope(|s| {
        let receiver = s.spawn(|| {
            let mut ones = 0u64;
            for _ in 0..n {
                thread::sleep(Duration::from_micros(300));
                ones += u64::from(rx.recv().unwrap());
            }
            ones
        });
        for _ in 0..n {
            weft::select! {
                send(tx, 1) -> r => r.unwrap(),
                send(tx, 0) -> r => r.unwrap(),
            }
        }
        receiver.join().unwrap()
    });
    let zeros = n as u64 - got;
    let floor = n as u64 / 10;
    assert!(
        got > floor && zeros > floor,
        "send arms chosen {got} / {zeros} times (ones / zeros)"
    );
}

#[test]
fn nonblocking_select_sees_a_channel_made_ready_before_it() {
    // Go's TestNonblockSelectRace: c1 holds a message; the other thread sends on c2 and
    // then takes c1 if still there, so some channel is ready throughout the selecting
    // thread's select, which must not take the default.
    let n = if cfg!(miri) { 20 } else { 2000 };
    for _ in 0..n {
        let (s1, r1) = bounded::<u8>(1);
        let (s2, r2) = bounded::<u8>(1);
        s1.send(1).unwrap();
        let took_default = thread::scope(|s| {
            let selecting = s.spawn(|| {
                weft::select! {
                    recv(r1) -> _m => false,
                    recv(r2) -> _m => false,
                    default => true,
                }
            });
            s2.send(1).unwrap();
            let _ = r1.try_recv();
            selecting.join().unwrap()
        });
        assert!(
            !took_default,
            "a select took default while a channel was ready"
        );
    }
}

/// crossbeam-channel's linearizability check, restated: thread A sends on c1 then selects
/// with default; thread B sends on c2 then empties c1. At every instant of A's select one
/// of the two holds a message.
fn linearizable(bounded_chans: bool, with_select: bool) {
    let count = if cfg!(miri) { 30 } else { 20_000 };
    let (start_tx, start_rx) = bounded::<()>(0);
    let (end_tx, end_rx) = bounded::<()>(0);
    let ((s1, r1), (s2, r2)) = if bounded_chans {
        (bounded::<u8>(1), bounded::<u8>(1))
    } else {
        (unbounded::<u8>(), unbounded::<u8>())
    };
    thread::scope(|s| {
        s.spawn(|| {
            let mut sel = Select::new();
            sel.recv(&r1);
            sel.recv(&r2);
            for _ in 0..count {
                start_tx.send(()).unwrap();
                s1.send(1).unwrap();
                if with_select {
                    weft::select! {
                        recv(r1) -> _m => {},
                        recv(r2) -> _m => {},
                        default => panic!("default taken while a channel held a message"),
                    }
                } else {
                    let op = sel
                        .try_select()
                        .expect("try_select found nothing while a channel held a message");
                    let i = op.index();
                    let _ = if i == 0 { op.recv(&r1) } else { op.recv(&r2) };
                }
                end_tx.send(()).unwrap();
                let _ = r2.try_recv();
            }
        });
        for _ in 0..count {
            start_rx.recv().unwrap();
            s2.send(1).unwrap();
            let _ = r1.try_recv();
            end_rx.recv().unwrap();
        }
    });
}

#[test]
fn linearizable_default_bounded() {
    linearizable(true, true);
}

#[test]
fn linearizable_default_unbounded() {
    linearizable(false, true);
}

#[test]
fn linearizable_try_select_bounded() {
    linearizable(true, false);
}

#[test]
fn linearizable_try_select_unbounded() {
    linearizable(false, false);
}
