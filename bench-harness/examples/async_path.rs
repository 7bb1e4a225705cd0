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
