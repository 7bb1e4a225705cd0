//! The Chase-Lev work-stealing deque, with stamped slots so that no slot is ever read while it
//! may be written.
//!
//! # Sources
//!
//! - David Chase and Yossi Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005: a growable
//!   circular buffer indexed by two counters, `bottom` (moved only by the owner, which pushes
//!   and pops there) and `top` (moved by a CAS, by thieves and by the owner's last-item pop).
//! - Nhat Minh Lê, Antoniu Pop, Albert Cohen and Francesco Zappa Nardelli, "Correct and
//!   Efficient Work-Stealing for Weak Memory Models", PPoPP 2013: the C11 orderings used here
//!   (push: item store, release, `bottom` store; take: `bottom` store, SeqCst fence, `top`
//!   load, SeqCst CAS on the last item; steal: Acquire `top` load, SeqCst fence, Acquire
//!   `bottom` load, SeqCst CAS), with the known fix to the paper's Figure 1: after a resize
//!   `push` must write into the *new* buffer (the published code kept the old pointer), which
//!   here is `make_room` returning the buffer to use.
//!
//! Two orderings are written differently from the paper, to the same effect:
//!
//! - The paper's push publishes with a release fence and a relaxed store of `bottom`, so that
//!   the owner's later relaxed stores of `bottom` (in take) still carry the release. Here every
//!   store of `bottom` is a Release store instead: the same guarantee, free on x86, and one
//!   that ThreadSanitizer sees (it does not model fences).
//! - The thief's "Acquire load of `top`, SeqCst fence, Acquire load of `bottom`" is two SeqCst
//!   loads, equivalent against the owner's fence under C++20's rules (the argument is on
//!   `Inner::load_top_then_bottom`) and plain moves on x86, where the fence is a locked
//!   instruction. The loom build keeps the fence, as loom models SeqCst accesses as
//!   Acquire/Release only.
//!
//! # Where this departs from the papers: no speculative read
//!
//! In both papers a thief reads slot `top` *before* its CAS on `top`, and the owner may be
//! overwriting that slot at the same moment (it wrapped around after another thief took the
//! item); the CAS then fails and the value is thrown away. In C11 that read must be atomic, and
//! Le et al. make it a relaxed atomic load of the element. A Rust `T` is not an atomic type:
//! copying it through `AtomicUsize` words (or `AtomicU8` bytes, or `atomic-memcpy`) turns its
//! padding and any other uninitialised bytes (an enum's unused payload) into integers, which is
//! undefined behaviour that Miri reports; `atomic-memcpy` documents exactly this limit, and the
//! inline-assembly route (`atomic-maybe-uninit`) is invisible to Miri and ThreadSanitizer
//! alike. crossbeam-deque does the read non-atomically and suppresses the data race in its
//! TSan CI.
//!
//! So here a thief reads a slot only *after* its CAS has made the index its own, and the owner
//! never overwrites a slot whose last item a thief may still be reading. Each slot carries a
//! **stamp**, the index the owner may write into it next:
//!
//! - a fresh buffer whose window starts at `t` stamps each slot with the one index of
//!   `t .. t + cap` that maps to it;
//! - `push(b)` writes slot `b` only if its stamp is `b`, i.e. the slot's previous item,
//!   index `b - cap`, was taken *and read*; the push leaves the stamp alone (`b` now means
//!   "holds item `b`");
//! - whoever takes index `i` by a CAS (a thief, the owner's last-item pop, the FIFO pop) stores
//!   stamp `i + cap` once it has read the item: the thief with Release, paired with the owner's
//!   Acquire load in `push`, so the read happens-before the next write;
//! - the owner's ordinary LIFO pop of `i` leaves the stamp at `i`: `bottom` goes back to `i`
//!   and the next push writes index `i` again.
//!
//! A stamp that is not `b` means the buffer is full, or a thief is still reading, or the stamp
//! is stale (below); `push` then takes the cold path, which moves to a new buffer. The stamp
//! check replaces the papers' capacity check, so `push` never loads `top`, the line the thieves
//! fight over. The price is one Release store per steal. Stamps live in their own array, so
//! those stores never dirty the lines thieves read items from.
//!
//! # Stale stamps after a resize
//!
//! A resize copies the live items `[t, b)` into a new buffer stamped as "holding" them. A thief
//! that loaded the old buffer before the new one was published may still take one of them, say
//! `j`, and it reads and stamps the *old* buffer; the new buffer's slot for `j` keeps stamp `j`
//! forever and blocks `push(j + cap)`. The owner keeps the buffer it copied from (`prev`) until
//! the next resize, and on a blocked push looks there: stamp `j + prev_cap` in `prev` proves
//! `j` was taken and read through `prev`, so nobody reads our copy and the owner re-stamps the
//! slot and writes. (That value cannot appear in `prev` otherwise: every stamp `prev` ever held
//! is below `b_copy + prev_cap`, and `j >= b_copy` for items not copied from it.) A stamp still
//! blocked after that, a thief stalled across two resizes, is resolved by one more resize.
//!
//! # Batches
//!
//! A FIFO owner takes from `top` with a CAS too, so a batch is claimed with one CAS. A LIFO
//! owner pops at `bottom` without a CAS while it sees two or more items, so a batch from it is
//! claimed index by index, each claim after a SeqCst load of `bottom` that follows the previous
//! claim (the steal protocol again). The thief also re-checks before each claim that the buffer
//! it loaded is still the current one: in between, the owner may have popped that index without
//! a CAS, moved to a new buffer and pushed a new item at the same index, leaving the popped
//! item in the thief's buffer.
//!
//! # Reclamation
//!
//! A replaced buffer may still be read by thieves that loaded it; it is handed to crossbeam's
//! epoch collector (`defer_unchecked`), and thieves pin an epoch around their use of a buffer.
//!
//! Under `--cfg weft_loom` and under Miri the retired buffers go to a list owned by the deque
//! and freed with it instead, and thieves pin nothing: the models and Miri then check the
//! deque's own code, not crossbeam-epoch. loom would have to run the collector inside every
//! model; and crossbeam-epoch 0.9 is not clean under Miri's default checks (its thread-local
//! handles violate Stacked Borrows, crossbeam#545, and its per-thread state and garbage are
//! still allocated at exit, crossbeam#579; crossbeam's CI disables both checks for it), while
//! weft's Miri run turns nothing off. The epoch path itself is exercised by the native tests.
//!
//! # Capacity
//!
//! Buffers are powers of two, at least [`MIN_CAP`] (2 under loom, so the models resize). A push
//! into a full buffer doubles it. Once `cap` pops in a row have each left fewer than a quarter
//! of the slots in use, the buffer is halved (never below [`MIN_CAP`]): a deque that is filled
//! and drained in bursts keeps its size, one that stays small gives the memory back.
//!
//! # The owner's last item
//!
//! When the owner sees exactly one item it claims it with a CAS on `top`, as a thief does,
//! instead of Chase and Lev's decrement of `bottom`, fence and CAS: one locked instruction
//! instead of two on the path a fork-join worker takes after every push of a single task.

use core::cell::Cell;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crossbeam_utils::CachePadded;

use super::Steal;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{fence, AtomicIsize, AtomicPtr, Ordering};
use crate::primitive::sync::Arc;
use crate::unwind::FirstPanic;

/// The smallest (and initial) buffer capacity.
#[cfg(not(weft_loom))]
pub(crate) const MIN_CAP: usize = 64;
/// The smallest (and initial) buffer capacity: tiny under loom, so models resize.
#[cfg(weft_loom)]
pub(crate) const MIN_CAP: usize = 2;

/// The most items one `steal_batch` takes.
pub(crate) const MAX_BATCH: usize = 32;

/// How many pops in a row must leave a buffer of `cap` slots less than a quarter full before
/// it is halved: `cap` (the deque stayed small for as long as it took to fill it once), or 1
/// under loom, so the models shrink.
#[inline]
fn shrink_patience(cap: usize) -> usize {
    if cfg!(weft_loom) {
        1
    } else {
        cap
    }
}

/// Which end the owner pops from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Pop the newest item (from `bottom`), as Chase and Lev's `take`.
    Lifo,
    /// Pop the oldest item (from `top`), with a CAS as a thief does.
    Fifo,
}

/// A circular buffer of `mask + 1` slots, a power of two. Index `i` lives in slot `i & mask`:
/// its item in `items[i & mask]`, its stamp in `stamps[i & mask]`.
///
/// Stamps and items are two arrays, not one array of pairs: thieves write stamps, and with
/// pairs a thief's stamp store would dirty the cache line from which the next thief reads the
/// next item. Apart, the item lines are written only by the owner.
///
/// Both are reached through raw pointers, never through slice references: a reference to a
/// whole slice would be retagged over all of it on every access under Miri, making each
/// operation cost the capacity.
///
/// Dropping a buffer never drops items: the live ones are moved out (or copied to a successor)
/// by the deque.
struct Buffer<T> {
    /// `mask + 1` stamps, from a leaked boxed slice: the index the owner may write into each
    /// slot next (see the module docs).
    stamps: NonNull<AtomicIsize>,
    /// `mask + 1` item cells, from a leaked boxed slice.
    items: NonNull<UnsafeCell<MaybeUninit<T>>>,
    mask: usize,
}

impl<T> Buffer<T> {
    /// A buffer of `cap` slots whose window starts at index `start`: each slot is stamped with
    /// the one index of `start .. start + cap` that maps to it.
    fn alloc(cap: usize, start: isize) -> *mut Buffer<T> {
        debug_assert!(cap.is_power_of_two());
        let mask = cap - 1;
        let stamps: Box<[AtomicIsize]> = (0..cap)
            .map(|i| {
                // The index in the window that lands in slot `i`.
                let offset = (i as isize).wrapping_sub(start) as usize & mask;
                AtomicIsize::new(start.wrapping_add(offset as isize))
            })
            .collect();
        let items: Box<[UnsafeCell<MaybeUninit<T>>]> = (0..cap)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        Box::into_raw(Box::new(Buffer {
            stamps: NonNull::from(Box::leak(stamps)).cast(),
            items: NonNull::from(Box::leak(items)).cast(),
            mask,
        }))
    }

    #[inline]
    fn cap(&self) -> usize {
        self.mask + 1
    }

    /// The stamp of `index`'s slot.
    #[inline]
    fn stamp(&self, index: isize) -> &AtomicIsize {
        // SAFETY: `index & mask` is below `mask + 1`, the length of the allocation `stamps`
        // points to, which lives as long as `self`.
        unsafe { self.stamps.add(index as usize & self.mask).as_ref() }
    }

    /// The item cell of `index`'s slot.
    #[inline]
    fn item(&self, index: isize) -> &UnsafeCell<MaybeUninit<T>> {
        // SAFETY: as for `stamp`, with `items`.
        unsafe { self.items.add(index as usize & self.mask).as_ref() }
    }

    /// Writes `value` into the slot of `index`.
    ///
    /// # Safety
    ///
    /// The caller is the owner and the slot's stamp is `index` as seen by an Acquire load (or
    /// the owner's own store), so nobody reads the slot now and no item in it is lost.
    #[inline]
    unsafe fn write(&self, index: isize, value: T) {
        self.item(index).with_mut(|p| {
            // SAFETY: by the caller's contract nobody else accesses the slot.
            unsafe { p.write(MaybeUninit::new(value)) }
        });
    }

    /// Moves the item at `index` out.
    ///
    /// # Safety
    ///
    /// The caller owns index `index` (its CAS claimed it, or it is the owner and no thief can
    /// reach it), the item was written into this buffer before (happens-before) this call, and
    /// it is read once.
    #[inline]
    unsafe fn read(&self, index: isize) -> T {
        self.item(index).with(|p| {
            // SAFETY: by the caller's contract the slot holds an initialised item that no one
            // writes while we read it.
            unsafe { (*p).assume_init_read() }
        })
    }

    /// Copies the item at `index` (its bytes, initialised or not) into `dst`'s slot of
    /// `dst_index`, without reading it as a `T`.
    ///
    /// # Safety
    ///
    /// The source slot is not being written (it may be read), and the destination slot is
    /// the caller's alone.
    #[inline]
    unsafe fn copy_to(&self, index: isize, dst: &Buffer<T>, dst_index: isize) {
        self.item(index).with(|src| {
            dst.item(dst_index).with_mut(|d| {
                // SAFETY: two distinct allocations (or slots), each valid for one
                // `MaybeUninit<T>`; the caller rules out a concurrent write to either.
                unsafe { ptr::copy_nonoverlapping(src, d, 1) }
            })
        });
    }
}

impl<T> Drop for Buffer<T> {
    fn drop(&mut self) {
        let stamps = ptr::slice_from_raw_parts_mut(self.stamps.as_ptr(), self.cap());
        let items = ptr::slice_from_raw_parts_mut(self.items.as_ptr(), self.cap());
        // SAFETY: both came from `Box::leak` of boxed slices of this length, and are freed
        // once, here. The cells hold `MaybeUninit<T>`, so no item is dropped.
        unsafe {
            drop(Box::from_raw(stamps));
            drop(Box::from_raw(items));
        }
    }
}

/// `bottom` and the buffer pointer share a cache line: the owner writes `bottom`, thieves read
/// both on every steal.
struct Back<T> {
    /// One past the newest item. Written only by the owner, always with Release (see `push`).
    bottom: AtomicIsize,
    /// The current buffer. Written only by the owner, in `resize`.
    buffer: AtomicPtr<Buffer<T>>,
}

/// The state shared by a [`Worker`] and its [`Stealer`]s.
struct Inner<T> {
    /// The oldest item. Moves only forward, only by a CAS.
    top: CachePadded<AtomicIsize>,
    back: CachePadded<Back<T>>,
    /// Buffers retired under loom and Miri, freed with the deque (see the module docs).
    #[cfg(any(weft_loom, miri))]
    retired: std::sync::Mutex<Vec<*mut Buffer<T>>>,
}

// SAFETY: the deque moves `T`s between threads, so `T: Send`. Every slot access is made
// exclusive by the protocol argued at each access (CAS claims and stamps); the rest is atomics.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    fn new() -> Inner<T> {
        Inner {
            top: CachePadded::new(AtomicIsize::new(0)),
            back: CachePadded::new(Back {
                bottom: AtomicIsize::new(0),
                buffer: AtomicPtr::new(Buffer::alloc(MIN_CAP, 0)),
            }),
            #[cfg(any(weft_loom, miri))]
            retired: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Hands a buffer that is no longer the current one to the reclamation scheme.
    ///
    /// # Safety
    ///
    /// `buffer` was allocated by `Buffer::alloc`, is unreachable from `self.back.buffer`, and
    /// is retired once. Its slots hold no item that is still owed to anyone (they were copied
    /// on), so it is freed without dropping any.
    unsafe fn retire(&self, buffer: *mut Buffer<T>) {
        #[cfg(not(any(weft_loom, miri)))]
        {
            let guard = crossbeam_epoch::pin();
            // Thieves access a buffer only while pinned, and only after loading it from
            // `back.buffer`, which no longer points to it; the collector runs the closure once
            // every thread pinned now has unpinned. The closure only frees memory (no `T` is
            // dropped), so it may run on any thread, after `T`'s lifetime too.
            // SAFETY: by the above, `buffer` is freed once, when no thread can still reach it.
            unsafe { guard.defer_unchecked(move || drop(Box::from_raw(buffer))) }
        }
        #[cfg(any(weft_loom, miri))]
        self.retired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(buffer);
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // `&mut self`: no handle is left, so no thread is inside an operation.
        let t = self.top.load(Ordering::Relaxed);
        let b = self.back.bottom.load(Ordering::Relaxed);
        let buffer = self.back.buffer.load(Ordering::Relaxed);
        // Every item is dropped and every buffer freed even if an item's `Drop` panics; the
        // first panic is resumed at the end (as `Vec` does).
        let mut panicked = FirstPanic::default();
        let mut i = t;
        while i.wrapping_sub(b) < 0 {
            // SAFETY: the current buffer holds every item of `[t, b)` (each pushed into it or
            // copied on by a resize) and nothing else owns them; each is read once (`i` moves
            // on whether or not its drop panics).
            let item = unsafe { (*buffer).read(i) };
            panicked.run(move || drop(item));
            i = i.wrapping_add(1);
        }
        // SAFETY: then the buffer, allocated by `Buffer::alloc` and never retired, is freed
        // (once: no handle is left to reach it).
        drop(unsafe { Box::from_raw(buffer) });
        #[cfg(any(weft_loom, miri))]
        for retired in self
            .retired
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            // SAFETY: retired buffers came from `Buffer::alloc`, are retired once, and with
            // no handle left nobody can still read them.
            drop(unsafe { Box::from_raw(retired) });
        }
        panicked.resume();
    }
}

/// What a thief holds while it uses a buffer: an epoch pin, or nothing under loom and Miri
/// (where retired buffers live as long as the deque).
#[cfg(not(any(weft_loom, miri)))]
type Pin = crossbeam_epoch::Guard;
#[cfg(any(weft_loom, miri))]
struct Pin;

#[inline]
fn pin() -> Pin {
    #[cfg(not(any(weft_loom, miri)))]
    return crossbeam_epoch::pin();
    #[cfg(any(weft_loom, miri))]
    Pin
}

/// The owner's handle: pushes and pops at its end.
pub(crate) struct Worker<T> {
    inner: Arc<Inner<T>>,
    /// The current buffer, cached: only this handle replaces it.
    buffer: Cell<*mut Buffer<T>>,
    /// The buffer the current one was copied from, kept until the next resize to clear stale
    /// stamps (see the module docs); null before the first resize.
    prev: Cell<*mut Buffer<T>>,
    /// Pops in a row that left the buffer less than a quarter full (see `after_pop`).
    small_pops: Cell<usize>,
    flavor: Flavor,
}

// A Worker is the one owner of its end; `Cell` keeps it `!Sync`, as the algorithm has one
// owner thread. Its cached pointers are to buffers kept alive by `inner`.
// SAFETY: moving a Worker moves that role (and the `T`s it will hand out) to another thread,
// sound for `T: Send`; the cached pointers stay valid on any thread.
unsafe impl<T: Send> Send for Worker<T> {}

/// A thief's handle: takes the oldest items.
pub(crate) struct Stealer<T> {
    inner: Arc<Inner<T>>,
    flavor: Flavor,
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Stealer {
            inner: self.inner.clone(),
            flavor: self.flavor,
        }
    }
}

impl<T> Worker<T> {
    pub(crate) fn new(flavor: Flavor) -> Worker<T> {
        let inner = Arc::new(Inner::new());
        let buffer = inner.back.buffer.load(Ordering::Relaxed);
        Worker {
            inner,
            buffer: Cell::new(buffer),
            prev: Cell::new(ptr::null_mut()),
            small_pops: Cell::new(0),
            flavor,
        }
    }

    pub(crate) fn stealer(&self) -> Stealer<T> {
        Stealer {
            inner: self.inner.clone(),
            flavor: self.flavor,
        }
    }

    /// The current buffer.
    #[inline]
    fn buffer(&self) -> &Buffer<T> {
        // SAFETY: only this handle replaces the current buffer, and it retires a buffer only
        // after replacing it, so the cached one is alive for as long as `&self` is.
        unsafe { &*self.buffer.get() }
    }

    pub(crate) fn len(&self) -> usize {
        let b = self.inner.back.bottom.load(Ordering::Relaxed);
        let t = self.inner.top.load(Ordering::Relaxed);
        // A snapshot: thieves may move `top` at any time. `top` is never ahead of `bottom`
        // outside the owner's own pop, so the difference is never negative here.
        b.wrapping_sub(t).max(0) as usize
    }

    #[inline]
    pub(crate) fn push(&self, value: T) {
        let b = self.inner.back.bottom.load(Ordering::Relaxed);
        let mut buffer = self.buffer();
        // Ordering: Acquire pairs with the Release stamp store of the thief that took this
        // slot's previous item (index b - cap): its read of that item happens-before our write.
        if buffer.stamp(b).load(Ordering::Acquire) != b {
            buffer = self.make_room(b, 1);
        }
        // The slot's stamp is `b` (checked above, or made so by `make_room`).
        // SAFETY: so its previous item was taken and read, and thieves reach index `b` only
        // after the store of `bottom` below.
        unsafe { buffer.write(b, value) };
        // Ordering: Release publishes the item to a thief whose Acquire load of `bottom` reads
        // this value or a later one. Every store to `bottom` is Release (pop's included), so a
        // thief that reads any later value still synchronises with a store sequenced after our
        // write. (Le et al. use a release fence and relaxed stores to the same end.)
        self.inner
            .back
            .bottom
            .store(b.wrapping_add(1), Ordering::Release);
    }

    /// Makes the slots of `b .. b + n` writable: clears stale stamps through `prev`, or moves
    /// to a new buffer (grown if the live items and `n` do not fit). Returns the buffer to
    /// write into, which is the current one from then on.
    #[cold]
    #[inline(never)]
    fn make_room(&self, b: isize, n: usize) -> &Buffer<T> {
        let buffer = self.buffer();
        let cap = buffer.cap();
        let mut blocked = false;
        for k in 0..n {
            let i = b.wrapping_add(k as isize);
            let stamp = buffer.stamp(i);
            // Ordering: Acquire pairs with the Release stamp store of the thief that read the
            // slot's previous item, as in `push`.
            if stamp.load(Ordering::Acquire) == i {
                continue;
            }
            // The slot is stamped for j = i - cap: j is live (the buffer is full), or a thief
            // took j and is still reading it, or a thief took j through `prev`.
            let j = i.wrapping_sub(cap as isize);
            if self.taken_through_prev(j) {
                // Nobody reads our copy of j: re-stamp the slot. Only the owner reads stamps.
                stamp.store(i, Ordering::Relaxed);
                #[cfg(all(test, weft_loom))]
                super::loom_tests::probe::HEALED
                    .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            } else {
                blocked = true;
                break;
            }
        }
        if !blocked {
            return buffer;
        }
        let t = self.inner.top.load(Ordering::Relaxed);
        // Items live now; `top` only grows, so a stale `t` overestimates, which is safe.
        let len = b.wrapping_sub(t) as usize;
        let needed = len + n;
        let new_cap = if needed <= cap {
            // A thief is still reading, or a stamp went stale across two resizes: a fresh
            // buffer of the same size unblocks the push.
            cap
        } else {
            needed.next_power_of_two().max(cap * 2)
        };
        self.resize(new_cap, t, b)
    }

    /// Whether index `j`, copied into the current buffer from `prev`, was taken and read
    /// through `prev`.
    fn taken_through_prev(&self, j: isize) -> bool {
        let prev = self.prev.get();
        if prev.is_null() {
            return false;
        }
        // SAFETY: the owner retires `prev` only in `resize` (or on drop), after replacing it.
        let prev = unsafe { &*prev };
        // Ordering: Acquire pairs with that thief's Release stamp store; nothing of prev is
        // touched afterwards, but it keeps every stamp observation the same.
        prev.stamp(j).load(Ordering::Acquire) == j.wrapping_add(prev.cap() as isize)
    }

    /// Moves the live items `[t, b)` to a new buffer of `new_cap` slots and publishes it.
    /// Returns the new buffer.
    fn resize(&self, new_cap: usize, t: isize, b: isize) -> &Buffer<T> {
        let old = self.buffer.get();
        let new = Buffer::alloc(new_cap, t);
        // SAFETY: `new` is not yet shared; `old` is the current buffer, alive (see `buffer`).
        let (old_ref, new_ref) = unsafe { (&*old, &*new) };
        let mut i = t;
        while i.wrapping_sub(b) < 0 {
            // Only the owner writes slots, and it is here; thieves that took some of these
            // indices meanwhile only read them. Copies of items taken meanwhile are never read
            // as `T` (they lie below `top`).
            // SAFETY: so the source slot is not being written; the new slot is ours until
            // published.
            unsafe { old_ref.copy_to(i, new_ref, i) };
            i = i.wrapping_add(1);
        }
        // Ordering: Release publishes the copied items and the new stamps to the Acquire load
        // of `buffer` in `steal`.
        self.inner.back.buffer.store(new, Ordering::Release);
        self.buffer.set(new);
        self.small_pops.set(0);
        let grandparent = self.prev.replace(old);
        if !grandparent.is_null() {
            // SAFETY: unreachable from `back.buffer` since an earlier resize, retired once
            // (it leaves `prev` here), and all it held was copied on.
            unsafe { self.inner.retire(grandparent) };
        }
        #[cfg(all(test, weft_loom))]
        super::loom_tests::probe::RESIZED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        new_ref
    }

    /// Counts pops that leave fewer than a quarter of the slots in use, and halves the buffer
    /// after [`shrink_patience`] of them in a row; `[t, b)` are the live items. The patience
    /// keeps a deque that is filled and drained in bursts (a scheduler's usual pattern) from
    /// shrinking and growing again on every burst, while one that stays small for as long as
    /// it took to fill it once gives the memory back.
    #[inline]
    fn after_pop(&self, t: isize, b: isize) {
        let cap = self.buffer().cap();
        if b.wrapping_sub(t) >= (cap / 4) as isize {
            self.small_pops.set(0);
        } else if cap > MIN_CAP {
            let small = self.small_pops.get() + 1;
            if small >= shrink_patience(cap) {
                self.shrink(t, b);
            } else {
                self.small_pops.set(small);
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn shrink(&self, t: isize, b: isize) {
        self.resize(self.buffer().cap() / 2, t, b);
        #[cfg(all(test, weft_loom))]
        super::loom_tests::probe::SHRUNK.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        match self.flavor {
            Flavor::Lifo => self.pop_lifo(),
            Flavor::Fifo => self.pop_fifo(),
        }
    }

    /// Chase and Lev's `take`, with Le et al.'s orderings, and a shortcut for the last item.
    #[inline]
    fn pop_lifo(&self) -> Option<T> {
        let b = self.inner.back.bottom.load(Ordering::Relaxed);
        // `top` only grows, so a stale value can only make the deque look fuller than it is.
        let t = self.inner.top.load(Ordering::Relaxed);
        let len = b.wrapping_sub(t);
        if len <= 0 {
            return None;
        }
        if len == 1 {
            return self.pop_last(t);
        }
        let nb = b.wrapping_sub(1);
        // Ordering: Release keeps earlier pushes' item writes ordered before this value of
        // `bottom` too (see `push`); the claim on index nb is made by the fence below.
        self.inner.back.bottom.store(nb, Ordering::Release);
        // Ordering: SeqCst fence, Le et al.'s take: pairs with the fence in `steal` between a
        // thief's loads of top and bottom. In the single total order of SeqCst fences one
        // comes first: if ours, that thief's bottom load sees nb (or later); if its, our top
        // load below sees the top it read (and any CAS it made before its fence). So a thief
        // and the owner never both take the same index without one of them CASing `top`.
        fence(Ordering::SeqCst);
        let t = self.inner.top.load(Ordering::Relaxed);
        let len = nb.wrapping_sub(t);
        if len < 0 {
            // Thieves emptied it meanwhile: undo.
            // Ordering: Release, as every store to bottom (see `push`).
            self.inner.back.bottom.store(b, Ordering::Release);
            return None;
        }
        let buffer = self.buffer();
        if len == 0 {
            // The last item: race the thieves for it with a CAS on top.
            // Ordering: SeqCst as in Le et al.; the thieves' CAS on top is SeqCst too, and
            // exactly one CAS from t to t + 1 succeeds.
            let won = self
                .inner
                .top
                .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok();
            // Ordering: Release, as every store to bottom (see `push`).
            self.inner.back.bottom.store(b, Ordering::Release);
            if !won {
                return None;
            }
            // SAFETY: our CAS made index nb ours; we wrote it (or copied it) ourselves.
            let value = unsafe { buffer.read(nb) };
            // Index nb is gone and bottom stays above it: the slot's next index is
            // nb + cap. Only the owner reads stamps, so Relaxed suffices.
            buffer
                .stamp(nb)
                .store(nb.wrapping_add(buffer.cap() as isize), Ordering::Relaxed);
            self.after_pop(b, b);
            return Some(value);
        }
        // SAFETY: t < nb after the fence: no thief can take index nb (see the fence), and we
        // wrote it ourselves. The stamp stays nb: bottom is nb, the next push writes nb.
        let value = unsafe { buffer.read(nb) };
        self.after_pop(t, nb);
        Some(value)
    }

    /// Pops when the owner sees exactly one item, at index `t`: claim it with one CAS on top,
    /// as a thief would, instead of Chase and Lev's decrement, fence and CAS. Our `t` may be
    /// stale, but only low: if the CAS succeeds top was `t`, so index `t` is the one item
    /// (bottom is `t + 1` and only we move it); if it fails, a thief moved top past `t`, and
    /// nothing is left. Bottom stays put: after the CAS, top == bottom.
    #[inline]
    fn pop_last(&self, t: isize) -> Option<T> {
        // Ordering: SeqCst like the thieves' CAS on top: one of the claims on index t wins.
        // The item was written by this thread, so there is nothing to acquire.
        self.inner
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .ok()?;
        let buffer = self.buffer();
        // SAFETY: our CAS made index t ours; we wrote it (or copied it) ourselves.
        let value = unsafe { buffer.read(t) };
        // Only the owner reads stamps: Relaxed.
        buffer
            .stamp(t)
            .store(t.wrapping_add(buffer.cap() as isize), Ordering::Relaxed);
        let b = t.wrapping_add(1);
        self.after_pop(b, b);
        Some(value)
    }

    /// The FIFO flavour's pop: take the oldest item with a CAS, as a thief does. The owner
    /// alone moves `bottom`, so it needs no fence.
    #[inline]
    fn pop_fifo(&self) -> Option<T> {
        let b = self.inner.back.bottom.load(Ordering::Relaxed);
        let mut t = self.inner.top.load(Ordering::Relaxed);
        loop {
            if b.wrapping_sub(t) <= 0 {
                return None;
            }
            // Ordering: SeqCst like the thieves' CAS on top (one total order of claims);
            // the item was written by this thread, so no acquire is needed for it.
            match self.inner.top.compare_exchange_weak(
                t,
                t.wrapping_add(1),
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => t = now,
            }
        }
        let buffer = self.buffer();
        // SAFETY: our CAS made index t ours, and it is in the current buffer (every resize
        // copies from a top at most t). We wrote it ourselves.
        let value = unsafe { buffer.read(t) };
        // Only the owner reads stamps: Relaxed.
        buffer
            .stamp(t)
            .store(t.wrapping_add(buffer.cap() as isize), Ordering::Relaxed);
        self.after_pop(t.wrapping_add(1), b);
        Some(value)
    }

    /// Moves `count` items out of `src` (indices `first ..`) into this worker, as one push:
    /// oldest first for a FIFO worker, oldest on top for a LIFO one (so either pops them in
    /// the victim's order). Stamps each source slot as read.
    ///
    /// # Safety
    ///
    /// The caller's CAS made the `count` indices its own, and they are in `src`, which the
    /// caller keeps alive (pinned).
    unsafe fn take_from(&self, src: &Buffer<T>, first: isize, count: usize) {
        if count == 0 {
            return;
        }
        let b = self.inner.back.bottom.load(Ordering::Relaxed);
        let mut dst = self.buffer();
        let free = (0..count).all(|k| {
            let i = b.wrapping_add(k as isize);
            // Ordering: Acquire, as in `push`.
            dst.stamp(i).load(Ordering::Acquire) == i
        });
        if !free {
            dst = self.make_room(b, count);
        }
        for k in 0..count {
            let from = first.wrapping_add(k as isize);
            let to = match self.flavor {
                Flavor::Fifo => b.wrapping_add(k as isize),
                Flavor::Lifo => b.wrapping_add((count - 1 - k) as isize),
            };
            // The source index is ours (caller); the destination slot's stamp is its index
            // (checked above or made so by `make_room`).
            // SAFETY: so nobody writes the source slot until we stamp it below, and no thief
            // reaches the destination slot before the store of `bottom`.
            unsafe { src.copy_to(from, dst, to) };
            // Ordering: Release pairs with the victim owner's Acquire stamp load in `push`:
            // our read of the slot happens-before its next write there.
            src.stamp(from)
                .store(from.wrapping_add(src.cap() as isize), Ordering::Release);
        }
        // Ordering: Release publishes the moved items, as in `push`.
        self.inner
            .back
            .bottom
            .store(b.wrapping_add(count as isize), Ordering::Release);
    }
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        let prev = self.prev.replace(ptr::null_mut());
        if !prev.is_null() {
            // SAFETY: `prev` left `back.buffer` at an earlier resize and is retired once,
            // here; all it held was copied on.
            unsafe { self.inner.retire(prev) };
        }
    }
}

impl<T> Inner<T> {
    /// A thief's first step (Le et al.'s steal): reads `top`, then `bottom`, ordered against
    /// the owner's take (`pop_lifo`: store bottom, SeqCst fence, load top) so that they cannot
    /// miss each other: if our bottom load does not see the owner's decrement, the owner's top
    /// load sees the top we read (or a later one), and it CASes for that index instead of
    /// taking it silently.
    ///
    /// Le et al. write it as an Acquire load of top, a SeqCst fence, an Acquire load of
    /// bottom. Here the two loads are SeqCst instead, which C++20's rules for SC operations
    /// and fences make equivalent against the owner's fence: if our bottom load B misses the
    /// owner's store X, B precedes the owner's fence F in the SC order S ([atomics.order]
    /// p4.2, X happens-before F); the SeqCst CAS W that wrote the top we read precedes our top
    /// load in S, which precedes B; so W precedes F, and the owner's top load after F cannot
    /// read a value older than W's (p4.3). Every write to top is such a SeqCst CAS. On x86 the
    /// two loads are plain moves, where the fence is a locked instruction. loom models SeqCst
    /// accesses as Acquire/Release only, so the loom build keeps the fence.
    #[inline(always)]
    fn load_top_then_bottom(&self) -> (isize, isize) {
        #[cfg(not(weft_loom))]
        {
            // Ordering: SeqCst, as argued above; it also acquires, pairing with the Release
            // half of the CAS that wrote top.
            let t = self.top.load(Ordering::SeqCst);
            // Ordering: SeqCst, as argued above; its acquire half pairs with the owner's
            // Release stores of bottom: every item below the value read, and the buffer it
            // went into, happen-before what follows.
            let b = self.back.bottom.load(Ordering::SeqCst);
            (t, b)
        }
        #[cfg(weft_loom)]
        {
            // Ordering: Acquire pairs with the Release half of the CAS that wrote top, so that
            // CAS happens-before our fence (Le et al.'s proof needs it).
            let t = self.top.load(Ordering::Acquire);
            // Ordering: SeqCst fence pairs with the owner's fence in `pop_lifo`.
            fence(Ordering::SeqCst);
            // Ordering: Acquire pairs with the owner's Release stores of bottom.
            let b = self.back.bottom.load(Ordering::Acquire);
            (t, b)
        }
    }

    /// `bottom`, read by a thief right after its own successful CAS on `top` (the next claim
    /// of a LIFO batch): the same argument as `load_top_then_bottom`, with our CAS as the
    /// write to top that the owner's top load must not miss.
    #[inline(always)]
    fn load_bottom_after_claim(&self) -> isize {
        #[cfg(not(weft_loom))]
        {
            // Ordering: SeqCst, after our SeqCst CAS on top (see `load_top_then_bottom`).
            self.back.bottom.load(Ordering::SeqCst)
        }
        #[cfg(weft_loom)]
        {
            // Ordering: SeqCst fence pairs with the owner's in `pop_lifo`; our CAS is
            // sequenced before it.
            fence(Ordering::SeqCst);
            // Ordering: Acquire pairs with the owner's Release stores of bottom.
            self.back.bottom.load(Ordering::Acquire)
        }
    }
}

impl<T> Stealer<T> {
    pub(crate) fn len(&self) -> usize {
        // The same consistent snapshot a steal takes.
        let (t, b) = self.inner.load_top_then_bottom();
        b.wrapping_sub(t).max(0) as usize
    }

    /// Le et al.'s steal, but the slot is read after the CAS (see the module docs).
    #[inline]
    pub(crate) fn steal(&self) -> Steal<T> {
        self.steal_hooked(|| {}, || {})
    }

    /// `steal`, running `loaded` after the buffer is loaded and before the CAS, and `claimed`
    /// after a successful CAS, before the read: no-ops outside tests, where they let a test
    /// resize or wrap the deque under a thief's feet.
    #[inline]
    fn steal_hooked(&self, loaded: impl FnOnce(), claimed: impl FnOnce()) -> Steal<T> {
        let inner = &*self.inner;
        let (t, b) = inner.load_top_then_bottom();
        if b.wrapping_sub(t) <= 0 {
            return Steal::Empty;
        }
        let _pin = pin();
        // Ordering: Acquire pairs with the Release store in `resize`: items copied into this
        // buffer are visible. It is the buffer index t went into, or a later one holding a
        // copy of it (index t was pushed before the bottom we read, and its buffer before it).
        let buffer = inner.back.buffer.load(Ordering::Acquire);
        loaded();
        // SAFETY: loaded while pinned; a buffer is retired only after it is replaced, and
        // freed only once every thread pinned before that has unpinned.
        let buffer = unsafe { &*buffer };
        // Ordering: SeqCst as in Le et al.: one total order with the owner's last-item CAS
        // and other thieves; exactly one CAS from t succeeds.
        if inner
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Steal::Retry;
        }
        claimed();
        // Our CAS made index t ours, and `buffer` holds it: it is the buffer t was pushed into
        // or a later one, and a resize copies from a top that is at most t while our CAS can
        // still succeed. The item's write happens-before our read through bottom or the buffer
        // pointer.
        // SAFETY: so the slot holds our item, read once; the owner writes this slot again only
        // once we stamp it below.
        let value = unsafe { buffer.read(t) };
        // Ordering: Release pairs with the owner's Acquire stamp load in `push`: our read
        // happens-before its next write into this slot.
        buffer
            .stamp(t)
            .store(t.wrapping_add(buffer.cap() as isize), Ordering::Release);
        Steal::Success(value)
    }

    /// Steals about half of the items (at most [`MAX_BATCH`]) into `dest`; with `pop`, the
    /// oldest of them is returned instead of moved.
    #[inline]
    pub(crate) fn steal_batch(&self, dest: &Worker<T>, pop: bool) -> Steal<Option<T>> {
        self.steal_batch_hooked(dest, pop, || {})
    }

    /// `steal_batch`, running `between` before each claim after the first of a LIFO batch (a
    /// no-op outside tests, where it lets the owner pop and re-push under the thief).
    #[inline]
    fn steal_batch_hooked(
        &self,
        dest: &Worker<T>,
        pop: bool,
        mut between: impl FnMut(),
    ) -> Steal<Option<T>> {
        if Arc::ptr_eq(&self.inner, &dest.inner) {
            // Stealing from oneself moves nothing.
            return if pop {
                dest.pop().map_or(Steal::Empty, |v| Steal::Success(Some(v)))
            } else if dest.len() == 0 {
                Steal::Empty
            } else {
                Steal::Success(None)
            };
        }
        let inner = &*self.inner;
        let (t, b) = inner.load_top_then_bottom();
        let len = b.wrapping_sub(t);
        if len <= 0 {
            return Steal::Empty;
        }
        let want = (len as usize).div_ceil(2).min(MAX_BATCH);
        let _pin = pin();
        // Ordering: Acquire, as in `steal`. Every index below `b` is in this buffer (or we
        // fail to claim it), and we claim no more than `want <= len`.
        let buffer = inner.back.buffer.load(Ordering::Acquire);
        // SAFETY: loaded while pinned, as in `steal`.
        let buffer = unsafe { &*buffer };
        let taken = match self.flavor {
            Flavor::Fifo => {
                // The FIFO owner also takes from top, with a CAS, so one CAS can claim the
                // whole batch.
                // Ordering: SeqCst as in `steal`.
                if inner
                    .top
                    .compare_exchange(
                        t,
                        t.wrapping_add(want as isize),
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    )
                    .is_err()
                {
                    return Steal::Retry;
                }
                want
            }
            Flavor::Lifo => {
                // The LIFO owner pops at bottom without a CAS whenever it sees more than one
                // item, so each index needs its own claim, after its own bottom load ordered
                // after our previous CAS (Le et al.'s steal again, with that CAS as the top
                // "load").
                let mut taken = 0;
                loop {
                    let i = t.wrapping_add(taken as isize);
                    if taken > 0 {
                        between();
                        let b = inner.load_bottom_after_claim();
                        if b.wrapping_sub(i) <= 0 {
                            break;
                        }
                        // Meanwhile the owner may have popped index i without a CAS (top was
                        // below it), moved to a new buffer and pushed a new item i there; our
                        // buffer still holds the popped one. The bottom we just read is then
                        // the new push's (or later), so this load sees the new buffer: stop.
                        // If the buffer is unchanged, slot i holds the live item i.
                        // Ordering: Acquire, as in `steal`.
                        if !ptr::eq(inner.back.buffer.load(Ordering::Acquire), buffer) {
                            break;
                        }
                    }
                    // Ordering: SeqCst as in `steal`.
                    if inner
                        .top
                        .compare_exchange(i, i.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
                        .is_err()
                    {
                        break;
                    }
                    taken += 1;
                    if taken == want {
                        break;
                    }
                }
                if taken == 0 {
                    return Steal::Retry;
                }
                taken
            }
        };
        let mut first = t;
        let mut rest = taken;
        let popped = if pop {
            // SAFETY: index t is ours (claimed above) and in `buffer`; see `steal`.
            let value = unsafe { buffer.read(t) };
            // Ordering: Release, as in `steal`.
            buffer
                .stamp(t)
                .store(t.wrapping_add(buffer.cap() as isize), Ordering::Release);
            first = t.wrapping_add(1);
            rest -= 1;
            Some(value)
        } else {
            None
        };
        // SAFETY: indices `first .. t + taken` are ours and in `buffer`, kept alive by the pin.
        unsafe { dest.take_from(buffer, first, rest) };
        Steal::Success(popped)
    }
}

impl<T> fmt::Debug for Worker<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("flavor", &self.flavor)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Stealer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stealer")
            .field("flavor", &self.flavor)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Test-only views of the internals, for unit tests that drive the resize and stamp paths
/// deterministically.
#[cfg(all(test, not(weft_loom)))]
impl<T> Worker<T> {
    pub(crate) fn capacity(&self) -> usize {
        self.buffer().cap()
    }

    pub(crate) fn buffer_id(&self) -> usize {
        self.buffer.get() as usize
    }
}

#[cfg(all(test, not(weft_loom)))]
impl<T> Stealer<T> {
    /// `steal`, with `loaded` run once the thief has loaded the buffer (before its CAS) and
    /// `claimed` once its CAS succeeded (before it reads the item).
    pub(crate) fn steal_with(&self, loaded: impl FnOnce(), claimed: impl FnOnce()) -> Steal<T> {
        self.steal_hooked(loaded, claimed)
    }

    /// `steal_batch`, with `between` run before each claim after the first of a LIFO batch.
    pub(crate) fn steal_batch_with(
        &self,
        dest: &Worker<T>,
        pop: bool,
        between: impl FnMut(),
    ) -> Steal<Option<T>> {
        self.steal_batch_hooked(dest, pop, between)
    }
}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn lifo<T>() -> Worker<T> {
        Worker::new(Flavor::Lifo)
    }

    /// Counts drops per item id, so a test can check each item was dropped exactly once.
    #[derive(Debug)]
    struct Tracked(usize, Rc<RefCell<Vec<usize>>>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.1.borrow_mut()[self.0] += 1;
        }
    }

    /// Pushes and pops one item `n` times: the deque stays as small as it is.
    fn churn(w: &Worker<usize>, n: usize) {
        for _ in 0..n {
            w.push(usize::MAX);
            assert_eq!(w.pop(), Some(usize::MAX));
        }
    }

    #[test]
    fn grows_and_shrinks() {
        let w = lifo::<usize>();
        assert_eq!(w.capacity(), MIN_CAP);
        for i in 0..MIN_CAP * 4 {
            w.push(i);
        }
        assert_eq!(w.capacity(), MIN_CAP * 4);
        // Draining a burst keeps the size: the next burst will need it.
        for i in (MIN_CAP / 4..MIN_CAP * 4).rev() {
            assert_eq!(w.pop(), Some(i));
        }
        assert_eq!(w.capacity(), MIN_CAP * 4);
        // Staying small for as long as it took to fill the buffer halves it, twice.
        churn(&w, MIN_CAP * 4);
        assert_eq!(w.capacity(), MIN_CAP * 2);
        churn(&w, MIN_CAP * 2);
        assert_eq!(w.capacity(), MIN_CAP);
        churn(&w, MIN_CAP * 4);
        assert_eq!(w.capacity(), MIN_CAP, "below the minimum");
        for i in (0..MIN_CAP / 4).rev() {
            assert_eq!(w.pop(), Some(i));
        }
        assert_eq!(w.pop(), None);
    }

    #[test]
    fn fifo_grows_and_shrinks() {
        let w = Worker::new(Flavor::Fifo);
        for i in 0..MIN_CAP * 4 {
            w.push(i);
        }
        assert_eq!(w.capacity(), MIN_CAP * 4);
        for i in 0..MIN_CAP * 4 {
            assert_eq!(w.pop(), Some(i));
        }
        assert_eq!(w.pop(), None);
        churn(&w, MIN_CAP * 8);
        assert_eq!(w.capacity(), MIN_CAP);
    }

    /// A thief loads the buffer, the owner resizes, the thief takes index 0 through the old
    /// buffer: the new buffer's stamp for 0 goes stale, and the owner must clear it through
    /// `prev` (same buffer, no second resize) when it wraps around to that slot.
    #[test]
    fn stale_stamp_is_cleared_through_prev() {
        let w = lifo::<usize>();
        let s = w.stealer();
        for i in 0..MIN_CAP {
            w.push(i);
        }
        let stolen = s.steal_with(|| w.push(MIN_CAP), || {});
        assert_eq!(stolen, Steal::Success(0));
        assert_eq!(w.capacity(), 2 * MIN_CAP);
        let grown = w.buffer_id();
        // Indices up to 2 * MIN_CAP: the last one lands in the stale slot of index 0.
        for i in MIN_CAP + 1..=2 * MIN_CAP {
            w.push(i);
        }
        assert_eq!(
            w.buffer_id(),
            grown,
            "stale stamp resolved by a resize, not through prev"
        );
        let mut rest: Vec<usize> = std::iter::from_fn(|| w.pop()).collect();
        rest.sort_unstable();
        assert_eq!(rest, (1..=2 * MIN_CAP).collect::<Vec<_>>());
    }

    /// A thief has claimed index 0 and not yet read it when the owner wraps around to its
    /// slot: the owner must move to a new buffer instead of overwriting the item.
    #[test]
    fn a_slow_reader_is_never_overwritten() {
        let w = lifo::<usize>();
        let s = w.stealer();
        for i in 0..MIN_CAP {
            w.push(i);
        }
        let before = w.buffer_id();
        let stolen = s.steal_with(
            || {},
            || {
                // Index MIN_CAP maps to slot 0, which the thief is about to read.
                w.push(MIN_CAP);
            },
        );
        assert_eq!(stolen, Steal::Success(0));
        assert_ne!(
            w.buffer_id(),
            before,
            "the owner wrote over a slot being read"
        );
        assert_eq!(w.capacity(), MIN_CAP, "a same-size buffer suffices");
        let mut rest: Vec<usize> = std::iter::from_fn(|| w.pop()).collect();
        rest.sort_unstable();
        assert_eq!(rest, (1..=MIN_CAP).collect::<Vec<_>>());
    }

    /// Between two claims of a LIFO batch the owner pops the next index without a CAS,
    /// moves to a new buffer and pushes a new item at that index: the thief must not claim
    /// the index and read the popped item from its old buffer.
    #[test]
    fn lifo_batch_stops_when_an_index_was_reused_in_a_new_buffer() {
        let w = lifo::<usize>();
        let s = w.stealer();
        let n = MIN_CAP * 4;
        for i in 0..n {
            w.push(i);
        }
        let mine = Worker::new(Flavor::Fifo);
        let mut popped = Vec::new();
        let mut once = true;
        let stolen = s.steal_batch_with(&mine, true, || {
            if std::mem::take(&mut once) {
                // Top is 1. Pop down to index 1 (no CAS: top < index); pushing and popping
                // index 2 (the batch's next-but-one claim) until the buffer shrinks leaves the
                // thief's buffer with a popped item in slot 2; then push a new item there, in
                // the new buffer.
                while w.len() > 1 {
                    popped.push(w.pop().unwrap());
                }
                let before = w.buffer_id();
                while w.buffer_id() == before {
                    churn(&w, 1);
                }
                w.push(1000);
            }
        });
        assert_eq!(stolen, Steal::Success(Some(0)));
        let mut all: Vec<usize> = popped;
        all.extend(std::iter::from_fn(|| mine.pop()));
        all.extend(std::iter::from_fn(|| w.pop()));
        all.sort_unstable();
        let mut want: Vec<usize> = (1..n).collect();
        want.push(1000);
        assert_eq!(all, want, "an item was taken twice or lost");
    }

    /// A steal that loaded a buffer which a shrink then replaced still takes its item.
    #[test]
    fn steal_across_a_shrink() {
        let w = lifo::<usize>();
        let s = w.stealer();
        for i in 0..MIN_CAP * 4 {
            w.push(i);
        }
        let stolen = s.steal_with(
            || {
                while w.len() > 2 {
                    w.pop();
                }
                churn(&w, MIN_CAP * 8);
                assert_eq!(w.capacity(), MIN_CAP);
            },
            || {},
        );
        assert_eq!(stolen, Steal::Success(0));
        assert_eq!(w.pop(), Some(1));
        assert_eq!(w.pop(), None);
    }

    /// A thief that loaded the buffer loses its CAS when the owner took the item meanwhile.
    #[test]
    fn steal_retries_after_the_owner_took_the_item() {
        let w = lifo::<usize>();
        let s = w.stealer();
        w.push(1);
        assert_eq!(
            s.steal_with(|| assert_eq!(w.pop(), Some(1)), || {}),
            Steal::Retry
        );
        assert_eq!(s.steal(), Steal::Empty);
    }

    #[test]
    fn batches_keep_the_victims_order() {
        for (src, dst) in [
            (Flavor::Lifo, Flavor::Lifo),
            (Flavor::Lifo, Flavor::Fifo),
            (Flavor::Fifo, Flavor::Lifo),
            (Flavor::Fifo, Flavor::Fifo),
        ] {
            let victim = Worker::new(src);
            for i in 0..100 {
                victim.push(i);
            }
            let mine = Worker::new(dst);
            assert_eq!(
                victim.stealer().steal_batch(&mine, false),
                Steal::Success(None)
            );
            let got: Vec<i32> = std::iter::from_fn(|| mine.pop()).collect();
            assert_eq!(
                got,
                (0..MAX_BATCH as i32).collect::<Vec<_>>(),
                "{src:?} -> {dst:?}"
            );
            assert_eq!(
                victim.stealer().steal_batch(&mine, true),
                Steal::Success(Some(MAX_BATCH as i32))
            );
            let got: Vec<i32> = std::iter::from_fn(|| mine.pop()).collect();
            assert_eq!(got.len(), MAX_BATCH - 1);
            assert_eq!(got[0], MAX_BATCH as i32 + 1);
            assert_eq!(victim.len(), 100 - 2 * MAX_BATCH);
        }
    }

    /// A batch into a worker whose buffer must grow to take it.
    #[test]
    fn batch_grows_the_destination() {
        let victim = lifo::<usize>();
        for i in 0..200 {
            victim.push(i);
        }
        let mine = lifo::<usize>();
        for i in 0..MIN_CAP - 1 {
            mine.push(1000 + i);
        }
        assert!(victim.stealer().steal_batch(&mine, false).is_success());
        assert_eq!(mine.len(), MIN_CAP - 1 + MAX_BATCH);
        assert!(mine.capacity() > MIN_CAP);
        assert_eq!(mine.pop(), Some(0));
    }

    #[test]
    fn stealing_from_oneself_moves_nothing() {
        let w = lifo::<u8>();
        let s = w.stealer();
        assert_eq!(s.steal_batch(&w, false), Steal::Empty);
        assert_eq!(s.steal_batch(&w, true), Steal::Empty);
        w.push(1);
        w.push(2);
        assert_eq!(s.steal_batch(&w, false), Steal::Success(None));
        assert_eq!(w.len(), 2);
        assert_eq!(s.steal_batch(&w, true), Steal::Success(Some(2)));
    }

    /// Items are dropped exactly once whether popped, stolen, moved by a batch, copied
    /// across resizes, or left in the deque (and in a batch destination) at the end.
    #[test]
    fn drops_exactly_once_across_growth_and_shrink() {
        let n = MIN_CAP * 4;
        let drops = Rc::new(RefCell::new(vec![0; n]));
        {
            let w = lifo();
            let s = w.stealer();
            let mine = Worker::new(Flavor::Fifo);
            for i in 0..n {
                w.push(Tracked(i, drops.clone()));
            }
            for _ in 0..n / 4 {
                drop(w.pop());
            }
            for _ in 0..n / 8 {
                drop(s.steal());
            }
            drop(s.steal_batch(&mine, true));
            for _ in 0..n / 4 {
                drop(w.pop());
            }
            // Left in both deques: dropped with them.
        }
        assert!(
            drops.borrow().iter().all(|&d| d == 1),
            "{:?}",
            drops.borrow()
        );
    }

    /// A type with padding and uninitialised bytes travels through every path: the deque
    /// never reads its bytes as integers (Miri checks this).
    #[test]
    fn padded_and_enum_items() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        struct Padded(u8, u64, u16);
        let w = lifo::<(Padded, Option<u32>)>();
        let s = w.stealer();
        let mine = lifo();
        let item = |i: usize| {
            (
                Padded(i as u8, i as u64, 7),
                (i % 2 == 0).then_some(i as u32),
            )
        };
        for i in 0..MIN_CAP * 2 {
            w.push(item(i));
        }
        assert_eq!(s.steal(), Steal::Success(item(0)));
        assert_eq!(s.steal_batch(&mine, true), Steal::Success(Some(item(1))));
        assert_eq!(mine.pop(), Some(item(2)));
        assert_eq!(w.pop(), Some(item(MIN_CAP * 2 - 1)));
    }
}
