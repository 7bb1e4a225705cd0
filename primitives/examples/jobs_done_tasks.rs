//! Workers that select over a jobs channel and a done channel, all in goroutines (Go's
//! cancellation by closing `done`, from "Go Concurrency Patterns: Pipelines and
//! cancellation"):
//!
//! ```go
//! func worker(done <-chan struct{}, jobs <-chan int, results chan<- int) {
//!     for {
//!         select {
//!         case j, ok := <-jobs:
//!             if !ok { return }
//!             select {
//!             case results <- work(j):
//!             case <-done: return
//!             }
//!         case <-done:
//!             return
//!         }
//!     }
//! }
//! ```
//!
//! A producer task sends jobs until `done` closes (its send is a select arm too: Go's
//! `select { case jobs <- j: case <-done: return }`), four worker tasks run the loop above
//! with `select_async!`, and the consumer task takes a fixed number of results and then
//! closes `done` by dropping its sender. Everything runs on two workers, with more tasks
//! than workers: each select that waits frees its worker. At the end every job is accounted
//! for exactly once: its result taken, its result abandoned when `done` closed, or still in
//! the jobs channel; and an unchosen send arm's job was never sent (select's guarantee).
//!
//! Run with `cargo run --release -p weft-go --example jobs_done_tasks`.

use weft::chan::{bounded, Receiver, Sender};
use weft::sched::Scheduler;

const WORKERS: usize = 4;
const TAKE: usize = 2_000;

/// The work: a little arithmetic whose answer is easy to check.
fn work(j: u64) -> u64 {
    j * j + 1
}

/// What one worker did: results sent, and results it had made when `done` closed first.
struct Worked {
    sent: u64,
    abandoned: u64,
}

async fn worker(done: Receiver<()>, jobs: Receiver<u64>, results: Sender<(u64, u64)>) -> Worked {
    let mut w = Worked {
        sent: 0,
        abandoned: 0,
    };
    loop {
        let job = weft::select_async! {
            recv(jobs) -> j => match j {
                Ok(j) => j,
                Err(_) => return w, // the producer left: no more jobs
            },
            recv(done) -> _ => return w,
        };
        let r = (job, work(job));
        weft::select_async! {
            send(results, r) -> res => {
                res.expect("the consumer keeps results open until the workers finish");
                w.sent += 1;
            },
            recv(done) -> _ => {
                // `r` was not sent (the send arm was not chosen): count it and stop.
                w.abandoned += 1;
                return w;
            },
        }
    }
}

fn main() {
    let sched = Scheduler::new(2);
    let (taken, produced, worked, left) = sched.block_on(async {
        let (done_tx, done) = bounded::<()>(0);
        let (jobs_tx, jobs) = bounded::<u64>(8);
        let (results_tx, results) = bounded::<(u64, u64)>(0);

        let producer = {
            let done = done.clone();
            weft::go(async move {
                let mut next = 0u64;
                loop {
                    weft::select_async! {
                        send(jobs_tx, next) -> res => {
                            res.expect("workers keep jobs open");
                            next += 1;
                        },
                        recv(done) -> _ => return next, // jobs 0..next were sent
                    }
                }
            })
        };
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| weft::go(worker(done.clone(), jobs.clone(), results_tx.clone())))
            .collect();
        drop(results_tx);

        let mut taken = Vec::with_capacity(TAKE);
        while taken.len() < TAKE {
            taken.push(results.recv_async().await.expect("workers run until done"));
        }
        drop(done_tx); // close done: producer and workers return

        let produced = producer.await.unwrap();
        let mut worked = Vec::new();
        for w in workers {
            worked.push(w.await.unwrap());
        }
        // Jobs sent but never picked up are still in the channel.
        let left = jobs.try_iter().count() as u64;
        (taken, produced, worked, left)
    });
    sched.shutdown();

    for &(j, r) in &taken {
        assert_eq!(r, work(j), "result of job {j}");
    }
    let mut ids: Vec<u64> = taken.iter().map(|&(j, _)| j).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), TAKE, "a job's result came twice");
    let sent: u64 = worked.iter().map(|w| w.sent).sum();
    let abandoned: u64 = worked.iter().map(|w| w.abandoned).sum();
    // Rendezvous results: a worker's send succeeds only when the consumer takes it.
    assert_eq!(sent, TAKE as u64, "every result sent was taken");
    assert_eq!(
        produced,
        sent + abandoned + left,
        "every job sent was worked once, abandoned at done, or left in the channel"
    );
    assert!(
        ids.iter().all(|&j| j < produced),
        "only jobs the producer sent"
    );
    println!(
        "jobs/done: {WORKERS} worker tasks on 2 workers, {TAKE} results taken, {produced} jobs sent, \
         {abandoned} abandoned at done, {left} left queued"
    );
}
