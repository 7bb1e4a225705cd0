//! Integration tests for the ring-buffer flavour of `weft::chan` (`bounded(cap)`, `cap >= 1`),
//! in crossbeam's order: smoke -> single thread -> spsc -> mpmc -> drops -> close races ->
//! timeouts. The rendezvous flavour is in `chan_zero.rs`, async operations in `chan_async.rs`.
//!
//! Loop and thread counts shrink under Miri. Deadline checks assert a lower bound (the wait
//! really lasted the timeout) and a generous upper bound (it did not hang); nothing asserts
//! throughput. Liveness checks use deadlines, so a lost wake-up fails a test instead of
//! hanging it.

#[macro_use]
mod common;

use std::collections::VecDeque;
use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    assert_recv_times_out, assert_send_sync, assert_send_times_out, every_send_hands_back,
    exact_quotas, handles_are_send_sync, mpmc_exactly_once, DropTracker, Rng, Tracked, PARK, SLACK,
    TIMEOUT,
};
use weft::chan::{
    bounded, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

// ---------------------------------------------------------------------------------------------
// Smoke and single-thread behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn smoke() {
    let (tx, rx) = bounded(1);
    tx.send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(8).unwrap();
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.recv(), Ok(8));
    tx.send_timeout(10, TIMEOUT).unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT), Ok(10));
}

#[test]
fn capacity_len_full_empty() {
    let caps: &[usize] = if cfg!(miri) {
        &[1, 2, 3]
    } else {
        &[1, 2, 3, 5, 8, 16]
    };
    for &cap in caps {
        let (tx, rx) = bounded(cap);
        assert_eq!(tx.capacity(), Some(cap));
        assert_eq!(rx.capacity(), Some(cap));
        for round in 0..if cfg!(miri) { 2 } else { 3 } {
            // Each round starts at a different place in the ring, so the (head, tail) indices
            // wrap in different places.
            for i in 0..cap {
                assert_eq!(tx.len(), i);
                assert_eq!(rx.len(), i);
                assert_eq!(rx.is_empty(), i == 0);
                assert!(!tx.is_full());
                tx.try_send(i).unwrap();
            }
            assert_eq!(rx.len(), cap);
            assert!(tx.is_full() && rx.is_full());
            assert!(!tx.is_empty());
            assert_eq!(tx.try_send(99), Err(TrySendError::Full(99)));
            assert_eq!(rx.len(), cap, "a failed send changed nothing");
            for i in 0..cap {
                assert_eq!(rx.try_recv(), Ok(i));
                assert_eq!(rx.len(), cap - i - 1);
            }
            assert!(rx.is_empty() && tx.is_empty());
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            // Offset the next round by `round + 1` positions.
            for j in 0..=round {
                tx.send(j).unwrap();
                assert_eq!(rx.recv(), Ok(j));
            }
        }
    }
}

#[test]
fn linearizable_against_a_model() {
    // Single thread, random try_send/try_recv against a VecDeque: every result (including
    // Full and Empty) and every len() must match, over many laps of odd and even capacities.
    const OPS: usize = if cfg!(miri) { 24 } else { 20_000 };
    let caps: &[usize] = if cfg!(miri) {
        &[1, 3]
    } else {
        &[1, 2, 3, 4, 7]
    };
    for &cap in caps {
        let (tx, rx) = bounded(cap);
        let mut model = VecDeque::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ cap as u64);
        for i in 0..OPS {
            if rng.below(2) == 0 {
                let r = tx.try_send(i);
                if model.len() < cap {
                    assert_eq!(r, Ok(()));
                    model.push_back(i);
                } else {
                    assert_eq!(r, Err(TrySendError::Full(i)));
                }
            } else {
                match model.pop_front() {
                    Some(v) => assert_eq!(rx.try_recv(), Ok(v)),
                    None => assert_eq!(rx.try_recv(), Err(TryRecvError::Empty)),
                }
            }
            assert_eq!(rx.len(), model.len());
            assert_eq!(tx.is_full(), model.len() == cap);
        }
    }
}

#[test]
fn zero_sized_messages() {
    let (tx, rx) = bounded::<()>(3);
    for _ in 0..3 {
        tx.send(()).unwrap();
    }
    assert!(tx.is_full());
    assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
    assert_eq!(rx.try_iter().count(), 3);
    assert!(rx.is_empty());
}

#[test]
#[should_panic(expected = "too large")]
fn capacity_usize_max_panics() {
    let _ = bounded::<u8>(usize::MAX);
}

#[test]
#[should_panic(expected = "too large")]
fn capacity_half_usize_max_panics() {
    // The lap arithmetic (`2 * next_power_of_two(cap + 1)`) overflows.
    let _ = bounded::<u8>(usize::MAX / 2);
}

#[test]
#[should_panic(expected = "too large")]
fn capacity_quarter_usize_max_panics() {
    // Positions fit, but the buffer exceeds `isize::MAX` bytes: refused before allocating.
    let _ = bounded::<u8>(usize::MAX / 4);
}

#[test]
fn error_values_display_debug() {
    // Every send error hands the message back, and none needs `T: Debug` to print.
    struct NoDebug(u8);

    let e = SendError(NoDebug(1));
    assert_eq!(format!("{e:?}"), "SendError(..)");
    assert_eq!(e.to_string(), "sending on a closed channel");
    assert_eq!(e.into_inner().0, 1);

    let full = TrySendError::Full(NoDebug(2));
    assert!(full.is_full() && !full.is_closed());
    assert_eq!(format!("{full:?}"), "Full(..)");
    assert_eq!(full.to_string(), "sending on a full channel");
    assert_eq!(full.into_inner().0, 2);
    let closed = TrySendError::Closed(NoDebug(3));
    assert!(closed.is_closed() && !closed.is_full());
    assert_eq!(format!("{closed:?}"), "Closed(..)");
    assert_eq!(closed.to_string(), "sending on a closed channel");
    assert_eq!(closed.into_inner().0, 3);

    let timeout = SendTimeoutError::Timeout(NoDebug(4));
    assert!(timeout.is_timeout() && !timeout.is_closed());
    assert_eq!(format!("{timeout:?}"), "Timeout(..)");
    assert_eq!(
        timeout.to_string(),
        "timed out waiting to send on a channel"
    );
    assert_eq!(timeout.into_inner().0, 4);
    let closed = SendTimeoutError::Closed(NoDebug(5));
    assert!(closed.is_closed() && !closed.is_timeout());
    assert_eq!(format!("{closed:?}"), "Closed(..)");
    assert_eq!(closed.to_string(), "sending on a closed channel");
    assert_eq!(closed.into_inner().0, 5);

    assert_eq!(format!("{RecvError:?}"), "RecvError");
    assert_eq!(
        RecvError.to_string(),
        "receiving on a closed and empty channel"
    );
    assert_eq!(format!("{:?}", TryRecvError::Empty), "Empty");
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receiving on a closed and empty channel"
    );
    assert_eq!(format!("{:?}", RecvTimeoutError::Timeout), "Timeout");
    assert_eq!(
        RecvTimeoutError::Timeout.to_string(),
        "timed out waiting to receive on a channel"
    );
    assert_eq!(
        RecvTimeoutError::Closed.to_string(),
        "receiving on a closed and empty channel"
    );

    // Conversions: a closed-channel error widens to the richer enums.
    assert_eq!(TrySendError::from(SendError(6)), TrySendError::Closed(6));
    assert_eq!(
        SendTimeoutError::from(SendError(7)),
        SendTimeoutError::Closed(7)
    );
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Closed);
    assert_eq!(RecvTimeoutError::from(RecvError), RecvTimeoutError::Closed);

    // They are `std::error::Error`s (boxable), with no source.
    let boxed: Vec<Box<dyn Error + Send + Sync>> = vec![
        Box::new(SendError(NoDebug(0))),
        Box::new(TrySendError::Full(NoDebug(0))),
        Box::new(SendTimeoutError::Timeout(NoDebug(0))),
        Box::new(RecvError),
        Box::new(TryRecvError::Empty),
        Box::new(RecvTimeoutError::Timeout),
    ];
    assert!(boxed.iter().all(|e| e.source().is_none()));
}

#[test]
fn handles_debug_and_clone() {
    common::handles_debug_and_clone(bounded(2), Some(2));
}

#[test]
fn send_sync() {
    handles_are_send_sync();
    // The errors carry the message: Send + Sync as it is.
    assert_send_sync::<SendError<i32>>();
    assert_send_sync::<TrySendError<i32>>();
    assert_send_sync::<SendTimeoutError<i32>>();
    assert_send_sync::<RecvTimeoutError>();
}

#[test]
fn iterators() {
    common::iterators(|| bounded(4), 3, 10, 2);
}

#[test]
fn send_publishes_plain_memory() {
    // The slot's stamp publishes a message's heap contents, and a receiver's read of the slot
    // happens-before the next lap's write into it (one slot: every message reuses it).
    const N: usize = if cfg!(miri) { 10 } else { 20_000 };
    common::send_publishes_plain_memory(bounded(1), N);
}

// ---------------------------------------------------------------------------------------------
// Close, single thread
// ---------------------------------------------------------------------------------------------

#[test]
fn close_from_sender_then_drain() {
    // From empty to full.
    for n in 0..=3 {
        common::close_from_sender_then_drain(bounded(3), n);
    }
}

#[test]
fn close_from_receiver() {
    common::close_from_receiver(bounded(2), 1);
}

#[test]
fn last_sender_drop_closes() {
    common::last_sender_drop_closes(bounded(2));
}

#[test]
fn last_receiver_drop_closes() {
    common::last_receiver_drop_closes(bounded(2));
}

// ---------------------------------------------------------------------------------------------
// Drops
// ---------------------------------------------------------------------------------------------

#[test]
fn buffered_messages_dropped_once() {
    // Leave messages in the buffer at every fill level and with the ring wrapped (head index
    // above tail index), then drop both handles in both orders.
    let caps: &[usize] = if cfg!(miri) { &[3] } else { &[1, 3, 4] };
    for &cap in caps {
        for fill in 0..=cap {
            for offset in if cfg!(miri) { &[2][..] } else { &[0, 2][..] } {
                for receiver_first in [false, true] {
                    let (offset, n) = (*offset, offset + fill);
                    let drops = DropTracker::new(n);
                    let (tx, rx) = bounded(cap);
                    for id in 0..offset {
                        tx.send(Tracked::new(&drops, id)).unwrap();
                        assert_eq!(rx.recv().unwrap().id, id);
                    }
                    for id in offset..n {
                        tx.send(Tracked::new(&drops, id)).unwrap();
                    }
                    assert_eq!(drops.total(), offset, "only received messages dropped");
                    if receiver_first {
                        drop(rx);
                        drop(tx);
                    } else {
                        drop(tx);
                        drop(rx);
                    }
                    drops.assert_all_dropped_once();
                }
            }
        }
    }
}

#[test]
fn failed_sends_hand_the_message_back() {
    let drops = DropTracker::new(4);
    let (tx, rx) = bounded(1);
    tx.send(Tracked::new(&drops, 0)).unwrap();

    let back = tx.try_send(Tracked::new(&drops, 1)).unwrap_err();
    assert!(back.is_full());
    let back = back.into_inner();
    assert_eq!(back.id, 1);
    let back = match tx.send_timeout(back, Duration::from_millis(1)) {
        Err(SendTimeoutError::Timeout(v)) => v,
        other => panic!("expected Timeout, got {other:?}"),
    };
    assert_eq!(drops.total(), 0, "failed sends dropped nothing");

    tx.close();
    let back = every_send_hands_back(&tx, back);
    assert_eq!(back.id, 1);
    assert_eq!(drops.total(), 0);
    drop(back);
    assert_eq!(drops.drops(1), 1);

    // The buffered message is still delivered after the close, and dropped by its receiver.
    assert_eq!(rx.recv().unwrap().id, 0);
    assert_eq!(drops.drops(0), 1);
    drop((tx, rx));
    assert_eq!(drops.total(), 2);
}

#[test]
fn drops_across_threads() {
    const PER: usize = if cfg!(miri) { 6 } else { 1_000 };
    common::drops_across_threads(bounded(3), PER);
}

// ---------------------------------------------------------------------------------------------
// Many threads
// ---------------------------------------------------------------------------------------------

#[test]
fn spsc_fifo() {
    const N: usize = if cfg!(miri) { 6 } else { 20_000 };
    let caps: &[usize] = if cfg!(miri) { &[1, 3] } else { &[1, 3, 16] };
    for &cap in caps {
        common::spsc_fifo(bounded(cap), N);
    }
}

#[test]
fn spsc_parked_both_ways() {
    // Alternately a slow consumer (the producer parks on a full buffer) and a slow producer
    // (the consumer parks on an empty one), so both sleeping paths and their wake-ups run.
    const N: usize = if cfg!(miri) { 6 } else { 200 };
    let nap = if cfg!(miri) {
        PARK
    } else {
        Duration::from_millis(1)
    };
    let (tx, rx) = bounded(2);
    thread::scope(|s| {
        s.spawn(move || {
            for i in 0..N {
                if i % 8 >= 4 {
                    thread::sleep(nap);
                }
                tx.send(i).unwrap();
            }
        });
        for i in 0..N {
            if i % 8 < 4 {
                thread::sleep(nap);
            }
            assert_eq!(rx.recv(), Ok(i));
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn mpsc() {
    const N: usize = if cfg!(miri) { 3 } else { 25_000 };
    mpmc_exactly_once(4, 4, 1, N);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn spmc() {
    const N: usize = if cfg!(miri) { 12 } else { 30_000 };
    mpmc_exactly_once(4, 1, 4, N);
}

#[test]
fn mpmc() {
    const N: usize = if cfg!(miri) { 4 } else { 25_000 };
    mpmc_exactly_once(16, 4, 4, N);
}

#[test]
fn mpmc_capacity_one_oversubscribed() {
    // 8 + 8 threads on a one-slot buffer (on 2 cores): most operations park.
    const THREADS: usize = if cfg!(miri) { 3 } else { 8 };
    const N: usize = if cfg!(miri) { 2 } else { 3_000 };
    mpmc_exactly_once(1, THREADS, THREADS, N);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn mpmc_odd_capacity_wraps() {
    const N: usize = if cfg!(miri) { 4 } else { 20_000 };
    mpmc_exactly_once(3, 3, 2, N);
}

#[test]
fn no_lost_wake_ups_exact_quotas() {
    // Nothing closes the channel, so every parked thread depends on being woken by the other
    // side; see `exact_quotas`. Capacity 1 and 2 keep both wait lists busy at once.
    const N: usize = if cfg!(miri) { 4 } else { 6_000 };
    exact_quotas(1, 3, N, 2, 3 * N / 2);
    if !cfg!(miri) {
        exact_quotas(2, 2, N, 4, N / 2);
    }
}

#[test]
fn one_shot_waiters_are_all_woken() {
    // Each round: K threads make one blocking call each while the main thread makes K
    // matching calls, a little later each round so that the waiters are caught spinning,
    // registering, re-checking or asleep. A waiter that completes on its post-registration
    // re-check exits at once, so a notification it absorbed without passing on leaves another
    // waiter asleep with its operation possible: that one then misses its deadline.
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 300 };
    const K: usize = 3;
    for round in 0..ROUNDS {
        let delay = Duration::from_micros((round % 20) as u64 * 5);
        // Receivers on an empty buffer; the main thread sends.
        let (tx, rx) = bounded(K);
        thread::scope(|s| {
            for _ in 0..K {
                s.spawn(|| {
                    let start = Instant::now();
                    let r = rx.recv_timeout(SLACK);
                    let took = start.elapsed();
                    assert!(
                        took < SLACK,
                        "receiver stalled ({took:?}, {r:?}): lost wake-up"
                    );
                });
            }
            thread::sleep(delay);
            for i in 0..K {
                tx.send(i).unwrap();
            }
        });
        // Senders on a full buffer; the main thread receives.
        for i in 0..K {
            tx.send(i).unwrap();
        }
        thread::scope(|s| {
            for i in 0..K {
                let tx = &tx;
                s.spawn(move || {
                    let start = Instant::now();
                    let r = tx.send_timeout(K + i, SLACK);
                    let took = start.elapsed();
                    assert!(
                        took < SLACK,
                        "sender stalled ({took:?}, {r:?}): lost wake-up"
                    );
                });
            }
            thread::sleep(delay);
            for _ in 0..K {
                rx.recv().unwrap();
            }
        });
        assert_eq!(rx.len(), K);
    }
}

#[test]
fn try_ops_racing_blocking_ops() {
    // Non-blocking operations never register, so they must not swallow wake-ups meant for
    // blocked threads: one thread uses try_send/try_recv in a loop, others block.
    const N: usize = if cfg!(miri) { 4 } else { 10_000 };
    let (tx, rx) = bounded(1);
    let received = AtomicUsize::new(0);
    thread::scope(|s| {
        // Blocking producer and consumer.
        s.spawn(|| {
            for i in 0..N {
                tx.send_timeout(i, SLACK).unwrap();
            }
        });
        s.spawn(|| {
            for _ in 0..N / 2 {
                rx.recv_timeout(SLACK).unwrap();
                received.fetch_add(1, Ordering::Relaxed);
            }
        });
        // Spinning producer and consumer.
        s.spawn(|| {
            let mut sent = 0;
            while sent < N {
                match tx.try_send(N + sent) {
                    Ok(()) => sent += 1,
                    Err(TrySendError::Full(_)) => thread::yield_now(),
                    Err(TrySendError::Closed(_)) => unreachable!(),
                }
            }
        });
        s.spawn(|| {
            let mut got = 0;
            let start = Instant::now();
            while got < N + N / 2 {
                match rx.try_recv() {
                    Ok(_) => got += 1,
                    Err(TryRecvError::Empty) => thread::yield_now(),
                    Err(TryRecvError::Closed) => unreachable!(),
                }
                assert!(start.elapsed() < 4 * SLACK, "try_recv starved");
            }
            received.fetch_add(got, Ordering::Relaxed);
        });
    });
    assert_eq!(received.into_inner(), 2 * N);
}

// ---------------------------------------------------------------------------------------------
// Close races
// ---------------------------------------------------------------------------------------------

#[test]
fn close_wakes_blocked_senders() {
    common::close_wakes_blocked_senders(2);
}

#[test]
fn close_wakes_blocked_receivers() {
    common::close_wakes_blocked_receivers(|| bounded(2));
}

#[test]
fn close_returns_true_exactly_once() {
    common::close_returns_true_exactly_once(|| bounded(1));
}

#[test]
fn close_races_with_traffic() {
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 30 };
    const PER: usize = if cfg!(miri) { 6 } else { 1_000 };
    common::close_races_with_traffic(|| bounded(2), ROUNDS, PER, 50);
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[test]
fn send_timeout_on_full_buffer() {
    let (tx, rx) = bounded(1);
    tx.send(1).unwrap();
    assert_eq!(assert_send_times_out(&tx, 2), 2);
    // The timed-out waiter left no trace: the channel works on.
    assert_eq!(rx.recv(), Ok(1));
    tx.send_timeout(3, TIMEOUT).unwrap();
    assert_eq!(rx.recv(), Ok(3));
}

#[test]
fn recv_timeout_on_empty_buffer() {
    let (tx, rx) = bounded::<i32>(1);
    assert_recv_times_out(&rx);
    tx.send(1).unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT), Ok(1));
}

#[test]
fn zero_and_unbounded_timeouts() {
    let (tx, rx) = bounded(1);
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    tx.send_timeout(1, Duration::ZERO).unwrap();
    assert_eq!(
        tx.send_timeout(2, Duration::ZERO),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
    // Duration::MAX overflows the deadline: it means "wait forever", not "give up at once".
    tx.send_timeout(3, Duration::MAX).unwrap();
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(3));
    // The helper is a receiver too: it may receive only after the main thread took 4 (a
    // sleep alone would not guarantee that on a loaded machine), hence the signal. Neither
    // side can wait forever for the other after a failure: the signal's sender lives in the
    // main thread's closure (dropped if it panics, failing the helper's wait), and a failing
    // thread closes the channel (failing the other's unbounded waits).
    let (took_4, wait_took_4) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let (tx, rx, took_4) = (&tx, &rx, took_4);
        let _close = common::on_panic(|| {
            tx.close();
        });
        s.spawn(move || {
            let _close = common::on_panic(|| {
                tx.close();
            });
            thread::sleep(PARK);
            tx.send(4).unwrap();
            wait_took_4.recv().unwrap();
            thread::sleep(PARK);
            assert_eq!(rx.recv(), Ok(5));
        });
        assert_eq!(rx.recv_timeout(Duration::MAX), Ok(4));
        took_4.send(()).unwrap();
        tx.send(5).unwrap();
        // The buffer has room again only once the helper receives 5.
        tx.send_timeout(6, Duration::MAX).unwrap();
    });
    assert_eq!(rx.recv(), Ok(6));
}

#[test]
fn send_timeout_succeeds_when_room_frees_mid_wait() {
    common::send_timeout_succeeds_mid_wait(1);
}

#[test]
fn recv_timeout_succeeds_when_message_arrives_mid_wait() {
    common::recv_timeout_succeeds_mid_wait(bounded(1));
}

#[test]
fn timed_out_waiters_do_not_swallow_wake_ups() {
    common::timed_out_receivers_do_not_swallow_wake_ups(bounded(1));
    common::timed_out_senders_do_not_swallow_wake_ups(1);
}

#[test]
fn racing_timeouts_account_for_every_message() {
    // On a one-slot buffer: each message is either received exactly once or handed back by a
    // timed-out send.
    const THREADS: usize = if cfg!(miri) { 2 } else { 3 };
    const N: usize = if cfg!(miri) { 4 } else { 3_000 };
    common::racing_timeouts(bounded(1), THREADS, N);
}

#[test]
fn timed_out_sender_races_receiver() {
    // A sender whose deadline expires just as a receiver frees the slot: the receiver's
    // notification races the sender's abort, and the sender returns (freeing its stack
    // waiter) while the receiver may still be notifying. Many short rounds, varied deadlines.
    const ROUNDS: usize = if cfg!(miri) { 3 } else { 500 };
    let (tx, rx) = bounded(1);
    for i in 0..ROUNDS {
        tx.send(0).unwrap();
        let sent = thread::scope(|s| {
            let sender = s.spawn(|| {
                tx.send_timeout(1, Duration::from_micros((i % 50) as u64))
                    .is_ok()
            });
            s.spawn(|| assert_eq!(rx.recv(), Ok(0)));
            sender.join().unwrap()
        });
        assert_eq!(rx.try_recv().is_ok(), sent, "sent iff the message is there");
        assert!(rx.is_empty());
    }
}
