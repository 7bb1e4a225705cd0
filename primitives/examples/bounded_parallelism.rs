//! Bounded parallelism with a semaphore channel, Go's
//!
//! ```go
//! sem := make(chan struct{}, K)
//! for _, job := range jobs {
//!     go func(job Job) {
//!         sem <- struct{}{}        // acquire: blocks while K are running
//!         defer func() { <-sem }() // release
//!         work(job)
//!     }(job)
//! }
//! ```
//!
//! Many tasks are started at once, but the channel's capacity lets at most `K` of them be
//! inside the guarded section at any moment. An atomic counter of the tasks inside, and its
//! maximum, check that.
//!
//! The guarded work awaits (it yields to the scheduler several times, as a task doing IO or
//! waiting on other tasks would), so without the semaphore far more than `K` tasks would be
//! inside at once, even on a 2-thread scheduler.
//!
//! Run with `cargo run --release -p weft-go --example bounded_parallelism`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use weft::chan;
use weft::sched::Scheduler;

/// At most this many tasks in the guarded section at once.
const K: usize = 3;
/// Tasks started.
const TASKS: u64 = 64;
/// Times each task yields to the scheduler while it holds its slot.
const YIELDS: usize = 20;

/// Counts the tasks inside the guarded section, and the most there ever were.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

fn main() {
    let start = Instant::now();
    let sched = Scheduler::new(2);
    // The semaphore: K free slots. Sending takes a slot (waits while all K are taken),
    // receiving gives one back. The messages carry nothing: `()` is Go's `struct{}{}`.
    let (acquire, release) = chan::bounded::<()>(K);
    let gauge = Arc::new(Gauge::default());

    let handles: Vec<_> = (0..TASKS)
        .map(|job| {
            let (acquire, release, gauge) = (acquire.clone(), release.clone(), gauge.clone());
            sched.spawn(async move {
                acquire.send_async(()).await.unwrap(); // sem <- struct{}{}
                gauge.enter();
                // The work: a sum, computed a piece at a time between yields.
                let mut sum = 0;
                for i in 0..YIELDS as u64 {
                    sum += job * i;
                    weft::sched::yield_now().await;
                }
                gauge.leave();
                release.recv_async().await.unwrap(); // <-sem
                sum
            })
        })
        .collect();

    // `JoinHandle::join` blocks: fine here, on the main thread, outside the scheduler.
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    sched.shutdown();

    let triangle = (YIELDS * (YIELDS - 1) / 2) as u64; // 0 + 1 + ... + (YIELDS - 1)
    assert_eq!(total, (0..TASKS).sum::<u64>() * triangle);
    let max = gauge.max.load(Ordering::SeqCst);
    assert!(
        max <= K,
        "{max} tasks ran at once; the semaphore allows {K}"
    );
    // And the semaphore did not serialise them: with every task yielding while it holds its
    // slot, the others fill the remaining slots.
    assert_eq!(
        max, K,
        "expected the semaphore's {K} slots to be used at once"
    );
    assert!(release.is_empty(), "every slot was given back");
    println!(
        "bounded_parallelism: {TASKS} tasks, at most {max} at once (semaphore of {K}), \
         results checked; {:.1?}",
        start.elapsed()
    );
}
