//! The owned async ends (`RecvStream`, `SendSink`) as `futures` Streams and Sinks under
//! tokio, `futures::executor`, smol's `async-executor` and weft's scheduler, on every flavour; their cancellation
//! with drop counting; and the channel introspection (`same_channel`, counts, weak
//! senders, `recv_many`, deadlines).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use weft::chan::{bounded, unbounded, Receiver, RecvStream, SendSink, Sender};

type Make = fn() -> (Sender<Counted>, Receiver<Counted>);

fn flavours() -> Vec<(&'static str, Make)> {
    vec![
        ("bounded(0)", || bounded(0)),
        ("bounded(1)", || bounded(1)),
        ("bounded(16)", || bounded(16)),
        ("unbounded", unbounded),
    ]
}

/// A message that counts its drops.
struct Counted(Arc<AtomicUsize>, u64);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn owned_ends_are_static_unpin_send() {
    fn check<T: Unpin + Send + Sync + 'static>() {}
    check::<RecvStream<String>>();
    check::<SendSink<String>>();
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Sender<std::cell::Cell<u8>>>();
    unwind_safe::<Receiver<std::cell::Cell<u8>>>();
    unwind_safe::<weft::chan::WeakSender<u8>>();
}

/// Stream into Sink on every executor and flavour: every message once, in order, and the
/// stream ends when the sink's channel closes.
#[test]
fn stream_and_sink_under_every_executor() {
    // Miri interprets tokio's runtime about a million times slower than native; a short run
    // still crosses every wait (the ring fills, the stream parks) on every flavour.
    const N: u64 = if cfg!(miri) { 40 } else { 2000 };
    for (name, make) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        let run = |drops: Arc<AtomicUsize>| {
            let (tx, rx) = make();
            let mut sink = tx.into_sink();
            let stream = rx.into_stream();
            let producer = async move {
                for i in 0..N {
                    sink.send(Counted(Arc::clone(&drops), i)).await.unwrap();
                }
                sink.close().await.unwrap();
                // dropping the sink drops the last Sender: the stream ends
            };
            let consumer = async move {
                let got: Vec<u64> = stream.map(|m| m.1).collect().await;
                got
            };
            (producer, consumer)
        };

        // tokio, two workers.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let (p, c) = run(Arc::clone(&drops));
        let got = rt.block_on(async {
            let c = tokio::spawn(c);
            tokio::spawn(p).await.unwrap();
            c.await.unwrap()
        });
        assert_eq!(got, (0..N).collect::<Vec<_>>(), "tokio {name}");

        // futures' executor: both on one thread.
        let (p, c) = run(Arc::clone(&drops));
        let got = futures::executor::block_on(async { futures::future::join(p, c).await.1 });
        assert_eq!(got, (0..N).collect::<Vec<_>>(), "futures {name}");

        // smol's executor (async-executor) run by two threads, stopped through a weft channel.
        let (p, c) = run(Arc::clone(&drops));
        let ex = Arc::new(async_executor::Executor::new());
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let runners: Vec<_> = (0..2)
            .map(|_| {
                let (ex, stop) = (Arc::clone(&ex), stop_rx.clone());
                std::thread::spawn(move || {
                    futures::executor::block_on(ex.run(async move {
                        let _ = stop.recv_async().await; // closed: stop running
                    }));
                })
            })
            .collect();
        let (c, p) = (ex.spawn(c), ex.spawn(p));
        let got = futures::executor::block_on(async {
            p.await;
            c.await
        });
        drop(stop_tx);
        for r in runners {
            r.join().unwrap();
        }
        assert_eq!(got, (0..N).collect::<Vec<_>>(), "async-executor {name}");

        // weft's scheduler, one worker.
        let sched = weft::sched::Scheduler::new(1);
        let (p, c) = run(Arc::clone(&drops));
        let c = sched.spawn(c);
        sched.spawn(p).join().unwrap();
        assert_eq!(c.join().unwrap(), (0..N).collect::<Vec<_>>(), "weft {name}");

        assert_eq!(
            drops.load(Ordering::SeqCst),
            4 * N as usize,
            "{name}: dropped once each"
        );
    }
}

struct CountWake(AtomicUsize);

impl std::task::Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A stream polled to `Pending` and dropped (or turned back into its receiver) while a
/// sender sends: the message reaches the other receiver, once.
#[test]
fn dropped_pending_stream_loses_nothing() {
    for (name, make) in flavours() {
        for into_inner in [false, true] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = make();
            let rx2 = rx.clone();
            let mut stream = rx.into_stream();
            let wake = Arc::new(CountWake(AtomicUsize::new(0)));
            let waker = Waker::from(Arc::clone(&wake));
            assert!(stream
                .poll_recv(&mut Context::from_waker(&waker))
                .is_pending());
            let d = Arc::clone(&drops);
            let sender = std::thread::spawn(move || tx.send(Counted(d, 7)).unwrap());
            if name != "bounded(0)" {
                while wake.0.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
            }
            if into_inner {
                let rx = stream.into_inner();
                drop(rx);
            } else {
                drop(stream);
            }
            let got = rx2.recv().unwrap();
            assert_eq!(got.1, 7, "{name}");
            drop(got);
            sender.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
        }
    }
}

/// A sink's waiting message: cancelled (given back, or None if delivered), or dropped with
/// the sink, or returned in the error when the channel closes; exactly once in all.
#[test]
fn sink_pending_message_is_never_lost() {
    for (name, make) in [
        ("bounded(0)", (|| bounded(0)) as Make),
        ("bounded(1)", || bounded(1)),
    ] {
        let drops = Arc::new(AtomicUsize::new(0));
        let wake = Arc::new(CountWake(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&wake));
        let mut cx = Context::from_waker(&waker);

        // Cancel with no receiver: the message comes back.
        let (tx, rx) = make();
        if name == "bounded(1)" {
            tx.try_send(Counted(Arc::clone(&drops), 0)).unwrap(); // fill it
        }
        let mut sink = tx.into_sink();
        sink.start_send(Counted(Arc::clone(&drops), 1)).unwrap();
        assert!(sink.is_pending(), "{name}");
        assert!(sink.poll_flush(&mut cx).is_pending(), "{name}");
        let back = sink.cancel().expect("not delivered");
        assert_eq!(back.1, 1);
        assert!(!sink.is_pending());
        drop(back);

        // Pending, then the channel closes: the next poll returns the message.
        sink.start_send(Counted(Arc::clone(&drops), 2)).unwrap();
        assert!(sink.poll_ready(&mut cx).is_pending());
        sink.sender().close();
        match sink.poll_flush(&mut cx) {
            Poll::Ready(Err(e)) => assert_eq!(e.into_inner().1, 2),
            _ => panic!("{name}: the close returns the message"),
        }
        drop(sink);
        drop(rx);
        let made = 2 + usize::from(name == "bounded(1)");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            made,
            "{name}: each dropped once"
        );

        // Pending while a receiver takes it on another thread, then dropped: delivered
        // once, not dropped by the sink too.
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = make();
        let mut sink = tx.into_sink();
        if name == "bounded(1)" {
            sink.start_send(Counted(Arc::clone(&drops), 0)).unwrap(); // fills it
        }
        sink.start_send(Counted(Arc::clone(&drops), 1)).unwrap();
        assert!(sink.poll_flush(&mut cx).is_pending());
        let receiver = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(m) = rx.recv_timeout(Duration::from_millis(200)) {
                got.push(m.1);
            }
            got
        });
        std::thread::sleep(Duration::from_millis(20));
        let back = sink.cancel();
        let got = receiver.join().unwrap();
        let delivered = got.contains(&1);
        assert_eq!(
            back.is_none(),
            delivered,
            "{name}: delivered, or given back"
        );
        drop(back);
        drop(sink);
        let total = usize::from(name == "bounded(1)") + 1;
        assert_eq!(drops.load(Ordering::SeqCst), total, "{name}");
    }
}

#[test]
fn introspection() {
    let (tx, rx) = bounded::<u8>(4);
    let (tx2, rx2) = bounded::<u8>(4);
    assert!(tx.same_channel(&tx.clone()));
    assert!(!tx.same_channel(&tx2));
    assert!(rx.same_channel(&rx.clone()));
    assert!(!rx.same_channel(&rx2));
    assert!(rx.same_channel_as(&tx) && !rx.same_channel_as(&tx2));
    let tx_b = tx.clone();
    let rx_b = rx.clone();
    assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 2));
    drop(tx_b);
    drop(rx_b);
    assert_eq!((rx.sender_count(), rx.receiver_count()), (1, 1));
    assert_eq!(weft::chan::after(Duration::ZERO).sender_count(), 0);

    // Weak senders do not keep the channel open.
    let weak = tx.downgrade();
    let weak2 = weak.clone();
    let up = weak.upgrade().unwrap();
    assert_eq!(tx.sender_count(), 2);
    drop(up);
    drop(tx);
    assert!(weak2.upgrade().is_none());
    assert!(rx.is_closed());

    // recv_many: waits for one, takes what is ready, up to the limit.
    let (tx, rx) = unbounded::<u32>();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let mut buf = Vec::new();
    assert_eq!(rx.recv_many(&mut buf, 0), Ok(0));
    assert_eq!(rx.recv_many(&mut buf, 4), Ok(4));
    let sched = weft::sched::Scheduler::new(1);
    assert_eq!(sched.block_on(rx.recv_many_async(&mut buf, 100)), Ok(6));
    assert_eq!(buf, (0..10).collect::<Vec<_>>());
    drop(tx);
    assert!(rx.recv_many(&mut buf, 3).is_err());
    assert_eq!(buf.len(), 10);

    // Deadlines.
    let (tx, rx) = bounded::<u8>(1);
    let deadline = Instant::now() + Duration::from_millis(10);
    assert!(rx.recv_deadline(deadline).unwrap_err().is_timeout());
    assert!(Instant::now() >= deadline);
    tx.send_deadline(1, deadline).unwrap();
    assert!(tx.send_deadline(2, deadline).unwrap_err().is_timeout());
    assert_eq!(rx.recv_deadline(deadline), Ok(1));
}

/// `poll_recv` from a hand-written future, stored in a struct across polls.
#[test]
fn poll_recv_from_a_struct() {
    struct Sum {
        stream: RecvStream<u64>,
        total: u64,
    }
    impl std::future::Future for Sum {
        type Output = u64;
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
            loop {
                match self.stream.poll_recv(cx) {
                    Poll::Ready(Ok(v)) => self.total += v,
                    Poll::Ready(Err(_)) => return Poll::Ready(self.total),
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
    }
    let (tx, rx) = bounded(0);
    let sum = Sum {
        stream: rx.into_stream(),
        total: 0,
    };
    let sched = weft::sched::Scheduler::new(2);
    let h = sched.spawn(sum);
    sched.block_on(async move {
        for i in 1..=100u64 {
            tx.send_async(i).await.unwrap();
        }
    });
    assert_eq!(h.join().unwrap(), 5050);
}
