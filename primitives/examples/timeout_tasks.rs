//! Go's timeout idiom inside goroutines: `time.After` as a select arm, in tasks.
//!
//! ```go
//! go func() {
//!     select {
//!     case v := <-results:
//!         use(v)
//!     case <-time.After(50 * time.Millisecond):
//!         giveUp()
//!     }
//! }()
//! ```
//!
//! The `timeout` example does this on threads with `select!`; here every consumer is a task
//! on a one-worker scheduler, waiting with `select_async!` on a result channel and on
//! `chan::after`. While a task waits, its worker runs the others: 20 consumers that each
//! wait up to 50 ms finish in about 50 ms, not 20 times that. Half the producers answer in
//! time, half too late.
//!
//! Run with `cargo run --release -p weft-go --example timeout_tasks`.

use std::time::{Duration, Instant};

use weft::chan::{after, bounded};
use weft::sched::Scheduler;
use weft::time::sleep;

const TIMEOUT: Duration = Duration::from_millis(50);

fn main() {
    let sched = Scheduler::new(1);
    let start = Instant::now();
    let consumers: Vec<_> = (0..20u32)
        .map(|i| {
            let (tx, rx) = bounded(1);
            // Even producers answer after 5 ms, odd ones after 200 ms: too late.
            let delay = Duration::from_millis(if i % 2 == 0 { 5 } else { 200 });
            sched.spawn(async move {
                sleep(delay).await;
                let _ = tx.send_async(i).await; // the consumer may have given up
            });
            sched.spawn(async move {
                weft::select_async! {
                    recv(rx) -> v => Some(v.expect("the producer answers or hangs up")),
                    recv(after(TIMEOUT)) -> _ => None,
                }
            })
        })
        .collect();
    let outcomes: Vec<Option<u32>> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    let took = start.elapsed();
    for (i, got) in outcomes.iter().enumerate() {
        let i = i as u32;
        assert_eq!(*got, (i % 2 == 0).then_some(i), "consumer {i}");
    }
    // Sequentially the timeouts alone would take 10 x 50 ms; generous bound for noise.
    assert!(
        took < Duration::from_millis(450),
        "the waits held the worker: {took:?}"
    );
    println!(
        "20 consumers on one worker: 10 answers, 10 timeouts, in {:.1} ms",
        took.as_secs_f64() * 1e3
    );
}
