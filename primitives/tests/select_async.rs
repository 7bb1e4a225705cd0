//! `select_async!`, `select_biased_async!` and `Select::select_async`: Go's select inside
//! tasks, on every flavour, against blocking parties, under cancellation, under weft's
//! scheduler, `futures`' executor and tokio.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use weft::chan::{bounded, unbounded, Receiver, RecvError, Select, SendError, Sender};
use weft::sched::Scheduler;

type Make<T> = fn() -> (Sender<T>, Receiver<T>);

fn flavours<T>() -> Vec<(&'static str, Make<T>)> {
    vec![
        ("bounded(0)", || bounded(0)),
        ("bounded(1)", || bounded(1)),
        ("bounded(8)", || bounded(8)),
        ("unbounded", unbounded),
    ]
}

fn rounds(n: usize) -> usize {
    if cfg!(miri) {
        (n / 100).max(3)
    } else {
        n
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `fut` once with a counting waker.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>, wake: &Arc<CountWake>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::clone(wake));
    fut.poll(&mut Context::from_waker(&waker))
}

/// A message that counts its drops.
struct Counted(Arc<AtomicUsize>, u32);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The wall of issue #9: with one worker, a task's select must not hold the worker while
/// the sender it waits for sits queued behind it.
#[test]
fn select_in_a_task_frees_the_worker() {
    for (name, make) in flavours::<u32>() {
        let sched = Scheduler::new(1);
        let (tx1, rx1) = make();
        let (_tx2, rx2) = make();
        let got = sched.block_on(async move {
            let selector = weft::go(async move {
                weft::select_async! {
                    recv(rx1) -> v => v.unwrap(),
                    recv(rx2) -> v => v.unwrap() + 100,
                }
            });
            let sender = weft::go(async move { tx1.send_async(7).await.unwrap() });
            sender.await.unwrap();
            selector.await.unwrap()
        });
        assert_eq!(got, 7, "{name}");
    }
}

#[test]
fn send_arms_and_default() {
    for (name, make) in flavours::<u32>() {
        let sched = Scheduler::new(1);
        let (tx, rx) = make();
        sched.block_on(async {
            // Nothing ready on a rendezvous channel without a receiver: default.
            let sent = weft::select_async! {
                send(tx, 1) -> r => r.is_ok(),
                default => false,
            };
            assert_eq!(sent, name != "bounded(0)", "{name}");
            if sent {
                assert_eq!(rx.recv_async().await, Ok(1));
            }
            let rx2 = rx.clone();
            let receiver = weft::go(async move { rx2.recv_async().await.unwrap() });
            let sent = weft::select_async! {
                send(tx, 2) -> r => r.is_ok(),
            };
            assert!(sent, "{name}");
            assert_eq!(receiver.await.unwrap(), 2, "{name}");
            drop(rx);
            let got = weft::select_async! {
                send(tx, 3) -> r => r,
            };
            assert_eq!(got, Err(SendError(3)), "{name}");
        });
    }
}

#[test]
fn closed_channels_make_arms_ready() {
    for (name, make) in flavours::<u32>() {
        let (tx, rx) = make();
        let (_keep, other) = make();
        let sched = Scheduler::new(1);
        sched.block_on(async move {
            let closer = weft::go(async move {
                weft::sched::yield_now().await;
                drop(tx);
            });
            let got = weft::select_async! {
                recv(other) -> _ => unreachable!(),
                recv(rx) -> v => v,
            };
            assert_eq!(got, Err(RecvError), "{name}");
            closer.await.unwrap();
        });
    }
}

/// An async select in a task and blocking parties on threads, on a rendezvous channel and
/// the buffered flavours: every message once, in both directions.
#[test]
fn async_and_blocking_selects_exchange_exactly_once() {
    let n = rounds(2000);
    for (name, make) in flavours::<usize>() {
        let (tx_a, rx_a) = make();
        let (tx_b, rx_b) = make();
        let sched = Scheduler::new(2);
        // Threads: a blocking select sending on either channel.
        let sender = thread::spawn(move || {
            for i in 0..n {
                weft::select! {
                    send(tx_a, i) -> r => r.unwrap(),
                    send(tx_b, i) -> r => r.unwrap(),
                }
            }
        });
        let got = sched.block_on(async move {
            let mut got = Vec::with_capacity(n);
            while got.len() < n {
                // A channel the sender is done with is closed, hence ready (Go's rule).
                let v = weft::select_async! {
                    recv(rx_a) -> v => v,
                    recv(rx_b) -> v => v,
                };
                got.extend(v);
            }
            got
        });
        sender.join().unwrap();
        let mut got = got;
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "{name}");

        // And the other way: async select sends, blocking select receives.
        let (tx_a, rx_a) = make();
        let (tx_b, rx_b) = make();
        let receiver = thread::spawn(move || {
            let mut got = Vec::with_capacity(n);
            while got.len() < n {
                got.extend(weft::select! {
                    recv(rx_a) -> v => v,
                    recv(rx_b) -> v => v,
                });
            }
            got
        });
        sched.block_on(async move {
            for i in 0..n {
                weft::select_async! {
                    send(tx_a, i) -> r => r.unwrap(),
                    send(tx_b, i) -> r => r.unwrap(),
                }
            }
        });
        let mut got = receiver.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "{name}");
    }
}

/// Two async selects racing on the same two channels, against two plain senders.
#[test]
fn two_async_selects_race() {
    let n = rounds(2000);
    for (name, make) in flavours::<usize>() {
        let (tx_a, rx_a) = make();
        let (tx_b, rx_b) = make();
        let sched = Scheduler::new(2);
        let total = sched.block_on(async move {
            let mut takers = Vec::new();
            for _ in 0..2 {
                let (rx_a, rx_b) = (rx_a.clone(), rx_b.clone());
                takers.push(weft::go(async move {
                    let mut sum = 0usize;
                    let mut count = 0usize;
                    // Until one channel closes; then the other alone, until it closes too.
                    let rest = loop {
                        weft::select_async! {
                            recv(rx_a) -> v => match v {
                                Ok(v) => { sum += v; count += 1; }
                                Err(_) => break rx_b.clone(),
                            },
                            recv(rx_b) -> v => match v {
                                Ok(v) => { sum += v; count += 1; }
                                Err(_) => break rx_a.clone(),
                            },
                        }
                    };
                    while let Ok(v) = rest.recv_async().await {
                        sum += v;
                        count += 1;
                    }
                    (sum, count)
                }));
            }
            drop((rx_a, rx_b));
            let a = weft::go(async move {
                for i in 0..n {
                    tx_a.send_async(i).await.unwrap();
                }
            });
            let b = weft::go(async move {
                for i in 0..n {
                    tx_b.send_async(i).await.unwrap();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
            let mut total = (0, 0);
            for t in takers {
                let (s, c) = t.await.unwrap();
                total = (total.0 + s, total.1 + c);
            }
            total
        });
        assert_eq!(
            total,
            (2 * (0..n).sum::<usize>(), 2 * n),
            "{name}: every message once"
        );
    }
}

/// A select future dropped after registering, on every flavour: a message sent meanwhile
/// reaches the other receiver, once, and nothing stays registered.
#[test]
fn dropped_select_loses_nothing() {
    for (name, make) in flavours::<Counted>() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = make();
        let (_tx2, rx2) = make();
        let wake = Arc::new(CountWake::default());
        {
            // Boxed so that `drop(fut)` below really drops the select mid-registration.
            let mut fut = Box::pin(async {
                weft::select_async! {
                    recv(rx) -> v => v.map(|m| m.1),
                    recv(rx2) -> v => v.map(|m| m.1 + 100),
                }
            });
            assert!(poll_once(fut.as_mut(), &wake).is_pending(), "{name}");
            // A sender arrives while the select is registered; the select is then dropped
            // without being polled again.
            let tx = tx.clone();
            let d = Arc::clone(&drops);
            let sender = thread::spawn(move || tx.send(Counted(d, 5)).unwrap());
            if name != "bounded(0)" {
                sender.join().unwrap();
                assert!(wake.0.load(Ordering::SeqCst) >= 1, "{name}: woken");
            } else {
                // The rendezvous sender waits for a receiver with a packet: the select only
                // watches, so it is woken and the sender goes on waiting.
                while wake.0.load(Ordering::SeqCst) == 0 {
                    thread::yield_now();
                }
                drop(fut);
                let got = rx.recv().unwrap();
                assert_eq!(got.1, 5, "{name}");
                drop(got);
                sender.join().unwrap();
                assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
                continue;
            }
        }
        let got = rx.recv().unwrap();
        assert_eq!(got.1, 5, "{name}");
        drop(got);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
        assert!(rx.try_recv().is_err(), "{name}");
    }
}

/// A select with a send arm, dropped after registering: its value is sent exactly when a
/// receiver took it before the drop, and otherwise dropped, never sent; every message
/// created is dropped exactly once.
#[test]
fn dropped_select_send_value_is_sent_or_dropped_once() {
    for (name, make) in flavours::<Counted>() {
        if name == "unbounded" {
            continue; // a list send never waits: nothing to cancel
        }
        for receiver_comes in [false, true] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = make();
            let (_tx2, rx2) = make();
            // Fill the buffer so the send arm has to wait.
            let mut fillers = 0;
            while tx.try_send(Counted(Arc::clone(&drops), 0)).is_ok() {
                fillers += 1;
            }
            let wake = Arc::new(CountWake::default());
            let value = Counted(Arc::clone(&drops), 9);
            let mut received = Vec::new();
            {
                let mut fut = pin!(async {
                    weft::select_async! {
                        send(tx, value) -> r => r.is_ok(),
                        recv(rx2) -> _ => false,
                    }
                });
                assert!(poll_once(fut.as_mut(), &wake).is_pending(), "{name}");
                if receiver_comes {
                    // One receive: on a rendezvous channel it takes the registered value,
                    // on a ring buffer a filler (room for the value, which stays unsent).
                    let m = rx.recv().unwrap();
                    received.push(m.1);
                    drop(m);
                    while wake.0.load(Ordering::SeqCst) == 0 {
                        thread::yield_now();
                    }
                }
                // Dropped at its await point, not polled again.
            }
            while let Ok(m) = rx.try_recv() {
                received.push(m.1);
            }
            let nines = received.iter().filter(|&&v| v == 9).count();
            let expect_sent = receiver_comes && name == "bounded(0)";
            assert_eq!(
                nines,
                usize::from(expect_sent),
                "{name} {receiver_comes}: {received:?}"
            );
            assert_eq!(received.len(), fillers + nines, "{name} {receiver_comes}");
            drop((tx, rx));
            // The fillers, the one whose `try_send` found the buffer full, and the value.
            assert_eq!(
                drops.load(Ordering::SeqCst),
                fillers + 2,
                "{name} {receiver_comes}: every message dropped once"
            );
        }
    }
}

/// Go's fairness: among ready arms, each is chosen about equally often.
#[test]
fn fairness_among_ready_arms() {
    let n = rounds(4000);
    let (tx_a, rx_a) = unbounded::<u8>();
    let (tx_b, rx_b) = unbounded::<u8>();
    let (_tx_c, rx_c) = unbounded::<u8>();
    let sched = Scheduler::new(1);
    let counts = sched.block_on(async move {
        let mut counts = [0usize; 2];
        for _ in 0..n {
            tx_a.send(0).unwrap();
            tx_b.send(1).unwrap();
            let i = weft::select_async! {
                recv(rx_c) -> _ => unreachable!(),
                recv(rx_a) -> _ => 0,
                recv(rx_b) -> _ => 1,
            };
            counts[i] += 1;
            // Drain the other so both are ready again next round.
            let _ = if i == 0 {
                rx_b.try_recv()
            } else {
                rx_a.try_recv()
            };
        }
        counts
    });
    let expected = n as f64 / 2.0;
    for c in counts {
        // Five standard deviations of a fair coin over n rounds.
        let sd = (n as f64 * 0.25).sqrt();
        assert!(
            (c as f64 - expected).abs() < 5.0 * sd,
            "counts {counts:?} over {n} rounds"
        );
    }
}

#[test]
fn biased_takes_the_first_ready() {
    let (tx_a, rx_a) = bounded(4);
    let (tx_b, rx_b) = bounded(4);
    tx_a.send(1).unwrap();
    tx_b.send(2).unwrap();
    let sched = Scheduler::new(1);
    let first = sched.block_on(async {
        weft::select_biased_async! {
            recv(rx_a) -> v => v.unwrap(),
            recv(rx_b) -> v => v.unwrap(),
        }
    });
    assert_eq!(first, 1);
}

/// A dynamic `Select` awaited in a task, on every flavour, reused for many messages.
#[test]
fn select_async_of_a_dynamic_select() {
    let n = rounds(500);
    for (name, make) in flavours::<usize>() {
        let (tx_a, rx_a) = make();
        let (tx_b, rx_b) = make();
        let sched = Scheduler::new(2);
        let got = sched.block_on(async move {
            let producer = weft::go(async move {
                for i in 0..n {
                    if i % 2 == 0 {
                        tx_a.send_async(i).await.unwrap();
                    } else {
                        tx_b.send_async(i).await.unwrap();
                    }
                }
            });
            let receivers = [&rx_a, &rx_b];
            let mut sel = Select::new();
            for rx in receivers {
                sel.recv(rx);
            }
            let mut got = Vec::new();
            while got.len() < n {
                let op = sel.select_async().await;
                let i = op.index();
                // A channel the producer is done with is closed, hence ready.
                got.extend(op.recv(receivers[i]));
            }
            producer.await.unwrap();
            got
        });
        let mut got = got;
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "{name}");
    }
}

/// The select futures are `Send` where their element types are: they run on tokio's
/// multi-thread runtime, and under `futures`' executor.
#[test]
fn runs_under_tokio_and_futures() {
    fn assert_send<F: Send>(f: F) -> F {
        f
    }
    for (name, make) in flavours::<u64>() {
        let (tx, rx) = make();
        let (_tx2, rx2) = make();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let got = rt.block_on(async move {
            let sender = tokio::spawn(async move {
                for i in 0..100 {
                    tx.send_async(i).await.unwrap();
                }
            });
            let taker = tokio::spawn(assert_send(async move {
                let mut sum = 0;
                for _ in 0..100 {
                    sum += weft::select_async! {
                        recv(rx) -> v => v.unwrap(),
                        recv(rx2) -> v => v.unwrap() + 1000,
                    };
                }
                sum
            }));
            sender.await.unwrap();
            taker.await.unwrap()
        });
        assert_eq!(got, (0..100).sum::<u64>(), "{name} under tokio");

        let (tx, rx) = make();
        let (_tx2, rx2) = make();
        let t = thread::spawn(move || {
            for i in 0..100 {
                tx.send(i).unwrap();
            }
        });
        let got = futures::executor::block_on(async move {
            let mut sum = 0;
            for _ in 0..100 {
                sum += weft::select_async! {
                    recv(rx) -> v => v.unwrap(),
                    recv(rx2) -> v => v.unwrap() + 1000,
                };
            }
            sum
        });
        t.join().unwrap();
        assert_eq!(got, (0..100).sum::<u64>(), "{name} under futures");
    }
}

/// Both sides select in tasks: a select-send meets a select-receive on every flavour, on one
/// worker and on two (on a rendezvous channel neither side can complete alone).
#[test]
fn async_select_send_meets_async_select_recv() {
    let n = rounds(500);
    for workers in [1, 2] {
        for (name, make) in flavours::<usize>() {
            let (tx, rx) = make();
            let sched = Scheduler::new(workers);
            let sum = sched.block_on(async move {
                let sender = weft::go(async move {
                    let mut sel = Select::new();
                    sel.send(&tx);
                    for i in 0..n {
                        let op = sel.select_async().await;
                        op.send(&tx, i).unwrap();
                    }
                });
                let receiver = weft::go(async move {
                    let mut sel = Select::new();
                    sel.recv(&rx);
                    let mut sum = 0;
                    loop {
                        let op = sel.select_async().await;
                        match op.recv(&rx) {
                            Ok(v) => sum += v,
                            Err(_) => return sum,
                        }
                    }
                });
                sender.await.unwrap();
                receiver.await.unwrap()
            });
            assert_eq!(sum, (0..n).sum::<usize>(), "{name} on {workers} workers");
        }
    }
}
