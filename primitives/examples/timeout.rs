//! A timeout with `select`, Go's
//!
//! ```go
//! select {
//! case v := <-results:
//!     use(v)
//! case <-time.After(50 * time.Millisecond):
//!     giveUp()
//! }
//! ```
//!
//! In weft that is one `select!` with a `default(timeout)` arm, which runs if no other arm
//! becomes ready within the timeout. Shown twice over a slow producer: once where the answer
//! comes in time, once where it does not.
//!
//! `select!` blocks its thread, so it is used here from plain threads (inside scheduler tasks,
//! prefer the async channel operations: a blocked thread holds its worker).
//!
//! Run with `cargo run --release -p weft-go --example timeout`.

use std::thread;
use std::time::{Duration, Instant};

use weft::chan::{self, Receiver};

/// How long the consumer is willing to wait.
const TIMEOUT: Duration = Duration::from_millis(50);

/// Starts a producer that answers `value` after `delay`, on the channel it returns.
///
/// The channel has room for the answer, so a producer that is too late never blocks: its
/// send succeeds into the buffer, or fails because the consumer already dropped the receiver.
/// (With an unbuffered channel in Go, a late producer would block forever: a leak.)
fn slow_producer(value: u32, delay: Duration) -> (Receiver<u32>, thread::JoinHandle<bool>) {
    let (tx, rx) = chan::bounded(1);
    let producer = thread::spawn(move || {
        thread::sleep(delay);
        tx.send(value).is_ok() // whether anyone could still take it
    });
    (rx, producer)
}

/// What the consumer saw.
#[derive(Debug, PartialEq)]
enum Outcome {
    Answer(u32),
    TimedOut,
}

/// Waits for the producer's answer, at most `TIMEOUT`.
fn wait_for_answer(rx: &Receiver<u32>) -> Outcome {
    weft::select! {
        recv(rx) -> v => Outcome::Answer(v.expect("the producer hung up without answering")),
        default(TIMEOUT) => Outcome::TimedOut,
    }
}

fn main() {
    // 1. The producer answers after 5 ms: well within the 50 ms timeout.
    let (rx, producer) = slow_producer(42, Duration::from_millis(5));
    let t = Instant::now();
    let fast = wait_for_answer(&rx);
    let fast_took = t.elapsed();
    assert_eq!(fast, Outcome::Answer(42));
    assert!(fast_took < TIMEOUT, "the answer took {fast_took:?}");
    assert!(producer.join().unwrap(), "the answer was delivered");

    // 2. The producer takes 300 ms: the select gives up after 50 ms.
    let (rx, producer) = slow_producer(7, Duration::from_millis(300));
    let t = Instant::now();
    let slow = wait_for_answer(&rx);
    let slow_took = t.elapsed();
    assert_eq!(slow, Outcome::TimedOut);
    assert!(slow_took >= TIMEOUT, "gave up after only {slow_took:?}");
    // Stop listening: the late answer's send then fails instead of waiting for a reader.
    drop(rx);
    assert!(
        !producer.join().unwrap(),
        "nobody was left to take the late answer"
    );

    println!(
        "timeout: fast producer -> {fast:?} after {fast_took:.1?}; \
         slow producer -> {slow:?} after {slow_took:.1?} (timeout {TIMEOUT:?})"
    );
}
