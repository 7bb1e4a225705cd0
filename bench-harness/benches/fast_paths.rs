//! Instruction counts of the uncontended fast paths, weft beside its peers.
//!
//! Run by gungraun (Callgrind), so the figures are exact instruction counts, not times: they do
//! not drift with the machine and a 2% growth is a real regression. `ci/gungraun.sh` runs this
//! file and compares every benchmark against `results/instructions/baseline.json`.
//!
//! Each primitive is built in a `setup` function, which Callgrind does not count; only the body
//! of the benchmark function is measured. Bodies return what they were given, so its drop (and
//! any deallocation) happens after the measured call too. Every benchmark has two ids:
//!
//! - `single`: one operation, what a caller pays once;
//! - `x100`: 100 operations in a loop, so the per-operation cost (count / 100) dominates the
//!   call and loop overhead.
//!
//! Groups:
//!
//! - `mutex`: `lock()` then drop the guard, with one increment in between so the critical
//!   section is not empty: weft, `std::sync::Mutex`, `parking_lot::Mutex`.
//! - `wait_group`: one participant joins, leaves, and the owner waits (the counter is zero by
//!   then, so `wait` returns at once): weft's `add(1)`/`done()`/`wait()`; crossbeam's
//!   `clone()`/`drop`/`wait()` (what a crossbeam user writes; `wait` consumes the group, so a
//!   fresh group is prepared per round and its `Arc` is freed inside the measured call, as in
//!   real use); a `std::sync::Mutex<usize>` + `Condvar` counter written the usual way.
//! - `deque`: the owner of a work-stealing deque pushes one item and pops it back (LIFO, no
//!   thieves): weft's Chase-Lev deque, crossbeam-deque's, and st3's bounded one (capacity 64).
//!   The deque is built, with its first buffer, in `setup`, so neither push grows it.
//! - `chan`: one thread sends a message and receives it back, on a bounded(1024) channel and an
//!   unbounded one: weft, crossbeam-channel, flume, kanal, `std::sync::mpsc`. Nobody waits, so
//!   this is the cost of the ring-buffer / block-list protocol itself (the unbounded channels'
//!   blocks are allocated as they fill: 100 messages cross a few block boundaries).
//! - `select`: a message is sent on the first of two channels, then a biased select with a
//!   receive arm on each takes it: `weft::select_biased!` and `crossbeam_channel::select_biased!`
//!   (flume's `Selector` is built per call and kanal has no select).

// gungraun's macros expand to public modules, functions and constants that carry no docs.
#![allow(missing_docs)]

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};

/// Operation counts for the `single` and `x100` ids.
const SINGLE: usize = 1;
const X100: usize = 100;

// ---------------------------------------------------------------------------------------------
// Mutex: lock, increment, unlock.
// ---------------------------------------------------------------------------------------------

fn setup_weft_mutex(n: usize) -> (weft::sync::Mutex<u64>, usize) {
    (weft::sync::Mutex::new(0), n)
}

fn setup_std_mutex(n: usize) -> (std::sync::Mutex<u64>, usize) {
    (std::sync::Mutex::new(0), n)
}

fn setup_parking_lot_mutex(n: usize) -> (parking_lot::Mutex<u64>, usize) {
    (parking_lot::Mutex::new(0), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_weft_mutex)]
#[bench::x100(args = (X100), setup = setup_weft_mutex)]
fn lock_unlock_weft((m, n): (weft::sync::Mutex<u64>, usize)) -> weft::sync::Mutex<u64> {
    for _ in 0..n {
        let mut g = black_box(&m).lock();
        *g += 1;
    }
    m
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_std_mutex)]
#[bench::x100(args = (X100), setup = setup_std_mutex)]
fn lock_unlock_std((m, n): (std::sync::Mutex<u64>, usize)) -> std::sync::Mutex<u64> {
    for _ in 0..n {
        let mut g = black_box(&m).lock().unwrap();
        *g += 1;
    }
    m
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_parking_lot_mutex)]
#[bench::x100(args = (X100), setup = setup_parking_lot_mutex)]
fn lock_unlock_parking_lot((m, n): (parking_lot::Mutex<u64>, usize)) -> parking_lot::Mutex<u64> {
    for _ in 0..n {
        let mut g = black_box(&m).lock();
        *g += 1;
    }
    m
}

library_benchmark_group!(
    name = mutex,
    benchmarks = [lock_unlock_weft, lock_unlock_std, lock_unlock_parking_lot]
);

// ---------------------------------------------------------------------------------------------
// WaitGroup: one participant joins and leaves, then the owner waits.
// ---------------------------------------------------------------------------------------------

/// The usual hand-written wait group: a counter under a mutex and a condvar to sleep on.
struct CondvarCounter {
    count: std::sync::Mutex<usize>,
    zero: std::sync::Condvar,
}

impl CondvarCounter {
    fn new() -> Self {
        CondvarCounter {
            count: std::sync::Mutex::new(0),
            zero: std::sync::Condvar::new(),
        }
    }

    fn add(&self, n: usize) {
        *self.count.lock().unwrap() += n;
    }

    fn done(&self) {
        let mut c = self.count.lock().unwrap();
        *c -= 1;
        if *c == 0 {
            self.zero.notify_all();
        }
    }

    fn wait(&self) {
        let mut c = self.count.lock().unwrap();
        while *c != 0 {
            c = self.zero.wait(c).unwrap();
        }
    }
}

fn setup_weft_wait_group(n: usize) -> (weft::sync::WaitGroup, usize) {
    (weft::sync::WaitGroup::new(), n)
}

/// crossbeam's `wait` consumes the group, so each round needs its own; all are built here.
/// The rounds drain the vector, which keeps its buffer, so freeing that is not measured either.
fn setup_crossbeam_wait_groups(n: usize) -> Vec<crossbeam_utils::sync::WaitGroup> {
    (0..n)
        .map(|_| crossbeam_utils::sync::WaitGroup::new())
        .collect()
}

fn setup_condvar_counter(n: usize) -> (CondvarCounter, usize) {
    (CondvarCounter::new(), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_weft_wait_group)]
#[bench::x100(args = (X100), setup = setup_weft_wait_group)]
fn add_done_wait_weft((wg, n): (weft::sync::WaitGroup, usize)) -> weft::sync::WaitGroup {
    for _ in 0..n {
        let wg = black_box(&wg);
        wg.add(1);
        wg.done();
        wg.wait();
    }
    wg
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_crossbeam_wait_groups)]
#[bench::x100(args = (X100), setup = setup_crossbeam_wait_groups)]
fn add_done_wait_crossbeam(
    mut groups: Vec<crossbeam_utils::sync::WaitGroup>,
) -> Vec<crossbeam_utils::sync::WaitGroup> {
    for wg in groups.drain(..) {
        let wg = black_box(wg);
        let participant = wg.clone();
        drop(black_box(participant));
        wg.wait();
    }
    groups
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_condvar_counter)]
#[bench::x100(args = (X100), setup = setup_condvar_counter)]
fn add_done_wait_condvar((wg, n): (CondvarCounter, usize)) -> CondvarCounter {
    for _ in 0..n {
        let wg = black_box(&wg);
        wg.add(1);
        wg.done();
        wg.wait();
    }
    wg
}

library_benchmark_group!(
    name = wait_group,
    benchmarks = [
        add_done_wait_weft,
        add_done_wait_crossbeam,
        add_done_wait_condvar
    ]
);

// ---------------------------------------------------------------------------------------------
// Deque: the owner pushes one item and pops it back.
// ---------------------------------------------------------------------------------------------

fn setup_weft_deque(n: usize) -> (weft::deque::Worker<u64>, usize) {
    (weft::deque::Worker::new_lifo(), n)
}

fn setup_crossbeam_deque(n: usize) -> (crossbeam_deque::Worker<u64>, usize) {
    (crossbeam_deque::Worker::new_lifo(), n)
}

fn setup_st3_deque(n: usize) -> (st3::lifo::Worker<u64>, usize) {
    (st3::lifo::Worker::new(64), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_weft_deque)]
#[bench::x100(args = (X100), setup = setup_weft_deque)]
fn push_pop_weft((w, n): (weft::deque::Worker<u64>, usize)) -> weft::deque::Worker<u64> {
    for i in 0..n as u64 {
        let w = black_box(&w);
        w.push(i);
        black_box(w.pop());
    }
    w
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_crossbeam_deque)]
#[bench::x100(args = (X100), setup = setup_crossbeam_deque)]
fn push_pop_crossbeam(
    (w, n): (crossbeam_deque::Worker<u64>, usize),
) -> crossbeam_deque::Worker<u64> {
    for i in 0..n as u64 {
        let w = black_box(&w);
        w.push(i);
        black_box(w.pop());
    }
    w
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_st3_deque)]
#[bench::x100(args = (X100), setup = setup_st3_deque)]
fn push_pop_st3((w, n): (st3::lifo::Worker<u64>, usize)) -> st3::lifo::Worker<u64> {
    for i in 0..n as u64 {
        let w = black_box(&w);
        w.push(i).unwrap();
        black_box(w.pop());
    }
    w
}

library_benchmark_group!(
    name = deque,
    benchmarks = [push_pop_weft, push_pop_crossbeam, push_pop_st3]
);

// ---------------------------------------------------------------------------------------------
// Channels: send one message and receive it back on the same thread.
// ---------------------------------------------------------------------------------------------

/// The measured body of every channel benchmark: `n` times, send a message, then receive it.
#[inline(always)]
fn send_then_recv<C>(chan: C, n: usize, send: impl Fn(&C, u64), recv: impl Fn(&C) -> u64) -> C {
    for i in 0..n as u64 {
        send(black_box(&chan), i);
        black_box(recv(black_box(&chan)));
    }
    chan
}

fn setup_bounded_weft(n: usize) -> ((weft::chan::Sender<u64>, weft::chan::Receiver<u64>), usize) {
    (weft::chan::bounded(1024), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_bounded_weft)]
#[bench::x100(args = (X100), setup = setup_bounded_weft)]
fn bounded_weft(
    (c, n): ((weft::chan::Sender<u64>, weft::chan::Receiver<u64>), usize),
) -> (weft::chan::Sender<u64>, weft::chan::Receiver<u64>) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_bounded_crossbeam(
    n: usize,
) -> (
    (
        crossbeam_channel::Sender<u64>,
        crossbeam_channel::Receiver<u64>,
    ),
    usize,
) {
    (crossbeam_channel::bounded(1024), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_bounded_crossbeam)]
#[bench::x100(args = (X100), setup = setup_bounded_crossbeam)]
fn bounded_crossbeam(
    (c, n): (
        (
            crossbeam_channel::Sender<u64>,
            crossbeam_channel::Receiver<u64>,
        ),
        usize,
    ),
) -> (
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_bounded_flume(n: usize) -> ((flume::Sender<u64>, flume::Receiver<u64>), usize) {
    (flume::bounded(1024), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_bounded_flume)]
#[bench::x100(args = (X100), setup = setup_bounded_flume)]
fn bounded_flume(
    (c, n): ((flume::Sender<u64>, flume::Receiver<u64>), usize),
) -> (flume::Sender<u64>, flume::Receiver<u64>) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_bounded_kanal(n: usize) -> ((kanal::Sender<u64>, kanal::Receiver<u64>), usize) {
    (kanal::bounded(1024), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_bounded_kanal)]
#[bench::x100(args = (X100), setup = setup_bounded_kanal)]
fn bounded_kanal(
    (c, n): ((kanal::Sender<u64>, kanal::Receiver<u64>), usize),
) -> (kanal::Sender<u64>, kanal::Receiver<u64>) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_bounded_std(
    n: usize,
) -> (
    (
        std::sync::mpsc::SyncSender<u64>,
        std::sync::mpsc::Receiver<u64>,
    ),
    usize,
) {
    (std::sync::mpsc::sync_channel(1024), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_bounded_std)]
#[bench::x100(args = (X100), setup = setup_bounded_std)]
fn bounded_std(
    (c, n): (
        (
            std::sync::mpsc::SyncSender<u64>,
            std::sync::mpsc::Receiver<u64>,
        ),
        usize,
    ),
) -> (
    std::sync::mpsc::SyncSender<u64>,
    std::sync::mpsc::Receiver<u64>,
) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_unbounded_weft(n: usize) -> ((weft::chan::Sender<u64>, weft::chan::Receiver<u64>), usize) {
    (weft::chan::unbounded(), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_unbounded_weft)]
#[bench::x100(args = (X100), setup = setup_unbounded_weft)]
fn unbounded_weft(
    (c, n): ((weft::chan::Sender<u64>, weft::chan::Receiver<u64>), usize),
) -> (weft::chan::Sender<u64>, weft::chan::Receiver<u64>) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_unbounded_crossbeam(
    n: usize,
) -> (
    (
        crossbeam_channel::Sender<u64>,
        crossbeam_channel::Receiver<u64>,
    ),
    usize,
) {
    (crossbeam_channel::unbounded(), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_unbounded_crossbeam)]
#[bench::x100(args = (X100), setup = setup_unbounded_crossbeam)]
fn unbounded_crossbeam(
    (c, n): (
        (
            crossbeam_channel::Sender<u64>,
            crossbeam_channel::Receiver<u64>,
        ),
        usize,
    ),
) -> (
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_unbounded_flume(n: usize) -> ((flume::Sender<u64>, flume::Receiver<u64>), usize) {
    (flume::unbounded(), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_unbounded_flume)]
#[bench::x100(args = (X100), setup = setup_unbounded_flume)]
fn unbounded_flume(
    (c, n): ((flume::Sender<u64>, flume::Receiver<u64>), usize),
) -> (flume::Sender<u64>, flume::Receiver<u64>) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_unbounded_kanal(n: usize) -> ((kanal::Sender<u64>, kanal::Receiver<u64>), usize) {
    (kanal::unbounded(), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_unbounded_kanal)]
#[bench::x100(args = (X100), setup = setup_unbounded_kanal)]
fn unbounded_kanal(
    (c, n): ((kanal::Sender<u64>, kanal::Receiver<u64>), usize),
) -> (kanal::Sender<u64>, kanal::Receiver<u64>) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

fn setup_unbounded_std(
    n: usize,
) -> (
    (std::sync::mpsc::Sender<u64>, std::sync::mpsc::Receiver<u64>),
    usize,
) {
    (std::sync::mpsc::channel(), n)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_unbounded_std)]
#[bench::x100(args = (X100), setup = setup_unbounded_std)]
fn unbounded_std(
    (c, n): (
        (std::sync::mpsc::Sender<u64>, std::sync::mpsc::Receiver<u64>),
        usize,
    ),
) -> (std::sync::mpsc::Sender<u64>, std::sync::mpsc::Receiver<u64>) {
    send_then_recv(
        c,
        n,
        |(tx, _), i| tx.send(i).unwrap(),
        |(_, rx)| rx.recv().unwrap(),
    )
}

library_benchmark_group!(
    name = chan,
    benchmarks = [
        bounded_weft,
        bounded_crossbeam,
        bounded_flume,
        bounded_kanal,
        bounded_std,
        unbounded_weft,
        unbounded_crossbeam,
        unbounded_flume,
        unbounded_kanal,
        unbounded_std
    ]
);

// ---------------------------------------------------------------------------------------------
// Select: a biased select over two channels, the first ready.
// ---------------------------------------------------------------------------------------------

type WeftPair = (weft::chan::Sender<u64>, weft::chan::Receiver<u64>);
type CrossbeamPair = (
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
);

fn setup_select_weft(n: usize) -> (WeftPair, WeftPair, usize) {
    (weft::chan::bounded(16), weft::chan::bounded(16), n)
}

fn setup_select_crossbeam(n: usize) -> (CrossbeamPair, CrossbeamPair, usize) {
    (
        crossbeam_channel::bounded(16),
        crossbeam_channel::bounded(16),
        n,
    )
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_select_weft)]
#[bench::x100(args = (X100), setup = setup_select_weft)]
fn select_weft((a, b, n): (WeftPair, WeftPair, usize)) -> (WeftPair, WeftPair) {
    for i in 0..n as u64 {
        black_box(&a.0).send(i).unwrap();
        let (ra, rb) = (black_box(&a.1), black_box(&b.1));
        let got = weft::select_biased! {
            recv(ra) -> v => v.unwrap(),
            recv(rb) -> v => v.unwrap() + 1,
        };
        black_box(got);
    }
    (a, b)
}

#[library_benchmark]
#[bench::single(args = (SINGLE), setup = setup_select_crossbeam)]
#[bench::x100(args = (X100), setup = setup_select_crossbeam)]
fn select_crossbeam(
    (a, b, n): (CrossbeamPair, CrossbeamPair, usize),
) -> (CrossbeamPair, CrossbeamPair) {
    for i in 0..n as u64 {
        black_box(&a.0).send(i).unwrap();
        let (ra, rb) = (black_box(&a.1), black_box(&b.1));
        let got = crossbeam_channel::select_biased! {
            recv(ra) -> v => v.unwrap(),
            recv(rb) -> v => v.unwrap() + 1,
        };
        black_box(got);
    }
    (a, b)
}

library_benchmark_group!(name = select, benchmarks = [select_weft, select_crossbeam]);

main!(
    library_benchmark_groups = mutex,
    wait_group,
    deque,
    chan,
    select
);
