//! Integration tests for the async operations of `weft::chan` (`send_async`, `recv_async`) on
//! every flavour: smoke -> close -> threads and tasks mixed -> cancel safety -> waker updates
//! -> many tasks -> lost wake-ups; the unbounded flavour's variants (`*_unbounded`) at the end.
//!
//! No runtime: `common::block_on` parks the calling thread between polls, and single-threaded
//! tests poll by hand (`poll_once`) with counting wakers, so every registration, wake-up and
//! cancellation happens at a chosen point. `common::HookWaker` runs code from inside the
//! channel's own waker calls, which makes some races deterministic.
//!
//! Loop and thread counts shrink under Miri; liveness checks use deadlines.

#[macro_use]
mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Poll;
use std::thread;
use std::time::Instant;

use common::{
    assert_send, block_on, block_on_timeout, poll_once, wait_for, Chan, CountingWaker, DropTracker,
    HookWaker, Tracked, PARK, SLACK, TIMEOUT,
};
use weft::chan::{
    bounded, unbounded, Receiver, RecvError, RecvFuture, RecvTimeoutError, SendError, SendFuture,
    Sender, TryRecvError, TrySendError,
};

/// Both bounded flavours: rendezvous and a small ring buffer. The unbounded flavour, whose
/// sends never wait, has its own `*_unbounded` variants of the tests that loop over these.
const CAPS: [usize; 2] = [0, 2];

// ---------------------------------------------------------------------------------------------
// Smoke
// ---------------------------------------------------------------------------------------------

#[test]
fn futures_are_send() {
    // A multi-threaded executor may move a pending future to another thread.
    assert_send::<SendFuture<'static, i32>>();
    assert_send::<RecvFuture<'static, i32>>();
    assert_send::<SendFuture<'static, std::cell::Cell<i32>>>();
    assert_not_impl!(SendFuture<'static, Rc<i32>>: Send);
    assert_not_impl!(RecvFuture<'static, Rc<i32>>: Send);

    let (tx, rx) = bounded::<i32>(1);
    assert_eq!(format!("{:?}", tx.send_async(1)), "SendFuture { .. }");
    assert_eq!(format!("{:?}", rx.recv_async()), "RecvFuture { .. }");
}

#[test]
fn smoke_ring_buffer() {
    let (tx, rx) = bounded(2);
    block_on(tx.send_async(1)).unwrap();
    block_on(tx.send_async(2)).unwrap();
    assert_eq!(block_on(rx.recv_async()), Ok(1));
    assert_eq!(rx.recv(), Ok(2));

    // Ready at the first poll when it can be, without touching the waker.
    let (c, w) = CountingWaker::new();
    assert_eq!(poll_once(pin!(tx.send_async(3)), &w), Poll::Ready(Ok(())));
    assert_eq!(poll_once(pin!(rx.recv_async()), &w), Poll::Ready(Ok(3)));
    assert_eq!(c.wakes(), 0);
}

#[test]
fn smoke_rendezvous() {
    let (tx, rx) = bounded(0);
    thread::scope(|s| {
        s.spawn(|| assert_eq!(rx.recv(), Ok(1)));
        block_on(tx.send_async(1)).unwrap();
    });
    thread::scope(|s| {
        s.spawn(|| tx.send(2).unwrap());
        assert_eq!(block_on(rx.recv_async()), Ok(2));
    });
    // Async on both sides.
    thread::scope(|s| {
        s.spawn(|| block_on(tx.send_async(3)).unwrap());
        assert_eq!(block_on(rx.recv_async()), Ok(3));
    });
}

#[test]
fn pending_until_the_other_side_acts() {
    for cap in CAPS {
        let (tx, rx) = bounded(cap);
        for _ in 0..cap {
            tx.send(0).unwrap();
        }
        // A full buffer / no receiver: the send waits.
        let (sc, sw) = CountingWaker::new();
        let mut send = pin!(tx.send_async(1));
        assert!(poll_once(send.as_mut(), &sw).is_pending());
        assert!(poll_once(send.as_mut(), &sw).is_pending(), "re-poll");
        assert_eq!(sc.wakes(), 0);
        // A receive makes room or, on a rendezvous, takes the message from the future.
        assert_eq!(rx.recv(), Ok(if cap == 0 { 1 } else { 0 }));
        assert_eq!(sc.wakes(), 1, "cap {cap}: the pending send is woken");
        assert_eq!(poll_once(send.as_mut(), &sw), Poll::Ready(Ok(())));
        for _ in 0..cap {
            rx.recv().unwrap();
        }
        assert!(rx.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Close
// ---------------------------------------------------------------------------------------------

#[test]
fn closed_channel_resolves_at_once() {
    for cap in CAPS {
        let (tx, rx) = bounded(cap);
        if cap > 0 {
            tx.send(1).unwrap();
        }
        tx.close();
        let (c, w) = CountingWaker::new();
        assert_eq!(
            poll_once(pin!(tx.send_async(2)), &w),
            Poll::Ready(Err(SendError(2))),
            "the message comes back"
        );
        if cap > 0 {
            assert_eq!(poll_once(pin!(rx.recv_async()), &w), Poll::Ready(Ok(1)));
        }
        assert_eq!(
            poll_once(pin!(rx.recv_async()), &w),
            Poll::Ready(Err(RecvError))
        );
        assert_eq!(c.wakes(), 0);
    }
}

/// Polls a send and a receive to `Pending` (on two channels of capacity `cap`), runs `close`,
/// and checks both futures were woken and resolve with the close (the send with its message
/// back).
fn close_wakes_pending_futures(cap: usize, close: impl Fn(Sender<u32>, Receiver<u32>)) {
    // A pending send needs a full buffer, a pending receive an empty one: two channels.
    let (tx, rx) = bounded(cap);
    for _ in 0..cap {
        tx.send(0).unwrap();
    }
    let (sc, sw) = CountingWaker::new();
    let mut send = pin!(tx.send_async(7));
    assert!(poll_once(send.as_mut(), &sw).is_pending());

    let (tx2, rx2) = bounded::<u32>(cap);
    let (rc, rw) = CountingWaker::new();
    let mut recv = pin!(rx2.recv_async());
    assert!(poll_once(recv.as_mut(), &rw).is_pending());

    close(tx.clone(), rx.clone());
    close(tx2.clone(), rx2.clone());
    assert!(
        sc.wakes() >= 1,
        "cap {cap}: pending send woken by the close"
    );
    assert!(
        rc.wakes() >= 1,
        "cap {cap}: pending receive woken by the close"
    );
    assert_eq!(
        poll_once(send.as_mut(), &sw),
        Poll::Ready(Err(SendError(7)))
    );
    assert_eq!(poll_once(recv.as_mut(), &rw), Poll::Ready(Err(RecvError)));
}

#[test]
fn close_wakes_pending_futures_sender_side() {
    for cap in CAPS {
        close_wakes_pending_futures(cap, |tx, _| {
            tx.close();
        });
    }
}

#[test]
fn close_wakes_pending_futures_receiver_side() {
    for cap in CAPS {
        close_wakes_pending_futures(cap, |_, rx| {
            rx.close();
        });
    }
}

#[test]
fn last_handle_drop_wakes_pending_futures() {
    for cap in CAPS {
        // The last receiver goes: a pending send fails with its message.
        let (tx, rx) = bounded(cap);
        for _ in 0..cap {
            tx.send(0).unwrap();
        }
        let (c, w) = CountingWaker::new();
        let mut send = pin!(tx.send_async(5));
        assert!(poll_once(send.as_mut(), &w).is_pending());
        drop(rx);
        assert!(c.wakes() >= 1);
        assert_eq!(poll_once(send.as_mut(), &w), Poll::Ready(Err(SendError(5))));

        // The last sender goes: a pending receive sees the close.
        let (tx, rx) = bounded::<u32>(cap);
        let (c, w) = CountingWaker::new();
        let mut recv = pin!(rx.recv_async());
        assert!(poll_once(recv.as_mut(), &w).is_pending());
        drop(tx);
        assert!(c.wakes() >= 1);
        assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Err(RecvError)));
    }
}

// ---------------------------------------------------------------------------------------------
// Threads and tasks mixed
// ---------------------------------------------------------------------------------------------

/// `senders` threads send `per` values each (async if `async_send`), `receivers` threads
/// receive until the close (async if `async_recv`); every value arrives exactly once.
fn mixed(
    cap: usize,
    senders: usize,
    receivers: usize,
    per: usize,
    async_send: bool,
    async_recv: bool,
) {
    mixed_on(
        bounded(cap),
        senders,
        receivers,
        per,
        async_send,
        async_recv,
    );
}

/// [`mixed`] on a given (fresh, empty, open) channel of any flavour.
fn mixed_on(
    (tx, rx): Chan<usize>,
    senders: usize,
    receivers: usize,
    per: usize,
    async_send: bool,
    async_recv: bool,
) {
    let seen: Vec<AtomicUsize> = (0..senders * per).map(|_| AtomicUsize::new(0)).collect();
    thread::scope(|s| {
        for p in 0..senders {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    let v = p * per + i;
                    if async_send {
                        block_on(tx.send_async(v)).unwrap();
                    } else {
                        tx.send(v).unwrap();
                    }
                }
            });
        }
        drop(tx);
        for _ in 0..receivers {
            let (rx, seen) = (rx.clone(), &seen);
            s.spawn(move || {
                let mut last = vec![None; senders];
                loop {
                    let r = if async_recv {
                        block_on(rx.recv_async())
                    } else {
                        rx.recv()
                    };
                    let Ok(v) = r else { break };
                    // Per-sender order holds for async operations too.
                    let (p, i) = (v / per, v % per);
                    assert!(last[p].map_or(true, |l| i > l), "out of order");
                    last[p] = Some(i);
                    seen[v].fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    for (v, c) in seen.iter().enumerate() {
        assert_eq!(c.load(Ordering::Relaxed), 1, "value {v}");
    }
}

#[test]
fn async_senders_sync_receivers() {
    const PER: usize = if cfg!(miri) { 3 } else { 2_000 };
    for cap in CAPS {
        mixed(cap, 3, 2, PER, true, false);
    }
}

#[test]
fn sync_senders_async_receivers() {
    const PER: usize = if cfg!(miri) { 3 } else { 2_000 };
    for cap in CAPS {
        mixed(cap, 2, 3, PER, false, true);
    }
}

#[test]
fn async_senders_async_receivers() {
    const PER: usize = if cfg!(miri) { 3 } else { 2_000 };
    for cap in CAPS {
        mixed(cap, 2, 2, PER, true, true);
    }
}

#[test]
fn many_tasks_exact_quotas() {
    // 8 threads, each running one task: half send `PER` values each, half receive exactly
    // `PER` each, all async. Nothing closes the channel, so every wake-up must come from the
    // channel: a lost one shows as a task missing its deadline. Totals exact.
    const TASKS: usize = if cfg!(miri) { 2 } else { 4 }; // per side
    const PER: usize = if cfg!(miri) { 3 } else { 2_000 };
    for cap in CAPS {
        let (tx, rx) = bounded::<usize>(cap);
        let sum = AtomicUsize::new(0);
        thread::scope(|s| {
            for t in 0..TASKS {
                let tx = &tx;
                s.spawn(move || {
                    let task = async {
                        for i in 0..PER {
                            tx.send_async(t * PER + i).await.unwrap();
                        }
                    };
                    block_on_timeout(task, 4 * SLACK).expect("sending task stalled");
                });
            }
            for _ in 0..TASKS {
                let (rx, sum) = (&rx, &sum);
                s.spawn(move || {
                    let task = async {
                        let mut got = 0;
                        for _ in 0..PER {
                            got += rx.recv_async().await.unwrap();
                        }
                        got
                    };
                    let got = block_on_timeout(task, 4 * SLACK).expect("receiving task stalled");
                    sum.fetch_add(got, Ordering::Relaxed);
                });
            }
        });
        let n = TASKS * PER;
        assert_eq!(sum.into_inner(), n * (n - 1) / 2, "cap {cap}");
        assert!(rx.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Cancel safety
// ---------------------------------------------------------------------------------------------

#[test]
fn dropped_pending_recv_loses_nothing() {
    for cap in CAPS {
        common::dropped_pending_recv_loses_nothing(bounded(cap));
    }
}

#[test]
fn dropped_notified_recv_passes_the_wake_up_on_ring_buffer() {
    // Two pending receives; a message wakes the first; the first is dropped without being
    // polled again: its wake-up must pass to the second, which gets the message.
    let (tx, rx) = bounded(1);
    let (c1, w1) = CountingWaker::new();
    let (c2, w2) = CountingWaker::new();
    let mut second = pin!(rx.recv_async());
    {
        let mut first = pin!(rx.recv_async());
        assert!(poll_once(first.as_mut(), &w1).is_pending());
        assert!(poll_once(second.as_mut(), &w2).is_pending());
        tx.try_send(1).unwrap();
        assert_eq!((c1.wakes(), c2.wakes()), (1, 0), "FIFO: the first is woken");
    }
    assert_eq!(c2.wakes(), 1, "the dropped future passed its wake-up on");
    assert_eq!(poll_once(second.as_mut(), &w2), Poll::Ready(Ok(1)));
}

#[test]
fn dropped_notified_recv_passes_the_wake_up_to_a_thread() {
    // As above, with a thread blocked in `recv` second in line.
    common::dropped_notified_recv_passes_the_wake_up_to_a_thread(bounded(1));
}

#[test]
fn dropped_notified_recv_passes_the_wake_up_on_rendezvous() {
    // Rendezvous receivers are notify-only: a blocked sender wakes one pending receive, which
    // then comes to take the message. Dropped instead, it must wake the next receive.
    let (tx, rx) = bounded(0);
    let (c1, w1) = CountingWaker::new();
    let (c2, w2) = CountingWaker::new();
    let mut first = Box::pin(rx.recv_async());
    let mut second = pin!(rx.recv_async());
    assert!(poll_once(first.as_mut(), &w1).is_pending());
    assert!(poll_once(second.as_mut(), &w2).is_pending());
    thread::scope(|s| {
        let sender = s.spawn(|| tx.send_timeout(4, 2 * SLACK));
        wait_for("the sender to wake the first receive", || c1.wakes() == 1);
        assert_eq!(c2.wakes(), 0);
        drop(first);
        assert_eq!(c2.wakes(), 1, "the wake-up passed to the second receive");
        assert_eq!(poll_once(second.as_mut(), &w2), Poll::Ready(Ok(4)));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

#[test]
fn dropped_notified_recv_leaves_the_sender_for_a_later_receiver() {
    // On a rendezvous, a notified receive dropped with nobody to pass to: the blocked sender
    // stays, and a receiver arriving later takes its message.
    let (tx, rx) = bounded(0);
    let (c, w) = CountingWaker::new();
    let mut recv = Box::pin(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &w).is_pending());
    thread::scope(|s| {
        let sender = s.spawn(|| tx.send_timeout(6, 2 * SLACK));
        wait_for("the sender to wake the receive", || c.wakes() == 1);
        drop(recv);
        assert_eq!(rx.recv_timeout(SLACK), Ok(6));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

#[test]
fn try_send_reaches_async_receivers_on_rendezvous() {
    // Go's semantics: a non-blocking send to an unbuffered channel succeeds while a receiver
    // waits. A pending receive (a future, which may be dropped at any moment) is not handed
    // the value: it goes into the channel's hand-off slot, the receive is woken and takes it
    // from there; a receive dropped before it does leaves it for the next receiver.
    let (tx, rx) = bounded(0);
    let (c, w) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &w).is_pending());
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(c.wakes(), 1);
    assert_eq!(
        tx.try_send(9),
        Err(TrySendError::Full(9)),
        "one in transit at most"
    );
    assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Ok(1)));
    assert_eq!(
        tx.try_send(9),
        Err(TrySendError::Full(9)),
        "nobody waits now"
    );

    {
        let mut dropped = pin!(rx.recv_async());
        assert!(poll_once(dropped.as_mut(), &w).is_pending());
        assert_eq!(tx.try_send(2), Ok(()));
    }
    assert_eq!(rx.len(), 1, "in the slot");
    assert_eq!(rx.try_recv(), Ok(2), "the next receiver takes it");
    assert_eq!(rx.len(), 0);

    // A message left in the slot is received after the close, or dropped once with it.
    let drops = DropTracker::new(1);
    let (tx, rx) = bounded(0);
    {
        let mut dropped = pin!(rx.recv_async());
        assert!(poll_once(dropped.as_mut(), &w).is_pending());
        assert!(tx.try_send(Tracked::new(&drops, 0)).is_ok());
    }
    drop(tx);
    drop(rx);
    assert_eq!(drops.drops(0), 1, "dropped exactly once, with the channel");

    // A thread blocked in a send still reaches a pending receive.
    let (tx, rx) = bounded(0);
    let (c, w) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &w).is_pending());
    thread::scope(|s| {
        let sender = s.spawn(|| tx.send_timeout(2, 2 * SLACK));
        wait_for("the sender to wake the receive", || c.wakes() >= 1);
        assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Ok(2)));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

#[test]
fn dropped_pending_send_drops_its_message_once_on_rendezvous() {
    let drops = DropTracker::new(1);
    let (tx, rx) = bounded(0);
    let (c, w) = CountingWaker::new();
    {
        let mut send = pin!(tx.send_async(Tracked::new(&drops, 0)));
        assert!(poll_once(send.as_mut(), &w).is_pending());
        assert_eq!(drops.total(), 0, "the pending future holds the message");
    }
    assert_eq!(drops.drops(0), 1, "dropped exactly once, with the future");
    assert_eq!(c.wakes(), 0);
    // Never received.
    assert_eq!(rx.try_recv().map(|m| m.id), Err(TryRecvError::Empty));
    assert_eq!(
        rx.recv_timeout(TIMEOUT).map(|m| m.id),
        Err(RecvTimeoutError::Timeout)
    );
    drop((tx, rx));
    assert_eq!(drops.total(), 1);
}

#[test]
fn dropped_pending_send_drops_its_message_once_on_ring_buffer() {
    let drops = DropTracker::new(2);
    let (tx, rx) = bounded(1);
    tx.send(Tracked::new(&drops, 0)).unwrap();
    let (c, w) = CountingWaker::new();
    {
        let mut send = pin!(tx.send_async(Tracked::new(&drops, 1)));
        assert!(poll_once(send.as_mut(), &w).is_pending());
    }
    assert_eq!(drops.drops(1), 1);
    assert_eq!(drops.drops(0), 0, "the buffered message is untouched");
    assert_eq!(rx.recv().unwrap().id, 0);
    assert_eq!(rx.try_recv().map(|m| m.id), Err(TryRecvError::Empty));
    assert_eq!(c.wakes(), 0, "a dropped future is never woken");
    drop((tx, rx));
    drops.assert_all_dropped_once();
}

#[test]
fn selected_send_dropped_before_repoll_delivers_once() {
    // A pending rendezvous send whose message a receiver has already taken, dropped before it
    // is polled again: the message was delivered, exactly once, and not dropped by the future.
    let drops = DropTracker::new(1);
    let (tx, rx) = bounded(0);
    let (c, w) = CountingWaker::new();
    let got = {
        let mut send = pin!(tx.send_async(Tracked::new(&drops, 0)));
        assert!(poll_once(send.as_mut(), &w).is_pending());
        // A receiver arrives and takes the message out of the pending future.
        let got = rx.try_recv().expect("a pending send is there to take from");
        assert_eq!(c.wakes(), 1, "the send is woken to complete");
        got
    };
    assert_eq!(got.id, 0);
    assert_eq!(
        drops.total(),
        0,
        "the dropped future did not drop the delivered message"
    );
    assert_eq!(
        rx.try_recv().map(|m| m.id),
        Err(TryRecvError::Empty),
        "delivered once"
    );
    drop(got);
    assert_eq!(drops.drops(0), 1);
}

#[test]
fn selected_send_completes_on_repoll() {
    for cap in CAPS {
        let (tx, rx) = bounded(cap);
        for _ in 0..cap {
            tx.send(0).unwrap();
        }
        let (c, w) = CountingWaker::new();
        let mut send = pin!(tx.send_async(9));
        assert!(poll_once(send.as_mut(), &w).is_pending());
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..cap {
                    assert_eq!(rx.recv(), Ok(0));
                }
                assert_eq!(rx.recv(), Ok(9));
            });
            wait_for("the receiver to wake the send", || c.wakes() >= 1);
            let start = Instant::now();
            loop {
                match poll_once(send.as_mut(), &w) {
                    Poll::Ready(r) => break assert_eq!(r, Ok(())),
                    Poll::Pending => {
                        assert!(start.elapsed() < SLACK, "woken send never completed");
                        thread::yield_now();
                    }
                }
            }
        });
    }
}

#[test]
fn receive_moves_a_pending_sends_message() {
    // Ring buffer: two pending sends on a full buffer. A receive frees the slot and, the
    // first pending send lending its message, moves that message into the slot and completes
    // the send: its task is woken done, not woken to retry. Dropping that future unpolled
    // then loses nothing (the message is in the buffer), and the second send, for which
    // there is no room, is not woken until the next receive does the same for it.
    let drops = DropTracker::new(3);
    let (tx, rx) = bounded(1);
    tx.send(Tracked::new(&drops, 0)).unwrap();
    let (c1, w1) = CountingWaker::new();
    let (c2, w2) = CountingWaker::new();
    let mut second = pin!(tx.send_async(Tracked::new(&drops, 2)));
    {
        let mut first = pin!(tx.send_async(Tracked::new(&drops, 1)));
        assert!(poll_once(first.as_mut(), &w1).is_pending());
        assert!(poll_once(second.as_mut(), &w2).is_pending());
        assert_eq!(rx.recv().unwrap().id, 0);
        assert_eq!((c1.wakes(), c2.wakes()), (1, 0));
        assert_eq!(rx.len(), 1, "the first's message moved into the buffer");
    }
    assert_eq!(
        drops.drops(1),
        0,
        "the first's message was delivered, not dropped"
    );
    assert_eq!(c2.wakes(), 0, "no room for the second: not woken");
    assert!(poll_once(second.as_mut(), &w2).is_pending());
    assert_eq!(rx.recv().unwrap().id, 1);
    assert_eq!(c2.wakes(), 1, "the receive moved the second's message too");
    assert!(matches!(
        poll_once(second.as_mut(), &w2),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(rx.recv().unwrap().id, 2);
    drops.assert_all_dropped_once();
}

#[test]
fn dropped_notified_send_passes_the_wake_up_on() {
    // Ring buffer: two pending sends on a full buffer, the first an async select's send arm
    // (which does not lend its message: its value is sent only if its arm is chosen). A
    // receive frees the slot and wakes the first to retry; dropping it unpolled must pass
    // the wake-up on: the second send's message is moved into the freed slot.
    let drops = DropTracker::new(3);
    let (tx, rx) = bounded(1);
    tx.send(Tracked::new(&drops, 0)).unwrap();
    let (c1, w1) = CountingWaker::new();
    let (c2, w2) = CountingWaker::new();
    let mut second = pin!(tx.send_async(Tracked::new(&drops, 2)));
    {
        let msg = Tracked::new(&drops, 1);
        let tx = &tx;
        let mut first = pin!(async move {
            weft::select_async! { send(tx, msg) -> r => r }
        });
        assert!(poll_once(first.as_mut(), &w1).is_pending());
        assert!(poll_once(second.as_mut(), &w2).is_pending());
        assert_eq!(rx.recv().unwrap().id, 0);
        assert_eq!((c1.wakes(), c2.wakes()), (1, 0));
        assert_eq!(rx.len(), 0, "the select's value stays with it");
    }
    assert_eq!(drops.drops(1), 1, "the first's message dropped with it");
    assert_eq!(c2.wakes(), 1, "the wake-up passed to the second send");
    assert_eq!(
        rx.len(),
        1,
        "passed on to a lending send: its message moved"
    );
    assert!(matches!(
        poll_once(second.as_mut(), &w2),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(rx.recv().unwrap().id, 2);
    drops.assert_all_dropped_once();
}

#[test]
fn cancel_storm() {
    const PER: usize = if cfg!(miri) { 4 } else { 3_000 };
    for cap in CAPS {
        common::cancel_storm(bounded(cap), PER);
    }
}

// ---------------------------------------------------------------------------------------------
// Waker updates
// ---------------------------------------------------------------------------------------------

#[test]
fn recv_wakes_the_latest_waker() {
    for cap in CAPS {
        let (tx, rx) = bounded(cap);
        let (a, wa) = CountingWaker::new();
        let (b, wb) = CountingWaker::new();
        let mut recv = pin!(rx.recv_async());
        assert!(poll_once(recv.as_mut(), &wa).is_pending());
        assert!(poll_once(recv.as_mut(), &wb).is_pending());
        thread::scope(|s| {
            // A blocking send: on a rendezvous it waits in the channel and notifies the task.
            let sender = s.spawn(|| tx.send_timeout(1, 2 * SLACK));
            wait_for("a wake-up", || a.wakes() + b.wakes() > 0);
            assert_eq!((a.wakes(), b.wakes()), (0, 1), "cap {cap}: only B is woken");
            assert_eq!(poll_once(recv.as_mut(), &wb), Poll::Ready(Ok(1)));
            assert_eq!(sender.join().unwrap(), Ok(()));
        });
    }
}

#[test]
fn send_wakes_the_latest_waker() {
    for cap in CAPS {
        let (tx, rx) = bounded(cap);
        for _ in 0..cap {
            tx.send(0).unwrap();
        }
        let (a, wa) = CountingWaker::new();
        let (b, wb) = CountingWaker::new();
        let mut send = pin!(tx.send_async(1));
        assert!(poll_once(send.as_mut(), &wa).is_pending());
        assert!(poll_once(send.as_mut(), &wb).is_pending());
        assert_eq!(rx.recv(), Ok(if cap == 0 { 1 } else { 0 }));
        assert_eq!((a.wakes(), b.wakes()), (0, 1), "cap {cap}: only B is woken");
        assert_eq!(poll_once(send.as_mut(), &wb), Poll::Ready(Ok(())));
    }
}

#[test]
fn waker_moves_between_threads() {
    // A future polled on one thread and then on another (as a work-stealing executor does)
    // is woken through the waker of the latest poll.
    for cap in CAPS {
        waker_moves_between_threads_on(bounded(cap), &format!("cap {cap}"));
    }
}

/// A receive polled to `Pending` here with waker A, then polled by another thread (with
/// `block_on`'s waker) until it completes; the one message, sent from here, must wake the
/// latest waker and never A.
///
/// The send waits for a flag the other thread raises after its first poll: after a mere
/// sleep, a loaded machine could send before that poll, while A was still the registered
/// waker, and A's (legitimate) wake-up would fail the test. The sleep after the flag only
/// makes it likely that the other thread is parked by the time the message comes.
fn waker_moves_between_threads_on((tx, rx): Chan<u32>, what: &str) {
    let mut recv = Box::pin(rx.recv_async());
    let (a, wa) = CountingWaker::new();
    assert!(poll_once(recv.as_mut(), &wa).is_pending());
    let polled = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            let moved = std::future::poll_fn(|cx| {
                let r = recv.as_mut().poll(cx);
                polled.store(true, Ordering::Release);
                r
            });
            // Twice SLACK: the main thread may spend up to SLACK waiting for the flag.
            assert_eq!(block_on_timeout(moved, 2 * SLACK), Some(Ok(3)), "{what}");
        });
        wait_for("the other thread's first poll", || {
            polled.load(Ordering::Acquire)
        });
        thread::sleep(PARK);
        tx.send_timeout(3, SLACK).unwrap();
    });
    assert_eq!(a.wakes(), 0, "{what}: the stale waker is not used");
}

// ---------------------------------------------------------------------------------------------
// Lost wake-ups, made deterministic with waker hooks
// ---------------------------------------------------------------------------------------------

/// A channel for a hook test: hooks run inside waker calls and must be `'static`, so the
/// channel lives in a static (one per test) and is borrowed for `'static`.
type StaticChan = OnceLock<(Sender<u32>, Receiver<u32>)>;

/// A receive future parked by a hook, to be inspected by the test afterwards.
type ParkedRecv = Arc<Mutex<Option<Pin<Box<RecvFuture<'static, u32>>>>>>;

#[test]
fn receive_completing_on_its_recheck_passes_on_a_later_notification() {
    // Ring buffer of capacity 1. Receive R1 registers, and its re-check (the attempt right
    // after registering) takes a message m0. Inside that window, after the take and before R1
    // withdraws its registration, receive R2 registers (finding the buffer empty) and m1 is
    // sent; m1's notification selects R1, the first waiter in line and still registered.
    // R1 then completes with m0, but the notification it received was for m1: unless R1
    // passes it on, R2 is never woken while m1 sits in the buffer (a lost wake-up: an
    // executor would never poll R2 again).
    //
    // The window is reached deterministically with two hooks:
    // - hook 1 (R1's waker, at its first clone, i.e. when R1 registers, after R1's first
    //   attempt found the buffer empty): sends m0, so the re-check finds it;
    // - hook 2 (the waker of a pending *send*, woken by R1's take of m0, which frees a slot
    //   and notifies the senders' list, before R1 withdraws): polls R2 to Pending, then
    //   sends m1.
    //
    // Regression test: before 8222a29 the waiter kept such a notification (assuming it was
    // for the change it had consumed), and R2 was never woken. The same window exists for
    // threads in `waiters::block_on` and in the first attempt of `AsyncWait::poll` when the
    // future is still registered from an earlier poll; `waiters::withdraw` now passes the
    // notification on in all three.
    static CHAN: StaticChan = OnceLock::new();
    let (tx, rx) = CHAN.get_or_init(|| bounded(1));

    // Two pending sends on a full buffer; one receive wakes the first, the second stays
    // registered to be woken (hook 2) when R1's take frees the slot.
    tx.send(0).unwrap();
    let (_, plain) = CountingWaker::new();
    // The sends are async select send arms: they do not lend their message, so a receive
    // that frees a slot wakes them (to retry) rather than moving their message, as it would
    // for `send_async` (see `receive_moves_a_pending_sends_message`).
    let mut send1 = Box::pin(async move {
        weft::select_async! { send(tx, 1) -> r => r }
    });
    assert!(poll_once(send1.as_mut(), &plain).is_pending());
    let r2: ParkedRecv = Arc::default();
    let (r2_wakes, r2_waker) = CountingWaker::new();
    let hook2 = {
        let r2 = Arc::clone(&r2);
        Box::new(move || {
            let mut f = Box::pin(rx.recv_async());
            assert!(
                poll_once(f.as_mut(), &r2_waker).is_pending(),
                "R2 finds the buffer empty"
            );
            *r2.lock().unwrap() = Some(f);
            tx.try_send(11).expect("m1 fits: R1 took m0");
        })
    };
    let (send2_hook, send2_waker) = HookWaker::new(None, Some(hook2));
    let mut send2 = Box::pin(async move {
        weft::select_async! { send(tx, 2) -> r => r }
    });
    assert!(poll_once(send2.as_mut(), &send2_waker).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));

    // R1: hook 1 sends m0 as R1 registers.
    let hook1 = Box::new(move || tx.try_send(10).expect("the buffer is empty"));
    let (r1_hook, r1_waker) = HookWaker::new(Some(hook1), None);
    let mut r1 = Box::pin(rx.recv_async());
    assert_eq!(poll_once(r1.as_mut(), &r1_waker), Poll::Ready(Ok(10)));
    assert!(r1_hook.clone_hook_ran() && send2_hook.wake_hook_ran());

    // m1 is buffered and R2 is pending: R2 must have been woken.
    assert_eq!(rx.len(), 1);
    assert!(
        r2_wakes.wakes() > 0,
        "lost wake-up: R2 pending and never woken while m1 is buffered \
         (R1's waker got the notification: {} wake-up(s))",
        r1_hook.wakes()
    );
    let mut r2 = r2.lock().unwrap().take().unwrap();
    assert_eq!(
        poll_once(r2.as_mut(), &r2_waker_dummy()),
        Poll::Ready(Ok(11))
    );
    drop((send1, send2));
}

/// A throwaway waker for a final poll.
fn r2_waker_dummy() -> std::task::Waker {
    CountingWaker::new().1
}

// ---------------------------------------------------------------------------------------------
// The unbounded flavour: the tests above that loop over `CAPS`, for `unbounded()`. Its sends
// never wait (`send_async` is ready at its first poll), so only receives can be pending.
// ---------------------------------------------------------------------------------------------

#[test]
fn smoke_unbounded() {
    let (tx, rx) = unbounded();
    block_on(tx.send_async(1)).unwrap();
    block_on(tx.send_async(2)).unwrap();
    assert_eq!(block_on(rx.recv_async()), Ok(1));
    assert_eq!(rx.recv(), Ok(2));

    // Ready at the first poll when it can be, without touching the waker; a send always can,
    // past the end of a block too (natively).
    let n = if cfg!(miri) { 3 } else { 40 };
    let (c, w) = CountingWaker::new();
    for i in 0..n {
        assert_eq!(poll_once(pin!(tx.send_async(i)), &w), Poll::Ready(Ok(())));
    }
    for i in 0..n {
        assert_eq!(poll_once(pin!(rx.recv_async()), &w), Poll::Ready(Ok(i)));
    }
    assert_eq!(c.wakes(), 0);

    // Async on both sides, across threads.
    thread::scope(|s| {
        s.spawn(|| block_on(tx.send_async(3)).unwrap());
        assert_eq!(block_on(rx.recv_async()), Ok(3));
    });
}

#[test]
fn pending_until_the_other_side_acts_unbounded() {
    let (tx, rx) = unbounded();
    let (rc, rw) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &rw).is_pending());
    assert!(poll_once(recv.as_mut(), &rw).is_pending(), "re-poll");
    assert_eq!(rc.wakes(), 0);
    // A send (itself never pending) wakes the pending receive.
    let (sc, sw) = CountingWaker::new();
    assert_eq!(poll_once(pin!(tx.send_async(1)), &sw), Poll::Ready(Ok(())));
    assert_eq!(sc.wakes(), 0);
    assert_eq!(rc.wakes(), 1, "the pending receive is woken");
    assert_eq!(poll_once(recv.as_mut(), &rw), Poll::Ready(Ok(1)));
    assert!(rx.is_empty());
}

#[test]
fn closed_channel_resolves_at_once_unbounded() {
    let (tx, rx) = unbounded();
    tx.send(1).unwrap();
    tx.close();
    let (c, w) = CountingWaker::new();
    assert_eq!(
        poll_once(pin!(tx.send_async(2)), &w),
        Poll::Ready(Err(SendError(2))),
        "the message comes back"
    );
    assert_eq!(poll_once(pin!(rx.recv_async()), &w), Poll::Ready(Ok(1)));
    assert_eq!(
        poll_once(pin!(rx.recv_async()), &w),
        Poll::Ready(Err(RecvError))
    );
    assert_eq!(c.wakes(), 0);
}

/// Polls a receive to `Pending` on an unbounded channel, runs `close`, and checks the future
/// was woken and resolves with the close; a send then fails with its message back.
fn close_wakes_pending_recv_unbounded(close: impl Fn(Sender<u32>, Receiver<u32>)) {
    let (tx, rx) = unbounded::<u32>();
    let (rc, rw) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &rw).is_pending());
    close(tx.clone(), rx.clone());
    assert!(rc.wakes() >= 1, "pending receive woken by the close");
    assert_eq!(poll_once(recv.as_mut(), &rw), Poll::Ready(Err(RecvError)));
    let (_, sw) = CountingWaker::new();
    assert_eq!(
        poll_once(pin!(tx.send_async(7)), &sw),
        Poll::Ready(Err(SendError(7)))
    );
}

#[test]
fn close_wakes_pending_futures_sender_side_unbounded() {
    close_wakes_pending_recv_unbounded(|tx, _| {
        assert!(tx.close());
    });
}

#[test]
fn close_wakes_pending_futures_receiver_side_unbounded() {
    close_wakes_pending_recv_unbounded(|_, rx| {
        assert!(rx.close());
    });
}

#[test]
fn last_handle_drop_wakes_pending_futures_unbounded() {
    // The last receiver goes: a send fails with its message, at its first poll.
    let (tx, rx) = unbounded();
    tx.send(0).unwrap();
    drop(rx);
    let (c, w) = CountingWaker::new();
    assert_eq!(
        poll_once(pin!(tx.send_async(5)), &w),
        Poll::Ready(Err(SendError(5)))
    );
    assert_eq!(c.wakes(), 0);

    // The last sender goes: a pending receive sees the close.
    let (tx, rx) = unbounded::<u32>();
    let (c, w) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &w).is_pending());
    drop(tx);
    assert!(c.wakes() >= 1);
    assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Err(RecvError)));
}

#[test]
fn async_senders_sync_receivers_unbounded() {
    const PER: usize = if cfg!(miri) { 3 } else { 5_000 };
    mixed_on(unbounded(), 3, 2, PER, true, false);
}

#[test]
fn sync_senders_async_receivers_unbounded() {
    const PER: usize = if cfg!(miri) { 3 } else { 5_000 };
    mixed_on(unbounded(), 2, 3, PER, false, true);
}

#[test]
fn async_senders_async_receivers_unbounded() {
    // Under Miri too, past a block boundary (2 x 17 messages).
    const PER: usize = if cfg!(miri) { 17 } else { 5_000 };
    mixed_on(unbounded(), 2, 2, PER, true, true);
}

#[test]
fn many_tasks_exact_quotas_unbounded() {
    // As `many_tasks_exact_quotas`: nothing closes the channel, so every wake-up of a
    // receiving task must come from a send; a lost one shows as a task missing its deadline.
    const TASKS: usize = if cfg!(miri) { 2 } else { 4 }; // per side
    const PER: usize = if cfg!(miri) { 3 } else { 5_000 };
    let (tx, rx) = unbounded::<usize>();
    let sum = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..TASKS {
            let tx = &tx;
            s.spawn(move || {
                let task = async {
                    for i in 0..PER {
                        tx.send_async(t * PER + i).await.unwrap();
                    }
                };
                block_on_timeout(task, 4 * SLACK).expect("sending task stalled");
            });
        }
        for _ in 0..TASKS {
            let (rx, sum) = (&rx, &sum);
            s.spawn(move || {
                let task = async {
                    let mut got = 0;
                    for _ in 0..PER {
                        got += rx.recv_async().await.unwrap();
                    }
                    got
                };
                let got = block_on_timeout(task, 4 * SLACK).expect("receiving task stalled");
                sum.fetch_add(got, Ordering::Relaxed);
            });
        }
    });
    let n = TASKS * PER;
    assert_eq!(sum.into_inner(), n * (n - 1) / 2);
    assert!(rx.is_empty());
}

#[test]
fn dropped_pending_recv_loses_nothing_unbounded() {
    common::dropped_pending_recv_loses_nothing(unbounded());
}

#[test]
fn dropped_notified_recv_passes_the_wake_up_on_unbounded() {
    // Two pending receives; a message wakes the first; the first is dropped without being
    // polled again: its wake-up must pass to the second, which gets the message.
    let (tx, rx) = unbounded();
    let (c1, w1) = CountingWaker::new();
    let (c2, w2) = CountingWaker::new();
    let mut second = pin!(rx.recv_async());
    {
        let mut first = pin!(rx.recv_async());
        assert!(poll_once(first.as_mut(), &w1).is_pending());
        assert!(poll_once(second.as_mut(), &w2).is_pending());
        tx.try_send(1).unwrap();
        assert_eq!((c1.wakes(), c2.wakes()), (1, 0), "FIFO: the first is woken");
    }
    assert_eq!(c2.wakes(), 1, "the dropped future passed its wake-up on");
    assert_eq!(poll_once(second.as_mut(), &w2), Poll::Ready(Ok(1)));
}

#[test]
fn dropped_notified_recv_passes_the_wake_up_to_a_thread_unbounded() {
    common::dropped_notified_recv_passes_the_wake_up_to_a_thread(unbounded());
}

#[test]
fn unpolled_send_drops_its_message_once_unbounded() {
    // A send future is never pending here, but one dropped before its first poll still owns
    // its message: dropped once, with the future, and never delivered. One polled has
    // delivered it: the future's drop leaves it alone.
    let drops = DropTracker::new(2);
    let (tx, rx) = unbounded();
    drop(tx.send_async(Tracked::new(&drops, 0)));
    assert_eq!(drops.drops(0), 1);
    assert_eq!(rx.try_recv().map(|m| m.id), Err(TryRecvError::Empty));
    {
        let (_, w) = CountingWaker::new();
        let mut send = pin!(tx.send_async(Tracked::new(&drops, 1)));
        assert!(matches!(poll_once(send.as_mut(), &w), Poll::Ready(Ok(()))));
    }
    assert_eq!(drops.drops(1), 0, "delivered, not dropped with the future");
    assert_eq!(rx.recv().map(|m| m.id), Ok(1));
    drops.assert_all_dropped_once();
}

#[test]
fn cancel_storm_unbounded() {
    const PER: usize = if cfg!(miri) { 4 } else { 5_000 };
    common::cancel_storm(unbounded(), PER);
}

#[test]
fn recv_wakes_the_latest_waker_unbounded() {
    let (tx, rx) = unbounded();
    let (a, wa) = CountingWaker::new();
    let (b, wb) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &wa).is_pending());
    assert!(poll_once(recv.as_mut(), &wb).is_pending());
    thread::scope(|s| {
        s.spawn(|| tx.send(1).unwrap());
        wait_for("a wake-up", || a.wakes() + b.wakes() > 0);
        assert_eq!((a.wakes(), b.wakes()), (0, 1), "only B is woken");
        assert_eq!(poll_once(recv.as_mut(), &wb), Poll::Ready(Ok(1)));
    });
}

#[test]
fn waker_moves_between_threads_unbounded() {
    waker_moves_between_threads_on(unbounded(), "unbounded");
}
