//! Rate limiting with a ticker (the "rate limiting" example of Go by Example):
//!
//! ```go
//! limiter := time.Tick(20 * time.Millisecond)
//! for req := range requests {
//!     <-limiter
//!     serve(req)
//! }
//! ```
//!
//! and its bursty variant: a buffered channel of "tokens" refilled by a ticker, so up to
//! three requests go at once, then one per tick. Requests are served by a task on weft's
//! scheduler; the refill runs in another task.
//!
//! Run with `cargo run --release -p weft-go --example rate_limit`.

use std::time::{Duration, Instant};

use weft::chan::{bounded, tick, unbounded};
use weft::sched::Scheduler;

const EVERY: Duration = Duration::from_millis(20);

fn main() {
    let sched = Scheduler::new(2);

    // Steady: one request per tick.
    let (req_tx, requests) = unbounded::<u32>();
    for req in 1..=5 {
        req_tx.send(req).unwrap();
    }
    drop(req_tx);
    let start = Instant::now();
    let served = sched.block_on(async move {
        let limiter = tick(EVERY);
        let mut served = Vec::new();
        while let Ok(req) = requests.recv_async().await {
            limiter.recv_async().await.unwrap();
            served.push((req, start.elapsed()));
        }
        served
    });
    for (i, (req, at)) in served.iter().enumerate() {
        println!("steady: request {req} at {:5.1} ms", at.as_secs_f64() * 1e3);
        assert!(*at >= EVERY * (i as u32 + 1), "request {req} served early");
    }

    // Bursty: three tokens up front, then one per tick.
    let (tokens_tx, tokens) = bounded::<()>(3);
    for _ in 0..3 {
        tokens_tx.send(()).unwrap();
    }
    let start = Instant::now();
    let refill = sched.spawn(async move {
        let ticker = tick(EVERY);
        // Refill until the limiter is dropped (the send fails: channel closed).
        while ticker.recv_async().await.is_ok() {
            if tokens_tx.send_async(()).await.is_err() {
                return;
            }
        }
    });
    let served = sched.block_on(async move {
        let mut served = Vec::new();
        for req in 1..=6u32 {
            tokens.recv_async().await.unwrap();
            served.push((req, start.elapsed()));
        }
        served // dropping `tokens` stops the refill
    });
    for (req, at) in &served {
        println!("bursty: request {req} at {:5.1} ms", at.as_secs_f64() * 1e3);
    }
    // The first three at once (well before one tick), the rest one per tick.
    assert!(served[2].1 < EVERY, "the burst waited");
    // Request 3 + k needs the k-th refill, which cannot come before the k-th tick. (Gaps
    // between two requests may be short when the refill task ran late: a ticker fires on its
    // schedule, not a period after the last receive.)
    for (k, (req, at)) in served.iter().enumerate().skip(3) {
        assert!(
            *at >= EVERY * (k as u32 - 2),
            "request {req} at {at:?}: tokens came faster than the ticker"
        );
    }
    refill.join().unwrap();
}
