//! loom models of the Chase-Lev deque, run by `ci/loom.sh`:
//! `RUSTFLAGS="--cfg weft_loom" cargo test -p weft-go --lib --release -- loom_tests`.
//!
//! Under loom the smallest buffer holds 2 items, so a third push grows it, a thief's wrap-around
//! lands on a slot within a few operations, and a pop shrinks it again: resizes happen inside
//! the models. Slots are loom `UnsafeCell`s, so a read racing a write (a thief reading an item
//! the owner overwrites, an owner reading one a thief also takes) fails loom's causality check
//! even when the values would look right; exactly-once is checked on the values. Retired
//! buffers are kept until the deque is dropped (see `chase_lev.rs`), so these models check the
//! algorithm, not crossbeam-epoch.
//!
//! Probes count how often a model went through the paths that are easy to miss (a resize, a
//! stale stamp cleared through `prev`), and the models assert that some execution did.
//!
//! Preemption bound 4 everywhere (all models: a few seconds). The batch bug these models
//! exist for (a LIFO batch claiming an index the owner popped and re-pushed into a new
//! buffer) needs 3 preemptions to show. Checked by mutation: removing the stamp check in
//! `push`, clearing every blocked stamp through `prev`, dropping the fence in `pop_lifo`, a
//! Relaxed stamp store in `steal`, a Relaxed buffer load in `steal`, or the buffer re-check
//! in the LIFO batch each fail at least one model. One mutation loom cannot see: making the
//! owner's stores of `bottom` in `pop_lifo` Relaxed (loom keeps C++11 release sequences, in
//! which a later relaxed store by the same thread still carries an earlier release).

use super::{Steal, Stealer, Worker};
use loom::thread;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Counters bumped by the deque's rare paths (plain std atomics: not part of the model).
pub(crate) mod probe {
    use core::sync::atomic::AtomicUsize;

    /// `make_room` re-stamped a slot whose copy went stale (its item was taken via `prev`).
    pub(crate) static HEALED: AtomicUsize = AtomicUsize::new(0);
    /// `resize` ran (grow, shrink, or a same-size move away from a slot still being read).
    pub(crate) static RESIZED: AtomicUsize = AtomicUsize::new(0);
    /// A pop halved the buffer.
    pub(crate) static SHRUNK: AtomicUsize = AtomicUsize::new(0);
}

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.check(f);
}

/// Takes every item a steal can get, retrying on `Retry`, until the deque looks empty.
fn steal_one(s: &Stealer<usize>) -> Option<usize> {
    loop {
        match s.steal() {
            Steal::Success(v) => return Some(v),
            Steal::Empty => return None,
            Steal::Retry => thread::yield_now(),
        }
    }
}

/// Sorts the items taken by everyone and checks each of `0..n` appears exactly once.
fn assert_exactly_once(mut taken: Vec<usize>, n: usize) {
    taken.sort_unstable();
    assert_eq!(taken, (0..n).collect::<Vec<_>>());
}

fn drain(w: &Worker<usize>) -> Vec<usize> {
    std::iter::from_fn(|| w.pop()).collect()
}

/// The owner pops the last item while a thief steals it: exactly one of them gets it, and
/// the loser sees the deque empty (no item read twice or lost).
#[test]
fn pop_vs_thief_on_the_last_item() {
    model(4, || {
        let w = Worker::new_lifo();
        let s = w.stealer();
        w.push(0);
        let thief = thread::spawn(move || s.steal().success());
        let mine = w.pop();
        let theirs = thief.join().unwrap();
        assert_exactly_once(mine.into_iter().chain(theirs).collect(), 1);
        assert!(w.is_empty());
    });
}

/// The owner and two thieves race for the last item.
#[test]
fn pop_vs_two_thieves_on_the_last_item() {
    model(4, || {
        let w = Worker::new_lifo();
        w.push(0);
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let s = w.stealer();
                thread::spawn(move || s.steal().success())
            })
            .collect();
        let mut taken: Vec<usize> = w.pop().into_iter().collect();
        for t in thieves {
            taken.extend(t.join().unwrap());
        }
        assert_exactly_once(taken, 1);
    });
}

/// A thief steals from a full buffer while the owner pushes over the slot being stolen:
/// either the buffer grows (the thief has not claimed yet), or the owner waits for the thief's
/// stamp (it has read), or moves to a same-size buffer (it has claimed but not read). Never
/// does the owner write the slot while the thief reads it (loom's cell check).
#[test]
fn steal_races_a_push_over_its_slot() {
    let before = probe::RESIZED.load(Relaxed);
    model(4, || {
        let w = Worker::new_lifo();
        let s = w.stealer();
        w.push(0);
        w.push(1);
        let thief = thread::spawn(move || steal_one(&s));
        w.push(2);
        let mut taken = drain(&w);
        taken.extend(thief.join().unwrap());
        assert_exactly_once(taken, 3);
    });
    assert!(
        probe::RESIZED.load(Relaxed) > before,
        "no execution resized"
    );
}

/// A thief loads the buffer, the owner grows it, the thief takes its item through the old
/// buffer: the new buffer's copy of that item is stale, and the owner's wrap-around onto its
/// slot must clear it through `prev` rather than wait forever or overwrite a live item.
#[test]
fn stale_stamp_after_a_resize_is_cleared() {
    let before = probe::HEALED.load(Relaxed);
    model(4, || {
        let w = Worker::new_lifo();
        let s = w.stealer();
        w.push(0);
        w.push(1);
        let thief = thread::spawn(move || s.steal().success());
        // Grows to 4 slots (window from top), then index 4 wraps onto index 0's slot.
        for i in 2..5 {
            w.push(i);
        }
        let stolen = thief.join().unwrap();
        let mut taken = drain(&w);
        taken.extend(stolen);
        assert_exactly_once(taken, 5);
    });
    assert!(
        probe::HEALED.load(Relaxed) > before,
        "no execution cleared a stale stamp"
    );
}

/// A pop that shrinks the buffer while a thief steals from the old one.
#[test]
fn steal_races_a_shrink() {
    let before = probe::SHRUNK.load(Relaxed);
    model(4, || {
        let w = Worker::new_lifo();
        for i in 0..3 {
            w.push(i); // 4 slots now
        }
        let s = w.stealer();
        let thief = thread::spawn(move || steal_one(&s));
        // Emptying 4 slots leaves fewer than a quarter in use: shrink to 2.
        let mut taken: Vec<usize> = w.pop().into_iter().chain(w.pop()).collect();
        taken.extend(drain(&w));
        taken.extend(thief.join().unwrap());
        assert_exactly_once(taken, 3);
    });
    assert!(probe::SHRUNK.load(Relaxed) > before, "no execution shrank");
}

/// `steal_batch` from a LIFO owner claims item by item while the owner pops from the other
/// end: the batch never takes an item the owner took without a CAS.
#[test]
fn steal_batch_races_pop() {
    model(4, || {
        let w = Worker::new_lifo();
        for i in 0..3 {
            w.push(i);
        }
        let s = w.stealer();
        let thief = thread::spawn(move || {
            let mine = Worker::new_lifo();
            let first = s.steal_batch_and_pop(&mine).success();
            first.into_iter().chain(drain(&mine)).collect::<Vec<_>>()
        });
        let mut taken: Vec<usize> = w.pop().into_iter().chain(w.pop()).collect();
        taken.extend(drain(&w));
        taken.extend(thief.join().unwrap());
        assert_exactly_once(taken, 3);
    });
}

/// Between two claims of a LIFO batch the owner pops the next indices without a CAS, shrinks
/// to a new buffer and pushes a new item at a popped index: the batch must not claim that
/// index and read the popped item from the buffer it loaded first.
#[test]
fn steal_batch_races_pop_shrink_and_push() {
    model(4, || {
        let w = Worker::new_lifo();
        for i in 0..5 {
            w.push(i); // 8 slots now
        }
        let s = w.stealer();
        let thief = thread::spawn(move || {
            let mine = Worker::new_fifo();
            let first = s.steal_batch_and_pop(&mine).success();
            first.into_iter().chain(drain(&mine)).collect::<Vec<_>>()
        });
        // Down to index 2 with top at 1 leaves one item in 8 slots: shrink to 4, then the
        // new item 5 goes to index 2, in the new buffer.
        let mut taken: Vec<usize> = (0..3).filter_map(|_| w.pop()).collect();
        w.push(5);
        taken.extend(drain(&w));
        taken.extend(thief.join().unwrap());
        assert_exactly_once(taken, 6);
    });
}

/// The FIFO flavour: one CAS claims a whole batch while the owner pops at the same end.
#[test]
fn fifo_steal_batch_races_pop() {
    model(4, || {
        let w = Worker::new_fifo();
        for i in 0..3 {
            w.push(i);
        }
        let s = w.stealer();
        let thief = thread::spawn(move || {
            let mine = Worker::new_fifo();
            let _ = s.steal_batch(&mine);
            drain(&mine)
        });
        let mut taken: Vec<usize> = w.pop().into_iter().collect();
        // Index 4 wraps onto index 0's slot, which the batch may still be reading.
        w.push(3);
        w.push(4);
        taken.extend(drain(&w));
        taken.extend(thief.join().unwrap());
        assert_exactly_once(taken, 5);
    });
}

/// An item that counts its drops in a counter shared by one execution.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

/// Items stolen, popped, and left in the deque when its last handle goes (on either thread)
/// are each dropped exactly once, across a grow.
#[test]
fn drops_exactly_once() {
    model(4, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let w = Worker::new_lifo();
        for _ in 0..3 {
            w.push(Counted(drops.clone()));
        }
        let s = w.stealer();
        let thief = thread::spawn(move || {
            drop(s.steal());
            // `s` is dropped here, maybe last.
        });
        drop(w.pop());
        drop(w);
        thief.join().unwrap();
        assert_eq!(drops.load(Relaxed), 3);
    });
}
