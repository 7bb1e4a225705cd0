//! A worker pool, Go style: N worker tasks pull jobs from one channel and push results onto
//! another; a `WaitGroup` counts the workers, and once they have all finished, a closer task
//! closes the results channel so the collector's loop ends.
//!
//! The Go original:
//!
//! ```go
//! jobs, results := make(chan int, 16), make(chan Result, 16)
//! var wg sync.WaitGroup
//! for w := 0; w < N; w++ {
//!     wg.Add(1)
//!     go func() { defer wg.Done(); for j := range jobs { results <- work(j) } }()
//! }
//! go func() { wg.Wait(); close(results) }()
//! for r := range results { ... }
//! ```
//!
//! Run with `cargo run --release -p weft-go --example worker_pool`.

use std::sync::Arc;
use std::time::Instant;

use weft::chan;
use weft::sched::Scheduler;
use weft::sync::WaitGroup;

/// Worker tasks in the pool.
const WORKERS: usize = 4;
/// Jobs: the numbers `1..=JOBS`.
const JOBS: u64 = 20_000;

/// The work: the number of Collatz steps from `n` down to 1 (a little CPU per job, and a
/// result that is easy to recompute serially).
fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

/// One result: which job, its answer, and which worker did it.
struct Done {
    job: u64,
    steps: u32,
    worker: usize,
}

fn main() {
    let start = Instant::now();
    // Two worker threads run the (four) worker tasks: tasks are cheap, like goroutines, and a
    // task waiting on a channel frees its thread for the others.
    let sched = Scheduler::new(2);

    let (results_tx, results_rx) = chan::bounded::<Done>(16);
    let per_worker = sched.block_on(async move {
        let (jobs_tx, jobs_rx) = chan::bounded::<u64>(16);
        let wg = Arc::new(WaitGroup::new());

        // The workers. `wg.go` is Go's `wg.Add(1); go func() { defer wg.Done(); ... }()`:
        // inside `block_on` it spawns on this scheduler, and calls `done` when the task ends
        // (also if it panics). Every worker holds clones of both channel ends.
        for worker in 0..WORKERS {
            let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
            wg.go(async move {
                // `for j := range jobs`: ends when the channel is closed and drained.
                while let Ok(job) = jobs_rx.recv_async().await {
                    let steps = collatz_steps(job);
                    let done = Done { job, steps, worker };
                    results_tx
                        .send_async(done)
                        .await
                        .expect("the collector is gone");
                }
            });
        }
        drop(jobs_rx);

        // The closer: `go func() { wg.Wait(); close(results) }()`. In weft, dropping the
        // last Sender closes a channel too, so here the workers' clones alone would do it;
        // the explicit close is Go's idiom, and is what you need when some other handle
        // (say, one kept for later) would otherwise hold the channel open.
        weft::go({
            let wg = Arc::clone(&wg);
            async move {
                wg.wait_async().await;
                results_tx.close();
            }
        });

        // The producer: feeds the jobs, then closes the jobs channel (by dropping its only
        // Sender), which ends every worker's loop once the jobs are drained.
        weft::go(async move {
            for job in 1..=JOBS {
                jobs_tx.send_async(job).await.expect("the workers are gone");
            }
        });

        // The collector: `for r := range results`, right here in `block_on`.
        let mut answers = vec![None; JOBS as usize + 1];
        let mut per_worker = [0u64; WORKERS];
        while let Ok(Done { job, steps, worker }) = results_rx.recv_async().await {
            assert!(
                answers[job as usize].replace(steps).is_none(),
                "job {job} done twice"
            );
            per_worker[worker] += 1;
        }
        // The channel closed only after every worker finished: nothing can be missing.
        assert_eq!(wg.count(), 0);
        for (job, steps) in answers.iter().enumerate().skip(1) {
            assert_eq!(*steps, Some(collatz_steps(job as u64)), "job {job}");
        }
        per_worker
    });
    // Every task has finished; stop the worker threads.
    sched.shutdown();

    assert_eq!(per_worker.iter().sum::<u64>(), JOBS);
    let longest = (1..=JOBS).max_by_key(|&n| collatz_steps(n)).unwrap();
    println!(
        "worker_pool: {JOBS} jobs on {WORKERS} worker tasks (jobs per worker {per_worker:?}), \
         all checked; longest chain: {longest} ({} steps); {:.1?}",
        collatz_steps(longest),
        start.elapsed()
    );
}
