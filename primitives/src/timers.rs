//! The one timer facility: every timer weft has (the async waits of timer channels, `Timer`
//! and `Ticker`, task sleeps) is an entry in a [`TimerQueue`], which wakes the entry's
//! `Waker` once its deadline has passed.
//!
//! # Structure: a 4-ary min-heap with an index per entry
//!
//! The layout is Go's per-P timer heap (`runtime/time.go` since Go 1.14: `siftupTimer`,
//! `siftdownTimer`, a 4-ary heap ordered by `when`), with entries in a slab so that a cancel
//! finds its entry's heap position in O(1) and removes it in O(log n), and frees the entry
//! at once (Go 1.23 made unreferenced timers collectable for the same reason: a program that
//! starts and stops timers in a loop must not accumulate dead entries). Insert, cancel and
//! pop are O(log n); the next deadline is O(1).
//!
//! Why a heap and not a hierarchical timing wheel (tokio's driver, `tokio/src/runtime/time`):
//! a wheel rounds every deadline to its slot (1 ms in tokio), so a 100 us sleep waits a
//! whole millisecond and timers within one slot fire in no particular order; it also needs a
//! periodic turn of the wheel, or a computed next expiry that walks the levels. A heap fires
//! at the exact deadline, in deadline order (ties in insertion order), and its minimum is the
//! parked worker's sleep deadline with no walk. The wheel's O(1) insert matters at millions
//! of live timers; at the tens of thousands a process usually holds, a 4-ary heap's
//! log4(n) levels (8 at 65,536 entries) of one cache line each are as cheap.
//!
//! # Who fires the timers
//!
//! A queue has at most one *watcher*: a parked thread that sleeps until the queue's next
//! deadline and is unparked when an insert makes the next deadline earlier. On weft's
//! scheduler each scheduler owns a queue; its workers fire due timers whenever they look for
//! work, and one parked worker is the watcher (`sched/core.rs`), so an idle scheduler with no
//! timers sleeps without a deadline and one with a pending timer wakes once, at its deadline.
//! Everywhere else (tokio, `futures::executor`, a plain thread's `block_on`) the entries go to
//! a global queue whose watcher is one thread, `weft-timer`, started on first use. A blocking
//! wait on a timer channel needs neither: it waits by deadline on its own thread.

use core::task::Waker;
use std::time::Instant;

use crate::parker::Parker;
use crate::primitive::sync::atomic::{AtomicU64, Ordering};
use crate::primitive::sync::Arc;
use crate::sync::Mutex;

/// Children per heap node.
const ARITY: usize = 4;

/// Due entries woken per lock acquisition: their wakers run after the lock is released.
const FIRE_BATCH: usize = 32;

/// `TimerQueue::earliest` when the queue is empty.
const NONE: u64 = u64::MAX;

/// A registered entry's identity: its slab index and the generation the slot had when the
/// entry was made (a fired or cancelled entry's slot may be reused by a later one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    idx: u32,
    gen: u32,
}

#[derive(Debug)]
struct Slot {
    deadline: Instant,
    /// Insertion order, for ties.
    seq: u64,
    /// `None` while the slot is free.
    waker: Option<Waker>,
    /// Position in `Heap::heap` while in use.
    pos: usize,
    gen: u32,
}

#[derive(Debug, Default)]
struct Heap {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Slab indices, a 4-ary min-heap by `(deadline, seq)`.
    heap: Vec<u32>,
    seq: u64,
    watcher: Option<Arc<Parker>>,
    closed: bool,
}

impl Heap {
    fn less(&self, a: u32, b: u32) -> bool {
        let (a, b) = (&self.slots[a as usize], &self.slots[b as usize]);
        (a.deadline, a.seq) < (b.deadline, b.seq)
    }

    fn place(&mut self, pos: usize, idx: u32) {
        self.heap[pos] = idx;
        self.slots[idx as usize].pos = pos;
    }

    fn sift_up(&mut self, mut pos: usize) {
        let idx = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if !self.less(idx, self.heap[parent]) {
                break;
            }
            self.place(pos, self.heap[parent]);
            pos = parent;
        }
        self.place(pos, idx);
    }

    fn sift_down(&mut self, mut pos: usize) {
        let idx = self.heap[pos];
        let n = self.heap.len();
        loop {
            let first = pos * ARITY + 1;
            if first >= n {
                break;
            }
            let mut best = first;
            for c in first + 1..(first + ARITY).min(n) {
                if self.less(self.heap[c], self.heap[best]) {
                    best = c;
                }
            }
            if !self.less(self.heap[best], idx) {
                break;
            }
            self.place(pos, self.heap[best]);
            pos = best;
        }
        self.place(pos, idx);
    }

    fn insert(&mut self, deadline: Instant, waker: Waker) -> Key {
        let seq = self.seq;
        self.seq += 1;
        let idx = match self.free.pop() {
            Some(idx) => idx,
            None => {
                let idx = u32::try_from(self.slots.len()).expect("weft: too many live timers");
                self.slots.push(Slot {
                    deadline,
                    seq,
                    waker: None,
                    pos: 0,
                    gen: 0,
                });
                idx
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.deadline = deadline;
        slot.seq = seq;
        slot.waker = Some(waker);
        let key = Key { idx, gen: slot.gen };
        self.heap.push(idx);
        self.sift_up(self.heap.len() - 1);
        key
    }

    fn get_mut(&mut self, key: Key) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.idx as usize)
            .filter(|s| s.gen == key.gen && s.waker.is_some())
    }

    /// Removes the entry at heap position `pos`, frees its slot, and returns its waker.
    fn remove_at(&mut self, pos: usize) -> Waker {
        let idx = self.heap[pos];
        let last = self.heap.pop().expect("a heap position exists");
        if last != idx {
            self.place(pos, last);
            // The moved entry may belong above or below its new place.
            if pos > 0 && self.less(last, self.heap[(pos - 1) / ARITY]) {
                self.sift_up(pos);
            } else {
                self.sift_down(pos);
            }
        }
        let slot = &mut self.slots[idx as usize];
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(idx);
        slot.waker.take().expect("a live slot has a waker")
    }

    fn earliest(&self) -> Option<Instant> {
        self.heap.first().map(|&i| self.slots[i as usize].deadline)
    }
}

/// Nanoseconds since a process-wide base instant, for the lock-free due check.
fn nanos(t: Instant) -> u64 {
    use std::sync::OnceLock;
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(t.saturating_duration_since(base).as_nanos()).unwrap_or(NONE - 1)
}

/// A set of timers and, at most, one watcher that sleeps until the next deadline. See the
/// module docs.
#[derive(Debug)]
pub(crate) struct TimerQueue {
    heap: Mutex<Heap>,
    /// The earliest deadline (`nanos`), or `NONE`: read without the lock by a worker's
    /// "anything due?" check between tasks; written under the lock.
    earliest: AtomicU64,
}

impl Default for TimerQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl TimerQueue {
    pub(crate) fn new() -> Self {
        Self {
            heap: Mutex::new(Heap::default()),
            earliest: AtomicU64::new(NONE),
        }
    }

    fn publish_earliest(&self, heap: &Heap) {
        // Relaxed: a hint; whoever acts on it takes the lock (`fire_due`) and re-reads.
        self.earliest
            .store(heap.earliest().map_or(NONE, nanos), Ordering::Relaxed);
    }

    /// Adds an entry that wakes `waker` at `deadline`. `None` if the queue is closed (its
    /// scheduler went away): the caller registers elsewhere.
    pub(crate) fn insert(&self, deadline: Instant, waker: &Waker) -> Option<Key> {
        let mut h = self.heap.lock();
        if h.closed {
            return None;
        }
        let before = h.earliest();
        let key = h.insert(deadline, waker.clone());
        let kick = if before.map_or(true, |b| deadline < b) {
            self.publish_earliest(&h);
            h.watcher.clone()
        } else {
            None
        };
        drop(h);
        // The watcher sleeps until the old earliest deadline: wake it to sleep less. Its
        // parker's token makes this safe before or after it parks (see `watch`).
        if let Some(p) = kick {
            p.unpark();
        }
        Some(key)
    }

    /// Replaces the waker of a live entry. `false` if the entry is gone (fired or
    /// cancelled).
    pub(crate) fn update(&self, key: Key, waker: &Waker) -> bool {
        let mut h = self.heap.lock();
        let Some(slot) = h.get_mut(key) else {
            return false;
        };
        if slot.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return true;
        }
        let old = slot.waker.replace(waker.clone());
        drop(h);
        // Outside the lock: dropping a waker may drop a task that owns a future holding an
        // entry of this queue (executors whose waker owns the task), whose drop cancels it.
        drop(old);
        true
    }

    /// Whether an entry is still queued (not fired, not cancelled).
    pub(crate) fn contains(&self, key: Key) -> bool {
        self.heap.lock().get_mut(key).is_some()
    }

    /// Removes an entry if it is still there; its slot is free again at once. Returns whether
    /// it was (`false`: it fired, or was cancelled before).
    pub(crate) fn cancel(&self, key: Key) -> bool {
        let mut h = self.heap.lock();
        let Some(pos) = h.get_mut(key).map(|s| s.pos) else {
            return false;
        };
        let first = pos == 0;
        let waker = h.remove_at(pos);
        if first {
            self.publish_earliest(&h);
        }
        drop(h);
        drop(waker); // outside the lock
        true
    }

    /// Whether an entry is due at `now` (a lock-free hint: `fire_due` decides).
    #[inline]
    pub(crate) fn is_due(&self, now: impl FnOnce() -> Instant) -> bool {
        let e = self.earliest.load(Ordering::Relaxed);
        e != NONE && nanos(now()) >= e
    }

    /// The earliest deadline, if any.
    #[cfg(test)]
    #[cfg_attr(weft_loom, allow(dead_code))]
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.lock().earliest()
    }

    /// Removes every entry due at `now` and wakes it (outside the lock, in deadline order).
    /// Returns how many fired.
    pub(crate) fn fire_due(&self, now: Instant) -> usize {
        let mut fired = 0;
        loop {
            let mut batch: [Option<Waker>; FIRE_BATCH] = [const { None }; FIRE_BATCH];
            let mut n = 0;
            {
                let mut h = self.heap.lock();
                while n < FIRE_BATCH && h.earliest().is_some_and(|d| d <= now) {
                    batch[n] = Some(h.remove_at(0));
                    n += 1;
                }
                self.publish_earliest(&h);
            }
            for w in batch.iter_mut().take(n) {
                if let Some(w) = w.take() {
                    w.wake();
                }
            }
            fired += n;
            if n < FIRE_BATCH {
                return fired;
            }
        }
    }

    /// Makes `parker` the queue's watcher and returns the deadline to sleep until. An insert
    /// of an earlier deadline after this call unparks the watcher; one before it is seen in
    /// the returned deadline (both under the lock).
    pub(crate) fn watch(&self, parker: &Arc<Parker>) -> Option<Instant> {
        let mut h = self.heap.lock();
        h.watcher = Some(Arc::clone(parker));
        h.earliest()
    }

    /// Stops `parker` watching, if it still is (another may have taken over).
    pub(crate) fn unwatch(&self, parker: &Arc<Parker>) {
        let mut h = self.heap.lock();
        if h.watcher.as_ref().is_some_and(|w| Arc::ptr_eq(w, parker)) {
            h.watcher = None;
        }
    }

    /// Closes the queue (its scheduler stops): every pending entry is woken, so its future
    /// polls again and registers wherever it then runs; later inserts are refused.
    #[cfg_attr(weft_loom, allow(dead_code))] // the scheduler proper is not in the model build
    pub(crate) fn close(&self) {
        let mut wakers = Vec::new();
        let watcher;
        {
            let mut h = self.heap.lock();
            h.closed = true;
            watcher = h.watcher.take();
            while !h.heap.is_empty() {
                wakers.push(h.remove_at(0));
            }
            self.publish_earliest(&h);
        }
        for w in wakers {
            w.wake();
        }
        // A watcher parked until the next deadline learns that there is none (the global
        // queue's driver returns; a scheduler's workers are stopping anyway).
        if let Some(w) = watcher {
            w.unpark();
        }
    }

    /// Whether `close` was called.
    #[cfg(not(weft_loom))]
    fn is_closed(&self) -> bool {
        self.heap.lock().closed
    }

    /// Live entries (for tests).
    #[cfg(test)]
    #[cfg_attr(weft_loom, allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.heap.lock().heap.len()
    }
}

/// An entry of a queue, cancelled when dropped: what a sleep or a timer channel's async
/// wait holds.
#[derive(Debug)]
pub(crate) struct Registration {
    queue: Arc<TimerQueue>,
    key: Key,
    deadline: Instant,
}

impl Registration {
    /// Registers `waker` for `deadline` in the queue of the current context: the scheduler
    /// whose worker this is, else the global queue.
    #[cfg(not(weft_loom))]
    pub(crate) fn new(deadline: Instant, waker: &Waker) -> Self {
        // A closed queue is a stopping scheduler's (a worker's last moments, or a future
        // polled there after the scheduler went): the global queue takes the entry then.
        Self::in_queue(&current(), deadline, waker).unwrap_or_else(|| {
            Self::in_queue(global(), deadline, waker).expect("the global queue never closes")
        })
    }

    /// Registers `waiter` for `deadline` in the model build's one queue, which its tests
    /// fire by hand (`model_queue`).
    #[cfg(weft_loom)]
    pub(crate) fn new(deadline: Instant, waker: &Waker) -> Self {
        Self::in_queue(&model_queue(), deadline, waker).expect("the model queue never closes")
    }

    /// Registers in `queue`.
    pub(crate) fn in_queue(
        queue: &Arc<TimerQueue>,
        deadline: Instant,
        waker: &Waker,
    ) -> Option<Self> {
        let key = queue.insert(deadline, waker)?;
        Some(Self {
            queue: Arc::clone(queue),
            key,
            deadline,
        })
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the entry is still queued: `false` once it fired.
    pub(crate) fn is_pending(&self) -> bool {
        self.queue.contains(self.key)
    }

    /// Keeps the entry with a new waker. `false` if it already fired (or its queue closed):
    /// the caller re-checks its condition and registers anew if it still waits.
    pub(crate) fn update(&self, waker: &Waker) -> bool {
        self.queue.update(self.key, waker)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.queue.cancel(self.key);
    }
}

/// The model build's timer queue, one per model execution, fired by the models' own code.
#[cfg(weft_loom)]
pub(crate) fn model_queue() -> Arc<TimerQueue> {
    loom::lazy_static! {
        static ref QUEUE: Arc<TimerQueue> = Arc::new(TimerQueue::new());
    }
    Arc::clone(&QUEUE)
}

#[cfg(not(weft_loom))]
std::thread_local! {
    /// The timer queue of the scheduler whose worker this thread is.
    static CURRENT: core::cell::RefCell<Option<Arc<TimerQueue>>> =
        const { core::cell::RefCell::new(None) };
}

/// Makes `queue` this thread's timer queue (a worker of its scheduler), or clears it.
#[cfg(not(weft_loom))]
pub(crate) fn set_current(queue: Option<Arc<TimerQueue>>) {
    // In a thread-local destructor the slot may be gone: nothing to set any more.
    let _ = CURRENT.try_with(|c| *c.borrow_mut() = queue);
}

/// The queue a new entry of this thread goes to.
#[cfg(not(weft_loom))]
fn current() -> Arc<TimerQueue> {
    CURRENT
        .try_with(|c| c.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| Arc::clone(global()))
}

/// The global queue and its watcher thread, started on first use and never stopped: it
/// sleeps without a deadline while the queue is empty.
#[cfg(not(weft_loom))]
fn global() -> &'static Arc<TimerQueue> {
    use std::sync::OnceLock;
    static GLOBAL: OnceLock<Arc<TimerQueue>> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let queue = Arc::new(TimerQueue::new());
        let q = Arc::clone(&queue);
        std::thread::Builder::new()
            .name("weft-timer".into())
            .spawn(move || drive(&q))
            .expect("weft: cannot start the timer thread");
        queue
    })
}

/// A queue's watcher thread: fires what is due, sleeps until the next deadline, returns once
/// the queue is closed (the global queue never is).
#[cfg(not(weft_loom))]
fn drive(queue: &TimerQueue) {
    let parker = Parker::current();
    while !queue.is_closed() {
        queue.fire_due(Instant::now());
        let deadline = queue.watch(&parker);
        // A close before `watch` found no watcher to unpark: it is seen here; one after it
        // unparks this parker.
        if deadline.is_some_and(|d| d <= Instant::now()) || queue.is_closed() {
            continue;
        }
        parker.park(deadline);
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;
    use std::task::Wake;
    use std::time::Duration;

    /// Records its id when woken.
    struct Log(usize, Arc<StdMutex<Vec<usize>>>);

    impl Wake for Log {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn waker(id: usize, log: &Arc<StdMutex<Vec<usize>>>) -> Waker {
        Waker::from(Arc::new(Log(id, Arc::clone(log))))
    }

    #[test]
    fn fires_in_deadline_order_ties_in_insertion_order() {
        let q = TimerQueue::new();
        let log = Arc::new(StdMutex::new(Vec::new()));
        let t0 = Instant::now();
        // Pseudo-random deadlines (a fixed LCG), many ties.
        let mut x = 12345u64;
        let mut expect = Vec::new();
        for id in 0..500 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            let ms = (x >> 33) % 50;
            q.insert(t0 + Duration::from_millis(ms), &waker(id, &log));
            expect.push((ms, id));
        }
        // Cancel every seventh.
        expect.sort();
        assert_eq!(q.len(), 500);
        assert_eq!(
            q.fire_due(t0 + Duration::from_millis(24)),
            expect.iter().filter(|e| e.0 <= 24).count()
        );
        assert_eq!(
            q.fire_due(t0 + Duration::from_secs(1)),
            expect.iter().filter(|e| e.0 > 24).count()
        );
        let got = log.lock().unwrap().clone();
        let want: Vec<usize> = expect.iter().map(|e| e.1).collect();
        assert_eq!(got, want);
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn cancel_frees_at_once_and_keeps_order() {
        let q = TimerQueue::new();
        let log = Arc::new(StdMutex::new(Vec::new()));
        let t0 = Instant::now();
        let keys: Vec<Key> = (0..200)
            .map(|id| {
                q.insert(
                    t0 + Duration::from_micros((id * 7919 % 200) as u64),
                    &waker(id, &log),
                )
                .unwrap()
            })
            .collect();
        for (id, k) in keys.iter().enumerate() {
            if id % 3 == 0 {
                assert!(q.cancel(*k));
                assert!(!q.cancel(*k), "a second cancel finds nothing");
            }
        }
        assert_eq!(q.len(), 200 - 67);
        // Freed slots are reused: the slab does not grow.
        let slots = q.heap.lock().slots.len();
        for id in 0..67 {
            q.insert(t0 + Duration::from_secs(10), &waker(1000 + id, &log));
        }
        assert_eq!(q.heap.lock().slots.len(), slots);
        q.fire_due(t0 + Duration::from_secs(1));
        let got = log.lock().unwrap().clone();
        let mut want: Vec<(usize, usize)> = (0..200)
            .filter(|id| id % 3 != 0)
            .map(|id| (id * 7919 % 200, id))
            .collect();
        want.sort();
        assert_eq!(got, want.iter().map(|w| w.1).collect::<Vec<_>>());
        // A stale key (its slot reused) cancels nothing.
        assert!(!q.cancel(keys[0]));
        assert_eq!(q.len(), 67);
    }

    #[test]
    fn update_and_close() {
        let q = TimerQueue::new();
        let log = Arc::new(StdMutex::new(Vec::new()));
        let t0 = Instant::now();
        let k = q.insert(t0, &waker(1, &log)).unwrap();
        assert!(q.update(k, &waker(2, &log)));
        q.insert(t0 + Duration::from_secs(60), &waker(3, &log));
        assert_eq!(q.fire_due(t0), 1);
        assert!(!q.update(k, &waker(4, &log)), "fired");
        q.close();
        assert_eq!(*log.lock().unwrap(), vec![2, 3]);
        assert!(q.insert(t0, &waker(5, &log)).is_none(), "closed");
    }

    #[test]
    fn a_driven_queue_fires_and_its_driver_stops_on_close() {
        // The global queue's driver, on a queue of the test's own so that the thread can be
        // joined (the global one lives as long as the process).
        let queue = Arc::new(TimerQueue::new());
        let q = Arc::clone(&queue);
        let driver = std::thread::spawn(move || drive(&q));
        let log = Arc::new(StdMutex::new(Vec::new()));
        let start = Instant::now();
        let r = Registration::in_queue(&queue, start + Duration::from_millis(20), &waker(7, &log))
            .unwrap();
        while log.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the timer thread never fired"
            );
        }
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(!r.update(&waker(8, &log)));
        // A later entry keeps the driver parked until its deadline; close wakes it at once.
        let _later =
            Registration::in_queue(&queue, start + Duration::from_secs(3600), &waker(9, &log));
        queue.close();
        driver.join().unwrap();
        assert_eq!(*log.lock().unwrap(), [7, 9]);
    }
}

/// loom models of the facility, run by `ci/loom.sh`: synthetic instants (`fire_due` takes
/// "now"), loom's threads, the modelled mutex and parker.
#[cfg(all(test, weft_loom))]
mod loom_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::task::Wake;
    use std::time::Duration;

    use loom::thread;

    #[derive(Default)]
    struct Count(StdAtomicUsize);

    impl Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    /// A cancel racing the firing of its due entry: exactly one of them wins (the waker is
    /// woken once, or the cancel took it), and the entry is gone either way.
    #[test]
    fn cancel_races_fire() {
        model(|| {
            let q = Arc::new(TimerQueue::new());
            let count = std::sync::Arc::new(Count::default());
            let t0 = Instant::now();
            let key = q.insert(t0, &Waker::from(count.clone())).unwrap();
            let q2 = Arc::clone(&q);
            let firer = thread::spawn(move || q2.fire_due(t0));
            let cancelled = q.cancel(key);
            let fired = firer.join().unwrap();
            let woken = count.0.load(Ordering::Relaxed);
            assert_eq!(usize::from(cancelled) + fired, 1, "one winner");
            assert_eq!(woken, fired, "woken exactly when fired");
            assert_eq!(q.len(), 0);
            assert!(!q.cancel(key), "gone");
        });
    }

    /// A waker replaced while its entry fires: exactly one of the two wakers is woken, once.
    #[test]
    fn update_races_fire() {
        model(|| {
            let q = Arc::new(TimerQueue::new());
            let (old, new) = (
                std::sync::Arc::new(Count::default()),
                std::sync::Arc::new(Count::default()),
            );
            let t0 = Instant::now();
            let key = q.insert(t0, &Waker::from(old.clone())).unwrap();
            let q2 = Arc::clone(&q);
            let firer = thread::spawn(move || q2.fire_due(t0));
            let kept = q.update(key, &Waker::from(new.clone()));
            assert_eq!(firer.join().unwrap(), 1);
            let (o, n) = (old.0.load(Ordering::Relaxed), new.0.load(Ordering::Relaxed));
            assert_eq!(o + n, 1, "one wake-up");
            assert_eq!(
                n,
                usize::from(kept),
                "the new waker exactly when the update came first"
            );
        });
    }

    /// The watcher sleeps for a far deadline while an earlier, due entry is inserted: the
    /// insert's unpark must reach it, or the model deadlocks (checked: with the unpark
    /// removed, it does).
    #[test]
    fn earlier_insert_wakes_the_watcher() {
        model(|| {
            let q = Arc::new(TimerQueue::new());
            let t0 = Instant::now();
            let far = std::sync::Arc::new(Count::default());
            q.insert(t0 + Duration::from_secs(3600), &Waker::from(far.clone()));
            let near = std::sync::Arc::new(Count::default());
            let q2 = Arc::clone(&q);
            let watcher = thread::spawn(move || {
                let parker = Parker::current();
                loop {
                    if q2.fire_due(t0) > 0 {
                        return;
                    }
                    let deadline = q2.watch(&parker);
                    if deadline.is_some_and(|d| d <= t0) {
                        continue;
                    }
                    // The far deadline lies beyond the model's horizon: sleep without one,
                    // so only the insert's unpark can end this park (without it, deadlock).
                    parker.park(None);
                }
            });
            q.insert(t0, &Waker::from(near.clone()));
            watcher.join().unwrap();
            assert_eq!(near.0.load(Ordering::Relaxed), 1);
            assert_eq!(far.0.load(Ordering::Relaxed), 0);
        });
    }

    /// A sleep future dropped (its entry cancelled) while the queue fires it: the waker is
    /// woken at most once, and no entry is left behind.
    #[test]
    fn sleep_dropped_as_it_fires() {
        model(|| {
            let q = model_queue();
            let count = std::sync::Arc::new(Count::default());
            let t0 = Instant::now();
            let reg = Registration::new(t0, &Waker::from(count.clone()));
            let firer = thread::spawn(move || model_queue().fire_due(t0));
            drop(reg);
            let fired = firer.join().unwrap();
            assert!(count.0.load(Ordering::Relaxed) <= 1);
            assert_eq!(count.0.load(Ordering::Relaxed), fired);
            assert_eq!(q.len(), 0);
        });
    }
}
