//! Fan-in with a quit channel, all in goroutines (Go's "Concurrency Patterns" shape):
//!
//! ```go
//! func fanIn(quit <-chan struct{}, inputs ...<-chan int) <-chan int {
//!     out := make(chan int)
//!     go func() {
//!         for {
//!             select {
//!             case v := <-inputs[0]: out <- v
//!             case v := <-inputs[1]: out <- v
//!             case v := <-inputs[2]: out <- v
//!             case <-quit:           return
//!             }
//!         }
//!     }()
//!     return out
//! }
//! ```
//!
//! Three producer tasks each send on their own rendezvous channel; one fan-in task selects
//! over the three inputs and a quit channel with a dynamic `Select` (built once, awaited with
//! `select_async` for every message) and forwards to `out`; the consumer, also a task, takes a fixed
//! number of values and then closes `quit` by dropping it. All of it runs on one worker:
//! every wait frees the worker for the others. At the end every value taken was sent once,
//! and the producers see their channels closed when the fan-in stops.
//!
//! Run with `cargo run --release -p weft-go --example fan_in_tasks`.

use weft::chan::{bounded, Receiver, Select, Sender};
use weft::sched::Scheduler;

const PRODUCERS: u64 = 3;
const TAKE: u64 = 300;

/// Forwards from `inputs` to `out` until `quit` is closed; returns how many it forwarded,
/// and how many it took but could not forward (the consumer had left: 0 or 1).
async fn fan_in(quit: Receiver<()>, inputs: Vec<Receiver<u64>>, out: Sender<u64>) -> (u64, u64) {
    let mut sel = Select::new();
    for rx in &inputs {
        sel.recv(rx);
    }
    let quit_arm = sel.recv(&quit);
    let mut forwarded = 0;
    loop {
        // A `SelectedOperation` is not `Send`: complete it before the next await.
        let got = {
            let op = sel.select_async().await;
            let i = op.index();
            if i == quit_arm {
                let _ = op.recv(&quit); // closed: the consumer is done
                None
            } else {
                Some((i, op.recv(&inputs[i])))
            }
        };
        let v = match got {
            None => return (forwarded, 0),
            Some((_, Ok(v))) => v,
            Some((i, Err(_))) => {
                // That producer stopped: select over the others from now on (here they all
                // run until the fan-in stops).
                sel.remove(i);
                continue;
            }
        };
        // The consumer may have left after its last value: the value comes back in the
        // error (and drops here); stop too.
        if out.send_async(v).await.is_err() {
            return (forwarded, 1);
        }
        forwarded += 1;
    }
}

fn main() {
    let sched = Scheduler::new(1);
    let (taken, forwarded, unforwarded, sent) = sched.block_on(async {
        let (quit_tx, quit) = bounded::<()>(0);
        let (out_tx, out) = bounded::<u64>(0);
        let mut inputs = Vec::new();
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let (tx, rx) = bounded::<u64>(0);
            inputs.push(rx);
            producers.push(weft::go(async move {
                // Values p, p + 3, p + 6, ...: distinct across producers.
                let mut sent = 0u64;
                let mut v = p;
                while tx.send_async(v).await.is_ok() {
                    sent += 1;
                    v += PRODUCERS;
                }
                sent
            }));
        }
        let fan = weft::go(fan_in(quit, inputs, out_tx));
        let consumer = weft::go(async move {
            let mut taken = Vec::new();
            while (taken.len() as u64) < TAKE {
                taken.push(out.recv_async().await.expect("fan-in runs until quit"));
            }
            drop(quit_tx); // close quit: the fan-in returns
            taken
        });
        let taken = consumer.await.unwrap();
        let (forwarded, unforwarded) = fan.await.unwrap();
        let mut sent = 0;
        for p in producers {
            sent += p.await.unwrap();
        }
        (taken, forwarded, unforwarded, sent)
    });
    sched.shutdown();

    let mut sorted = taken.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), taken.len(), "a value came twice");
    assert_eq!(
        forwarded, TAKE,
        "the fan-in forwarded what the consumer took"
    );
    // A producer's send succeeds only when the fan-in takes the value (rendezvous).
    assert_eq!(
        sent,
        forwarded + unforwarded,
        "every value sent was taken by the fan-in once"
    );
    println!(
        "fan-in: {} producers, {TAKE} values taken in one consumer task, all on one worker",
        PRODUCERS
    );
}
