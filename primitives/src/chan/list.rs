//! The unbounded flavour (`unbounded()`): a lock-free linked list of fixed-size blocks.
//!
//! # Algorithm
//!
//! Messages live in blocks of `BLOCK_CAP` slots linked through `next`; a block is allocated
//! once per `BLOCK_CAP` messages, never per message. `head` and `tail` are positions, each
//! a counter plus the block it currently points into. Counters run in *laps* of
//! `LAP = BLOCK_CAP + 1` positions: offsets `0..BLOCK_CAP` name slots, and offset `BLOCK_CAP`
//! is a transient state meaning "the thread that took the last slot is moving this position
//! to the next block" — others wait for it, so the counter and its block pointer only ever
//! change together. The counter is stored shifted left by one; the low bit is `MARK` (in
//! `tail`: the channel is closed) or `HAS_NEXT` (in `head`: a later block exists, so the
//! receiver need not read `tail` to know the slot will be filled).
//!
//! A sender claims a slot with one CAS on `tail`, writes the message, and sets the slot's
//! `written` flag (a plain store: nothing else writes that word). A receiver claims a slot
//! with one CAS on `head` (after checking the list is not empty), waits for `written`, and
//! reads. The sender of a block's last slot installs the
//! next block (allocated before its CAS, so the window in which others wait is short).
//!
//! This is the design of crossbeam-channel's list flavour
//! (<https://github.com/crossbeam-rs/crossbeam/blob/master/crossbeam-channel/src/flavors/list.rs>),
//! itself after Vyukov's unbounded queues; the code here is our own, with two differences:
//! the first block is allocated with the channel (no lazy-installation race), and moving
//! `tail` to the next block is a `fetch_add`, not a store, so a `close` that lands in that
//! window keeps its mark.
//!
//! # Reclamation, without an epoch
//!
//! A block is freed by the receivers, once every one of its slots has been read. Each slot
//! has a `READ` bit (set by its receiver after reading) and a `DESTROY` bit. The receiver of a
//! block's last slot is the last to *claim* a slot of the block, but others may still be
//! reading; so it walks the slots in order: a slot already `READ` is done; on the first slot
//! that is not, it sets `DESTROY` and stops — that slot's receiver, on setting `READ`, sees
//! `DESTROY` and continues the walk from the next slot. Whoever finishes the walk frees the
//! block. Exactly one thread frees each block, after every reader is done with it.
//!
//! Why no other thread can still hold the pointer:
//! - a sender dereferences its block only after its CAS on `tail` succeeded, and its last
//!   access (setting `written`) precedes that slot's read, hence the free;
//! - a receiver dereferences its block only after its CAS on `head` succeeded; that slot's
//!   read precedes the free (the walk waits for it), and a receiver that loaded a stale
//!   block pointer fails its CAS, since counters never repeat and a position's block pointer
//!   changes only while its counter sits at the transient offset;
//! - `Drop` runs with no handle left.
//!
//! This is as sound as an epoch scheme here and cheaper: no pin per operation, and memory is
//! returned as soon as a block is consumed.
//!
//! Senders never wait (the list grows); receivers wait in `receivers`, as in the ring buffer.

use core::cell::Cell;
use core::mem::MaybeUninit;
use core::ptr;
use core::task::{Poll, Waker};
use std::time::Instant;

use crossbeam_utils::CachePadded;

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::handle::{RecvHandle, SendHandle, Token};
use super::waiters::{block_on, AsyncWait, WaitList, Waiter};
use crate::backoff::Backoff;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering,
};
use crate::unwind::FirstPanic;

/// Slots per block. Under loom, two: the models then cross block boundaries in a few steps.
#[cfg(not(weft_loom))]
const BLOCK_CAP: usize = 31;
#[cfg(weft_loom)]
const BLOCK_CAP: usize = 2;
/// Positions per lap: every slot, plus the transient "moving to the next block" offset.
const LAP: usize = BLOCK_CAP + 1;
/// Counters are stored shifted by this much, leaving room for the mark bit.
const SHIFT: usize = 1;
/// In `tail`: the channel is closed. In `head`: a block after the head's block exists.
const MARK: usize = 1;
const HAS_NEXT: usize = 1;
/// One position, in the stored (shifted) form.
const ONE: usize = 1 << SHIFT;

/// Slot `state` bits: the reclamation walk's word, apart from `written` so that the sender's
/// publication is a store, not a read-modify-write.
const READ: u32 = 1;
const DESTROY: u32 = 2;
/// Set by a send that was given back (a `SelectedOperation` dropped uncompleted) before it
/// sets `written`: the slot holds no message, and its receiver passes it by.
const HOLE: u32 = 4;

struct Slot<T> {
    msg: UnsafeCell<MaybeUninit<T>>,
    /// Set by the sender once `msg` is written (or, with `HOLE`, once it gave the slot up).
    written: AtomicBool,
    /// `READ`, `DESTROY` and `HOLE`.
    state: AtomicU32,
}

impl<T> Slot<T> {
    /// Waits until the sender that claimed this slot has written it. The sender is between its
    /// CAS and its write: a few instructions, unless it was preempted, hence the snooze.
    fn wait_write(&self) {
        let mut backoff = Backoff::new();
        // Ordering: Acquire pairs with the sender's Release store of `written`: the message is
        // visible once the flag is.
        while !self.written.load(Ordering::Acquire) {
            backoff.snooze();
        }
    }
}

struct Block<T> {
    /// The next block, set once by the sender of this block's last slot.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
    /// Model build only: loom cannot see a use-after-free of plain memory, so under loom
    /// blocks are kept until the channel drops, and the reclamation is an exclusive access to
    /// this cell while every thread's last use of the block is a shared access to it (see
    /// `assert_live`). loom's causality check on the cell then fails any execution in which
    /// the reclamation does not happen-after every use, whatever the schedule.
    #[cfg(weft_loom)]
    reclaim: UnsafeCell<bool>,
}

impl<T> Block<T> {
    fn new() -> Box<Self> {
        Box::new(Self {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: core::array::from_fn(|_| Slot {
                msg: UnsafeCell::new(MaybeUninit::uninit()),
                written: AtomicBool::new(false),
                state: AtomicU32::new(0),
            }),
            #[cfg(weft_loom)]
            reclaim: UnsafeCell::new(false),
        })
    }

    /// Model build only: records a use of the block (see `reclaim`) and asserts it was not
    /// reclaimed yet. Called at a thread's last access to a block; earlier accesses precede it
    /// in program order, so the check covers them too.
    #[inline(always)]
    fn assert_live(&self) {
        #[cfg(weft_loom)]
        self.reclaim.with(|freed| {
            // SAFETY: a shared access to a cell that is only written by the reclamation, which
            // loom checks happens-after this read.
            assert!(!unsafe { *freed }, "list block used after it was reclaimed");
        });
    }

    /// Waits for the next block (its installer claimed this block's last slot and is about to
    /// link it) and returns it.
    fn wait_next(&self) -> *mut Self {
        let mut backoff = Backoff::new();
        loop {
            // Ordering: Acquire pairs with the installing sender's Release store of `next`:
            // the new block's initialised slots are visible through the pointer.
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Continues the reclamation walk (module docs) from slot `start`; frees the block if no
    /// reader is left.
    ///
    /// # Safety
    ///
    /// `this` is a live block whose every slot has been claimed by a receiver, and the caller
    /// is the thread whose turn it is in the walk: the receiver of the last slot (`start` 0),
    /// or the receiver of slot `start - 1` that found `DESTROY` set.
    unsafe fn destroy(this: *mut Self, start: usize) {
        // SAFETY: live, per the contract (and checked under loom).
        unsafe { &*this }.assert_live();
        // The last slot is read by the walk's starter, before it starts: skip it.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is live: its slot `i` (not yet passed by the walk) still has a
            // reader to come, or has one done; either way nobody has freed it.
            let slot = unsafe { &(*this).slots[i] };
            // Ordering: Acquire on both reads pairs with the reader's AcqRel `fetch_or(READ)`:
            // its read of the message happens-before the free below.
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                // Still being read: that reader continues the walk.
                return;
            }
        }
        // Model build: mark it reclaimed (`dealloc` leaves it to the channel's `Drop`).
        #[cfg(weft_loom)]
        {
            // SAFETY: the block is still allocated here (it is freed just below).
            let block = unsafe { &*this };
            // SAFETY: loom checks this write against every use of the block (`assert_live`).
            block.reclaim.with_mut(|freed| unsafe { *freed = true });
        }
        // SAFETY: every slot was read (the walk saw each READ with Acquire), so no thread uses
        // the block any more (module docs); it came from `Box::into_raw` in `push` or `new`.
        unsafe { dealloc(this) };
    }
}

/// One end: a counter and the block it points into.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

/// The unbounded channel.
pub(crate) struct Channel<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    /// Receivers waiting for a message. Senders never wait.
    receivers: WaitList,
    /// Slots given up by their sender (`HOLE`) and not yet passed by a receiver, so that
    /// `len` stays exact. Relaxed: a count for snapshots.
    holes: AtomicUsize,
    /// Model build only: the first block, from which `Drop` frees every block.
    #[cfg(weft_loom)]
    first: *mut Block<T>,
}

// The channel moves `T`s between threads (so `T: Send`); each slot's message is accessed by
// one sender, then one receiver, ordered by the slot's state bits; blocks are freed by
// exactly one thread after every access (module docs).
// SAFETY: hence sending the channel to another thread is sound for `T: Send`.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    pub(crate) fn new() -> Self {
        let first = Box::into_raw(Block::new());
        Self {
            head: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            }),
            tail: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            }),
            receivers: WaitList::new(),
            holes: AtomicUsize::new(0),
            #[cfg(weft_loom)]
            first,
        }
    }

    /// Claims the next slot to send into: its block and offset go into `token` (a null block
    /// if the channel is closed). Never fails otherwise: the list grows. The slot must then be
    /// filled by [`write`](Self::write): its receiver waits for it.
    fn start_send(&self, token: &mut Token) {
        let mut backoff = Backoff::new();
        // The block to link after this one, allocated before claiming a block's last slot.
        let mut next_block: Option<Box<Block<T>>> = None;
        // Ordering: Acquire pairs with the Release `fetch_add` that moved `tail` to a new
        // block, so the block pointer loaded below is at least that new block.
        let mut tail = self.tail.index.load(Ordering::Acquire);
        loop {
            if tail & MARK != 0 {
                token.ptr = ptr::null();
                return;
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another sender is installing the next block.
                backoff.snooze();
                // Ordering: as the first load.
                tail = self.tail.index.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::new());
            }
            // Ordering: Acquire pairs with the Release store in the block installation below.
            let block = self.tail.block.load(Ordering::Acquire);
            // Ordering: SeqCst on success: the claim is ordered with the receivers' fence +
            // `tail` load (emptiness), with `close`, and it is the SeqCst change the wait
            // list's `notify_one` relies on. Acquire on failure, as the loads above.
            match self.tail.index.compare_exchange_weak(
                tail,
                tail + ONE,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = Box::into_raw(next_block.take().expect("allocated above"));
                        // Ordering: Release, read by senders' Acquire load of `tail.block`
                        // after they see the counter move (next line).
                        self.tail.block.store(next, Ordering::Release);
                        // Ordering: Release pairs with senders' Acquire loads of the counter,
                        // publishing the block pointer stored above. An add, not a store: a
                        // concurrent `close` may have set MARK meanwhile.
                        self.tail.index.fetch_add(ONE, Ordering::Release);
                        // Ordering: Release pairs with `wait_next`'s Acquire load: the new
                        // block's initialisation is visible to the receiver that follows it.
                        // `block` is live: our slot in it is claimed and unwritten, so its
                        // receiver cannot have finished, and nobody frees it before.
                        // SAFETY: so dereferencing it is sound.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    token.ptr = block.cast_const().cast();
                    token.pos = offset;
                    return;
                }
                Err(now) => {
                    tail = now;
                    backoff.spin();
                }
            }
        }
    }

    /// Fills the slot claimed by `start_send`; `Err(msg)` if the channel was closed instead.
    /// Does not notify.
    ///
    /// # Safety
    ///
    /// `token` comes from a `start_send` on this channel, and is used once.
    #[inline]
    unsafe fn write(&self, token: &Token, msg: T) -> Result<(), T> {
        if token.ptr.is_null() {
            return Err(msg);
        }
        let block = token.ptr.cast::<Block<T>>();
        // The claim gave us slot `pos` of `block`, which is live: our slot in it is claimed
        // and unwritten, so its receiver cannot have finished, and nobody frees it before.
        // No other sender has the slot, and its receiver waits for `written`.
        // SAFETY: so the block may be dereferenced and the slot is ours.
        let slot = unsafe { &(*block).slots[token.pos] };
        // SAFETY: exclusive, as just argued.
        slot.msg.with_mut(|p| unsafe { (*p).write(msg) });
        // SAFETY: live, as argued above; the model build checks it.
        unsafe { &*block }.assert_live();
        // Ordering: Release publishes the message to `wait_write`'s Acquire load. This is our
        // last access to the block.
        slot.written.store(true, Ordering::Release);
        Ok(())
    }

    /// Appends `msg` unless the channel is closed. Does not notify.
    #[inline]
    fn push(&self, msg: T) -> Result<(), T> {
        let mut token = Token::new();
        self.start_send(&mut token);
        // SAFETY: a fresh token from `start_send`.
        unsafe { self.write(&token, msg) }
    }

    /// Claims the oldest message: `true` with its block and offset in `token` (a null block
    /// if the channel is closed and drained), `false` if the list is empty. The slot must then
    /// be emptied by [`read`](Self::read).
    fn start_recv(&self, token: &mut Token) -> bool {
        let mut backoff = Backoff::new();
        loop {
            // Ordering: Acquire pairs with the Release store of the counter in the move to a
            // new block below, so `head.block` loaded next is at least that block.
            let head = self.head.index.load(Ordering::Acquire);
            // Ordering: Acquire pairs with the Release store of `head.block` below (and
            // through it, the installing sender's initialisation of the block).
            let block = self.head.block.load(Ordering::Acquire);
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another receiver is moving `head` to the next block.
                backoff.snooze();
                continue;
            }
            let mut new_head = head + ONE;
            if head & HAS_NEXT == 0 {
                // Ordering: SeqCst fence pairs with the senders' SeqCst CAS on `tail` and
                // with `close`: a sender's claim before our fence is seen by the load below.
                fence(Ordering::SeqCst);
                let tail = self.tail.index.load(Ordering::Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    if tail & MARK == 0 {
                        return false;
                    }
                    token.ptr = ptr::null();
                    return true;
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= HAS_NEXT;
                }
            }
            // Ordering: SeqCst on success, as the senders' CAS (the senders never read `head`,
            // but `len` does); Relaxed on failure: we reload with Acquire above.
            if self
                .head
                .index
                .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                backoff.spin();
                continue;
            }
            // The slot is ours. `block` is the block of `head`: it was loaded after a counter
            // we then found unchanged by the CAS, and a counter outside the transient offset
            // never pairs with another block.
            if offset + 1 == BLOCK_CAP {
                // SAFETY: `block` is live: our slot in it is unread, so no walk has freed it.
                let next = unsafe { (*block).wait_next() };
                let mut next_index = (new_head & !HAS_NEXT) + ONE;
                // Ordering: Relaxed is enough for a hint: a missing HAS_NEXT only makes the
                // next receiver read `tail`. `next` is live: the list's tail is in it or
                // beyond, and it is freed only after all its slots are read, which needs
                // `head` to move into it first.
                // SAFETY: so dereferencing it is sound.
                if !unsafe { (*next).next.load(Ordering::Relaxed) }.is_null() {
                    next_index |= HAS_NEXT;
                }
                // Ordering: Release pairs with the receivers' Acquire loads of `head.block`.
                self.head.block.store(next, Ordering::Release);
                // Ordering: Release pairs with the receivers' Acquire counter load, publishing
                // the block pointer. A plain store is safe: no one writes `head` while it sits
                // at the transient offset.
                self.head.index.store(next_index, Ordering::Release);
            }
            // SAFETY: `block` is live: our slot in it is claimed and not yet marked READ.
            let slot = unsafe { &(*block).slots[offset] };
            slot.wait_write();
            if slot.state.load(Ordering::Relaxed) & HOLE != 0 {
                // A hole (its sender gave it up before `written`, which we saw with Acquire):
                // pass it by, doing a reader's part in the block's reclamation.
                self.holes.fetch_sub(1, Ordering::Relaxed);
                // SAFETY: our claimed slot, unread, and we touch the block no more.
                unsafe { Self::release(block, offset) };
                continue;
            }
            token.ptr = block.cast_const().cast();
            token.pos = offset;
            return true;
        }
    }

    /// Takes the message from the slot claimed by `start_recv`; `Err(())` if the channel was
    /// closed and drained instead. Does not notify.
    ///
    /// # Safety
    ///
    /// `token` comes from a `start_recv` on this channel that returned `true`; used once.
    #[inline]
    unsafe fn read(&self, token: &Token) -> Result<T, ()> {
        if token.ptr.is_null() {
            return Err(());
        }
        let block = token.ptr.cast::<Block<T>>().cast_mut();
        let offset = token.pos;
        // SAFETY: `block` is live (our slot is unread) and slot `offset` is ours.
        let slot = unsafe { &(*block).slots[offset] };
        // SAFETY: `start_recv` saw `written` with Acquire and no `HOLE`: the message is
        // initialised, and the CAS made us its only reader.
        let msg = slot.msg.with(|p| unsafe { (*p).assume_init_read() });
        // SAFETY: our claimed slot, now read; we touch the block no more.
        unsafe { Self::release(block, offset) };
        Ok(msg)
    }

    /// A reader's last step on its claimed slot (read, or a hole passed by): its part in the
    /// block's reclamation walk (module docs).
    ///
    /// # Safety
    ///
    /// `block` is live and slot `offset` of it was claimed by the caller and not yet
    /// released; the caller touches the block no more.
    unsafe fn release(block: *mut Block<T>, offset: usize) {
        // SAFETY: live: our slot is claimed and not yet marked READ.
        unsafe { &*block }.assert_live();
        if offset + 1 == BLOCK_CAP {
            // SAFETY: we hold the last slot: every slot of the block is claimed, and the
            // walk starts with us.
            unsafe { Block::destroy(block, 0) };
        } else {
            // SAFETY: live, as above (our slot is not yet marked READ).
            let slot = unsafe { &(*block).slots[offset] };
            // Ordering: AcqRel: Release so a walker that sees READ (Acquire) knows our
            // read is done; Acquire so that, if a walker set DESTROY, its view of the
            // earlier slots carries over to us as we continue the walk.
            if slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
                // SAFETY: the walker stopped at our slot and handed the walk to us.
                unsafe { Block::destroy(block, offset + 1) };
            }
        }
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.push_notify(msg).map_err(TrySendError::Closed)
    }

    /// Never waits: an unbounded channel always has room. The deadline is irrelevant.
    pub(crate) fn send(
        &self,
        msg: T,
        _deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        self.try_send(msg)
            .map_err(|e| SendTimeoutError::Closed(e.into_inner()))
    }

    /// Takes the oldest message, if any. Does not notify (senders never wait).
    #[inline]
    fn pop(&self) -> Result<T, TryRecvError> {
        let mut token = Token::new();
        if !self.start_recv(&mut token) {
            return Err(TryRecvError::Empty);
        }
        // SAFETY: a fresh token from a successful `start_recv`.
        unsafe { self.read(&token) }.map_err(|()| TryRecvError::Closed)
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.pop()
    }

    fn attempt_recv(&self) -> Option<Result<T, ()>> {
        match self.pop() {
            Ok(m) => Some(Ok(m)),
            Err(TryRecvError::Closed) => Some(Err(())),
            Err(TryRecvError::Empty) => None,
        }
    }

    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match block_on(&self.receivers, deadline, |_| self.attempt_recv()) {
            Some(Ok(m)) => Ok(m),
            Some(Err(())) => Err(RecvTimeoutError::Closed),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    pub(crate) fn send_state(&self, msg: T) -> super::FlavorSend<T> {
        super::FlavorSend::List(Some(msg))
    }

    /// A send completes on its first poll: there is always room.
    pub(crate) fn poll_send(&self, msg: &mut Option<T>) -> Poll<Result<(), T>> {
        Poll::Ready(self.push_notify(msg.take().expect("polled after completion")))
    }

    /// Appends `msg` and wakes a waiting receiver, if any.
    fn push_notify(&self, msg: T) -> Result<(), T> {
        self.push(msg)?;
        self.receivers.notify_one();
        Ok(())
    }

    pub(crate) fn recv_state(&self) -> super::FlavorRecv<T> {
        super::FlavorRecv::List(AsyncWait::default())
    }

    /// # Safety
    ///
    /// As [`AsyncWait::poll`]: `wait` stays pinned until `finish_recv` runs.
    pub(crate) unsafe fn poll_recv(
        &self,
        wait: &mut AsyncWait,
        waker: &Waker,
    ) -> Poll<Result<T, ()>> {
        // SAFETY: forwarded from our caller.
        unsafe { wait.poll(&self.receivers, waker, || self.attempt_recv()) }
    }

    #[inline]
    pub(crate) fn finish_recv(&self, wait: &mut AsyncWait) {
        wait.finish(&self.receivers);
    }

    fn recv_ready(&self) -> bool {
        self.len() > 0 || self.is_closed()
    }

    /// Closes the channel; true if this call did. Later sends fail; receivers drain what is
    /// buffered, then see the close.
    pub(crate) fn close(&self) -> bool {
        // Ordering: SeqCst, ordered with the receivers' fence + `tail` load in `pop`.
        let tail = self.tail.index.fetch_or(MARK, Ordering::SeqCst);
        if tail & MARK != 0 {
            return false;
        }
        self.receivers.notify_all(super::waiters::CLOSED);
        true
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Ordering: SeqCst, a consistent view with `close`.
        self.tail.index.load(Ordering::SeqCst) & MARK != 0
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        None
    }

    /// Messages buffered now (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.occupied()
            .saturating_sub(self.holes.load(Ordering::Relaxed))
    }

    /// Changes with every claim and with the close (as the ring buffer's).
    pub(crate) fn version(&self) -> u128 {
        // Ordering: SeqCst loads, in the single order of the claiming CASes and `close`.
        let head = self.head.index.load(Ordering::SeqCst) as u128;
        let tail = self.tail.index.load(Ordering::SeqCst) as u128;
        head << 64 | tail
    }

    /// Slots between `head` and `tail`: messages and holes (a snapshot).
    fn occupied(&self) -> usize {
        loop {
            // Ordering: SeqCst loads give a consistent (head, tail) pair when `tail` is
            // unchanged across the `head` load.
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) == tail {
                return count_between(head >> SHIFT, tail >> SHIFT);
            }
        }
    }
}

// The operations of a select arm (see `handle.rs`): `try_select` claims a slot, `complete`
// moves the message and notifies, `give_back` undoes an uncompleted claim. A send arm never
// waits.

impl<T> SendHandle<T> for Channel<T> {
    fn try_select(&self, token: &mut Token, _: bool) -> bool {
        self.start_send(token);
        true
    }

    /// A send on the list never waits: always ready (never reached after a try pass).
    unsafe fn register(&self, _: &Waiter, _: usize, _: Option<&Cell<Option<T>>>) -> bool {
        true
    }

    fn unregister(&self, _: &Waiter, _: Option<&Cell<Option<T>>>) {}

    fn is_ready(&self) -> bool {
        true
    }

    fn pass_on(&self) {}

    fn version(&self) -> u128 {
        Channel::version(self)
    }

    unsafe fn complete(&self, token: &Token, msg: T) -> Result<(), T> {
        // SAFETY: forwarded from our caller: a claim of `start_send` on this channel.
        unsafe { self.write(token, msg) }?;
        self.receivers.notify_one();
        Ok(())
    }

    /// Gives back a send claim that was never written (a `SelectedOperation` dropped or
    /// completed with the wrong handle): the slot becomes a hole, which its receiver passes
    /// by (the list has no capacity to give back, and its slot order cannot be undone).
    unsafe fn give_back(&self, token: &Token) {
        if token.ptr.is_null() {
            return;
        }
        let block = token.ptr.cast::<Block<T>>();
        self.holes.fetch_add(1, Ordering::Relaxed);
        // SAFETY: live and ours, as in `write`.
        let slot = unsafe { &(*block).slots[token.pos] };
        slot.state.fetch_or(HOLE, Ordering::Relaxed);
        // SAFETY: live, as argued in `write`; the model build checks it.
        unsafe { &*block }.assert_live();
        // Ordering: Release publishes `HOLE` (and the count) to `wait_write`'s Acquire load,
        // as `write` publishes a message. Our last access to the block.
        slot.written.store(true, Ordering::Release);
        self.receivers.notify_one();
    }
}

impl<T> RecvHandle<T> for Channel<T> {
    fn try_select(&self, token: &mut Token, _: bool) -> bool {
        self.start_recv(token)
    }

    /// Registers a blocked `select`'s receive arm; returns whether a message (or the close)
    /// may be there now.
    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { self.receivers.register_oper(waiter, oper) };
        // Ordering: SeqCst fence between registering and re-checking (see `block_on`).
        fence(Ordering::SeqCst);
        self.recv_ready()
    }

    fn unregister(&self, waiter: &Waiter) {
        self.receivers.unregister(waiter);
    }

    fn is_ready(&self) -> bool {
        self.recv_ready()
    }

    /// A receive-arm watcher was notified but does not receive: pass the notification on.
    fn pass_on(&self) {
        self.receivers.notify_one();
    }

    fn version(&self) -> u128 {
        Channel::version(self)
    }

    unsafe fn complete(&self, token: &Token) -> Result<T, ()> {
        // SAFETY: forwarded from our caller: a claim of `start_recv` on this channel.
        unsafe { self.read(token) }
    }

    /// Gives back a receive claim that was never read: if `head` is still just past the
    /// slot (no receiver claimed after us) and within its block, it moves back and the
    /// message is first in line again (`None`); otherwise the message is read and returned
    /// for the caller to keep (the `Select` arm delivers it on its next selection).
    unsafe fn give_back(&self, token: &Token) -> Option<T> {
        if token.ptr.is_null() {
            return None;
        }
        if token.pos + 1 < BLOCK_CAP {
            // Ordering: Acquire, as in `start_recv`.
            let head = self.head.index.load(Ordering::Acquire);
            // Ordering: Acquire, as in `start_recv`.
            let block = self.head.block.load(Ordering::Acquire);
            // One block per lap, and `head` leaves a block only forwards: finding it in our
            // block at the offset after ours means no receiver claimed past our slot.
            if ptr::eq(block.cast_const().cast(), token.ptr)
                && (head >> SHIFT) % LAP == token.pos + 1
            {
                // Ordering: SeqCst, as the claiming CAS in `start_recv`.
                let moved_back = self.head.index.compare_exchange(
                    head,
                    head - ONE,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                );
                if moved_back.is_ok() {
                    self.receivers.notify_one();
                    return None;
                }
            }
        }
        // SAFETY: forwarded from our caller.
        unsafe { self.read(token) }.ok()
    }
}

/// Slots between positions `head` and `tail` (unshifted counters, `head <= tail`): the
/// positions between them minus the transient offset of every lap boundary crossed.
fn count_between(head: usize, tail: usize) -> usize {
    // A position at the transient offset counts as the start of the next lap.
    let normalise = |p: usize| {
        if p % LAP == BLOCK_CAP {
            p + 1
        } else {
            p
        }
    };
    let (head, tail) = (normalise(head), normalise(tail));
    if tail <= head {
        // `head` moved to the next lap just after we read `tail`; nothing is buffered.
        return 0;
    }
    (tail - head) - (tail / LAP - head / LAP)
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // `&mut self`: no handle is left, so no operation is in flight (the last one's drop
        // happened-before this through the `Arc`); Relaxed loads suffice.
        let mut head = self.head.index.load(Ordering::Relaxed) >> SHIFT;
        let tail = self.tail.index.load(Ordering::Relaxed) >> SHIFT;
        let mut block = self.head.block.load(Ordering::Relaxed);
        let mut panic = FirstPanic::default();
        // No operation in flight: neither counter sits at the transient offset.
        while head != tail {
            let offset = head % LAP;
            if offset < BLOCK_CAP {
                // Positions between head and tail are in live blocks.
                // SAFETY: so the block may be dereferenced.
                let slot = unsafe { &(*block).slots[offset] };
                // A slot holds a message when its sender wrote it and did not give it up (a
                // claim whose `SelectedOperation` was forgotten holds none); each is dropped
                // exactly once here, and a panicking `Drop` does not stop the others.
                let full = slot.written.load(Ordering::Relaxed)
                    && slot.state.load(Ordering::Relaxed) & HOLE == 0;
                if full {
                    // SAFETY: so the slot's message is initialised and dropped only here.
                    panic.run(|| slot.msg.with_mut(|p| unsafe { (*p).assume_init_drop() }));
                }
            } else {
                // SAFETY: every block from head's on is live and reachable only from here.
                let next = unsafe { (*block).next.load(Ordering::Relaxed) };
                // SAFETY: the block came from `Box::into_raw`; its messages are dropped above.
                unsafe { dealloc(block) };
                block = next;
            }
            head += 1;
        }
        // SAFETY: the block `tail` is in is live and no longer referenced.
        unsafe { dealloc(block) };

        // Model build: the blocks "freed" by receivers are still allocated, chained from the
        // first one; free them all now.
        #[cfg(weft_loom)]
        {
            let mut block = self.first;
            while !block.is_null() {
                // SAFETY: nothing was freed under loom; every block is reachable once.
                let next = unsafe { (*block).next.load(Ordering::Relaxed) };
                // SAFETY: from `Box::into_raw`, freed once here.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            }
        }
        panic.resume();
    }
}

/// Frees a block (its messages were moved out or dropped). A no-op in the model build, where
/// `Channel::drop` frees every block at the end (see `Block::freed`).
///
/// # Safety
///
/// `block` came from `Box::into_raw` and nobody uses it any more.
unsafe fn dealloc<T>(block: *mut Block<T>) {
    // SAFETY: per the contract.
    #[cfg(not(weft_loom))]
    drop(unsafe { Box::from_raw(block) });
    #[cfg(weft_loom)]
    let _ = block;
}
