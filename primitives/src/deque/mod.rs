//! A work-stealing deque: the queue a work-stealing scheduler is built on.
//!
//! Each worker thread owns a [`Worker`] and pushes the tasks it spawns there; it pops its own
//! work from one end, without contention in the common case. Idle threads hold [`Stealer`]s of
//! the others' deques and take the *oldest* items from the other end.
//!
//! - [`Worker::new_lifo`]: the owner pops the newest item (a stack: good locality for
//!   fork-join work). [`Worker::new_fifo`]: the owner pops the oldest (fair, like a run queue).
//! - [`Stealer::steal`] takes one item; [`Stealer::steal_batch`] moves about half of the
//!   victim's items (at most 32) into the thief's own worker, and
//!   [`Stealer::steal_batch_and_pop`] also hands one of them back directly.
//! - Stealing never blocks and never spins: a steal that loses a race returns
//!   [`Steal::Retry`], and the caller decides whether to try again or look elsewhere.
//!
//! The algorithm is Chase and Lev's growable circular deque with the C11 orderings of Lê et
//! al. (`chase_lev.rs` says how and where it departs from them). The buffer grows when full and
//! shrinks when mostly empty; replaced buffers are reclaimed with crossbeam-epoch. Thieves never
//! read a slot speculatively: an item is read only by the thread that has claimed it, so the
//! deque has no data race at all, benign or otherwise, and holds any `T` (padding included).
//!
//! Every item pushed is taken exactly once (by a pop or a steal) or, if it is still in the
//! deque when the last handle is dropped, dropped exactly once.
//!
//! # Examples
//!
//! A worker splits its work; a thief takes some of it:
//!
//! ```
//! use weft::deque::{Steal, Worker};
//!
//! let worker = Worker::new_lifo();
//! let stealer = worker.stealer();
//! for task in 0..1000u64 {
//!     worker.push(task);
//! }
//!
//! let thief = std::thread::spawn(move || {
//!     let mine = Worker::new_fifo();
//!     let mut sum = 0;
//!     loop {
//!         match stealer.steal_batch_and_pop(&mine) {
//!             Steal::Success(task) => {
//!                 sum += task;
//!                 while let Some(task) = mine.pop() {
//!                     sum += task;
//!                 }
//!             }
//!             Steal::Retry => continue,
//!             Steal::Empty => break sum,
//!         }
//!     }
//! });
//!
//! let mut sum = 0;
//! while let Some(task) = worker.pop() {
//!     sum += task;
//! }
//! assert_eq!(sum + thief.join().unwrap(), (0..1000).sum::<u64>());
//! ```

mod chase_lev;

#[cfg(all(test, weft_loom))]
mod loom_tests;

use core::fmt;

/// The result of a steal.
///
/// # Examples
///
/// ```
/// use weft::deque::{Steal, Worker};
///
/// let w = Worker::new_lifo();
/// let s = w.stealer();
/// assert!(s.steal().is_empty());
/// w.push(7);
/// assert_eq!(s.steal(), Steal::Success(7));
/// ```
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Steal<T> {
    /// The deque was empty.
    Empty,
    /// An item was taken.
    Success(T),
    /// The steal lost a race (another thief, or the owner taking the last item) and took
    /// nothing; the deque may still hold items, so trying again may succeed.
    Retry,
}

impl<T> Steal<T> {
    /// Whether the deque was empty.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(weft::deque::Steal::<u8>::Empty.is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        matches!(self, Steal::Empty)
    }

    /// Whether an item was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(weft::deque::Steal::Success(1).is_success());
    /// ```
    #[inline]
    pub fn is_success(&self) -> bool {
        matches!(self, Steal::Success(_))
    }

    /// Whether the steal should be retried.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(weft::deque::Steal::<u8>::Retry.is_retry());
    /// ```
    #[inline]
    pub fn is_retry(&self) -> bool {
        matches!(self, Steal::Retry)
    }

    /// The item taken, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::deque::Steal;
    /// assert_eq!(Steal::Success(3).success(), Some(3));
    /// assert_eq!(Steal::<i32>::Retry.success(), None);
    /// ```
    #[inline]
    pub fn success(self) -> Option<T> {
        match self {
            Steal::Success(value) => Some(value),
            Steal::Empty | Steal::Retry => None,
        }
    }
}

/// The owner's end of a work-stealing deque.
///
/// One thread owns it (it is `Send` but not `Sync`): it pushes, and pops from the end its
/// flavour says. Any number of [`Stealer`]s, from [`Worker::stealer`], take from the other end.
/// Items still in the deque when the worker and all its stealers are gone are dropped; if one
/// item's `Drop` panics, the others are still dropped, then the first panic propagates (as
/// `Vec` does).
///
/// # Examples
///
/// ```
/// use weft::deque::Worker;
///
/// let lifo = Worker::new_lifo();
/// lifo.push(1);
/// lifo.push(2);
/// assert_eq!(lifo.pop(), Some(2));
///
/// let fifo = Worker::new_fifo();
/// fifo.push(1);
/// fifo.push(2);
/// assert_eq!(fifo.pop(), Some(1));
/// ```
pub struct Worker<T> {
    raw: chase_lev::Worker<T>,
}

impl<T> Worker<T> {
    /// A deque whose owner pops the newest item first (last in, first out).
    ///
    /// Thieves always take the oldest item.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::new_lifo();
    /// w.push('a');
    /// w.push('b');
    /// assert_eq!(w.pop(), Some('b'));
    /// assert_eq!(w.stealer().steal().success(), Some('a'));
    /// ```
    pub fn new_lifo() -> Worker<T> {
        Worker {
            raw: chase_lev::Worker::new(chase_lev::Flavor::Lifo),
        }
    }

    /// A deque whose owner pops the oldest item first (first in, first out), competing with
    /// the thieves at the same end.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::new_fifo();
    /// w.push('a');
    /// w.push('b');
    /// assert_eq!(w.pop(), Some('a'));
    /// assert_eq!(w.pop(), Some('b'));
    /// ```
    pub fn new_fifo() -> Worker<T> {
        Worker {
            raw: chase_lev::Worker::new(chase_lev::Flavor::Fifo),
        }
    }

    /// Pushes an item. Never blocks; grows the buffer when it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::new_lifo();
    /// for i in 0..1000 {
    ///     w.push(i);
    /// }
    /// assert_eq!(w.len(), 1000);
    /// ```
    #[inline]
    pub fn push(&self, item: T) {
        self.raw.push(item);
    }

    /// Pops an item: the newest for a LIFO worker, the oldest for a FIFO one. `None` if the
    /// deque is empty (or thieves took the last item first).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::new_lifo();
    /// assert_eq!(w.pop(), None::<u8>);
    /// w.push(1);
    /// assert_eq!(w.pop(), Some(1));
    /// ```
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.raw.pop()
    }

    /// The number of items in the deque: a snapshot, as thieves may take some at any time.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::new_fifo();
    /// w.push(1);
    /// assert_eq!(w.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether the deque is empty (a snapshot, like [`len`](Worker::len)).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::<u8>::new_lifo();
    /// assert!(w.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A handle through which other threads steal from this deque.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::new_lifo();
    /// let s = w.stealer();
    /// w.push(5);
    /// assert_eq!(std::thread::spawn(move || s.steal().success()).join().unwrap(), Some(5));
    /// ```
    pub fn stealer(&self) -> Stealer<T> {
        Stealer {
            raw: self.raw.stealer(),
        }
    }
}

impl<T> fmt::Debug for Worker<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

/// A thief's end of a work-stealing deque: takes the oldest items.
///
/// Cheap to clone (one reference count), `Send` and `Sync`: share it or clone it per thief.
///
/// # Examples
///
/// ```
/// use weft::deque::{Steal, Worker};
///
/// let w = Worker::new_lifo();
/// w.push(1);
/// w.push(2);
/// let s = w.stealer();
/// assert_eq!(s.clone().steal(), Steal::Success(1));
/// assert_eq!(s.len(), 1);
/// ```
pub struct Stealer<T> {
    raw: chase_lev::Stealer<T>,
}

impl<T> Stealer<T> {
    /// Takes the oldest item.
    ///
    /// Returns [`Steal::Retry`] when it lost a race for that item (to another thief, or to
    /// the owner popping the last one); it never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::deque::{Steal, Worker};
    ///
    /// let w = Worker::new_lifo();
    /// let s = w.stealer();
    /// w.push(1);
    /// w.push(2);
    /// assert_eq!(s.steal(), Steal::Success(1));
    /// ```
    #[inline]
    pub fn steal(&self) -> Steal<T> {
        self.raw.steal()
    }

    /// Moves about half of the items (the oldest; at most 32) into `dest`.
    ///
    /// For a FIFO victim the batch is claimed at once; for a LIFO one item by item, since its
    /// owner pops at the other end without a CAS, so the batch may come out smaller. The items
    /// land in `dest` so that its owner pops them oldest first, whatever its flavour.
    /// Stealing from a deque into itself moves nothing and reports whether it is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::deque::{Steal, Worker};
    ///
    /// let victim = Worker::new_fifo();
    /// for i in 0..10 {
    ///     victim.push(i);
    /// }
    /// let mine = Worker::new_fifo();
    /// assert_eq!(victim.stealer().steal_batch(&mine), Steal::Success(()));
    /// assert_eq!(mine.len(), 5);
    /// assert_eq!(mine.pop(), Some(0));
    /// ```
    pub fn steal_batch(&self, dest: &Worker<T>) -> Steal<()> {
        match self.raw.steal_batch(&dest.raw, false) {
            Steal::Success(_) => Steal::Success(()),
            Steal::Empty => Steal::Empty,
            Steal::Retry => Steal::Retry,
        }
    }

    /// Like [`steal_batch`](Stealer::steal_batch), but returns the oldest stolen item instead
    /// of moving it into `dest`.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::deque::{Steal, Worker};
    ///
    /// let victim = Worker::new_lifo();
    /// for i in 0..10 {
    ///     victim.push(i);
    /// }
    /// let mine = Worker::new_lifo();
    /// assert_eq!(victim.stealer().steal_batch_and_pop(&mine), Steal::Success(0));
    /// assert_eq!(mine.pop(), Some(1)); // the next oldest comes next
    /// ```
    pub fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
        match self.raw.steal_batch(&dest.raw, true) {
            Steal::Success(Some(item)) => Steal::Success(item),
            Steal::Success(None) | Steal::Empty => Steal::Empty,
            Steal::Retry => Steal::Retry,
        }
    }

    /// The number of items in the deque: a snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::new_lifo();
    /// w.push(());
    /// assert_eq!(w.stealer().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether the deque is empty (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = weft::deque::Worker::<u8>::new_lifo();
    /// assert!(w.stealer().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Stealer {
            raw: self.raw.clone(),
        }
    }
}

impl<T> fmt::Debug for Stealer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}
