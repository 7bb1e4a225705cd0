//! A ticker-driven worker with a quit channel, Go's
//!
//! ```go
//! ticker := time.NewTicker(10 * time.Millisecond)
//! defer ticker.Stop()
//! for {
//!     select {
//!     case <-done:
//!         return
//!     case t := <-ticker.C:
//!         poll(t)
//!     }
//! }
//! ```
//!
//! Twice: as a task (`select_async!`, the worker free between ticks) and as a thread
//! (`select!`, which sleeps until the next tick on its own thread: no timer thread). Each
//! counts its ticks until told to quit; a ticker never builds a backlog, so the count stays
//! near elapsed / period however slow the loop is.
//!
//! Run with `cargo run --release -p weft-go --example ticker_worker`.

use std::thread;
use std::time::{Duration, Instant};

use weft::chan::bounded;
use weft::sched::Scheduler;
use weft::time::Ticker;

const PERIOD: Duration = Duration::from_millis(10);
const RUN: Duration = Duration::from_millis(120);

/// At most one tick per period can have come (plus one for the edges).
fn check(name: &str, ticks: u32, ran: Duration) {
    let most = (ran.as_millis() / PERIOD.as_millis()) as u32 + 1;
    assert!(ticks >= 1, "{name}: no tick in {ran:?}");
    assert!(ticks <= most, "{name}: {ticks} ticks in {ran:?}: a backlog");
    println!("{name}: {ticks} ticks in {:.0} ms", ran.as_secs_f64() * 1e3);
}

fn main() {
    // As a task.
    let sched = Scheduler::new(1);
    let (done_tx, done) = bounded::<()>(0);
    let start = Instant::now();
    let worker = sched.spawn(async move {
        let ticker = Ticker::new(PERIOD);
        let mut ticks = 0u32;
        loop {
            weft::select_async! {
                recv(done) -> _ => return ticks,
                recv(ticker.receiver()) -> t => {
                    assert!(t.unwrap() <= Instant::now());
                    ticks += 1;
                }
            }
        }
    });
    thread::sleep(RUN);
    done_tx.send(()).unwrap();
    check("task", worker.join().unwrap(), start.elapsed());

    // As a thread, with a slow loop body: ticks are dropped, not queued.
    let (done_tx, done) = bounded::<()>(0);
    let start = Instant::now();
    let worker = thread::spawn(move || {
        let ticker = Ticker::new(PERIOD);
        let mut ticks = 0u32;
        loop {
            weft::select! {
                recv(done) -> _ => return ticks,
                recv(ticker.receiver()) -> _ => {
                    ticks += 1;
                    thread::sleep(3 * PERIOD); // slower than the ticker
                }
            }
        }
    });
    thread::sleep(RUN);
    done_tx.send(()).unwrap();
    let ticks = worker.join().unwrap();
    let ran = start.elapsed();
    check("thread", ticks, ran);
    // The loop takes one tick per body (3 periods) plus the one the ticker holds; `done`
    // competes with a ready tick at random (Go's select), so the quit may take a few bodies:
    // bound by the time it actually ran, not by RUN.
    let most = (ran.as_millis() / (3 * PERIOD).as_millis()) as u32 + 2;
    assert!(
        ticks <= most,
        "thread: {ticks} ticks in {ran:?}: a backlog (at most {most})"
    );
}
