//! One async hand-off, as a whole process, for instruction counts of the async channel path
//! (the `achan` suite's `spsc`, without the harness around it): a sender task sends `n`
//! numbers over one channel to a receiver task, on a runtime with `workers` workers, and the
//! sum is checked. Prints ns per message (one run: for profiles, not for figures to quote;
//! the suite measures those).
//!
//! ```sh
//! cargo build --release -p weft-bench --example async_path
//! valgrind --tool=callgrind target/release/examples/async_path weft 1 1 100000
//! #        implementation (weft, weft-select, weft-after, kanal, tokio-after, weft-sleep,
//! #        tokio-sleep), capacity, workers, messages
//! ```
//!
//! `weft` runs weft's channel on weft's scheduler; `weft-select` receives through a two-arm
//! `select_async!` (the second channel never sends); `weft-after` through a `select_async!`
//! whose second arm is `recv(after(10 s))` (Go's `case <-time.After(d)`, suite `time`'s
//! `select_timeout`); `kanal` runs kanal's channel on tokio's
//! multi-thread runtime; `tokio-after` is the `weft-after` loop in tokio (`tokio::select!`
//! over its mpsc receive and a fresh `sleep`). `weft-sleep` and `tokio-sleep` are suite
//! `time`'s `timer_start_stop` (a 1 s sleep polled once and dropped, `n` times in one task;
//! capacity is ignored). The root task is spawned (not `block_on`'s thread) as the suite's is.

use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).map_or(default, |s| {
        s.parse()
            .unwrap_or_else(|_| panic!("argument {i}: cannot parse {s:?}"))
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("weft", String::as_str);
    let cap: usize = arg(&args, 2, 1);
    let workers: usize = arg(&args, 3, 1);
    let n: u64 = arg(&args, 4, 200_000);
    let expected = n * n.saturating_sub(1) / 2;
    let start = Instant::now();
    match which {
        "weft" => {
            let sched = weft::sched::Scheduler::new(workers);
            let root = sched.spawn(async move {
                let (tx, rx) = weft::chan::bounded::<u64>(cap);
                let sender = weft::go(async move {
                    for i in 0..n {
                        tx.send_async(i).await.unwrap();
                    }
                });
                let mut sum = 0;
                while let Ok(v) = rx.recv_async().await {
                    sum += v;
                }
                sender.await.unwrap();
                sum
            });
            assert_eq!(sched.block_on(root).unwrap(), expected);
        }
        "weft-select" => {
            let sched = weft::sched::Scheduler::new(workers);
            let root = sched.spawn(async move {
                let (tx, rx) = weft::chan::bounded::<u64>(cap);
                let (_quiet, rx2) = weft::chan::bounded::<u64>(cap);
                let sender = weft::go(async move {
                    for i in 0..n {
                        tx.send_async(i).await.unwrap();
                    }
                });
                let mut sum = 0;
                loop {
                    let got = weft::select_async! {
                        recv(rx) -> v => v.ok(),
                        recv(rx2) -> v => v.ok(),
                    };
                    match got {
                        Some(v) => sum += v,
                        None => break,
                    }
                }
                sender.await.unwrap();
                sum
            });
            assert_eq!(sched.block_on(root).unwrap(), expected);
        }
        "weft-after" => {
            let sched = weft::sched::Scheduler::new(workers);
            let root = sched.spawn(async move {
                let (tx, rx) = weft::chan::bounded::<u64>(cap);
                let sender = weft::go(async move {
                    for i in 0..n {
                        tx.send_async(i).await.unwrap();
                    }
                });
                let mut sum = 0;
                loop {
                    let got = weft::select_async! {
                        recv(rx) -> v => v.ok(),
                        recv(weft::chan::after(std::time::Duration::from_secs(10))) -> _ => {
                            panic!("a message comes well within 10 s")
                        }
                    };
                    match got {
                        Some(v) => sum += v,
                        None => break,
                    }
                }
                sender.await.unwrap();
                sum
            });
            assert_eq!(sched.block_on(root).unwrap(), expected);
        }
        "kanal" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .unwrap();
            let root = rt.spawn(async move {
                let (tx, rx) = kanal::bounded_async::<u64>(cap);
                let sender = tokio::spawn(async move {
                    for i in 0..n {
                        tx.send(i).await.unwrap();
                    }
                });
                let mut sum = 0;
                while let Ok(v) = rx.recv().await {
                    sum += v;
                }
                sender.await.unwrap();
                sum
            });
            assert_eq!(rt.block_on(root).unwrap(), expected);
        }
        "weft-select-both" | "weft-select-both-macro" => {
            // Suite achan's select_both with two channels: two sender tasks select-send over
            // both (a `Select` awaited, as the suite's; or `select_async!` send arms, whose
            // values are evaluated up front as Go's), two receivers select-receive over both.
            let sched = weft::sched::Scheduler::new(workers);
            let macro_send = which == "weft-select-both-macro";
            let root = sched.spawn(async move {
                let (tx0, rx0) = weft::chan::bounded::<u64>(cap);
                let (tx1, rx1) = weft::chan::bounded::<u64>(cap);
                let half = n / 2;
                let senders: Vec<_> = [0, half]
                    .into_iter()
                    .map(|base| {
                        let (tx0, tx1) = (tx0.clone(), tx1.clone());
                        weft::go(async move {
                            let mut sel = weft::chan::Select::new();
                            sel.send(&tx0);
                            sel.send(&tx1);
                            for v in base..base + half {
                                if macro_send {
                                    weft::select_async! {
                                        send(tx0, v) -> r => r.unwrap(),
                                        send(tx1, v) -> r => r.unwrap(),
                                    }
                                } else {
                                    let op = sel.select_async().await;
                                    let tx = if op.index() == 0 { &tx0 } else { &tx1 };
                                    op.send(tx, v).unwrap();
                                }
                            }
                        })
                    })
                    .collect();
                drop((tx0, tx1));
                let receivers: Vec<_> = (0..2)
                    .map(|_| {
                        let (rx0, rx1) = (rx0.clone(), rx1.clone());
                        weft::go(async move {
                            let (mut sum, mut open) = (0, [true, true]);
                            while open[0] || open[1] {
                                let (i, got) = weft::select_async! {
                                    recv(rx0) -> v => (0, v.ok()),
                                    recv(rx1) -> v => (1, v.ok()),
                                };
                                match got {
                                    Some(v) => sum += v,
                                    None => open[i] = false,
                                }
                                if !open[0] && !open[1] {
                                    break;
                                }
                                if !open[i] {
                                    // One channel closed (its arm stays ready): drain the other.
                                    let rest = if i == 0 { &rx1 } else { &rx0 };
                                    while let Ok(v) = rest.recv_async().await {
                                        sum += v;
                                    }
                                    break;
                                }
                            }
                            sum
                        })
                    })
                    .collect();
                for s in senders {
                    s.await.unwrap();
                }
                let mut sum = 0;
                for r in receivers {
                    sum += r.await.unwrap();
                }
                sum
            });
            assert_eq!(
                sched.block_on(root).unwrap(),
                n / 2 * 2 * (n / 2 * 2).saturating_sub(1) / 2
            );
        }
        "tokio-after" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_time()
                .build()
                .unwrap();
            let root = rt.spawn(async move {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(cap.max(1));
                let sender = tokio::spawn(async move {
                    for i in 0..n {
                        tx.send(i).await.unwrap();
                    }
                });
                let mut sum = 0;
                loop {
                    let got = tokio::select! {
                        v = rx.recv() => v,
                        () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
                            panic!("a message comes well within 10 s")
                        }
                    };
                    match got {
                        Some(v) => sum += v,
                        None => break,
                    }
                }
                sender.await.unwrap();
                sum
            });
            assert_eq!(rt.block_on(root).unwrap(), expected);
        }
        "weft-sleep" => {
            let sched = weft::sched::Scheduler::new(workers);
            let root = sched.spawn(async move {
                for _ in 0..n {
                    let mut sleep =
                        std::pin::pin!(weft::time::sleep(std::time::Duration::from_secs(1)));
                    assert!(futures::poll!(sleep.as_mut()).is_pending());
                }
                expected
            });
            assert_eq!(sched.block_on(root).unwrap(), expected);
        }
        "tokio-sleep" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_time()
                .build()
                .unwrap();
            let root = rt.spawn(async move {
                for _ in 0..n {
                    let mut sleep =
                        std::pin::pin!(tokio::time::sleep(std::time::Duration::from_secs(1)));
                    assert!(futures::poll!(sleep.as_mut()).is_pending());
                }
                expected
            });
            assert_eq!(rt.block_on(root).unwrap(), expected);
        }
        other => panic!(
            "unknown implementation {other:?}: weft, weft-select, weft-after, kanal, \
             tokio-after, weft-sleep or tokio-sleep"
        ),
    }
    let ns = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    eprintln!("{which} bounded({cap}) on {workers} worker(s): {ns:.1} ns per message");
}
