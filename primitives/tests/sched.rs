//! The scheduler: spawning and joining, panics, cancellation at drop, shutdown, tasks blocked
//! on channels freeing their workers, recursive spawning, ping-pong over rendezvous channels,
//! Go's prime sieve, fairness of the injector, and an idle scheduler that sleeps.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use weft::chan;
use weft::sched::{self, JoinHandle, Scheduler};
use weft::sync::WaitGroup;

/// Loop counts shrink under Miri.
fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        (n / 1000).max(4)
    } else {
        n
    }
}

#[test]
fn spawn_and_join() {
    let s = Scheduler::new(2);
    let h = s.spawn(async { 40 + 2 });
    assert_eq!(h.join().unwrap(), 42);
}

#[test]
#[should_panic(expected = "at least one worker")]
fn zero_workers_panics() {
    let _ = Scheduler::new(0);
}

#[test]
fn builder_names_threads() {
    let s = Scheduler::builder().workers(3).thread_name("pool").build();
    assert_eq!(s.workers(), 3);
    let name = s
        .spawn(async { std::thread::current().name().map(str::to_owned) })
        .join()
        .unwrap()
        .unwrap();
    assert!(name.starts_with("pool-"), "{name}");
}

#[test]
fn join_handle_is_a_future() {
    let s = Scheduler::new(2);
    let out = s.block_on(async {
        let a = sched::go(async { 1u64 });
        let b = sched::go(async { 2u64 });
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(out, 3);
}

/// A join handle polled over and over (as combinators and spurious wake-ups do) while its
/// task yields on another thread: every poll before the end is `Pending`, and the output
/// comes once. Each poll stores a waker, and the next clears it, so polls keep meeting the
/// task's polls starting and ending: a handle that took such a meeting for the completion
/// read the output of a task still running (found by a loom model, fixed in `task.rs`).
#[test]
fn join_handle_polled_repeatedly_while_its_task_runs() {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let s = Scheduler::new(1);
    let yields = scaled(200_000);
    let mut handle = s.spawn(async move {
        for _ in 0..yields {
            sched::yield_now().await;
        }
        String::from("done")
    });
    let waker = std::task::Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0u64;
    let out = loop {
        polls += 1;
        if let Poll::Ready(out) = Pin::new(&mut handle).poll(&mut cx) {
            break out;
        }
    };
    assert_eq!(out.unwrap(), "done");
    assert!(polls > 1);
}

#[test]
fn many_tiny_tasks() {
    let s = Scheduler::new(2);
    let n = scaled(100_000);
    let count = Arc::new(AtomicUsize::new(0));
    let handles: Vec<JoinHandle<()>> = (0..n)
        .map(|_| {
            let count = Arc::clone(&count);
            s.spawn(async move {
                count.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), n);
}

#[test]
fn a_million_tasks_then_shutdown() {
    let s = Scheduler::new(2);
    let n = scaled(1_000_000);
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let count = Arc::clone(&count);
        drop(s.spawn(async move {
            count.fetch_add(1, Ordering::Relaxed);
        }));
    }
    s.shutdown(); // waits for every task
    assert_eq!(count.load(Ordering::Relaxed), n);
}

#[test]
fn panicking_task_reports_and_worker_survives() {
    let s = Scheduler::new(1);
    let h = s.spawn(async {
        panic!("boom");
    });
    let err = h.join().unwrap_err();
    assert!(err.is_panic());
    assert!(!err.is_cancelled());
    assert_eq!(err.to_string(), "task panicked: boom");
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
    // The single worker still runs tasks.
    assert_eq!(s.spawn(async { 7 }).join().unwrap(), 7);
}

/// Recursive spawning: a binary tree of tasks, each awaiting its children.
fn tree(depth: u32) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            return 1;
        }
        let left = sched::go(tree(depth - 1));
        let right = sched::go(tree(depth - 1));
        left.await.unwrap() + right.await.unwrap()
    })
}

#[test]
fn recursive_spawning() {
    let s = Scheduler::new(2);
    let depth = if cfg!(miri) { 4 } else { 14 };
    assert_eq!(s.spawn(tree(depth)).join().unwrap(), 1 << depth);
}

#[test]
fn thousand_tasks_blocked_on_a_channel_make_progress_on_two_workers() {
    let s = Scheduler::new(2);
    let n = scaled(1000);
    let (tx, rx) = chan::bounded::<usize>(0);
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let rx = rx.clone();
            s.spawn(async move { rx.recv_async().await.unwrap() })
        })
        .collect();
    drop(rx);
    // Every receiver is parked as a task: the two workers are free to run the sender.
    let sender = s.spawn(async move {
        for i in 0..n {
            tx.send_async(i).await.unwrap();
        }
    });
    sender.join().unwrap();
    let mut got: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[test]
fn ping_pong_between_tasks_over_rendezvous_channels() {
    let s = Scheduler::new(2);
    let rounds = scaled(20_000);
    let (ping_tx, ping_rx) = chan::bounded::<usize>(0);
    let (pong_tx, pong_rx) = chan::bounded::<usize>(0);
    let echo = s.spawn(async move {
        while let Ok(v) = ping_rx.recv_async().await {
            pong_tx.send_async(v + 1).await.unwrap();
        }
    });
    let driver = s.spawn(async move {
        let mut v = 0;
        for _ in 0..rounds {
            ping_tx.send_async(v).await.unwrap();
            v = pong_rx.recv_async().await.unwrap();
        }
        v
    });
    assert_eq!(driver.join().unwrap(), rounds);
    echo.join().unwrap();
}

/// Go's concurrent prime sieve: a chain of filter tasks over rendezvous channels.
#[test]
fn prime_sieve() {
    let s = Scheduler::new(2);
    let count = scaled(200).min(100);
    let primes = s.block_on(async move {
        let (tx, mut rx) = chan::bounded::<u64>(0);
        sched::go(async move {
            let mut i = 2;
            while tx.send_async(i).await.is_ok() {
                i += 1;
            }
        });
        let mut primes = Vec::new();
        for _ in 0..count {
            let prime = rx.recv_async().await.unwrap();
            primes.push(prime);
            let (ftx, frx) = chan::bounded::<u64>(0);
            let input = std::mem::replace(&mut rx, frx);
            sched::go(async move {
                while let Ok(v) = input.recv_async().await {
                    if v % prime != 0 && ftx.send_async(v).await.is_err() {
                        return;
                    }
                }
            });
        }
        primes
    });
    let expected: Vec<u64> = (2u64..)
        .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .take(count)
        .collect();
    assert_eq!(primes, expected);
}

/// Two tasks that keep waking each other cannot starve tasks queued from outside.
#[test]
fn self_waking_tasks_do_not_starve_the_injector() {
    let s = Scheduler::new(1);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinner = {
        let stop = Arc::clone(&stop);
        s.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                sched::yield_now().await;
            }
        })
    };
    // Give the spinner the worker, then queue from outside.
    std::thread::sleep(Duration::from_millis(10));
    let outside = s.spawn(async { 5 });
    assert_eq!(outside.join().unwrap(), 5);
    stop.store(true, Ordering::Relaxed);
    spinner.join().unwrap();
}

/// A future that never completes, counting its drops.
struct Forever(Arc<AtomicUsize>);

impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Forever {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn dropping_the_scheduler_cancels_queued_tasks() {
    let s = Scheduler::new(1);
    let gate = Arc::new(WaitGroup::new());
    gate.add(1);
    // Occupy the only worker until the scheduler is being dropped.
    let blocker = {
        let gate = Arc::clone(&gate);
        s.spawn(async move { gate.wait() })
    };
    std::thread::sleep(Duration::from_millis(5));
    let drops = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..10)
        .map(|_| s.spawn(Forever(Arc::clone(&drops))))
        .collect();
    let releaser = {
        let gate = Arc::clone(&gate);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            gate.done();
        })
    };
    drop(s);
    releaser.join().unwrap();
    blocker.join().unwrap();
    for h in queued {
        let err = h.join().unwrap_err();
        assert!(err.is_cancelled(), "{err}");
    }
    assert_eq!(
        drops.load(Ordering::Relaxed),
        10,
        "every future dropped once"
    );
}

#[test]
fn dropped_join_handle_detaches() {
    let s = Scheduler::new(2);
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    {
        let wg = Arc::clone(&wg);
        drop(s.spawn(async move { wg.done() }));
    }
    wg.wait();
}

#[test]
fn output_dropped_exactly_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let s = Scheduler::new(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let n = scaled(1000);
    let mut kept = Vec::new();
    for i in 0..n {
        let d = Arc::clone(&drops);
        let h = s.spawn(async move { Counted(d) });
        if i % 2 == 0 {
            kept.push(h.join().unwrap());
        } // else: the handle is dropped; the output is dropped with the task
    }
    s.shutdown();
    drop(kept);
    assert_eq!(drops.load(Ordering::Relaxed), n);
}

#[test]
fn is_finished() {
    let s = Scheduler::new(1);
    let (tx, rx) = chan::bounded::<()>(0);
    let h = s.spawn(async move { rx.recv_async().await.unwrap() });
    assert!(!h.is_finished());
    tx.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.is_finished() {
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    }
    h.join().unwrap();
}

/// Not under Miri: the global scheduler's workers live as long as the process, and Miri
/// reports threads still running when the main thread ends.
#[test]
#[cfg_attr(miri, ignore)]
fn go_uses_the_global_scheduler_outside() {
    let h = weft::go(async { std::thread::current().name().map(str::to_owned) });
    let name = h.join().unwrap().unwrap();
    assert!(name.starts_with("weft-go-"), "{name}");
}

#[test]
fn go_inside_block_on_uses_that_scheduler() {
    let s = Scheduler::builder().workers(1).thread_name("mine").build();
    let name = s.block_on(async {
        weft::go(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    });
    assert!(name.unwrap().starts_with("mine-"));
}

#[test]
fn idle_scheduler_sleeps() {
    if cfg!(miri) {
        return;
    }
    let s = Scheduler::builder().workers(2).thread_name("idle").build();
    s.spawn(async {}).join().unwrap();
    std::thread::sleep(Duration::from_millis(50)); // let the workers go to sleep
    let before = workers_cpu_time("idle-");
    std::thread::sleep(Duration::from_millis(300));
    let used = workers_cpu_time("idle-") - before;
    // Two spinning workers would burn 600 ms of CPU here.
    assert!(
        used < Duration::from_millis(30),
        "idle workers used {used:?} of CPU in 300 ms"
    );
}

/// User + system CPU time of this process's threads whose name starts with `prefix`, from
/// /proc/self/task/*/stat (in clock ticks of 10 ms).
fn workers_cpu_time(prefix: &str) -> Duration {
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the parenthesised name: state is field 3; utime 14, stime 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        ticks += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    Duration::from_millis(ticks * 10)
}

/// On a single worker, a task waiting with `wait_async` must free it for the tasks it waits
/// for (a blocking `wait` there would deadlock).
#[test]
fn wait_async_frees_the_worker() {
    let s = Scheduler::new(1);
    let wg = Arc::new(WaitGroup::new());
    let n = scaled(100);
    wg.add(n);
    let waiter = {
        let wg = Arc::clone(&wg);
        s.spawn(async move { wg.wait_async().await })
    };
    for _ in 0..n {
        let wg = Arc::clone(&wg);
        drop(s.spawn(async move {
            sched::yield_now().await;
            wg.done();
        }));
    }
    waiter.join().unwrap();
    assert_eq!(wg.count(), 0);
}

/// Many async waiters and a thread waiter on one group, over several rounds.
#[test]
fn wait_async_many_waiters_many_rounds() {
    let s = Scheduler::new(2);
    let wg = Arc::new(WaitGroup::new());
    for _ in 0..scaled(200) {
        wg.add(2);
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let wg = Arc::clone(&wg);
                s.spawn(async move { wg.wait_async().await })
            })
            .collect();
        for _ in 0..2 {
            let wg = Arc::clone(&wg);
            drop(s.spawn(async move { wg.done() }));
        }
        wg.wait();
        for w in waiters {
            w.join().unwrap();
        }
    }
}

/// A dropped `wait_async` future withdraws its waker: nothing is woken later, nothing leaks.
#[test]
fn wait_async_dropped_before_zero() {
    let wg = WaitGroup::new();
    wg.add(1);
    let s = Scheduler::new(1);
    let ready = s.block_on(async {
        let mut fut = std::pin::pin!(wg.wait_async());
        std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
    });
    assert!(!ready);
    wg.done();
    // Zero: a fresh wait completes at once.
    s.block_on(wg.wait_async());
}

#[test]
fn wait_group_go_counts_tasks_including_panics() {
    let s = Scheduler::new(2);
    let wg = Arc::new(WaitGroup::new());
    let sum = Arc::new(AtomicUsize::new(0));
    let n = 10;
    let handles = s.block_on(async {
        (0..n)
            .map(|i| {
                let sum = Arc::clone(&sum);
                wg.go(async move {
                    if i == 7 {
                        panic!("task 7 fails");
                    }
                    sum.fetch_add(i, Ordering::Relaxed);
                })
            })
            .collect::<Vec<_>>()
    });
    wg.wait(); // the panicking task's done() ran too
    let panics = handles
        .into_iter()
        .filter_map(|h| h.join().err())
        .filter(|e| e.is_panic())
        .count();
    assert_eq!(panics, 1);
    assert_eq!(sum.load(Ordering::Relaxed), (0..n).sum::<usize>() - 7);
}
