//! Wall-clock cost of the contended paths, weft beside its peers (criterion).
//!
//! Two workloads, each generic over its kind's adapter trait in `weft_bench::peers`
//! (`MutexLike`, `WaitGroupLike`, the traits the wall-clock suite runs), so every
//! implementation runs the same code:
//!
//! - `mutex_2_threads`: two persistent threads each run `lock(); *counter += 1; unlock()` in a
//!   loop on one shared mutex. Criterion's `iter_custom` hands us `iters` operations; the threads
//!   share them (so the reported time is per lock+increment+unlock, summed over both threads,
//!   as in ANCHORS.md) and start together on a `Barrier`. weft, `std::sync::Mutex`,
//!   `parking_lot::Mutex`.
//! - `wait_group_fan_in_2_workers`: one round is: the owner opens a round for two participants,
//!   hands each of two persistent worker threads its share over a `std::sync::mpsc` channel
//!   (the same dispatch for every implementation), each worker signals `done`, and the owner
//!   waits for both. weft's `add(2)`/`done()`/`wait()`; crossbeam's `WaitGroup` (a fresh group
//!   per round, a clone sent to each worker and dropped there, as its API requires); a
//!   `std::sync::Mutex<usize>` + `Condvar` counter (`CondvarWaitGroup`, id `condvar`). The time
//!   is per round.
//!
//! Threads are not pinned; on a 2-CPU machine the owner and two workers of the fan-in round
//! oversubscribe the CPUs, which is part of what the workload measures. Settings are modest
//! (2 s of measurement, 20 samples per benchmark) so `cargo bench --bench contended` finishes
//! in about a minute; for published figures use the bench-harness binary, which repeats runs.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use weft_bench::peers::wait_group::{CondvarWaitGroup, CrossbeamWaitGroup};
use weft_bench::peers::{MutexLike, WaitGroupLike};

// ---------------------------------------------------------------------------------------------
// Mutex: lock, increment, unlock, from two threads at once.
// ---------------------------------------------------------------------------------------------

/// `todo` value that tells the workers to exit.
const STOP: u64 = u64::MAX;

/// Persistent threads hammering one counter behind an `L`. A sample: the main thread publishes the
/// operation count, all meet at `start`, the workers run their share, all meet at `finish`.
struct MutexWorkers<L: MutexLike<u64>> {
    counter: Arc<L>,
    todo: Arc<AtomicU64>,
    start: Arc<Barrier>,
    finish: Arc<Barrier>,
    handles: Vec<thread::JoinHandle<()>>,
    expected: u64,
}

impl<L: MutexLike<u64> + 'static> MutexWorkers<L> {
    fn spawn(threads: usize) -> Self {
        let counter = Arc::new(L::new(0));
        let todo = Arc::new(AtomicU64::new(0));
        let start = Arc::new(Barrier::new(threads + 1));
        let finish = Arc::new(Barrier::new(threads + 1));
        let handles = (0..threads)
            .map(|index| {
                let (counter, todo) = (Arc::clone(&counter), Arc::clone(&todo));
                let (start, finish) = (Arc::clone(&start), Arc::clone(&finish));
                thread::spawn(move || loop {
                    start.wait();
                    // The Barrier orders this load after the main thread's store.
                    let total = todo.load(Ordering::Relaxed);
                    if total == STOP {
                        return;
                    }
                    // Thread `index` takes its share; the first takes the remainder.
                    let share =
                        total / threads as u64 + u64::from(index == 0) * (total % threads as u64);
                    let counter = black_box(&*counter);
                    for _ in 0..share {
                        counter.with(|v| *v += 1);
                    }
                    finish.wait();
                })
            })
            .collect();
        MutexWorkers {
            counter,
            todo,
            start,
            finish,
            handles,
            expected: 0,
        }
    }

    /// Runs `ops` lock+increment+unlock operations split over the workers; returns the time
    /// from the common start to the last worker's end.
    fn run(&mut self, ops: u64) -> Duration {
        self.todo.store(ops, Ordering::Relaxed);
        self.expected += ops;
        self.start.wait();
        let began = Instant::now();
        self.finish.wait();
        began.elapsed()
    }
}

impl<L: MutexLike<u64>> Drop for MutexWorkers<L> {
    fn drop(&mut self) {
        self.todo.store(STOP, Ordering::Relaxed);
        self.start.wait();
        for handle in self.handles.drain(..) {
            handle.join().expect("mutex worker panicked");
        }
        // Mutual exclusion held: no increment was lost.
        assert_eq!(self.counter.with(|v| *v), self.expected);
    }
}

fn bench_mutex<L: MutexLike<u64> + 'static>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
) {
    let mut workers = MutexWorkers::<L>::spawn(2);
    c.bench_function(name, |b| b.iter_custom(|iters| workers.run(iters)));
}

fn mutex_2_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("mutex_2_threads");
    bench_mutex::<weft::sync::Mutex<u64>>(&mut group, "weft");
    bench_mutex::<std::sync::Mutex<u64>>(&mut group, "std");
    bench_mutex::<parking_lot::Mutex<u64>>(&mut group, "parking_lot");
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// WaitGroup: fan-in round with two persistent workers.
// ---------------------------------------------------------------------------------------------

/// Persistent workers, each fed tokens over its own channel; `None` tells it to exit.
struct FanInWorkers<W: WaitGroupLike> {
    group: Arc<W>,
    senders: Vec<mpsc::Sender<Option<W::Token>>>,
    handles: Vec<thread::JoinHandle<()>>,
}

impl<W: WaitGroupLike + 'static> FanInWorkers<W> {
    fn spawn(workers: usize) -> Self {
        let group = Arc::new(W::new());
        // Every worker is running and about to block on its channel before the first round.
        let ready = Arc::new(Barrier::new(workers + 1));
        let (senders, handles) = (0..workers)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<Option<W::Token>>();
                let (group, ready) = (Arc::clone(&group), Arc::clone(&ready));
                let handle = thread::spawn(move || {
                    ready.wait();
                    while let Ok(Some(token)) = rx.recv() {
                        group.done(token);
                    }
                });
                (tx, handle)
            })
            .unzip();
        ready.wait();
        FanInWorkers {
            group,
            senders,
            handles,
        }
    }

    /// Runs `rounds` fan-in rounds; returns their total time.
    fn run(&self, rounds: u64) -> Duration {
        let group = &*self.group;
        let began = Instant::now();
        for _ in 0..rounds {
            let mut senders = self.senders.iter();
            let waiter = group.round(self.senders.len(), |token| {
                // `round` gives exactly one token per participant, one participant per worker.
                let tx = senders.next().expect("one token per worker");
                tx.send(Some(token)).expect("fan-in worker gone");
            });
            group.wait(waiter);
        }
        began.elapsed()
    }
}

impl<W: WaitGroupLike> Drop for FanInWorkers<W> {
    fn drop(&mut self) {
        for tx in &self.senders {
            tx.send(None).expect("fan-in worker gone");
        }
        for handle in self.handles.drain(..) {
            handle.join().expect("fan-in worker panicked");
        }
    }
}

fn bench_fan_in<W: WaitGroupLike + 'static>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
) {
    let workers = FanInWorkers::<W>::spawn(2);
    c.bench_function(name, |b| b.iter_custom(|rounds| workers.run(rounds)));
}

fn wait_group_fan_in_2_workers(c: &mut Criterion) {
    let mut group = c.benchmark_group("wait_group_fan_in_2_workers");
    bench_fan_in::<weft::sync::WaitGroup>(&mut group, "weft");
    bench_fan_in::<CrossbeamWaitGroup>(&mut group, "crossbeam");
    bench_fan_in::<CondvarWaitGroup>(&mut group, "condvar");
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group!(name = benches; config = config(); targets = mutex_2_threads, wait_group_fan_in_2_workers);
criterion_main!(benches);
