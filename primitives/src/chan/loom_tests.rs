//! loom models of the channel flavours, run by `ci/loom.sh`. The futex layer and the thread
//! parker are modelled, so a lost wake-up shows as a loom deadlock and a missing
//! happens-before as a causality failure on a message cell.

use super::{bounded, unbounded, RecvError, SendError, TryRecvError};
use crate::primitive::sync::Arc;
use core::future::Future;
use loom::thread;

/// A channel of `usize` of each flavour: `bounded(cap)`, or unbounded for `None`.
fn channel(cap: Option<usize>) -> (super::Sender<usize>, super::Receiver<usize>) {
    match cap {
        Some(cap) => bounded(cap),
        None => unbounded(),
    }
}

/// Polls `fut` once, on this loom thread, with a waker that unparks it.
fn poll_once<F: Future>(fut: core::pin::Pin<&mut F>) -> core::task::Poll<F::Output> {
    let mut fut = Some(fut);
    loom::future::block_on(core::future::poll_fn(move |cx| {
        core::task::Poll::Ready(fut.take().expect("polled once").poll(cx))
    }))
}

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    // Spin-then-park waits add schedule points; the default (1000) is too few for 3 threads.
    builder.max_branches = 20_000;
    builder.check(f);
}

/// A sender fills a one-slot ring buffer twice against one receiver: the sender waits on
/// "full", the receiver on "empty", in every interleaving; nothing is lost, order is kept, and
/// neither side is left asleep. (Races between two senders on one slot make the model too big
/// for loom; the stress tests in `tests/chan_array.rs` cover them under Miri and TSan.)
#[test]
fn array_send_recv_race() {
    model(3, || {
        let (tx, rx) = bounded::<usize>(1);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv(), Err(RecvError));
        t.join().unwrap();
    });
}

/// `close` races a sender blocked on a full buffer and a receiver: the sender gets its message
/// back or it was delivered; the receiver drains, then sees the close; nothing is duplicated.
#[test]
fn array_close_races_blocked_sender() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(1);
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        let sender = thread::spawn(move || tx2.send(2));
        let rx2 = rx.clone();
        let closer = thread::spawn(move || rx2.close());
        let mut got = Vec::new();
        while let Ok(m) = rx.recv() {
            got.push(m);
        }
        let sent = sender.join().unwrap();
        assert!(closer.join().unwrap());
        match sent {
            Ok(()) => assert_eq!(got, [1, 2]),
            Err(SendError(v)) => {
                assert_eq!(v, 2);
                assert_eq!(got, [1]);
            }
        }
    });
}

/// Dropping the last sender wakes a receiver blocked on an empty buffer.
#[test]
fn array_last_sender_drop_wakes_receiver() {
    model(3, || {
        let (tx, rx) = bounded::<usize>(2);
        let t = thread::spawn(move || {
            tx.send(7).unwrap();
            drop(tx);
        });
        assert_eq!(rx.recv(), Ok(7));
        assert_eq!(rx.recv(), Err(RecvError));
        t.join().unwrap();
    });
}

/// The rendezvous hand-off: a send returns only once a receiver has arrived (its earlier write
/// is visible to the sender), and the value crosses exactly once whichever side comes first.
#[test]
fn zero_handoff() {
    use crate::primitive::sync::atomic::{AtomicBool, Ordering};
    model(3, || {
        let (tx, rx) = bounded::<usize>(0);
        let arrived = Arc::new(AtomicBool::new(false));
        let arrived2 = arrived.clone();
        let t = thread::spawn(move || {
            arrived2.store(true, Ordering::Relaxed);
            assert_eq!(rx.recv(), Ok(9));
            assert_eq!(rx.recv(), Err(RecvError));
        });
        tx.send(9).unwrap();
        // The exchange synchronises the two threads, so the receiver's earlier store is seen.
        assert!(
            arrived.load(Ordering::Relaxed),
            "send completed before any receiver arrived"
        );
        drop(tx);
        t.join().unwrap();
    });
}

/// `close` races a blocked rendezvous sender and a receiver: the message is delivered to the
/// receiver exactly when the sender reports success.
#[test]
fn zero_close_races_blocked_sender() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(0);
        let rx2 = rx.clone();
        let receiver = thread::spawn(move || rx2.recv());
        let closer = thread::spawn(move || rx.close());
        let sent = tx.send(5);
        let got = receiver.join().unwrap();
        closer.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(got, Ok(5)),
            Err(SendError(v)) => {
                assert_eq!(v, 5);
                assert_eq!(got, Err(RecvError));
            }
        }
    });
}

/// An async receiver's waker registration races a send on every flavour: the future resolves
/// with the message (no lost wake-up between registering and parking the task).
#[test]
fn async_recv_registration_races_send() {
    for cap in [Some(0), Some(1), None] {
        model(2, move || {
            let (tx, rx) = channel(cap);
            let t = thread::spawn(move || tx.send(3).unwrap());
            assert_eq!(loom::future::block_on(rx.recv_async()), Ok(3));
            t.join().unwrap();
        });
    }
}

/// An async sender on a full ring buffer, racing a receiver: no lost wake-up, in order.
#[test]
fn async_send_races_recv() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(1);
        tx.send(1).unwrap();
        let t = thread::spawn(move || {
            assert_eq!(rx.recv(), Ok(1));
            assert_eq!(rx.recv(), Ok(2));
        });
        loom::future::block_on(tx.send_async(2)).unwrap();
        t.join().unwrap();
    });
}

/// An async sender on a rendezvous channel (its packet lives in the pinned future) racing a
/// blocking receiver: the message moves once, and neither side is left asleep.
#[test]
fn async_send_on_rendezvous_races_recv() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(0);
        let t = thread::spawn(move || assert_eq!(rx.recv(), Ok(2)));
        loom::future::block_on(tx.send_async(2)).unwrap();
        t.join().unwrap();
    });
}

/// A `send_async` future on a rendezvous channel, polled once (so registered, unless the
/// receiver already waits) and dropped while a receiver arrives: the message is received or
/// dropped with the future, exactly once (an `Arc`, so loom's leak check sees a loss), and
/// the receiver never reads a packet after its future is gone. The receiver then sees the
/// channel closed (the only sender went with the future's owner).
#[test]
fn dropped_async_send_on_rendezvous_loses_nothing() {
    model(2, || {
        let (tx, rx) = bounded::<Arc<usize>>(0);
        let msg = Arc::new(9usize);
        let receiver = thread::spawn(move || rx.recv().ok().map(|m| *m));
        {
            let mut fut = core::pin::pin!(tx.send_async(Arc::clone(&msg)));
            let sent = poll_once(fut.as_mut());
            assert!(
                !matches!(sent, core::task::Poll::Ready(Err(_))),
                "never closed here"
            );
        }
        drop(tx);
        let got = receiver.join().unwrap();
        assert!(got.is_none() || got == Some(9));
        assert_eq!(
            Arc::strong_count(&msg),
            1,
            "the message was kept alive somewhere"
        );
    });
}

/// Two async senders on a full one-slot ring buffer, while a receiver takes two messages; one
/// sender's future is polled once (registering, unless it finds room) and dropped. A
/// notification meant for the dropped future must reach the other sender (a lost wake-up is
/// a loom deadlock), and every message sent arrives once, in a valid order.
#[test]
fn dropped_async_sender_passes_its_wake_up_on() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(1);
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        let survivor = thread::spawn(move || loom::future::block_on(tx2.send_async(2)).unwrap());
        let rx2 = rx.clone();
        let receiver = thread::spawn(move || [rx2.recv().unwrap(), rx2.recv().unwrap()]);
        let sent = {
            let mut fut = core::pin::pin!(tx.send_async(3));
            let first = poll_once(fut.as_mut());
            matches!(first, core::task::Poll::Ready(Ok(())))
        };
        survivor.join().unwrap();
        let got = receiver.join().unwrap();
        assert_eq!(got[0], 1, "the first message sent is received first");
        let mut all: Vec<usize> = got.into_iter().chain(rx.try_iter()).collect();
        all.sort_unstable();
        // A future dropped pending may still have sent: a receive that freed a slot moved
        // its lent message into the buffer before the drop.
        if sent {
            assert_eq!(all, [1, 2, 3]);
        } else {
            assert!(all == [1, 2] || all == [1, 2, 3], "{all:?}");
        }
    });
}

/// An async send on a full ring buffer lends its message (its registration points at it) and
/// is dropped after one poll, while a receiver frees the slot and may move the message into
/// the buffer on the send's behalf. The message is received once or dropped with the future
/// once (an `Arc`, so loom's leak check sees a loss), and the receiver never touches the
/// future's message after the future is gone.
#[test]
fn dropped_lending_async_send_loses_nothing() {
    model(2, || {
        let (tx, rx) = bounded::<Arc<usize>>(1);
        tx.send(Arc::new(1)).unwrap();
        let msg = Arc::new(2usize);
        let receiver = thread::spawn(move || {
            assert_eq!(*rx.recv().unwrap(), 1);
            rx
        });
        {
            let mut fut = core::pin::pin!(tx.send_async(Arc::clone(&msg)));
            let _ = poll_once(fut.as_mut());
        }
        let rx = receiver.join().unwrap();
        let rest: Vec<usize> = rx.try_iter().map(|m| *m).collect();
        assert!(rest.is_empty() || rest == [2], "{rest:?}");
        assert_eq!(
            Arc::strong_count(&msg),
            1,
            "the message was kept alive somewhere"
        );
    });
}

/// A lending async send waits on a full ring buffer while the receiver takes a message (and
/// may move the send's message into the freed slot) and then closes the channel: the send
/// completes exactly when its message is in the buffer, and otherwise gets it back.
#[test]
fn lending_async_send_races_close() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(1);
        tx.send(1).unwrap();
        let rx2 = rx.clone();
        let receiver = thread::spawn(move || {
            assert_eq!(rx2.recv(), Ok(1));
            rx2.close();
        });
        let sent = loom::future::block_on(tx.send_async(2));
        receiver.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(rx.try_recv(), Ok(2)),
            Err(e) => {
                assert_eq!(e.into_inner(), 2);
                assert!(rx.try_recv().is_err());
            }
        }
    });
}

/// Two async receivers on an empty channel, of each flavour; one future is polled once
/// (registering) and dropped while a sender sends one message. A notification meant for the
/// dropped future must reach the other receiver, which gets the message (a lost wake-up is a
/// loom deadlock); the dropped future never takes it.
#[test]
fn dropped_async_receiver_passes_its_wake_up_on() {
    for cap in [Some(0), Some(1), None] {
        model(2, move || {
            let (tx, rx) = channel(cap);
            let rx2 = rx.clone();
            let survivor = thread::spawn(move || loom::future::block_on(rx2.recv_async()));
            let sender = thread::spawn(move || tx.send(4).unwrap());
            let taken = {
                let mut fut = core::pin::pin!(rx.recv_async());
                let first = poll_once(fut.as_mut());
                match first {
                    core::task::Poll::Ready(m) => Some(m),
                    core::task::Poll::Pending => None,
                }
            };
            sender.join().unwrap();
            // Exactly one of the two gets the message; the other sees the channel closed (its
            // only sender is gone), or was dropped pending.
            let survived = survivor.join().unwrap();
            match taken {
                Some(Ok(m)) => {
                    assert_eq!(m, 4);
                    assert_eq!(survived, Err(RecvError));
                }
                Some(Err(RecvError)) | None => assert_eq!(survived, Ok(4)),
            }
        });
    }
}

// The list flavour runs with two slots per block under loom, so three messages cross a block
// boundary: the next block's installation, the head's move into it, and the reclamation of
// the consumed block all happen inside the models. A block used after its reclamation trips
// an assertion (`Block::assert_live`); loom's `Arc` leak check catches a message not dropped.

/// A sender crosses a block boundary while a blocked receiver takes every message: order kept,
/// nothing lost, the receiver never left asleep, the consumed block reclaimed after its use.
#[test]
fn list_send_recv_across_block_boundary() {
    model(2, || {
        let (tx, rx) = unbounded::<usize>();
        let t = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        for i in 0..3 {
            assert_eq!(rx.recv(), Ok(i));
        }
        assert_eq!(rx.recv(), Err(RecvError));
        t.join().unwrap();
    });
}

/// Two senders race for a block's last slot, which means installing the next block; the
/// loser waits for the installation. Every message arrives once.
#[test]
fn list_senders_race_at_block_boundary() {
    model(2, || {
        let (tx, rx) = unbounded::<usize>();
        tx.send(0).unwrap();
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx2.send(1).unwrap());
        tx.send(2).unwrap();
        t.join().unwrap();
        let mut got: Vec<usize> = rx.try_iter().collect();
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

/// Two receivers take the two messages of a full block at once: the reclamation walk hands
/// over between them (whoever reads last reclaims the block), each message is taken once, and
/// the block is reclaimed only after both reads.
#[test]
fn list_receivers_race_on_block_reclamation() {
    model(3, || {
        let (tx, rx) = unbounded::<usize>();
        for i in 0..3 {
            tx.send(i).unwrap();
        }
        let rx2 = rx.clone();
        let t = thread::spawn(move || rx2.recv().unwrap());
        let mine = rx.recv().unwrap();
        let theirs = t.join().unwrap();
        assert_ne!(mine, theirs);
        assert!(mine < 2 && theirs < 2, "FIFO: 0 and 1 go before 2");
        assert_eq!(rx.recv(), Ok(2));
    });
}

/// `close` races a sender at a block boundary and a blocked receiver: the message is either
/// delivered or handed back, and the receiver drains then sees the close.
#[test]
fn list_close_races_send() {
    model(2, || {
        let (tx, rx) = unbounded::<usize>();
        tx.send(0).unwrap();
        let tx2 = tx.clone();
        let sender = thread::spawn(move || tx2.send(1));
        let closer = thread::spawn(move || tx.close());
        let mut got = Vec::new();
        while let Ok(m) = rx.recv() {
            got.push(m);
        }
        let sent = sender.join().unwrap();
        assert!(closer.join().unwrap());
        match sent {
            Ok(()) => assert_eq!(got, [0, 1]),
            Err(SendError(v)) => {
                assert_eq!(v, 1);
                assert_eq!(got, [0]);
            }
        }
    });
}

/// Dropping the last sender wakes a receiver blocked on an empty list; a message left behind
/// when both sides are gone is dropped with the channel.
#[test]
fn list_last_sender_drop_wakes_receiver() {
    model(3, || {
        let (tx, rx) = unbounded::<Arc<usize>>();
        let t = thread::spawn(move || {
            tx.send(Arc::new(1)).unwrap();
            tx.send(Arc::new(2)).unwrap();
            drop(tx);
        });
        assert_eq!(*rx.recv().unwrap(), 1);
        t.join().unwrap();
        // Message 2 stays buffered and is dropped with the channel.
    });
}

/// Two selects race for the messages of two channels (a ring buffer and a list): each select
/// completes exactly one receive, and together they take both messages, whatever the order of
/// the sends, the registrations and the wake-ups.
#[test]
fn select_two_selects_race_for_two_channels() {
    model(2, || {
        let (tx_a, rx_a) = bounded::<usize>(1);
        let (tx_b, rx_b) = unbounded::<usize>();
        let (rx_a2, rx_b2) = (rx_a.clone(), rx_b.clone());
        let t = thread::spawn(move || {
            crate::select! {
                recv(rx_a2) -> m => m.unwrap(),
                recv(rx_b2) -> m => m.unwrap(),
            }
        });
        tx_a.send(1).unwrap();
        tx_b.send(2).unwrap();
        let mine = crate::select! {
            recv(rx_a) -> m => m.unwrap(),
            recv(rx_b) -> m => m.unwrap(),
        };
        let theirs = t.join().unwrap();
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// A select blocked on a rendezvous channel and a ring buffer races the close of the
/// rendezvous channel: it wakes and reports the close on that arm (nothing else was sent).
#[test]
fn select_races_close() {
    model(3, || {
        let (tx_a, rx_a) = bounded::<usize>(0);
        let (_tx_b, rx_b) = bounded::<usize>(1);
        let t = thread::spawn(move || {
            crate::select! {
                recv(rx_a) -> m => m,
                recv(rx_b) -> _m => unreachable!("nothing is sent on b"),
            }
        });
        drop(tx_a);
        assert_eq!(t.join().unwrap(), Err(RecvError));
    });
}

/// Two selects meet on the two ends of two rendezvous channels (`A: send(c) | recv(d)`,
/// `B: recv(c) | send(d)`): exactly one exchange happens and both agree which, also when both
/// are registered and each could claim the other.
#[test]
fn select_meets_select_on_rendezvous() {
    model(2, || {
        let (tx_c, rx_c) = bounded::<usize>(0);
        let (tx_d, rx_d) = bounded::<usize>(0);
        let t = thread::spawn(move || {
            crate::select! {
                recv(rx_c) -> m => ('c', m.unwrap()),
                send(tx_d, 2) -> r => { r.unwrap(); ('d', 2) },
            }
        });
        let mine = crate::select! {
            send(tx_c, 1) -> r => { r.unwrap(); ('c', 1) },
            recv(rx_d) -> m => ('d', m.unwrap()),
        };
        assert_eq!(t.join().unwrap(), mine);
    });
}

/// A select with a timeout races a message's arrival (the model lets the timed wait expire at
/// any point): either the select took the message, or it timed out and the message is still
/// in the channel. Nothing lost, nothing duplicated.
#[test]
fn select_timeout_races_arrival() {
    model(3, || {
        let (tx, rx) = bounded::<usize>(1);
        let rx2 = rx.clone();
        let t = thread::spawn(move || {
            crate::select! {
                recv(rx2) -> m => Some(m.unwrap()),
                default(core::time::Duration::from_secs(3600)) => None,
            }
        });
        tx.send(7).unwrap();
        match t.join().unwrap() {
            Some(v) => {
                assert_eq!(v, 7);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }
            None => assert_eq!(rx.try_recv(), Ok(7)),
        }
    });
}

/// A selecting sender on a rendezvous channel against a plain receiver: the select registers
/// an empty packet and writes its value only once selected, while the receiver waits for it.
#[test]
fn select_send_on_rendezvous_against_plain_recv() {
    model(3, || {
        let (tx, rx) = bounded::<usize>(0);
        let (_tx_b, rx_b) = bounded::<usize>(1);
        let t = thread::spawn(move || rx.recv());
        crate::select! {
            send(tx, 5) -> r => r.unwrap(),
            recv(rx_b) -> _m => unreachable!("nothing is sent on b"),
        }
        assert_eq!(t.join().unwrap(), Ok(5));
    });
}

/// A reused `Select` lends its rendezvous packet to each completion and gets it back for the
/// next blocking select: the partner's write into the packet must be over before the packet
/// is registered again (loom tracks the packet's message cell).
#[test]
fn reused_select_recv_reuses_its_packet() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(0);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let mut sel = super::Select::new();
        sel.recv(&rx);
        let mut got = [0; 2];
        for slot in &mut got {
            let op = sel.select();
            *slot = op.recv(&rx).unwrap();
        }
        assert_eq!(got, [1, 2]);
        t.join().unwrap();
    });
}

/// The send side of [`reused_select_recv_reuses_its_packet`]: the select writes into its own
/// packet once chosen and must see the receiver's `DONE` before the next registration.
#[test]
fn reused_select_send_reuses_its_packet() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(0);
        let t = thread::spawn(move || [rx.recv().unwrap(), rx.recv().unwrap()]);
        let mut sel = super::Select::new();
        sel.send(&tx);
        for v in [1, 2] {
            let op = sel.select();
            op.send(&tx, v).unwrap();
        }
        assert_eq!(t.join().unwrap(), [1, 2]);
    });
}

/// Two receivers wait with `Select::ready` (a watcher registration: notified, it commits
/// nothing) on each flavour while one message is sent. One of them walks away after its
/// `ready` returns, without receiving; the other loops on `ready` and `try_recv`. A
/// notification that went to the one walking away must be passed on (`Arm::pass_on`), or the
/// other sleeps beside a waiting message: a loom deadlock.
#[test]
fn ready_watcher_walking_away_passes_its_wake_up_on() {
    for cap in [Some(0), Some(1), None] {
        model(2, move || {
            let (tx, rx) = channel(cap);
            let rx2 = rx.clone();
            let walker = thread::spawn(move || {
                let mut sel = super::Select::new();
                sel.recv(&rx2);
                assert_eq!(sel.ready(), 0);
            });
            let taker = thread::spawn(move || {
                let mut sel = super::Select::new();
                sel.recv(&rx);
                loop {
                    assert_eq!(sel.ready(), 0);
                    match rx.try_recv() {
                        Ok(m) => return m,
                        Err(TryRecvError::Empty) => {} // woken early: wait again
                        Err(e) => panic!("{e:?}: the sender is alive"),
                    }
                }
            });
            tx.send(1).unwrap();
            assert_eq!(taker.join().unwrap(), 1);
            // The walker may not have been woken at all (the taker was first): the close
            // makes its arm ready.
            drop(tx);
            walker.join().unwrap();
        });
    }
}

/// A `Select` send on a rendezvous channel selects a receiver that waits with a deadline
/// (the model lets it expire at any point), and the `SelectedOperation` is dropped
/// uncompleted: the receiver must go on waiting and then either time out or take a later
/// message — never a message that was not sent, never stuck on the withdrawn partner.
#[test]
fn select_give_back_on_rendezvous_while_partner_waits_with_deadline() {
    model(3, || {
        let (tx, rx) = bounded::<usize>(0);
        let t = thread::spawn(move || rx.recv_timeout(core::time::Duration::from_secs(3600)));
        {
            let mut sel = super::Select::new();
            sel.send(&tx);
            if let Ok(op) = sel.select_timeout(core::time::Duration::from_secs(3600)) {
                drop(op); // given back
            };
        }
        let late = tx.try_send(9);
        match (late, t.join().unwrap()) {
            (Ok(()), Ok(9)) => {}
            (Err(_), Err(super::RecvTimeoutError::Timeout)) => {}
            (late, got) => panic!("inconsistent: late send {late:?}, receiver {got:?}"),
        }
    });
}

/// A select with `default` over two one-slot channels of which one holds a message at every
/// instant (the other thread fills the second before it empties the first): it must never
/// take the default, in any interleaving (the linearizable non-blocking select).
#[test]
fn default_select_against_a_message_held_throughout() {
    model(3, || {
        let (s1, r1) = bounded::<usize>(1);
        let (s2, r2) = bounded::<usize>(1);
        s1.send(1).unwrap();
        let r1b = r1.clone();
        let t = thread::spawn(move || {
            s2.send(2).unwrap();
            r1b.try_recv().ok()
        });
        let got = crate::select! {
            recv(r1) -> m => m.ok(),
            recv(r2) -> m => m.ok(),
            default => panic!("default taken while a channel held a message"),
        };
        let other = t.join().unwrap();
        // Each message is received once: by the select or the other thread, or still in r2.
        assert!(got.is_some());
        assert_ne!(got, other);
    });
}

// Async select (`select_async!`, `select_async.rs`): the same arms as the blocking select,
// registered with a waker instead of a parked thread. A future polled and dropped must leave
// every channel as if it had never waited; one that completes commits exactly one arm.

/// An async select meets a blocking select on the two ends of two rendezvous channels (as in
/// [`select_meets_select_on_rendezvous`], one side a task): exactly one exchange happens and
/// both agree which, also when both are registered and each could claim the other.
#[test]
fn async_select_meets_blocking_select_on_rendezvous() {
    model(2, || {
        let (tx_c, rx_c) = bounded::<usize>(0);
        let (tx_d, rx_d) = bounded::<usize>(0);
        let t = thread::spawn(move || {
            crate::select! {
                recv(rx_c) -> m => ('c', m.unwrap()),
                send(tx_d, 2) -> r => { r.unwrap(); ('d', 2) },
            }
        });
        let mine = loom::future::block_on(async {
            crate::select_async! {
                send(tx_c, 1) -> r => { r.unwrap(); ('c', 1) },
                recv(rx_d) -> m => ('d', m.unwrap()),
            }
        });
        assert_eq!(t.join().unwrap(), mine);
    });
}

/// An async select over a channel of each flavour (and a second channel nothing is sent on)
/// is polled once, registering its arms, and dropped while a sender sends one message; a
/// second receiver waits on the same channel. The notification meant for the dropped select
/// must reach the other receiver (a lost wake-up is a loom deadlock), and the message is
/// received exactly once: by the select's one poll, or by the other receiver.
#[test]
fn dropped_async_select_passes_its_wake_up_on() {
    for cap in [Some(0), Some(1), None] {
        model(2, move || {
            let (tx, rx) = channel(cap);
            let (_tx_b, rx_b) = bounded::<usize>(1);
            let rx2 = rx.clone();
            let survivor = thread::spawn(move || loom::future::block_on(rx2.recv_async()));
            let sender = thread::spawn(move || tx.send(4).unwrap());
            let taken = {
                let mut fut = core::pin::pin!(async {
                    crate::select_async! {
                        recv(rx) -> m => m,
                        recv(rx_b) -> _m => unreachable!("nothing is sent on b"),
                    }
                });
                match poll_once(fut.as_mut()) {
                    core::task::Poll::Ready(m) => Some(m),
                    core::task::Poll::Pending => None,
                }
            };
            sender.join().unwrap();
            let survived = survivor.join().unwrap();
            match taken {
                Some(Ok(m)) => {
                    assert_eq!(m, 4);
                    assert_eq!(survived, Err(RecvError));
                }
                Some(Err(RecvError)) | None => assert_eq!(survived, Ok(4)),
            }
        });
    }
}

/// An async send arm on a rendezvous channel is polled once (its value registered in the
/// future's packet, unless the receiver already waits) and dropped while a receiver arrives.
/// As `select_async!`'s cancel safety says, the value is received once (the receiver took the
/// whole packet before the drop: the send happened) or dropped with the future, never both
/// and never lost (an `Arc`, so loom's leak check and the count see either), and the
/// receiver is not left waiting on the withdrawn offer: it sees the close.
#[test]
fn dropped_async_select_send_on_rendezvous_loses_nothing() {
    model(2, || {
        let (tx, rx) = bounded::<Arc<usize>>(0);
        let (_tx_b, rx_b) = bounded::<usize>(1);
        let msg = Arc::new(8usize);
        let receiver = thread::spawn(move || rx.recv().ok().map(|m| *m));
        let completed = {
            let m = Arc::clone(&msg);
            let mut fut = core::pin::pin!(async {
                crate::select_async! {
                    send(tx, m) -> r => r.is_ok(),
                    recv(rx_b) -> _m => unreachable!("nothing is sent on b"),
                }
            });
            matches!(poll_once(fut.as_mut()), core::task::Poll::Ready(true))
        };
        drop(tx);
        let got = receiver.join().unwrap();
        if completed {
            assert_eq!(got, Some(8), "a completed send was not received");
        }
        assert!(got.is_none() || got == Some(8));
        assert_eq!(
            Arc::strong_count(&msg),
            1,
            "the value was kept alive somewhere"
        );
    });
}

/// Two async selects, each a task on its own thread, race for the messages of two channels
/// (a ring buffer and a list): each completes exactly one receive, together they take both.
#[test]
fn two_async_selects_race_for_two_channels() {
    model(2, || {
        let (tx_a, rx_a) = bounded::<usize>(1);
        let (tx_b, rx_b) = unbounded::<usize>();
        let (rx_a2, rx_b2) = (rx_a.clone(), rx_b.clone());
        let t = thread::spawn(move || {
            loom::future::block_on(async {
                crate::select_async! {
                    recv(rx_a2) -> m => m.unwrap(),
                    recv(rx_b2) -> m => m.unwrap(),
                }
            })
        });
        tx_a.send(1).unwrap();
        tx_b.send(2).unwrap();
        let mine = loom::future::block_on(async {
            crate::select_async! {
                recv(rx_a) -> m => m.unwrap(),
                recv(rx_b) -> m => m.unwrap(),
            }
        });
        let mut got = [mine, t.join().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// An async select waiting on a rendezvous channel and a ring buffer races the close of the
/// rendezvous channel: it is woken and reports the close on that arm.
#[test]
fn async_select_races_close() {
    model(3, || {
        let (tx_a, rx_a) = bounded::<usize>(0);
        let (_tx_b, rx_b) = bounded::<usize>(1);
        let t = thread::spawn(move || {
            loom::future::block_on(async {
                crate::select_async! {
                    recv(rx_a) -> m => m,
                    recv(rx_b) -> _m => unreachable!("nothing is sent on b"),
                }
            })
        });
        drop(tx_a);
        assert_eq!(t.join().unwrap(), Err(RecvError));
    });
}

/// An async select over a message channel and a timer (an hour away) races a message's
/// arrival against the timer's reset to now: whichever arm the select completes, the message
/// is received once (by the select, or left in the channel when the timer won) and the timer
/// fired once (its value taken by the select, or still waiting after the reset).
#[test]
fn async_select_timer_arm_races_arrival() {
    model(2, || {
        let timer = Arc::new(super::timer::Timer::new(core::time::Duration::from_secs(
            3600,
        )));
        let (tx, rx) = bounded::<usize>(1);
        let rx2 = rx.clone();
        let t2 = Arc::clone(&timer);
        let selector = thread::spawn(move || {
            loom::future::block_on(async {
                crate::select_async! {
                    recv(rx2) -> m => Some(m.unwrap()),
                    recv(t2.receiver()) -> at => { at.unwrap(); None },
                }
            })
        });
        let t3 = Arc::clone(&timer);
        let resetter = thread::spawn(move || {
            t3.reset(core::time::Duration::ZERO);
        });
        tx.send(7).unwrap();
        resetter.join().unwrap();
        match selector.join().unwrap() {
            Some(v) => {
                assert_eq!(v, 7);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }
            None => {
                assert_eq!(rx.try_recv(), Ok(7));
                assert!(
                    timer.receiver().try_recv().is_err(),
                    "the timer fired twice"
                );
            }
        }
    });
}

/// A `Select` send arm and a receive, both awaited in tasks on a rendezvous channel: both
/// only watch, so they meet through the hand-off slot, in every order of arrival; the
/// message is received once.
#[test]
fn async_select_send_meets_async_recv_on_rendezvous() {
    model(2, || {
        let (tx, rx) = bounded::<usize>(0);
        let t = thread::spawn(move || loom::future::block_on(rx.recv_async()));
        loom::future::block_on(async {
            let mut sel = super::Select::new();
            sel.send(&tx);
            let op = sel.select_async().await;
            op.send(&tx, 5).unwrap();
        });
        assert_eq!(t.join().unwrap(), Ok(5));
    });
}

/// A receive waits in a task; a `Select` send in another task commits through the hand-off
/// slot while the receive is dropped: the message reaches a later receiver, or drops once
/// with the channel; it is never lost and never twice.
#[test]
fn async_recv_dropped_while_a_select_send_goes_through_the_slot() {
    model(2, || {
        let (tx, rx) = bounded::<Arc<usize>>(0);
        let msg = Arc::new(3usize);
        let (rx2, m) = (rx.clone(), Arc::clone(&msg));
        let t = thread::spawn(move || {
            let mut fut = core::pin::pin!(rx2.recv_async());
            let got = match poll_once(fut.as_mut()) {
                core::task::Poll::Ready(r) => r.ok().map(|m| *m),
                core::task::Poll::Pending => None, // dropped while waiting
            };
            got
        });
        let sent = loom::future::block_on(async {
            let mut sel = super::Select::new();
            sel.send(&tx);
            let mut fut = core::pin::pin!(sel.select_async());
            let sent = match poll_once(fut.as_mut()) {
                core::task::Poll::Ready(op) => op.send(&tx, m).is_ok(),
                core::task::Poll::Pending => false, // nobody was waiting: dropped
            };
            sent
        });
        let first = t.join().unwrap();
        let later = rx.try_recv().ok().map(|m| *m);
        if sent {
            assert_eq!(
                usize::from(first.is_some()) + usize::from(later.is_some()),
                1,
                "a completed send is received exactly once"
            );
        } else {
            assert!(first.is_none() && later.is_none());
        }
        drop((tx, rx));
        assert_eq!(
            Arc::strong_count(&msg),
            1,
            "the value was kept alive somewhere"
        );
    });
}

/// A receive waits in a task (watching: it takes no message into the future); a plain
/// `send_async` that finds only it puts its message in the hand-off slot and completes,
/// while the receive is dropped. The message reaches a later receiver, or drops once with
/// the channel; never lost, never twice. A send that did not complete at its first poll is
/// dropped lending its packet: the receive may have taken it before the drop, or not.
#[test]
fn async_recv_dropped_while_a_plain_async_send_goes_through_the_slot() {
    model(2, || {
        let (tx, rx) = bounded::<Arc<usize>>(0);
        let msg = Arc::new(4usize);
        let (rx2, m) = (rx.clone(), Arc::clone(&msg));
        let t = thread::spawn(move || {
            let mut fut = core::pin::pin!(rx2.recv_async());
            match poll_once(fut.as_mut()) {
                core::task::Poll::Ready(r) => r.ok().map(|m| *m),
                core::task::Poll::Pending => None, // dropped while waiting
            }
        });
        let sent = {
            let mut fut = core::pin::pin!(tx.send_async(m));
            matches!(poll_once(fut.as_mut()), core::task::Poll::Ready(Ok(())))
        };
        let first = t.join().unwrap();
        let later = rx.try_recv().ok().map(|m| *m);
        let received = usize::from(first.is_some()) + usize::from(later.is_some());
        if sent {
            assert_eq!(received, 1, "a completed send is received exactly once");
        } else {
            assert!(received <= 1, "never twice");
        }
        drop((tx, rx));
        assert_eq!(
            Arc::strong_count(&msg),
            1,
            "the value was kept alive somewhere"
        );
    });
}
