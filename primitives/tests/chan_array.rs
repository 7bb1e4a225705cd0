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

use std::cell::Cell;
use std::collections::VecDeque;
use std::error::Error;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    assert_send_sync, exact_quotas, mpmc_exactly_once, wait_for, DropTracker, Tracked, PARK, SLACK,
    TIMEOUT,
};
use weft::chan::{
    bounded, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender,
    TryRecvError, TrySendError,
};

/// A small deterministic generator (xorshift64*), so "random" schedules replay exactly.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

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
    let (tx, rx) = bounded(2);
    tx.send(1).unwrap();
    assert_eq!(
        format!("{tx:?}"),
        "Sender { len: 1, capacity: Some(2), closed: false }"
    );
    let rx2 = rx.clone();
    let tx2 = tx.clone();
    tx2.send(2).unwrap();
    assert_eq!(
        format!("{rx2:?}"),
        "Receiver { len: 2, capacity: Some(2), closed: false }"
    );
    // Clones are the same channel.
    assert_eq!(rx2.recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    rx2.close();
    assert_eq!(
        format!("{rx:?}"),
        "Receiver { len: 0, capacity: Some(2), closed: true }"
    );
}

#[test]
fn send_sync() {
    // Like std's and crossbeam's channels: both handles are Send + Sync for T: Send.
    assert_send_sync::<Sender<i32>>();
    assert_send_sync::<Receiver<i32>>();
    assert_send_sync::<Sender<Cell<i32>>>();
    assert_send_sync::<Receiver<Cell<i32>>>();
    assert_send_sync::<Sender<Box<dyn FnOnce() + Send>>>();
    // A non-Send T makes them neither.
    assert_not_impl!(Sender<Rc<i32>>: Send);
    assert_not_impl!(Sender<Rc<i32>>: Sync);
    assert_not_impl!(Receiver<Rc<i32>>: Send);
    assert_not_impl!(Receiver<Rc<i32>>: Sync);
    // The errors carry the message: Send + Sync as it is.
    assert_send_sync::<SendError<i32>>();
    assert_send_sync::<TrySendError<i32>>();
    assert_send_sync::<SendTimeoutError<i32>>();
    assert_send_sync::<RecvTimeoutError>();
}

#[test]
fn iterators() {
    let (tx, rx) = bounded(4);
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    // try_iter takes what is there and stops; it never blocks.
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(rx.try_iter().next(), None);

    // iter / &Receiver / Receiver block until closed and drained.
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..10 {
                tx.send(i).unwrap();
            }
            tx.close();
        });
        assert_eq!(rx.iter().collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    });
    assert_eq!(rx.iter().next(), None);

    let (tx, rx) = bounded(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    // `&Receiver` and `Receiver` are `IntoIterator` (the `for` loop forms).
    assert_eq!((&rx).into_iter().next(), Some(1));
    let mut owned = Vec::new();
    for v in rx {
        owned.push(v);
    }
    assert_eq!(owned, [2]);
}

#[test]
fn send_publishes_plain_memory() {
    // A message's heap contents, written before the send, are visible after the recv (the
    // slot's stamp publishes them), and a receiver's read of the slot happens-before the next
    // lap's write into it (one slot: every message reuses it). Miri and TSan see a missing
    // edge as a data race.
    const N: usize = if cfg!(miri) { 10 } else { 20_000 };
    let (tx, rx) = bounded::<Vec<usize>>(1);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..N {
                tx.send(vec![i; 16]).unwrap();
            }
        });
        for i in 0..N {
            let v = rx.recv().unwrap();
            assert!(v.iter().all(|&x| x == i));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Close, single thread
// ---------------------------------------------------------------------------------------------

#[test]
fn close_from_sender_then_drain() {
    let (tx, rx) = bounded(3);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(!tx.is_closed() && !rx.is_closed());
    assert!(tx.close(), "first close closes");
    assert!(!tx.close() && !rx.close(), "later closes report false");
    assert!(tx.is_closed() && rx.is_closed());

    // Sends fail with the message back, whatever the room.
    assert_eq!(tx.send(3), Err(SendError(3)));
    assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    assert_eq!(
        tx.send_timeout(5, TIMEOUT),
        Err(SendTimeoutError::Closed(5))
    );

    // Receivers drain first, then see the close, from every receiving method.
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(rx.recv(), Err(RecvError));
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(SLACK), Err(RecvTimeoutError::Closed));
    assert!(start.elapsed() < SLACK, "closed must not wait");
}

#[test]
fn close_from_receiver() {
    let (tx, rx) = bounded(2);
    tx.send(1).unwrap();
    assert!(rx.close());
    assert!(!tx.close());
    assert_eq!(tx.send(2), Err(SendError(2)));
    // Go's semantics: close does not discard buffered messages.
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn last_sender_drop_closes() {
    let (tx, rx) = bounded(2);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a clone is still alive");
    tx2.send(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.recv(), Err(RecvError));
    assert!(!rx.close(), "already closed by the drop");
}

#[test]
fn last_receiver_drop_closes() {
    let (tx, rx) = bounded(2);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "a clone is still alive");
    tx.send(1).unwrap();
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
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
    let back = tx.send(back).unwrap_err().into_inner();
    let back = match tx.try_send(back) {
        Err(TrySendError::Closed(v)) => v,
        other => panic!("expected Closed, got {other:?}"),
    };
    let back = match tx.send_timeout(back, TIMEOUT) {
        Err(SendTimeoutError::Closed(v)) => v,
        other => panic!("expected Closed, got {other:?}"),
    };
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
    // Producers send tracked messages; the consumer stops halfway and drops its receiver,
    // which closes the channel: blocked and later producers get their messages back. Every
    // message ends up dropped exactly once: by the consumer, by a failed sender, or with the
    // channel.
    const PRODUCERS: usize = if cfg!(miri) { 2 } else { 4 };
    const PER: usize = if cfg!(miri) { 6 } else { 1_000 };
    let drops = DropTracker::new(PRODUCERS * PER);
    let (tx, rx) = bounded(3);
    let returned = AtomicUsize::new(0);
    thread::scope(|s| {
        for p in 0..PRODUCERS {
            let (tx, drops, returned) = (tx.clone(), &drops, &returned);
            s.spawn(move || {
                for i in 0..PER {
                    let id = p * PER + i;
                    if let Err(SendError(v)) = tx.send(Tracked::new(drops, id)) {
                        assert_eq!(v.id, id, "the failed send's own message comes back");
                        returned.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        let rx = rx;
        for _ in 0..PRODUCERS * PER / 2 {
            drop(rx.recv().unwrap());
        }
        // `rx` drops here: the channel closes with messages still buffered.
    });
    assert!(tx.is_closed());
    // Received + handed back + still buffered (dropped with the channel) = all.
    assert_eq!(
        PRODUCERS * PER / 2 + returned.into_inner() + tx.len(),
        PRODUCERS * PER
    );
    drop(tx);
    drops.assert_all_dropped_once();
}

// ---------------------------------------------------------------------------------------------
// Many threads
// ---------------------------------------------------------------------------------------------

#[test]
fn spsc_fifo() {
    const N: usize = if cfg!(miri) { 6 } else { 20_000 };
    let caps: &[usize] = if cfg!(miri) { &[1, 3] } else { &[1, 3, 16] };
    for &cap in caps {
        let (tx, rx) = bounded(cap);
        thread::scope(|s| {
            s.spawn(move || {
                for i in 0..N {
                    tx.send(i).unwrap();
                }
            });
            for i in 0..N {
                assert_eq!(rx.recv(), Ok(i));
            }
            assert_eq!(rx.recv(), Err(RecvError), "closed by the sender's drop");
        });
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

/// Spawns one thread per id in `ids`, each sending its tracked message on a full channel;
/// then runs `close` (after the senders have had time to park) and checks every sender got
/// its own message back.
fn blocked_senders_get_their_message_back(close: impl FnOnce(Sender<Tracked>, Receiver<Tracked>)) {
    const SENDERS: usize = if cfg!(miri) { 2 } else { 4 };
    const CAP: usize = 2;
    let drops = DropTracker::new(CAP + SENDERS);
    let (tx, rx) = bounded(CAP);
    for id in 0..CAP {
        tx.send(Tracked::new(&drops, id)).unwrap();
    }
    let started = AtomicUsize::new(0);
    thread::scope(|s| {
        let handles: Vec<_> = (CAP..CAP + SENDERS)
            .map(|id| {
                let (tx, drops, started) = (tx.clone(), &drops, &started);
                s.spawn(move || {
                    started.fetch_add(1, Ordering::Relaxed);
                    let start = Instant::now();
                    let back = tx
                        .send_timeout(Tracked::new(drops, id), 2 * SLACK)
                        .expect_err("the buffer never has room");
                    assert!(back.is_closed(), "woken by the close, not the deadline");
                    assert!(start.elapsed() < SLACK);
                    let back = back.into_inner();
                    assert_eq!(back.id, id);
                    assert_eq!(drops.drops(id), 0, "handed back, not dropped");
                })
            })
            .collect();
        wait_for("senders to start", || {
            started.load(Ordering::Relaxed) == SENDERS
        });
        thread::sleep(PARK);
        close(tx, rx);
        for h in handles {
            h.join().unwrap();
        }
    });
    drops.assert_all_dropped_once();
}

#[test]
fn close_wakes_blocked_senders() {
    blocked_senders_get_their_message_back(|tx, rx| {
        assert!(tx.close());
        // The buffered messages are still there for receivers.
        assert_eq!(rx.recv().unwrap().id, 0);
        assert_eq!(rx.recv().unwrap().id, 1);
        assert!(rx.recv().is_err());
    });
}

#[test]
fn receiver_close_wakes_blocked_senders() {
    blocked_senders_get_their_message_back(|tx, rx| {
        assert!(rx.close());
        assert!(tx.is_closed());
    });
}

#[test]
fn last_receiver_drop_wakes_blocked_senders() {
    blocked_senders_get_their_message_back(|_tx, rx| drop(rx));
}

/// Spawns receivers blocked on an empty channel, then runs `close`; each must wake with
/// `Closed` well before its deadline.
fn blocked_receivers_see_the_close(close: impl FnOnce(Sender<u32>, Receiver<u32>)) {
    const RECEIVERS: usize = if cfg!(miri) { 2 } else { 4 };
    let (tx, rx) = bounded(2);
    let started = AtomicUsize::new(0);
    thread::scope(|s| {
        let handles: Vec<_> = (0..RECEIVERS)
            .map(|i| {
                let (rx, started) = (rx.clone(), &started);
                s.spawn(move || {
                    started.fetch_add(1, Ordering::Relaxed);
                    let start = Instant::now();
                    if i % 2 == 0 {
                        assert_eq!(rx.recv_timeout(2 * SLACK), Err(RecvTimeoutError::Closed));
                    } else {
                        assert_eq!(rx.recv(), Err(RecvError));
                    }
                    assert!(start.elapsed() < SLACK);
                })
            })
            .collect();
        wait_for("receivers to start", || {
            started.load(Ordering::Relaxed) == RECEIVERS
        });
        thread::sleep(PARK);
        close(tx, rx);
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn close_wakes_blocked_receivers() {
    blocked_receivers_see_the_close(|tx, _rx| assert!(tx.close()));
}

#[test]
fn receiver_close_wakes_blocked_receivers() {
    blocked_receivers_see_the_close(|_tx, rx| assert!(rx.close()));
}

#[test]
fn last_sender_drop_wakes_blocked_receivers() {
    blocked_receivers_see_the_close(|tx, _rx| drop(tx));
}

#[test]
fn close_returns_true_exactly_once() {
    // Threads on both sides close at once (after a barrier); exactly one call wins.
    const ROUNDS: usize = if cfg!(miri) { 3 } else { 200 };
    const THREADS: usize = if cfg!(miri) { 3 } else { 4 };
    for _ in 0..ROUNDS {
        let (tx, rx) = bounded::<u8>(1);
        let barrier = Barrier::new(THREADS);
        let wins = AtomicUsize::new(0);
        thread::scope(|s| {
            for t in 0..THREADS {
                let (tx, rx, barrier, wins) = (tx.clone(), rx.clone(), &barrier, &wins);
                s.spawn(move || {
                    barrier.wait();
                    let won = if t % 2 == 0 { tx.close() } else { rx.close() };
                    if won {
                        wins.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(wins.into_inner(), 1);
        assert!(tx.is_closed());
    }
}

#[test]
fn close_races_with_traffic() {
    // Producers and consumers run while a third party closes at an arbitrary moment. Every
    // message must end exactly once: received, handed back to its sender, or dropped with the
    // channel; and no receive may succeed after a receiver has seen the channel closed and
    // drained.
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 30 };
    const PRODUCERS: usize = if cfg!(miri) { 2 } else { 3 };
    const PER: usize = if cfg!(miri) { 6 } else { 1_000 };
    for round in 0..ROUNDS {
        let drops = DropTracker::new(PRODUCERS * PER);
        let (tx, rx) = bounded(2);
        let received = AtomicUsize::new(0);
        let returned = AtomicUsize::new(0);
        thread::scope(|s| {
            for p in 0..PRODUCERS {
                let (tx, drops, returned) = (tx.clone(), &drops, &returned);
                s.spawn(move || {
                    for i in 0..PER {
                        let id = p * PER + i;
                        if let Err(e) = tx.send(Tracked::new(drops, id)) {
                            assert_eq!(e.into_inner().id, id);
                            returned.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            for _ in 0..2 {
                let (rx, received) = (rx.clone(), &received);
                s.spawn(move || {
                    while let Ok(m) = rx.recv() {
                        drop(m);
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    assert!(rx.is_closed());
                    assert_eq!(rx.try_recv().map(|m| m.id), Err(TryRecvError::Closed));
                });
            }
            let closer = (tx.clone(), rx.clone());
            s.spawn(move || {
                for _ in 0..round % 7 * if cfg!(miri) { 1 } else { 50 } {
                    thread::yield_now();
                }
                if round % 2 == 0 {
                    closer.0.close();
                } else {
                    closer.1.close();
                }
            });
        });
        let (received, returned) = (received.into_inner(), returned.into_inner());
        // Receivers ran until closed and drained, so nothing is left buffered.
        assert!(rx.is_empty());
        assert_eq!(received + returned, PRODUCERS * PER);
        drop((tx, rx));
        drops.assert_all_dropped_once();
    }
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[test]
fn send_timeout_on_full_buffer() {
    let (tx, rx) = bounded(1);
    tx.send(1).unwrap();
    let start = Instant::now();
    assert_eq!(
        tx.send_timeout(2, TIMEOUT),
        Err(SendTimeoutError::Timeout(2))
    );
    let took = start.elapsed();
    assert!(took >= TIMEOUT, "gave up early: {took:?}");
    assert!(took < SLACK, "gave up far too late: {took:?}");
    // The timed-out waiter left no trace: the channel works on.
    assert_eq!(rx.recv(), Ok(1));
    tx.send_timeout(3, TIMEOUT).unwrap();
    assert_eq!(rx.recv(), Ok(3));
}

#[test]
fn recv_timeout_on_empty_buffer() {
    let (tx, rx) = bounded::<i32>(1);
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(TIMEOUT), Err(RecvTimeoutError::Timeout));
    let took = start.elapsed();
    assert!(took >= TIMEOUT, "gave up early: {took:?}");
    assert!(took < SLACK, "gave up far too late: {took:?}");
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
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(PARK);
            tx.send(4).unwrap();
            thread::sleep(PARK);
            assert_eq!(rx.recv(), Ok(5));
        });
        assert_eq!(rx.recv_timeout(Duration::MAX), Ok(4));
        tx.send(5).unwrap();
        // The buffer has room again only once the helper receives 5.
        tx.send_timeout(6, Duration::MAX).unwrap();
    });
    assert_eq!(rx.recv(), Ok(6));
}

#[test]
fn send_timeout_succeeds_when_room_frees_mid_wait() {
    let (tx, rx) = bounded(1);
    tx.send(1).unwrap();
    let waiting = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            waiting.store(true, Ordering::Relaxed);
            let start = Instant::now();
            tx.send_timeout(2, 2 * SLACK).expect("room frees mid-wait");
            assert!(start.elapsed() < SLACK);
        });
        wait_for("the sender", || waiting.load(Ordering::Relaxed));
        thread::sleep(PARK);
        assert_eq!(rx.recv(), Ok(1));
    });
    assert_eq!(rx.recv(), Ok(2));
}

#[test]
fn recv_timeout_succeeds_when_message_arrives_mid_wait() {
    let (tx, rx) = bounded(1);
    let waiting = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            waiting.store(true, Ordering::Relaxed);
            let start = Instant::now();
            assert_eq!(rx.recv_timeout(2 * SLACK), Ok(7));
            assert!(start.elapsed() < SLACK);
        });
        wait_for("the receiver", || waiting.load(Ordering::Relaxed));
        thread::sleep(PARK);
        tx.send(7).unwrap();
    });
}

#[test]
fn timed_out_waiters_do_not_swallow_wake_ups() {
    // A receiver that timed out must not stay in the wait list and absorb the notification
    // meant for a receiver still blocked: one short and one long waiter; after the short one
    // gives up, a send must wake the long one.
    let (tx, rx) = bounded(1);
    thread::scope(|s| {
        let long = s.spawn(|| {
            let start = Instant::now();
            let r = rx.recv_timeout(2 * SLACK);
            (r, start.elapsed())
        });
        s.spawn(|| assert_eq!(rx.recv_timeout(TIMEOUT), Err(RecvTimeoutError::Timeout)))
            .join()
            .unwrap();
        thread::sleep(PARK);
        tx.send(1).unwrap();
        let (r, took) = long.join().unwrap();
        assert_eq!(r, Ok(1));
        assert!(
            took < SLACK,
            "the long waiter missed its wake-up ({took:?})"
        );
    });

    // The same for senders on a full buffer.
    tx.send(0).unwrap();
    thread::scope(|s| {
        let long = s.spawn(|| {
            let start = Instant::now();
            let r = tx.send_timeout(2, 2 * SLACK);
            (r, start.elapsed())
        });
        s.spawn(|| {
            assert_eq!(
                tx.send_timeout(3, TIMEOUT),
                Err(SendTimeoutError::Timeout(3))
            )
        })
        .join()
        .unwrap();
        thread::sleep(PARK);
        assert_eq!(rx.recv(), Ok(0));
        let (r, took) = long.join().unwrap();
        assert_eq!(r, Ok(()));
        assert!(
            took < SLACK,
            "the long waiter missed its wake-up ({took:?})"
        );
    });
    assert_eq!(rx.recv(), Ok(2));
}

#[test]
fn racing_timeouts_account_for_every_message() {
    // Senders and receivers with short, varied timeouts on a one-slot buffer: each message is
    // either received exactly once or handed back by a timed-out send.
    const THREADS: usize = if cfg!(miri) { 2 } else { 3 };
    const N: usize = if cfg!(miri) { 4 } else { 3_000 };
    const TIMEOUTS: [Duration; 4] = [
        Duration::ZERO,
        Duration::from_micros(5),
        Duration::from_micros(100),
        Duration::from_millis(1),
    ];
    let (tx, rx) = bounded(1);
    let seen: Vec<AtomicUsize> = (0..THREADS * N).map(|_| AtomicUsize::new(0)).collect();
    let returned = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    thread::scope(|s| {
        for p in 0..THREADS {
            let (tx, returned, done) = (&tx, &returned, &done);
            s.spawn(move || {
                for i in 0..N {
                    if let Err(e) = tx.send_timeout(p * N + i, TIMEOUTS[(i + p) % 4]) {
                        assert!(e.is_timeout());
                        assert_eq!(e.into_inner(), p * N + i);
                        returned.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
        for c in 0..THREADS {
            let (rx, seen, done) = (&rx, &seen, &done);
            s.spawn(move || {
                let mut i = 0;
                loop {
                    match rx.recv_timeout(TIMEOUTS[(i + c) % 4]) {
                        Ok(v) => {
                            seen[v].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            if done.load(Ordering::Relaxed) == THREADS && rx.is_empty() {
                                break;
                            }
                        }
                        Err(RecvTimeoutError::Closed) => unreachable!(),
                    }
                    i += 1;
                }
            });
        }
    });
    let received: usize = seen
        .iter()
        .map(|c| {
            let n = c.load(Ordering::Relaxed);
            assert!(n <= 1, "a message received twice");
            n
        })
        .sum();
    assert_eq!(received + returned.into_inner(), THREADS * N);
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
