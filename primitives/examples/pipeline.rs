//! A pipeline with fan-out and fan-in, after the Go blog's "Go Concurrency Patterns:
//! Pipelines and cancellation": `gen` emits numbers, several `sq` stages square them in
//! parallel (fan-out: they all read the same channel), and `merge` combines their outputs into
//! one channel (fan-in), closing it once every input is drained.
//!
//! Each stage is a function that starts a task and returns the channel it writes to; a stage
//! closes its output when it is done (here by dropping its last `Sender`), which is what ends
//! the next stage's `recv` loop, exactly like `close(out)` and `for n := range in` in Go.
//!
//! Run with `cargo run --release -p weft-go --example pipeline`.

use std::sync::Arc;
use std::time::Instant;

use weft::chan::{self, Receiver};
use weft::sched::Scheduler;
use weft::sync::WaitGroup;

/// The numbers fed in: `1..=N`.
const N: u64 = 10_000;
/// Parallel squaring stages (the fan-out).
const SQUARERS: usize = 4;

/// Stage 1: emits `nums` on the channel it returns, then closes it.
///
/// ```go
/// func gen(nums ...int) <-chan int {
///     out := make(chan int)
///     go func() { for _, n := range nums { out <- n }; close(out) }()
///     return out
/// }
/// ```
fn gen(nums: impl Iterator<Item = u64> + Send + 'static) -> Receiver<u64> {
    let (out, rx) = chan::bounded(0); // unbuffered, as in the blog
    weft::go(async move {
        for n in nums {
            out.send_async(n).await.expect("downstream hung up");
        }
        // `out` drops here: the channel is closed.
    });
    rx
}

/// Stage 2: squares what it receives until its input is closed, then closes its output.
/// Several of these read the same input: each number goes to exactly one of them.
fn sq(input: Receiver<u64>) -> Receiver<u64> {
    let (out, rx) = chan::bounded(0);
    weft::go(async move {
        while let Ok(n) = input.recv_async().await {
            out.send_async(n * n).await.expect("downstream hung up");
        }
    });
    rx
}

/// Stage 3: fan-in. One forwarding task per input, counted by a `WaitGroup`; a last task
/// waits for the group and then closes the output.
///
/// ```go
/// func merge(cs ...<-chan int) <-chan int {
///     var wg sync.WaitGroup
///     out := make(chan int)
///     for _, c := range cs {
///         wg.Add(1)
///         go func(c <-chan int) { for n := range c { out <- n }; wg.Done() }(c)
///     }
///     go func() { wg.Wait(); close(out) }()
///     return out
/// }
/// ```
fn merge(inputs: Vec<Receiver<u64>>) -> Receiver<u64> {
    let (out, rx) = chan::bounded(0);
    let wg = Arc::new(WaitGroup::new());
    for input in inputs {
        let out = out.clone();
        // `wg.go`: add(1) now, done() when the task ends.
        wg.go(async move {
            while let Ok(n) = input.recv_async().await {
                out.send_async(n).await.expect("downstream hung up");
            }
        });
    }
    weft::go(async move {
        wg.wait_async().await;
        // The forwarders' clones are gone by now; `out` is the last Sender. Closing it
        // explicitly is Go's `close(out)` (dropping it would do the same).
        out.close();
    });
    rx
}

fn main() {
    let start = Instant::now();
    let sched = Scheduler::new(2);
    let squares = sched.block_on(async {
        // Inside `block_on`, `weft::go` (and so every stage) spawns on `sched`.
        let numbers = gen(1..=N);
        // Fan-out: SQUARERS stages share one input channel (a Receiver is Clone: MPMC).
        let squarers = (0..SQUARERS).map(|_| sq(numbers.clone())).collect();
        drop(numbers);
        // Fan-in, and consume: `for n := range merge(...)`.
        let merged = merge(squarers);
        let mut squares = Vec::with_capacity(N as usize);
        while let Ok(n) = merged.recv_async().await {
            squares.push(n);
        }
        squares
    });
    sched.shutdown();

    // Every square arrived exactly once, in whatever order the parallel stages made of it.
    let in_order = squares.windows(2).filter(|w| w[0] < w[1]).count();
    let mut sorted = squares;
    sorted.sort_unstable();
    assert!(sorted.iter().copied().eq((1..=N).map(|n| n * n)));
    let sum: u64 = sorted.iter().sum();
    assert_eq!(sum, N * (N + 1) * (2 * N + 1) / 6);
    println!(
        "pipeline: gen -> {SQUARERS} x sq -> merge: all {N} squares of 1..={N} arrived once \
         (sum {sum}; {in_order} of {} neighbours in order); {:.1?}",
        N - 1,
        start.elapsed()
    );
}
