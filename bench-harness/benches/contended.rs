//! Wall-clock cost of the contended paths, weft beside its peers (criterion).
//!
//! Two workloads, each behind one adapter trait so every implementation runs the same code:
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
//!   `std::sync::Mutex<usize>` + `Condvar` counter. The time is per round.
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

// ---------------------------------------------------------------------------------------------
// Mutex: lock, increment, unlock, from two threads at once.
// ---------------------------------------------------------------------------------------------

/// A counter behind a mutex: the one operation every mutex implementation runs.
trait LockedCounter: Send + Sync + 'static {
    fn new() -> Self;
    /// Locks, increments, unlocks.
    fn increment(&self);
    fn get(&self) -> u64;
}

impl LockedCounter for weft::sync::Mutex<u64> {
    fn new() -> Self {
        weft::sync::Mutex::new(0)
    }
    #[inline]
    fn increment(&self) {
        *self.lock() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock()
    }
}

impl LockedCounter for std::sync::Mutex<u64> {
    fn new() -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline]
    fn increment(&self) {
        *self.lock().unwrap() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock().unwrap()
    }
}

impl LockedCounter for parking_lot::Mutex<u64> {
    fn new() -> Self {
        parking_lot::Mutex::new(0)
    }
    #[inline]
    fn increment(&self) {
        *self.lock() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock()
    }
}

/// `todo` value that tells the workers to exit.
const STOP: u64 = u64::MAX;

/// Persistent threads hammering one `LockedCounter`. A sample: the main thread publishes the
/// operation count, all meet at `start`, the workers run their share, all meet at `finish`.
struct MutexWorkers<L: LockedCounter> {
    counter: Arc<L>,
    todo: Arc<AtomicU64>,
    start: Arc<Barrier>,
    finish: Arc<Barrier>,
    handles: Vec<thread::JoinHandle<()>>,
    expected: u64,
}

impl<L: LockedCounter> MutexWorkers<L> {
    fn spawn(threads: usize) -> Self {
        let counter = Arc::new(L::new());
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
                        counter.increment();
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

impl<L: LockedCounter> Drop for MutexWorkers<L> {
    fn drop(&mut self) {
        self.todo.store(STOP, Ordering::Relaxed);
        self.start.wait();
        for handle in self.handles.drain(..) {
            handle.join().expect("mutex worker panicked");
        }
        // Mutual exclusion held: no increment was lost.
        assert_eq!(self.counter.get(), self.expected);
    }
}

fn bench_mutex<L: LockedCounter>(
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

/// One fan-in round, split into what the owner does and what each participant does.
trait FanIn: Send + Sync + 'static {
    /// The owner's handle on one round.
    type Round;
    /// What a participant is handed and gives back by `done`.
    type Token: Send + 'static;
    fn new() -> Self;
    /// Opens a round for `participants`.
    fn begin(&self, participants: usize) -> Self::Round;
    fn token(&self, round: &Self::Round) -> Self::Token;
    fn done(&self, token: Self::Token);
    /// Returns once every participant of the round is done.
    fn wait(&self, round: Self::Round);
}

impl FanIn for weft::sync::WaitGroup {
    type Round = ();
    type Token = ();
    fn new() -> Self {
        weft::sync::WaitGroup::new()
    }
    fn begin(&self, participants: usize) {
        self.add(participants);
    }
    fn token(&self, _: &()) {}
    fn done(&self, _: ()) {
        weft::sync::WaitGroup::done(self);
    }
    fn wait(&self, _: ()) {
        weft::sync::WaitGroup::wait(self);
    }
}

/// crossbeam's group lives in the round: `wait` consumes it, so each round makes a new one.
struct Crossbeam;

impl FanIn for Crossbeam {
    type Round = crossbeam_utils::sync::WaitGroup;
    type Token = crossbeam_utils::sync::WaitGroup;
    fn new() -> Self {
        Crossbeam
    }
    fn begin(&self, _: usize) -> Self::Round {
        crossbeam_utils::sync::WaitGroup::new()
    }
    fn token(&self, round: &Self::Round) -> Self::Token {
        round.clone()
    }
    fn done(&self, token: Self::Token) {
        drop(token);
    }
    fn wait(&self, round: Self::Round) {
        round.wait();
    }
}

/// The usual hand-written wait group: a counter under a mutex and a condvar to sleep on.
struct CondvarCounter {
    count: std::sync::Mutex<usize>,
    zero: std::sync::Condvar,
}

impl FanIn for CondvarCounter {
    type Round = ();
    type Token = ();
    fn new() -> Self {
        CondvarCounter {
            count: std::sync::Mutex::new(0),
            zero: std::sync::Condvar::new(),
        }
    }
    fn begin(&self, participants: usize) {
        *self.count.lock().unwrap() += participants;
    }
    fn token(&self, _: &()) {}
    fn done(&self, _: ()) {
        let mut c = self.count.lock().unwrap();
        *c -= 1;
        if *c == 0 {
            self.zero.notify_all();
        }
    }
    fn wait(&self, _: ()) {
        let mut c = self.count.lock().unwrap();
        while *c != 0 {
            c = self.zero.wait(c).unwrap();
        }
    }
}

/// Persistent workers, each fed tokens over its own channel; `None` tells it to exit.
struct FanInWorkers<W: FanIn> {
    group: Arc<W>,
    senders: Vec<mpsc::Sender<Option<W::Token>>>,
    handles: Vec<thread::JoinHandle<()>>,
}

impl<W: FanIn> FanInWorkers<W> {
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
            let round = group.begin(self.senders.len());
            for tx in &self.senders {
                tx.send(Some(group.token(&round)))
                    .expect("fan-in worker gone");
            }
            group.wait(round);
        }
        began.elapsed()
    }
}

impl<W: FanIn> Drop for FanInWorkers<W> {
    fn drop(&mut self) {
        for tx in &self.senders {
            tx.send(None).expect("fan-in worker gone");
        }
        for handle in self.handles.drain(..) {
            handle.join().expect("fan-in worker panicked");
        }
    }
}

fn bench_fan_in<W: FanIn>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
) {
    let workers = FanInWorkers::<W>::spawn(2);
    c.bench_function(name, |b| b.iter_custom(|rounds| workers.run(rounds)));
}

fn wait_group_fan_in_2_workers(c: &mut Criterion) {
    let mut group = c.benchmark_group("wait_group_fan_in_2_workers");
    bench_fan_in::<weft::sync::WaitGroup>(&mut group, "weft");
    bench_fan_in::<Crossbeam>(&mut group, "crossbeam");
    bench_fan_in::<CondvarCounter>(&mut group, "condvar");
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
