//! Integration tests for the rendezvous flavour of `weft::chan` (`bounded(0)`, Go's unbuffered
//! channel), in crossbeam's order: smoke -> rendezvous semantics -> spsc -> mpmc -> drops ->
//! close races -> timeouts. The ring buffer is in `chan_array.rs`, async operations in
//! `chan_async.rs`.
//!
//! Loop and thread counts shrink under Miri. Deadline checks assert a lower bound (the wait
//! really lasted the timeout) and a generous upper bound (it did not hang); nothing asserts
//! throughput. Liveness checks use deadlines, so a lost wake-up fails a test instead of
//! hanging it.

#[macro_use]
mod common;

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    assert_recv_times_out, assert_send_times_out, every_send_hands_back, exact_quotas,
    handles_are_send_sync, mpmc_exactly_once, DropTracker, Tracked, PARK, SLACK, TIMEOUT,
};
use weft::chan::{
    bounded, Receiver, RecvError, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};

/// Retries `try_send` until it succeeds (a receiver is blocked in `recv`), failing the test
/// after [`SLACK`].
fn try_send_until_taken<T>(tx: &Sender<T>, mut msg: T) {
    let start = Instant::now();
    loop {
        match tx.try_send(msg) {
            Ok(()) => return,
            Err(TrySendError::Full(m)) => msg = m,
            Err(TrySendError::Closed(_)) => panic!("closed"),
        }
        assert!(start.elapsed() < SLACK, "no receiver ever blocked");
        thread::yield_now();
    }
}

/// Retries `try_recv` until a blocked sender hands a message over, failing after [`SLACK`].
fn try_recv_until_given<T>(rx: &Receiver<T>) -> T {
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(m) => return m,
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Closed) => panic!("closed"),
        }
        assert!(start.elapsed() < SLACK, "no sender ever blocked");
        thread::yield_now();
    }
}

// ---------------------------------------------------------------------------------------------
// Smoke and single-thread behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn smoke() {
    let (tx, rx) = bounded(0);
    // Nobody on the other side: the non-blocking forms fail at once.
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    thread::scope(|s| {
        s.spawn(|| assert_eq!(rx.recv(), Ok(7)));
        tx.send(7).unwrap();
    });
    thread::scope(|s| {
        s.spawn(|| tx.send(8).unwrap());
        assert_eq!(rx.recv(), Ok(8));
    });
}

#[test]
fn capacity_len_full_empty() {
    let (tx, rx) = bounded::<i32>(0);
    for (len, cap, empty, full) in [
        (tx.len(), tx.capacity(), tx.is_empty(), tx.is_full()),
        (rx.len(), rx.capacity(), rx.is_empty(), rx.is_full()),
    ] {
        // Nothing is ever buffered; "full" because a send cannot complete on its own.
        assert_eq!((len, cap, empty, full), (0, Some(0), true, true));
    }
    // A blocked sender is not a buffered message. (The sleep makes it likely that the sender
    // is blocked by then; the check holds either way. It is made after the `recv`, so that a
    // failure cannot leave the sender waiting forever for a receiver.)
    thread::scope(|s| {
        s.spawn(|| tx.send(1).unwrap());
        thread::sleep(PARK);
        let (len, empty) = (rx.len(), rx.is_empty());
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(len, 0);
        assert!(empty);
    });
}

#[test]
fn zero_sized_messages() {
    let (tx, rx) = bounded::<()>(0);
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..3 {
                tx.send(()).unwrap();
            }
        });
        for _ in 0..3 {
            assert_eq!(rx.recv(), Ok(()));
        }
    });
    assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
}

#[test]
fn handles_debug_and_clone() {
    let (tx, rx) = bounded::<u8>(0);
    assert_eq!(
        format!("{tx:?}"),
        "Sender { len: 0, capacity: Some(0), closed: false }"
    );
    let rx2 = rx.clone();
    let tx2 = tx.clone();
    thread::scope(|s| {
        s.spawn(|| tx2.send(3).unwrap());
        assert_eq!(rx2.recv(), Ok(3));
    });
    rx.close();
    assert_eq!(
        format!("{rx2:?}"),
        "Receiver { len: 0, capacity: Some(0), closed: true }"
    );
}

#[test]
fn send_sync() {
    handles_are_send_sync();
}

#[test]
fn iterators() {
    let (tx, rx) = bounded(0);
    // Nothing waits: try_iter yields nothing.
    assert_eq!(rx.try_iter().next(), None);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..5 {
                tx.send(i).unwrap();
            }
            tx.close();
        });
        assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    });
    let (tx, rx) = bounded(0);
    thread::scope(|s| {
        s.spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        let mut owned = Vec::new();
        for v in rx {
            owned.push(v);
        }
        assert_eq!(owned, [0, 1, 2]);
    });
}

// ---------------------------------------------------------------------------------------------
// Close, single thread
// ---------------------------------------------------------------------------------------------

#[test]
fn close_semantics() {
    common::close_from_sender_then_drain(bounded(0), 0);
}

#[test]
fn close_from_receiver() {
    common::close_from_receiver(bounded(0), 0);
}

#[test]
fn last_handle_drops_close() {
    let (tx, rx) = bounded::<u8>(0);
    let tx2 = tx.clone();
    drop(tx);
    assert!(!rx.is_closed(), "a sender clone is alive");
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv(), Err(RecvError));

    let (tx, rx) = bounded::<u8>(0);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "a receiver clone is alive");
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
}

// ---------------------------------------------------------------------------------------------
// Rendezvous semantics
// ---------------------------------------------------------------------------------------------

#[test]
fn send_completes_only_when_a_receiver_takes_the_value() {
    // The sender raises `sent` after `send` returns. No receiver exists until the main thread
    // calls `recv`, so `sent` must still be false then, however long we wait: the check can
    // only fail if a send completes with nobody receiving (no timing assumption; the sleep
    // just gives a broken send the time to return).
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 5 };
    let (tx, rx) = bounded(0);
    for round in 0..ROUNDS {
        let sent = AtomicBool::new(false);
        thread::scope(|s| {
            s.spawn(|| {
                tx.send(round).unwrap();
                sent.store(true, Ordering::SeqCst);
            });
            thread::sleep(PARK);
            assert!(
                !sent.load(Ordering::SeqCst),
                "send returned with no receiver"
            );
            assert_eq!(rx.recv(), Ok(round));
        });
        assert!(sent.into_inner());
    }
}

#[test]
fn recv_completes_only_when_a_sender_arrives() {
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 5 };
    let (tx, rx) = bounded(0);
    for round in 0..ROUNDS {
        let received = AtomicBool::new(false);
        thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(rx.recv(), Ok(round));
                received.store(true, Ordering::SeqCst);
            });
            thread::sleep(PARK);
            assert!(
                !received.load(Ordering::SeqCst),
                "recv returned with no sender"
            );
            tx.send(round).unwrap();
        });
    }
}

/// Plain memory shared between threads, ordered only by the channel under test.
struct Slots(Vec<UnsafeCell<usize>>);

// SAFETY: `Slots` hands out no references; every access goes through the unsafe `read` and
// `write`, whose callers promise that the channel orders conflicting accesses.
unsafe impl Sync for Slots {}

impl Slots {
    fn new(n: usize) -> Self {
        Self((0..n).map(|_| UnsafeCell::new(0)).collect())
    }

    /// # Safety
    /// No write to slot `i` may race with this read.
    unsafe fn read(&self, i: usize) -> usize {
        // SAFETY: the caller rules out a concurrent write; the pointer is valid for `self`.
        unsafe { *self.0[i].get() }
    }

    /// # Safety
    /// No other access to slot `i` may race with this write.
    unsafe fn write(&self, i: usize, v: usize) {
        // SAFETY: the caller rules out concurrent accesses; the pointer is valid for `self`.
        unsafe { *self.0[i].get() = v }
    }
}

#[test]
fn rendezvous_synchronizes_both_ways() {
    // Plain (non-atomic) memory, ordered only by the channel: the sender's write before
    // `send(i)` is visible after `recv` returns `i` (as for any channel), and, particular to a
    // rendezvous, the receiver's write before that `recv` is visible to the sender once
    // `send(i)` returns. One slot per round and side, so only round i's rendezvous orders
    // round i's accesses. Miri and TSan report a missing edge as a data race. Yields vary which
    // side arrives first.
    const ROUNDS: usize = if cfg!(miri) { 3 } else { 200 };
    let (tx, rx) = bounded::<usize>(0);
    let before_send = Slots::new(ROUNDS);
    let before_recv = Slots::new(ROUNDS);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ROUNDS {
                if i % 2 == 0 {
                    thread::yield_now();
                }
                // SAFETY: the receiver reads slot i only after the rendezvous of round i.
                unsafe { before_send.write(i, i + 1) };
                tx.send(i).unwrap();
                // SAFETY: the receiver wrote slot i before the rendezvous of round i, which
                // has completed; nobody writes it again.
                assert_eq!(unsafe { before_recv.read(i) }, i + 1);
            }
        });
        for i in 0..ROUNDS {
            // SAFETY: the sender reads slot i only after the rendezvous of round i.
            unsafe { before_recv.write(i, i + 1) };
            if i % 3 == 0 {
                thread::yield_now();
            }
            assert_eq!(rx.recv(), Ok(i));
            // SAFETY: written before the send of round i, which has completed; never again.
            assert_eq!(unsafe { before_send.read(i) }, i + 1);
        }
    });
}

#[test]
fn try_send_needs_a_blocked_receiver() {
    let (tx, rx) = bounded(0);
    thread::scope(|s| {
        let r = s.spawn(|| rx.recv());
        // If no hand-off happens within the deadline, the close fails the receiver too
        // instead of leaving it blocked forever.
        let _close = common::on_panic(|| {
            tx.close();
        });
        try_send_until_taken(&tx, 5);
        assert_eq!(r.join().unwrap(), Ok(5));
    });
    assert_eq!(
        tx.try_send(6),
        Err(TrySendError::Full(6)),
        "nobody waits now"
    );
}

#[test]
fn try_recv_takes_from_a_blocked_sender() {
    let (tx, rx) = bounded(0);
    thread::scope(|s| {
        let t = s.spawn(|| tx.send(9));
        // As above: a failure here must not leave the sender blocked forever.
        let _close = common::on_panic(|| {
            rx.close();
        });
        assert_eq!(try_recv_until_given(&rx), 9);
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "nobody waits now");
}

#[test]
fn ping_pong() {
    const ROUNDS: usize = if cfg!(miri) { 6 } else { 10_000 };
    let (ping_tx, ping_rx) = bounded(0);
    let (pong_tx, pong_rx) = bounded(0);
    thread::scope(|s| {
        s.spawn(move || {
            for v in &ping_rx {
                pong_tx.send(v + 1).unwrap();
            }
        });
        let mut v = 0usize;
        for _ in 0..ROUNDS {
            ping_tx.send(v).unwrap();
            v = pong_rx.recv().unwrap();
        }
        assert_eq!(v, ROUNDS);
        drop(ping_tx);
        assert_eq!(pong_rx.recv(), Err(RecvError), "echo thread ended");
    });
}

// ---------------------------------------------------------------------------------------------
// Many threads
// ---------------------------------------------------------------------------------------------

#[test]
fn spsc_fifo() {
    const N: usize = if cfg!(miri) { 6 } else { 10_000 };
    common::spsc_fifo(bounded(0), N);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn mpsc() {
    const N: usize = if cfg!(miri) { 3 } else { 5_000 };
    mpmc_exactly_once(0, 4, 1, N);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn spmc() {
    const N: usize = if cfg!(miri) { 6 } else { 20_000 };
    mpmc_exactly_once(0, 1, 4, N);
}

#[test]
fn mpmc() {
    const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
    const N: usize = if cfg!(miri) { 4 } else { 5_000 };
    mpmc_exactly_once(0, THREADS, THREADS, N);
}

#[test]
fn mpmc_oversubscribed() {
    const THREADS: usize = if cfg!(miri) { 3 } else { 8 };
    const N: usize = if cfg!(miri) { 2 } else { 2_000 };
    mpmc_exactly_once(0, THREADS, THREADS, N);
}

#[test]
fn no_lost_wake_ups_exact_quotas() {
    const N: usize = if cfg!(miri) { 4 } else { 3_000 };
    exact_quotas(0, 3, N, 2, 3 * N / 2);
    if !cfg!(miri) {
        exact_quotas(0, 2, N, 4, N / 2);
    }
}

#[test]
fn try_ops_racing_blocking_ops() {
    // try_send pairs only with a thread blocked in recv, try_recv only with one blocked in
    // send. A blocking sender and a try_send thread each deliver their values; a blocking
    // receiver (running until the close) and a try_recv thread take them. Every value must be
    // received exactly once, and the try_send thread must always find the blocking receiver
    // eventually (it never stops receiving).
    const N: usize = if cfg!(miri) { 4 } else { 3_000 };
    let (tx, rx) = bounded::<usize>(0);
    let seen: Vec<AtomicUsize> = (0..2 * N).map(|_| AtomicUsize::new(0)).collect();
    let senders_done = AtomicBool::new(false);
    thread::scope(|s| {
        // Should the main thread fail (e.g. `try_send_until_taken` past its deadline, or the
        // blocking sender's panic re-raised by `join`), the receivers must still stop: the
        // try_recv thread runs until `senders_done`, the blocking one until the close.
        let _stop = common::on_panic(|| {
            senders_done.store(true, Ordering::Relaxed);
            tx.close();
        });
        let receiver = s.spawn(|| {
            while let Ok(v) = rx.recv() {
                seen[v].fetch_add(1, Ordering::Relaxed);
            }
        });
        let try_receiver = s.spawn(|| {
            while !senders_done.load(Ordering::Relaxed) {
                match rx.try_recv() {
                    Ok(v) => {
                        seen[v].fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TryRecvError::Empty) => thread::yield_now(),
                    Err(TryRecvError::Closed) => unreachable!(),
                }
            }
        });
        let sender = s.spawn(|| {
            for i in 0..N {
                tx.send_timeout(i, SLACK).unwrap();
            }
        });
        for i in N..2 * N {
            try_send_until_taken(&tx, i);
        }
        sender.join().unwrap();
        senders_done.store(true, Ordering::Relaxed);
        try_receiver.join().unwrap();
        tx.close();
        receiver.join().unwrap();
    });
    for (v, c) in seen.iter().enumerate() {
        assert_eq!(c.load(Ordering::Relaxed), 1, "value {v}");
    }
}

// ---------------------------------------------------------------------------------------------
// Drops
// ---------------------------------------------------------------------------------------------

#[test]
fn failed_sends_hand_the_message_back() {
    let drops = DropTracker::new(1);
    let (tx, rx) = bounded(0);
    let back = match tx.try_send(Tracked::new(&drops, 0)) {
        Err(TrySendError::Full(v)) => v,
        other => panic!("expected Full, got {other:?}"),
    };
    let back = match tx.send_timeout(back, Duration::from_millis(1)) {
        Err(SendTimeoutError::Timeout(v)) => v,
        other => panic!("expected Timeout, got {other:?}"),
    };
    assert_eq!(drops.total(), 0);
    rx.close();
    let back = every_send_hands_back(&tx, back);
    assert_eq!(drops.total(), 0, "failed sends dropped nothing");
    assert_eq!(rx.try_recv().map(|m| m.id), Err(TryRecvError::Closed));
    drop(back);
    assert_eq!(drops.drops(0), 1);
}

#[test]
fn timed_out_send_leaves_nothing_behind() {
    // A rendezvous channel holds no message of its own: after a send times out, the message is
    // the sender's again and no receiver can get it.
    let drops = DropTracker::new(1);
    let (tx, rx) = bounded(0);
    let back = tx
        .send_timeout(Tracked::new(&drops, 0), TIMEOUT)
        .unwrap_err()
        .into_inner();
    assert_eq!(rx.try_recv().map(|m| m.id), Err(TryRecvError::Empty));
    assert_eq!(
        rx.recv_timeout(TIMEOUT).map(|m| m.id),
        Err(RecvTimeoutError::Timeout)
    );
    drop((tx, rx));
    assert_eq!(drops.total(), 0);
    drop(back);
    drops.assert_all_dropped_once();
}

#[test]
fn drops_across_threads() {
    // Nothing is ever held by the channel: each message is received or handed back.
    const PER: usize = if cfg!(miri) { 4 } else { 500 };
    common::drops_across_threads(bounded(0), PER);
}

// ---------------------------------------------------------------------------------------------
// Close races
// ---------------------------------------------------------------------------------------------

#[test]
fn close_wakes_blocked_senders() {
    // Senders blocked on a rendezvous nobody answers.
    common::close_wakes_blocked_senders(0);
}

#[test]
fn close_wakes_blocked_receivers() {
    // Receivers blocked on a rendezvous nobody sends on.
    common::close_wakes_blocked_receivers(|| bounded(0));
}

#[test]
fn close_returns_true_exactly_once() {
    common::close_returns_true_exactly_once(|| bounded(0));
}

#[test]
fn close_races_with_traffic() {
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 30 };
    const PER: usize = if cfg!(miri) { 4 } else { 300 };
    common::close_races_with_traffic(|| bounded(0), ROUNDS, PER, 50);
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[test]
fn send_timeout_without_receiver() {
    let (tx, rx) = bounded(0);
    assert_eq!(assert_send_times_out(&tx, 1), 1);
    assert_eq!(
        tx.send_timeout(2, Duration::ZERO),
        Err(SendTimeoutError::Timeout(2))
    );
    // The timed-out sender left no trace: a later rendezvous works.
    thread::scope(|s| {
        s.spawn(|| tx.send(3).unwrap());
        assert_eq!(rx.recv(), Ok(3));
    });
}

#[test]
fn recv_timeout_without_sender() {
    let (tx, rx) = bounded(0);
    assert_recv_times_out(&rx);
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    // The timed-out receiver left no trace: try_send finds nobody to hand to.
    assert_eq!(tx.try_send(4), Err(TrySendError::Full(4)));
    thread::scope(|s| {
        s.spawn(|| assert_eq!(rx.recv(), Ok(5)));
        tx.send(5).unwrap();
    });
}

#[test]
fn send_timeout_succeeds_when_a_receiver_arrives_mid_wait() {
    common::send_timeout_succeeds_mid_wait(0);
}

#[test]
fn recv_timeout_succeeds_when_a_sender_arrives_mid_wait() {
    common::recv_timeout_succeeds_mid_wait(bounded(0));
}

#[test]
fn unbounded_timeouts() {
    // Duration::MAX overflows the deadline: it means "wait forever", not "give up at once".
    // The order is fixed by the rendezvous itself (the sleeps only make the waits likely to
    // park). A failing side closes the channel, so the other cannot wait forever: the very
    // bug this looks for (`Duration::MAX` giving up at once) must fail the test, not hang it.
    let (tx, rx) = bounded(0);
    thread::scope(|s| {
        let _close = common::on_panic(|| {
            tx.close();
        });
        s.spawn(|| {
            let _close = common::on_panic(|| {
                tx.close();
            });
            thread::sleep(PARK);
            assert_eq!(rx.recv_timeout(Duration::MAX), Ok(1));
            thread::sleep(PARK);
            tx.send(2).unwrap();
        });
        tx.send_timeout(1, Duration::MAX).unwrap();
        assert_eq!(rx.recv_timeout(Duration::MAX), Ok(2));
    });
}

#[test]
fn timed_out_waiters_do_not_swallow_hand_offs() {
    // A short and a long waiter of the same kind; after the short one times out, the other
    // side must reach the long one.
    common::timed_out_receivers_do_not_swallow_wake_ups(bounded(0));
    common::timed_out_senders_do_not_swallow_wake_ups(0);
}

#[test]
fn racing_timeouts_exactly_once() {
    const THREADS: usize = if cfg!(miri) { 2 } else { 3 };
    const N: usize = if cfg!(miri) { 4 } else { 2_000 };
    common::racing_timeouts(bounded(0), THREADS, N);
}
