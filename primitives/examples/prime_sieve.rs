//! Go's concurrent prime sieve (from the Go tour and `go/test/chan/sieve1.go`), as weft tasks
//! over rendezvous channels (`bounded(0)`, Go's unbuffered `make(chan int)`).
//!
//! A generator task sends 2, 3, 4, ...; each prime found adds a filter task to the end of a
//! daisy chain that drops the multiples of that prime. Whatever leaves the last filter is the
//! next prime. After 100 primes there are 100 filter tasks, each handing numbers to the next
//! one value at a time.
//!
//! Go's version simply exits with the goroutines still blocked. Here the chain is taken down
//! properly: dropping the receiver of the last channel closes it, so the last filter's next
//! send fails and it returns, dropping *its* receiver, and so on back to the generator: every
//! task ends, and `Scheduler::shutdown` (which waits for all of them) returns.
//!
//! Run with `cargo run --release -p weft-go --example prime_sieve`.

use std::time::Instant;

use weft::chan::{self, Receiver, Sender};
use weft::sched::Scheduler;

/// How many primes to find.
const PRIMES: usize = 100;

/// Sends 2, 3, 4, ... to `out` until the receiving side hangs up.
async fn generate(out: Sender<u64>) {
    for n in 2.. {
        if out.send_async(n).await.is_err() {
            return; // the chain was taken down
        }
    }
}

/// Copies the numbers from `input` to `out`, dropping the multiples of `prime`.
async fn filter(input: Receiver<u64>, out: Sender<u64>, prime: u64) {
    while let Ok(n) = input.recv_async().await {
        if n % prime != 0 && out.send_async(n).await.is_err() {
            return; // downstream hung up: end, dropping `input` in turn
        }
    }
}

/// The first `count` primes by trial division, to check the sieve against.
fn primes_by_trial_division(count: usize) -> Vec<u64> {
    (2..)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .take(count)
        .collect()
}

fn main() {
    let start = Instant::now();
    let sched = Scheduler::new(2);
    let primes = sched.block_on(async {
        let (tx, mut ch) = chan::bounded(0);
        weft::go(generate(tx));
        let mut primes = Vec::with_capacity(PRIMES);
        for _ in 0..PRIMES {
            // The first number to make it through every filter so far is prime.
            let prime = ch.recv_async().await.expect("the chain ended early");
            primes.push(prime);
            // Go: ch1 := make(chan int); go filter(ch, ch1, prime); ch = ch1
            let (tx1, ch1) = chan::bounded(0);
            weft::go(filter(ch, tx1, prime));
            ch = ch1;
        }
        primes
        // `ch`, the last filter's output, drops here: the chain unwinds.
    });
    // Waits for the generator and all 100 filters to end.
    sched.shutdown();

    assert_eq!(primes, primes_by_trial_division(PRIMES));
    println!(
        "prime_sieve: first {PRIMES} primes through a chain of {PRIMES} filter tasks, checked: \
         {:?} ... {:?}; {:.1?}",
        &primes[..10],
        &primes[PRIMES - 3..],
        start.elapsed()
    );
}
