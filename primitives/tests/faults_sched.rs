//! User faults against the scheduler and the deque (issue 16). So far the deque (item 3): an
//! item whose `Drop` panics while the deque is dropped. Every value must be dropped exactly
//! once, and the drop loop must drop every element and then propagate the first panic. Each
//! test body runs under a watchdog, so a hang fails the test instead of stalling the suite.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use weft::deque::Worker;

/// How long a test body may take before it counts as hung. Miri runs on a virtual clock that
/// every basic block advances, so it gets more.
const WATCHDOG: Duration = if cfg!(miri) {
    Duration::from_secs(600)
} else {
    Duration::from_secs(25)
};

/// Runs `body` on its own thread; a body still running after [`WATCHDOG`] fails the test
/// (the hung thread is left behind), a panic in it is the test's panic.
fn watchdog(name: &str, body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let t = thread::Builder::new()
        .name(format!("{name}-body"))
        .spawn(move || {
            body();
            let _ = done_tx.send(());
        })
        .unwrap();
    match done_rx.recv_timeout(WATCHDOG) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: hung for {WATCHDOG:?} (a dead worker or a lost task)")
        }
        // The body panicked before sending: hand its panic to the harness.
        Err(mpsc::RecvTimeoutError::Disconnected) => match t.join() {
            Err(p) => panic::resume_unwind(p),
            Ok(()) => unreachable!("the body sends before it returns"),
        },
    }
}

/// Counts its drops; with `panics`, its `Drop` panics (after counting).
struct Bomb {
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Bomb {
    fn new(drops: &Arc<AtomicUsize>, panics: bool) -> Bomb {
        Bomb {
            drops: Arc::clone(drops),
            panics,
        }
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("Bomb dropped (expected)");
        }
    }
}

/// Issue 16 item 3 for the deque: `items` items of which the second one's `Drop` panics;
/// dropping the last handle drops all of them exactly once, then the panic propagates.
fn deque_drop_with_a_panicking_item(fifo: bool, items: usize, stealer_last: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let w = if fifo {
        Worker::new_fifo()
    } else {
        Worker::new_lifo()
    };
    let stealer = w.stealer();
    for i in 0..items {
        w.push(Bomb::new(&drops, i == 1));
    }
    let (first, last) = if stealer_last {
        (
            Box::new(w) as Box<dyn Send>,
            Box::new(stealer) as Box<dyn Send>,
        )
    } else {
        (
            Box::new(stealer) as Box<dyn Send>,
            Box::new(w) as Box<dyn Send>,
        )
    };
    drop(first);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "a handle is left: nothing dropped yet"
    );
    let unwound = panic::catch_unwind(AssertUnwindSafe(|| drop(last)));
    let payload = unwound.expect_err("the item's panic propagates out of the deque's drop");
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("Bomb dropped (expected)")
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        items,
        "every item dropped exactly once"
    );
}

#[test]
fn deque_drop_drops_every_item_when_one_panics() {
    watchdog("deque_drop_drops_every_item_when_one_panics", || {
        for fifo in [false, true] {
            deque_drop_with_a_panicking_item(fifo, 5, false);
        }
    });
}

#[test]
fn deque_drop_after_growth_drops_every_item_when_one_panics() {
    watchdog(
        "deque_drop_after_growth_drops_every_item_when_one_panics",
        || {
            let items = if cfg!(miri) { 40 } else { 300 };
            for fifo in [false, true] {
                deque_drop_with_a_panicking_item(fifo, items, true);
            }
        },
    );
}
