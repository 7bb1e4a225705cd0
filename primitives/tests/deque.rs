//! Integration tests for `weft::deque`, in crossbeam's order: smoke -> single thread -> one
//! thief -> many thieves (stress, exactly-once accounting) -> races on the last item -> drops.
//!
//! Every multi-threaded test accounts for every item: each one is counted when taken, and the
//! test fails if any count is not exactly one. Loop counts shrink under Miri, where the stress
//! tests still run (few items, real interleavings, weak-memory emulation).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use weft::deque::{Steal, Stealer, Worker};

/// Items the owner pushes in the stress tests: millions natively, a few hundred under Miri.
const STRESS_ITEMS: usize = if cfg!(miri) { 200 } else { 2_000_000 };

/// Thieves in the stress tests.
const THIEVES: usize = if cfg!(miri) { 2 } else { 4 };

fn assert_send<T: Send>() {}
fn assert_send_sync<T: Send + Sync>() {}

/// Compile-time "does NOT implement" check (the static_assertions trick): if `$ty` implemented
/// `$trait`, both blanket impls would apply and the call would be ambiguous, a compile error.
macro_rules! assert_not_impl {
    ($ty:ty: $trait:path) => {{
        trait AmbiguousIfImpl<A> {
            fn some_item() {}
        }
        impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
        struct Invalid;
        impl<T: ?Sized + $trait> AmbiguousIfImpl<Invalid> for T {}
        let _ = <$ty as AmbiguousIfImpl<_>>::some_item;
    }};
}

#[test]
fn handles_are_send_and_the_worker_is_not_sync() {
    assert_send::<Worker<String>>();
    assert_send_sync::<Stealer<String>>();
    assert_not_impl!(Worker<String>: Sync);
    assert_not_impl!(Worker<std::rc::Rc<u8>>: Send);
    assert_not_impl!(Stealer<std::rc::Rc<u8>>: Send);
}

#[test]
fn smoke() {
    let w = Worker::new_lifo();
    let s = w.stealer();
    assert_eq!(w.pop(), None);
    assert!(s.steal().is_empty());
    w.push(1);
    w.push(2);
    w.push(3);
    assert_eq!(s.steal(), Steal::Success(1));
    assert_eq!(w.pop(), Some(3));
    assert_eq!(w.pop(), Some(2));
    assert_eq!(w.pop(), None);

    let w = Worker::new_fifo();
    let s = w.stealer();
    w.push(1);
    w.push(2);
    w.push(3);
    assert_eq!(s.steal(), Steal::Success(1));
    assert_eq!(w.pop(), Some(2));
    assert_eq!(w.pop(), Some(3));
    assert_eq!(w.pop(), None);
}

#[test]
fn steal_methods() {
    let s: Steal<u8> = Steal::Success(4);
    assert!(s.is_success() && !s.is_empty() && !s.is_retry());
    assert_eq!(s.success(), Some(4));
    let e: Steal<u8> = Steal::Empty;
    assert!(e.is_empty() && e.success().is_none());
    let r: Steal<u8> = Steal::Retry;
    assert!(r.is_retry() && r.success().is_none());
}

#[test]
fn len_and_is_empty() {
    for w in [Worker::new_lifo(), Worker::new_fifo()] {
        let s = w.stealer();
        assert!(w.is_empty() && s.is_empty());
        for i in 0..100 {
            w.push(i);
        }
        assert_eq!((w.len(), s.len()), (100, 100));
        assert!(!w.is_empty() && !s.is_empty());
        assert!(s.steal().is_success());
        assert!(w.pop().is_some());
        assert_eq!((w.len(), s.len()), (98, 98));
    }
}

/// The owner sees its order, thieves always the oldest first, across growth and shrink.
#[test]
fn order_across_growth_and_shrink() {
    let n = if cfg!(miri) { 200 } else { 100_000 };
    let w = Worker::new_lifo();
    let s = w.stealer();
    for i in 0..n {
        w.push(i);
    }
    for i in 0..n / 2 {
        assert_eq!(s.steal(), Steal::Success(i));
    }
    for i in (n / 2 + 1..n).rev() {
        assert_eq!(w.pop(), Some(i));
    }
    assert_eq!(s.steal(), Steal::Success(n / 2));
    assert_eq!(w.pop(), None);

    let w = Worker::new_fifo();
    for i in 0..n {
        w.push(i);
    }
    for i in 0..n {
        assert_eq!(w.pop(), Some(i));
    }
    assert_eq!(w.pop(), None);
}

#[test]
fn batches() {
    let victim = Worker::new_lifo();
    let s = victim.stealer();
    let mine = Worker::new_lifo();
    assert_eq!(s.steal_batch(&mine), Steal::Empty);
    assert_eq!(s.steal_batch_and_pop(&mine), Steal::Empty);
    for i in 0..10 {
        victim.push(i);
    }
    assert_eq!(s.steal_batch(&mine), Steal::Success(()));
    assert_eq!(mine.len(), 5);
    assert_eq!(s.steal_batch_and_pop(&mine), Steal::Success(5));
    assert_eq!(mine.len(), 7);
    // Capped at 32.
    for i in 0..100 {
        victim.push(i);
    }
    let other = Worker::new_fifo();
    assert_eq!(s.steal_batch(&other), Steal::Success(()));
    assert_eq!(other.len(), 32);
}

/// Which thread took what: every item must be counted exactly once at the end.
struct Ledger {
    seen: Vec<AtomicU8>,
}

impl Ledger {
    fn new(n: usize) -> Ledger {
        Ledger {
            seen: (0..n).map(|_| AtomicU8::new(0)).collect(),
        }
    }

    fn take(&self, item: usize) {
        let before = self.seen[item].fetch_add(1, Ordering::Relaxed);
        assert_eq!(before, 0, "item {item} taken twice");
    }

    fn assert_all_once(&self) {
        for (item, count) in self.seen.iter().enumerate() {
            assert_eq!(count.load(Ordering::Relaxed), 1, "item {item}");
        }
    }
}

/// What a thief does on each round of a stress test.
#[derive(Clone, Copy, Debug)]
enum Theft {
    Single,
    Batch,
    BatchAndPop,
}

/// One thief: steals with `how` until `done` is set and the victim is empty, moving batches
/// into its own worker and taking those itself. Returns how many items it took.
fn thief(victim: Stealer<usize>, how: Theft, done: &AtomicBool, ledger: &Ledger) -> usize {
    let mine = Worker::new_lifo();
    let mut taken = 0;
    loop {
        let finished = done.load(Ordering::Acquire);
        let result = match how {
            Theft::Single => victim.steal().map(Some),
            Theft::Batch => victim.steal_batch(&mine).map(|()| None),
            Theft::BatchAndPop => victim.steal_batch_and_pop(&mine).map(Some),
        };
        match result {
            Steal::Success(item) => {
                if let Some(item) = item {
                    ledger.take(item);
                    taken += 1;
                }
                while let Some(item) = mine.pop() {
                    ledger.take(item);
                    taken += 1;
                }
            }
            Steal::Retry => {}
            Steal::Empty if finished => return taken,
            Steal::Empty => thread::yield_now(),
        }
    }
}

/// `Steal::map` is not part of the API; this is the test's own.
trait MapSteal<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Steal<U>;
}

impl<T> MapSteal<T> for Steal<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Steal<U> {
        match self {
            Steal::Success(v) => Steal::Success(f(v)),
            Steal::Empty => Steal::Empty,
            Steal::Retry => Steal::Retry,
        }
    }
}

/// The owner pushes `n` items in bursts and pops some of them back, growing and shrinking its
/// buffer, while `THIEVES` thieves take single items and batches; every item is taken exactly
/// once.
fn stress(worker: Worker<usize>, n: usize) {
    let ledger = Ledger::new(n);
    let done = AtomicBool::new(false);
    let stolen: usize = thread::scope(|scope| {
        let thieves: Vec<_> = (0..THIEVES)
            .map(|i| {
                let victim = worker.stealer();
                let how = [Theft::Single, Theft::Batch, Theft::BatchAndPop][i % 3];
                let (done, ledger) = (&done, &ledger);
                scope.spawn(move || thief(victim, how, done, ledger))
            })
            .collect();
        // Bursts of varying size, each followed by popping part of what is there: the
        // buffer grows during large bursts and shrinks when the owner drains it.
        let mut next = 0;
        let mut round = 0usize;
        while next < n {
            let burst = [1, 7, 64, 500, 3000][round % 5].min(n - next);
            for _ in 0..burst {
                worker.push(next);
                next += 1;
            }
            let pops = if round % 7 == 6 {
                usize::MAX
            } else {
                burst / 2
            };
            for _ in 0..pops {
                match worker.pop() {
                    Some(item) => ledger.take(item),
                    None => break,
                }
            }
            round += 1;
        }
        while let Some(item) = worker.pop() {
            ledger.take(item);
        }
        done.store(true, Ordering::Release);
        thieves.into_iter().map(|t| t.join().unwrap()).sum()
    });
    ledger.assert_all_once();
    assert!(worker.is_empty());
    // Not asserted: that thieves got anything (a fast owner may pop all), only reported.
    let _ = stolen;
}

#[test]
fn stress_lifo() {
    stress(Worker::new_lifo(), STRESS_ITEMS);
}

#[test]
fn stress_fifo() {
    stress(Worker::new_fifo(), STRESS_ITEMS / 2);
}

/// The owner only pushes; thieves take everything (the owner never pops, so no item can hide
/// in the owner's end): thieves alone must account for every item.
#[test]
fn thieves_take_everything() {
    let n = if cfg!(miri) { 150 } else { 500_000 };
    let ledger = Ledger::new(n);
    let done = AtomicBool::new(false);
    let worker = Worker::new_lifo();
    let total: usize = thread::scope(|scope| {
        let thieves: Vec<_> = (0..THIEVES)
            .map(|i| {
                let victim = worker.stealer();
                let how = [Theft::Single, Theft::BatchAndPop, Theft::Batch][i % 3];
                let (done, ledger) = (&done, &ledger);
                scope.spawn(move || thief(victim, how, done, ledger))
            })
            .collect();
        for i in 0..n {
            worker.push(i);
        }
        done.store(true, Ordering::Release);
        thieves.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(total, n);
    ledger.assert_all_once();
}

/// The owner's pop and one or two thieves race for a single item, over and over: exactly one
/// of them gets it every round.
#[test]
fn last_item_race() {
    let rounds = if cfg!(miri) { 20 } else { 20_000 };
    for thieves in [1, 2] {
        let w = Worker::new_lifo();
        let start = Barrier::new(thieves + 1);
        let end = Barrier::new(thieves + 1);
        let wins = AtomicUsize::new(0);
        thread::scope(|scope| {
            for _ in 0..thieves {
                let s = w.stealer();
                let (start, end, wins) = (&start, &end, &wins);
                scope.spawn(move || {
                    for _ in 0..rounds {
                        start.wait();
                        loop {
                            match s.steal() {
                                Steal::Success(()) => {
                                    wins.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                                Steal::Empty => break,
                                Steal::Retry => {}
                            }
                        }
                        end.wait();
                    }
                });
            }
            for _ in 0..rounds {
                w.push(());
                start.wait();
                if w.pop().is_some() {
                    wins.fetch_add(1, Ordering::Relaxed);
                }
                end.wait();
                assert!(w.is_empty());
            }
        });
        assert_eq!(wins.load(Ordering::Relaxed), rounds, "{thieves} thieves");
    }
}

/// Batches stolen into a thief's deque are stolen again from there by a second-level thief:
/// items pass through three deques and are still taken exactly once.
#[test]
fn batches_are_stolen_again() {
    let n = if cfg!(miri) { 150 } else { 200_000 };
    let ledger = Ledger::new(n);
    let done = AtomicBool::new(false);
    let middle_done = AtomicBool::new(false);
    let victim = Worker::new_fifo();
    thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let from_victim = victim.stealer();
        let (done_ref, middle_ref, ledger_ref) = (&done, &middle_done, &ledger);
        let middle = scope.spawn(move || {
            let mine = Worker::new_lifo();
            tx.send(mine.stealer()).unwrap();
            loop {
                let finished = done_ref.load(Ordering::Acquire);
                match from_victim.steal_batch(&mine) {
                    Steal::Success(()) => {
                        // Keep one item for itself, leave the rest to the second-level thief.
                        if let Some(item) = mine.pop() {
                            ledger_ref.take(item);
                        }
                    }
                    Steal::Empty if finished => break,
                    _ => thread::yield_now(),
                }
            }
            while let Some(item) = mine.pop() {
                ledger_ref.take(item);
            }
            middle_ref.store(true, Ordering::Release);
        });
        let second = rx.recv().unwrap();
        let last = scope.spawn(move || thief(second, Theft::BatchAndPop, middle_ref, ledger_ref));
        for i in 0..n {
            victim.push(i);
        }
        done.store(true, Ordering::Release);
        middle.join().unwrap();
        last.join().unwrap();
    });
    ledger.assert_all_once();
}

/// An item that records its drop, so tests can check every item is dropped exactly once.
struct Tracked<'a> {
    id: usize,
    drops: &'a [AtomicU8],
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        let before = self.drops[self.id].fetch_add(1, Ordering::Relaxed);
        assert_eq!(before, 0, "item {} dropped twice", self.id);
    }
}

/// Items taken by the owner and by thieves, and items still in the deque (and in a thief's
/// batch deque) when the handles go, are each dropped exactly once, while the buffer grows and
/// shrinks under concurrent stealing.
#[test]
fn drops_exactly_once_under_stealing() {
    let n = if cfg!(miri) { 200 } else { 200_000 };
    let drops: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
    let stop = AtomicBool::new(false);
    {
        let worker = Worker::new_lifo();
        thread::scope(|scope| {
            for i in 0..2 {
                let victim = worker.stealer();
                let stop = &stop;
                scope.spawn(move || {
                    let mine = Worker::new_fifo();
                    let mut rounds = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        if i == 0 {
                            drop(victim.steal());
                        } else {
                            drop(victim.steal_batch_and_pop(&mine));
                            // Leave some in `mine`: dropped with it.
                            if rounds % 2 == 0 {
                                drop(mine.pop());
                            }
                        }
                        rounds += 1;
                        if rounds % 64 == 0 {
                            thread::yield_now();
                        }
                    }
                });
            }
            let mut next = 0;
            while next < n {
                let burst = (n - next).min(700);
                for _ in 0..burst {
                    worker.push(Tracked {
                        id: next,
                        drops: &drops,
                    });
                    next += 1;
                }
                for _ in 0..burst * 2 / 3 {
                    drop(worker.pop());
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        // `worker` still holds items here: they go with it.
    }
    for (id, d) in drops.iter().enumerate() {
        assert_eq!(d.load(Ordering::Relaxed), 1, "item {id}");
    }
}

/// The worker may go first: stealers keep the deque alive and can still drain it; what they
/// leave is dropped with the last of them.
#[test]
fn stealers_outlive_the_worker() {
    let drops: Vec<AtomicU8> = (0..200).map(|_| AtomicU8::new(0)).collect();
    let drops = Arc::new(drops);
    let s = {
        let w = Worker::new_lifo();
        for id in 0..200 {
            w.push(TrackedArc {
                id,
                drops: drops.clone(),
            });
        }
        w.stealer()
    };
    let s2 = s.clone();
    thread::spawn(move || {
        for _ in 0..50 {
            drop(s2.steal().success().unwrap());
        }
    })
    .join()
    .unwrap();
    assert_eq!(s.len(), 150);
    drop(s);
    assert!(drops.iter().all(|d| d.load(Ordering::Relaxed) == 1));
}

struct TrackedArc {
    id: usize,
    drops: Arc<Vec<AtomicU8>>,
}

impl Drop for TrackedArc {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
    }
}

/// Types with padding and with uninitialised bytes (an enum's unused payload), and zero-sized
/// ones, move between threads intact: the deque never reads an item's bytes as integers.
#[test]
fn any_item_type() {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Padded(u8, u64, u16);
    type Item = (Padded, Option<u32>, [u8; 3]);
    let item = |i: usize| {
        (
            Padded(i as u8, i as u64 * 3, 9),
            (i % 3 != 0).then_some(i as u32),
            [i as u8; 3],
        )
    };
    let n = if cfg!(miri) { 100 } else { 50_000 };
    let w: Worker<Item> = Worker::new_lifo();
    let s = w.stealer();
    let stolen = thread::scope(|scope| {
        let t = scope.spawn(|| {
            let mine = Worker::new_fifo();
            let mut got = Vec::new();
            while got.len() < n / 4 {
                if let Steal::Success(x) = s.steal_batch_and_pop(&mine) {
                    got.push(x);
                    got.extend(std::iter::from_fn(|| mine.pop()));
                }
            }
            got
        });
        for i in 0..n {
            w.push(item(i));
        }
        t.join().unwrap()
    });
    let mut all: Vec<Item> = stolen;
    all.extend(std::iter::from_fn(|| w.pop()));
    all.sort_by_key(|x| x.0 .1);
    assert_eq!(all, (0..n).map(item).collect::<Vec<_>>());

    let z = Worker::new_fifo();
    for _ in 0..100 {
        z.push(());
    }
    assert_eq!(
        z.stealer().steal_batch_and_pop(&Worker::new_lifo()),
        Steal::Success(())
    );
    assert_eq!(z.len(), 100 - 32); // a batch is capped at 32
}
