//! Work-stealing deques: weft's Chase-Lev deque, crossbeam-deque's, and st3's bounded one.
//!
//! All three are used as a scheduler uses them: one owner thread pushes and pops (LIFO), any
//! number of thieves take the oldest items, one at a time or in batches into their own deque.
//! Results are reported in weft's [`Steal`] type.
//!
//! st3 is bounded: its workers take a capacity, and a push into a full one fails. The
//! workloads size it to what they need ([`DequeLike::new_worker`]'s `capacity`) and the
//! unbounded deques ignore the hint. st3 steals only into a destination deque, so its single
//! steal is `steal_and_pop` with a count of one, and a batch is capped at 32 like the others'.

use weft::deque::Steal;

/// The largest batch a steal takes, as weft and crossbeam-deque cap it.
pub const MAX_BATCH: usize = 32;

/// A work-stealing deque of `u64` items, as the deque workloads use it.
pub trait DequeLike: 'static {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;

    /// The owner's handle (`Send`, used by one thread at a time).
    type Worker: Send;

    /// A thief's handle.
    type Stealer: Send + Sync + Clone;

    /// A LIFO deque that will hold at most `capacity` items at once: bounded implementations
    /// get exactly that capacity (rounded up to their granularity), unbounded ones ignore it.
    fn new_worker(capacity: usize) -> Self::Worker;

    /// A thief's handle on `worker`.
    fn stealer(worker: &Self::Worker) -> Self::Stealer;

    /// Pushes `item`; gives it back if a bounded deque is full.
    fn push(worker: &Self::Worker, item: u64) -> Result<(), u64>;

    /// Pops the newest item.
    fn pop(worker: &Self::Worker) -> Option<u64>;

    /// Takes the oldest item. `dest` is the thief's own deque, used only by implementations
    /// that can steal only into one (st3), and left empty.
    fn steal(stealer: &Self::Stealer, dest: &Self::Worker) -> Steal<u64>;

    /// Moves about half of the items (at most [`MAX_BATCH`]) into `dest` and returns one of
    /// them.
    fn steal_batch_and_pop(stealer: &Self::Stealer, dest: &Self::Worker) -> Steal<u64>;
}

/// weft's Chase-Lev deque.
pub struct Weft;

impl DequeLike for Weft {
    const NAME: &'static str = "weft";
    type Worker = weft::deque::Worker<u64>;
    type Stealer = weft::deque::Stealer<u64>;

    #[inline]
    fn new_worker(_capacity: usize) -> Self::Worker {
        weft::deque::Worker::new_lifo()
    }

    #[inline]
    fn stealer(worker: &Self::Worker) -> Self::Stealer {
        worker.stealer()
    }

    #[inline]
    fn push(worker: &Self::Worker, item: u64) -> Result<(), u64> {
        worker.push(item);
        Ok(())
    }

    #[inline]
    fn pop(worker: &Self::Worker) -> Option<u64> {
        worker.pop()
    }

    #[inline]
    fn steal(stealer: &Self::Stealer, _dest: &Self::Worker) -> Steal<u64> {
        stealer.steal()
    }

    #[inline]
    fn steal_batch_and_pop(stealer: &Self::Stealer, dest: &Self::Worker) -> Steal<u64> {
        stealer.steal_batch_and_pop(dest)
    }
}

/// crossbeam-deque's Chase-Lev deque.
pub struct Crossbeam;

fn from_crossbeam(s: crossbeam_deque::Steal<u64>) -> Steal<u64> {
    match s {
        crossbeam_deque::Steal::Success(v) => Steal::Success(v),
        crossbeam_deque::Steal::Empty => Steal::Empty,
        crossbeam_deque::Steal::Retry => Steal::Retry,
    }
}

impl DequeLike for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Worker = crossbeam_deque::Worker<u64>;
    type Stealer = crossbeam_deque::Stealer<u64>;

    #[inline]
    fn new_worker(_capacity: usize) -> Self::Worker {
        crossbeam_deque::Worker::new_lifo()
    }

    #[inline]
    fn stealer(worker: &Self::Worker) -> Self::Stealer {
        worker.stealer()
    }

    #[inline]
    fn push(worker: &Self::Worker, item: u64) -> Result<(), u64> {
        worker.push(item);
        Ok(())
    }

    #[inline]
    fn pop(worker: &Self::Worker) -> Option<u64> {
        worker.pop()
    }

    #[inline]
    fn steal(stealer: &Self::Stealer, _dest: &Self::Worker) -> Steal<u64> {
        from_crossbeam(stealer.steal())
    }

    #[inline]
    fn steal_batch_and_pop(stealer: &Self::Stealer, dest: &Self::Worker) -> Steal<u64> {
        from_crossbeam(stealer.steal_batch_and_pop(dest))
    }
}

/// st3's bounded LIFO deque.
pub struct St3;

fn from_st3<T>(r: Result<T, st3::StealError>) -> Steal<T> {
    match r {
        Ok(v) => Steal::Success(v),
        Err(st3::StealError::Empty) => Steal::Empty,
        Err(st3::StealError::Busy) => Steal::Retry,
    }
}

impl DequeLike for St3 {
    const NAME: &'static str = "st3";
    type Worker = st3::lifo::Worker<u64>;
    type Stealer = st3::lifo::Stealer<u64>;

    #[inline]
    fn new_worker(capacity: usize) -> Self::Worker {
        st3::lifo::Worker::new(capacity.max(MAX_BATCH))
    }

    #[inline]
    fn stealer(worker: &Self::Worker) -> Self::Stealer {
        worker.stealer()
    }

    #[inline]
    fn push(worker: &Self::Worker, item: u64) -> Result<(), u64> {
        worker.push(item)
    }

    #[inline]
    fn pop(worker: &Self::Worker) -> Option<u64> {
        worker.pop()
    }

    #[inline]
    fn steal(stealer: &Self::Stealer, dest: &Self::Worker) -> Steal<u64> {
        from_st3(stealer.steal_and_pop(dest, |_| 1)).map(|(item, _moved)| item)
    }

    #[inline]
    fn steal_batch_and_pop(stealer: &Self::Stealer, dest: &Self::Worker) -> Steal<u64> {
        from_st3(stealer.steal_and_pop(dest, |n| n.div_ceil(2).min(MAX_BATCH)))
            .map(|(item, _moved)| item)
    }
}

/// `Steal::map`, which weft's `Steal` does not offer.
trait MapSteal<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Steal<U>;
}

impl<T> MapSteal<T> for Steal<T> {
    #[inline]
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Steal<U> {
        match self {
            Steal::Success(v) => Steal::Success(f(v)),
            Steal::Empty => Steal::Empty,
            Steal::Retry => Steal::Retry,
        }
    }
}

/// Something to do once per deque implementation, with its type in hand.
pub trait DequeVisitor {
    /// Called once for each implementation `D`, in [`visit_all`]'s order.
    fn visit<D: DequeLike>(&mut self);
}

/// The deque implementations under comparison, weft first: calls `visitor.visit::<D>()` for
/// each. This is the one list to extend when adding a peer.
pub fn visit_all(visitor: &mut impl DequeVisitor) {
    visitor.visit::<Weft>();
    visitor.visit::<Crossbeam>();
    visitor.visit::<St3>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implementation: LIFO for the owner, oldest first for thieves, batches of 32 land
    /// in the thief's deque, nothing lost.
    struct Semantics(Vec<&'static str>);

    impl DequeVisitor for Semantics {
        fn visit<D: DequeLike>(&mut self) {
            let w = D::new_worker(256);
            let mine = D::new_worker(256);
            let s = D::stealer(&w);
            for i in 0..100 {
                D::push(&w, i).unwrap();
            }
            assert_eq!(D::pop(&w), Some(99), "{}", D::NAME);
            assert_eq!(D::steal(&s, &mine), Steal::Success(0), "{}", D::NAME);
            assert_eq!(D::pop(&mine), None, "{}: single steal moved items", D::NAME);
            // Which item of the batch comes back differs (weft: the oldest, crossbeam: the
            // newest); it is one of items 1..=32.
            match D::steal_batch_and_pop(&s, &mine) {
                Steal::Success(item) => assert!((1..=32).contains(&item), "{}", D::NAME),
                other => panic!("{}: {other:?}", D::NAME),
            }
            let mut rest = 1;
            while D::pop(&mine).is_some() {
                rest += 1;
            }
            assert_eq!(rest, MAX_BATCH, "{}: batch size", D::NAME);
            let mut left = 0;
            while D::pop(&w).is_some() {
                left += 1;
            }
            assert_eq!(left, 100 - 2 - MAX_BATCH, "{}", D::NAME);
            assert_eq!(D::steal(&s, &mine), Steal::Empty, "{}", D::NAME);
            self.0.push(D::NAME);
        }
    }

    #[test]
    fn every_deque_behaves() {
        let mut v = Semantics(Vec::new());
        visit_all(&mut v);
        assert_eq!(v.0, ["weft", "crossbeam", "st3"]);
    }

    #[test]
    fn st3_is_bounded() {
        let w = St3::new_worker(64);
        let mut pushed = 0;
        while St3::push(&w, pushed).is_ok() {
            pushed += 1;
        }
        assert_eq!(pushed, 64);
    }
}
