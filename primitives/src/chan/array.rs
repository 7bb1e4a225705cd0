//! The bounded flavour (`bounded(cap)`, `cap >= 1`): a lock-free ring buffer.
//!
//! The algorithm is Dmitry Vyukov's bounded MPMC queue
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>): every
//! slot carries a sequence stamp telling whose turn it is, so producers and consumers claim
//! slots with one CAS on `tail` / `head` and never touch each other's counters on the fast path.
//! As in crossbeam-channel's array flavour, positions carry a *lap* count above the index, so
//! stamps stay unambiguous for any capacity (not only powers of two), and the closed state is a
//! mark bit in `tail`.
//!
//! # Positions and stamps
//!
//! `mark_bit` is the smallest power of two above `cap`; `one_lap = 2 * mark_bit`. A position is
//! `lap * one_lap + index` (`index < cap`), with `mark_bit` set in `tail` once closed. Slot `i`
//! starts with stamp `i`. For a sender at position `t`: stamp `== t` means the slot is free for
//! this lap; it writes and stores stamp `t + 1`. For a receiver at position `h`: stamp
//! `== h + 1` means a message is there; it reads and stores stamp `h + one_lap` (free for the
//! next lap). Any other stamp means another thread is mid-operation on the slot, or the queue
//! is full/empty, told apart by reading the opposite counter.
//!
//! Blocking goes through the wait lists of `waiters.rs`: a sender that finds the buffer full
//! waits in `senders`, a receiver that finds it empty in `receivers`; each successful operation
//! notifies one waiter of the other side (one fence and one load when nobody waits).

use core::cell::Cell;
use core::mem::MaybeUninit;
use core::task::{Poll, Waker};
use std::time::Instant;

use crossbeam_utils::CachePadded;

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::handle::{RecvHandle, SendHandle, Token};
use super::waiters::{block_on, AsyncWait, WaitList, Waiter};
use crate::backoff::Backoff;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::unwind::FirstPanic;

struct Slot<T> {
    /// Whose turn it is on this slot (see the module docs).
    stamp: AtomicUsize,
    msg: UnsafeCell<MaybeUninit<T>>,
}

/// The state of an async send ([`Sender::send_async`](super::Sender::send_async), the sink),
/// pinned inside its future. Its registration *lends* the message: the `senders` entry points
/// at `msg`, and a receiver that frees a slot may move the message into the buffer and
/// complete the send on the sender's behalf (`notify_sender`). `msg` is in a cell because
/// that receiver writes it through the entry's pointer; who may touch it when is
/// [`AsyncWait::poll_lending`]'s rule.
pub(crate) struct AsyncSend<T> {
    wait: AsyncWait,
    msg: UnsafeCell<Option<T>>,
}

impl<T> AsyncSend<T> {
    /// After `finish_send`: the message, if it was not delivered.
    pub(crate) fn take_unsent(self) -> Option<T> {
        self.msg.into_inner()
    }
}

/// The ring buffer and its two wait lists.
pub(crate) struct Channel<T> {
    /// Next position to receive from.
    head: CachePadded<AtomicUsize>,
    /// Next position to send to; `mark_bit` set once closed.
    tail: CachePadded<AtomicUsize>,
    buffer: Box<[Slot<T>]>,
    cap: usize,
    one_lap: usize,
    mark_bit: usize,
    /// Set by `close` after the mark bit: a receiver polling without `exact` (see
    /// `start_send`) sees the close here, in a line nobody writes otherwise, instead of in
    /// `tail`. Relaxed: it only sends the receiver on to the exact check, which reads `tail`.
    closed: AtomicBool,
    /// Senders waiting for room.
    senders: WaitList,
    /// Receivers waiting for a message.
    receivers: WaitList,
    /// Slots claimed by a send that was given back and not written (a `SelectedOperation`
    /// dropped uncompleted), not yet passed by a receiver: each carries the stamp
    /// `(pos + 1) | mark_bit` (a *hole*), which receivers skip. Counted so that `len` stays
    /// exact. Relaxed: a count for snapshots, not a synchronisation.
    holes: AtomicUsize,
}

// The channel moves `T`s between threads (so `T: Send`), and each slot's message is accessed
// by exactly one thread at a time, as arbitrated by the stamps (see `try_send` and
// `try_recv`); everything else is atomics and `Sync` wait lists.
// SAFETY: so sending the channel to another thread is sound for `T: Send`.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    /// # Panics
    ///
    /// If `cap` is 0 (the caller routes that to the rendezvous flavour) or too large to
    /// allocate or to encode in a position.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        assert!(cap > 0, "array flavour needs a capacity of at least 1");
        let too_large =
            || -> ! { panic!("weft::chan::bounded: capacity {cap} is too large to allocate") };
        let mark_bit = cap
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .unwrap_or_else(|| too_large());
        let one_lap = mark_bit.checked_mul(2).unwrap_or_else(|| too_large());
        let mut buffer = Vec::new();
        if buffer.try_reserve_exact(cap).is_err() {
            too_large();
        }
        buffer.extend((0..cap).map(|i| Slot {
            stamp: AtomicUsize::new(i),
            msg: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            buffer: buffer.into_boxed_slice(),
            cap,
            one_lap,
            mark_bit,
            closed: AtomicBool::new(false),
            senders: WaitList::new(),
            receivers: WaitList::new(),
            holes: AtomicUsize::new(0),
        }
    }

    /// The position after `pos` (wrapping to the next lap after the last index).
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Claims a slot to send into, without waiting: `true` with the slot in `token` (or a
    /// null slot if the channel is closed), `false` if the buffer is full. A claimed slot must
    /// be filled by [`write`](Self::write): receivers of that position wait for it.
    ///
    /// `exact`: when the slot still holds last lap's message, read `head` to tell a full
    /// buffer from a receiver that is taking that message (and wait for the latter). Without
    /// it, both answer `false` at once. A waiting sender polls without `exact` and decides to
    /// park only after an exact attempt (`block_on`): polling `head` would keep the
    /// receivers' counter line shared with us, so that every receive's CAS on it first has to
    /// take it back, a cache-line round trip per message. Likewise `start_recv` and `tail`.
    /// One sender, one receiver, 2-vCPU KVM guest, 6 interleaved rounds, ns per message
    /// (exact polling -> inexact): bounded(1) 266 -> 103, bounded(2) 142 -> 52, bounded(16)
    /// 46 -> 24, bounded(1024) 23 -> 18; two senders on bounded(1) 687 -> 515.
    // Always inlined: with `help_send` as a second caller, rustc stopped inlining it into
    // the send paths, +10 instructions per blocking send (ci/gungraun.sh).
    #[inline(always)]
    fn start_send(&self, token: &mut Token, exact: bool) -> bool {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                token.ptr = core::ptr::null();
                return true;
            }
            let slot = &self.buffer[tail & (self.mark_bit - 1)];
            // Ordering: Acquire pairs with the receiver's Release stamp store in `read`, so its
            // read of the slot's previous message is done before we overwrite it.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                // Ordering: SeqCst on success so the claim is ordered with the receivers'
                // fence + tail load in `start_recv` (the full/empty checks read the other
                // counter).
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        token.ptr = (slot as *const Slot<T>).cast();
                        token.pos = tail + 1;
                        return true;
                    }
                    Err(now) => {
                        tail = now;
                        backoff.spin();
                    }
                }
            } else if (stamp & !self.mark_bit).wrapping_add(self.one_lap) == tail + 1 {
                // (A hole of last lap, `mark_bit` set, occupies its slot as a message does.)
                if !exact {
                    // Full, or a receiver is mid-read: either way not now.
                    return false;
                }
                // The slot still holds last lap's message: full, unless a receiver is just
                // taking it. Ordering: SeqCst fence pairs with the receivers' SeqCst CAS on
                // head, so a stale head cannot make a non-full buffer look full forever.
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return false;
                }
                // A receiver claimed the slot and is still reading it. It may have been
                // preempted (threads outnumber CPUs) and be queued on this very CPU, so the
                // wait spins briefly, then yields, rather than spinning without bound.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another sender claimed the slot a lap ahead of our view: reload.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Fills the slot claimed by `start_send`; `Err(msg)` if the channel was closed instead.
    /// Does not notify.
    ///
    /// # Safety
    ///
    /// `token` comes from a `start_send` on this channel that returned `true`, and is used
    /// once.
    #[inline]
    unsafe fn write(&self, token: &Token, msg: T) -> Result<(), T> {
        if token.ptr.is_null() {
            return Err(msg);
        }
        // SAFETY: the claim made this slot of our buffer ours for this lap: receivers wait
        // for stamp `tail + 1`, other senders for a later lap.
        let slot = unsafe { &*token.ptr.cast::<Slot<T>>() };
        // SAFETY: exclusive, as just argued.
        slot.msg.with_mut(|p| unsafe { (*p).write(msg) });
        // Ordering: Release publishes the message to the receiver's Acquire stamp load in
        // `start_recv`.
        slot.stamp.store(token.pos, Ordering::Release);
        Ok(())
    }

    /// Claims the oldest message, without waiting: `true` with its slot in `token` (or a null
    /// slot if the channel is closed and drained), `false` if the buffer is empty. A claimed
    /// slot must be emptied by [`read`](Self::read).
    ///
    /// `exact`: as in [`start_send`](Self::start_send), with `tail` (telling an empty buffer
    /// from a sender mid-write). A close is seen without it too, through `closed`.
    fn start_recv(&self, token: &mut Token, exact: bool) -> bool {
        let mut backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = &self.buffer[head & (self.mark_bit - 1)];
            // Ordering: Acquire pairs with the sender's Release stamp store in `write`, making
            // its message visible.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                // Ordering: SeqCst on success, ordered with the senders' fence + head load.
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        token.ptr = (slot as *const Slot<T>).cast();
                        token.pos = head.wrapping_add(self.one_lap);
                        return true;
                    }
                    Err(now) => {
                        head = now;
                        backoff.spin();
                    }
                }
            } else if stamp == (head + 1) | self.mark_bit {
                // A hole (a send given back): claim it as a message, and pass it by.
                // Ordering: SeqCst on success, as for a message.
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.holes.fetch_sub(1, Ordering::Relaxed);
                        // Ordering: Release pairs with the next lap's sender's Acquire stamp
                        // load, as in `read`.
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        head = self.head.load(Ordering::Relaxed);
                    }
                    Err(now) => {
                        head = now;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                if !exact && !self.closed.load(Ordering::Relaxed) {
                    // Empty, or a sender is mid-write: either way not now.
                    return false;
                }
                // No message in the slot: empty, unless a sender is just writing it.
                // Ordering: SeqCst fence pairs with the senders' SeqCst CAS on tail.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                if tail & !self.mark_bit == head {
                    if tail & self.mark_bit == 0 {
                        return false;
                    }
                    token.ptr = core::ptr::null();
                    return true;
                }
                // A sender claimed the slot and is still writing it; it may have been
                // preempted: spin briefly, then yield (as in `start_send`).
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            } else {
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the message from the slot claimed by `start_recv`; `Err(())` if the channel was
    /// closed and drained instead. Does not notify.
    ///
    /// # Safety
    ///
    /// `token` comes from a `start_recv` on this channel that returned `true`, and is used
    /// once.
    #[inline]
    unsafe fn read(&self, token: &Token) -> Result<T, ()> {
        if token.ptr.is_null() {
            return Err(());
        }
        // SAFETY: the claim made this slot of our buffer, and its message, ours; the sender's
        // Release stamp store (seen with Acquire in `start_recv`) completed its write.
        let slot = unsafe { &*token.ptr.cast::<Slot<T>>() };
        // SAFETY: as just argued: initialised, and we are its only reader.
        let msg = slot.msg.with(|p| unsafe { (*p).assume_init_read() });
        // Ordering: Release pairs with the next lap's sender's Acquire stamp load: our read is
        // done before it writes.
        slot.stamp.store(token.pos, Ordering::Release);
        Ok(msg)
    }

    /// Sends without waiting. Does not notify.
    #[inline]
    fn push(&self, msg: T, exact: bool) -> Result<(), TrySendError<T>> {
        let mut token = Token::new();
        if !self.start_send(&mut token, exact) {
            return Err(TrySendError::Full(msg));
        }
        // SAFETY: a fresh token from a successful `start_send`.
        unsafe { self.write(&token, msg) }.map_err(TrySendError::Closed)
    }

    /// Receives without waiting. Does not notify.
    #[inline]
    fn pop(&self, exact: bool) -> Result<T, TryRecvError> {
        let mut token = Token::new();
        if !self.start_recv(&mut token, exact) {
            return Err(TryRecvError::Empty);
        }
        // SAFETY: a fresh token from a successful `start_recv`.
        unsafe { self.read(&token) }.map_err(|()| TryRecvError::Closed)
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.push(msg, true)?;
        self.receivers.notify_one();
        Ok(())
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.recv_now(true)
    }

    /// `try_recv`, with `start_recv`'s choice of `exact`.
    fn recv_now(&self, exact: bool) -> Result<T, TryRecvError> {
        let msg = self.pop(exact)?;
        self.notify_sender();
        Ok(msg)
    }

    /// After a receive freed a slot: notify one waiting sender; if it is an async send that
    /// lends its message (see [`AsyncSend`]), move that message into the buffer on its behalf
    /// and complete its send (`TAKEN`), so the task is woken done instead of woken to retry.
    /// A woken task that retries costs a poll, a failed attempt and a new registration;
    /// between two tasks on one worker this halves the polls per message.
    #[inline]
    fn notify_sender(&self) {
        // Ordering: model build only, as in `WaitList::notify_one`.
        #[cfg(weft_loom)]
        fence(Ordering::SeqCst);
        // The same one load as `notify_one` when nobody waits (the blocking fast path).
        if !self.senders.is_empty() {
            self.notify_sender_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn notify_sender_slow(&self) {
        let help = |packet| {
            // SAFETY: every entry with a packet in `senders` is a lending `AsyncSend` of this
            // channel (`poll_send` is the only registration with one), and the helper runs
            // with the waiter claimed under the list's lock, as `help_send` requires.
            unsafe { self.help_send(packet) }
        };
        if self.senders.notify_one_helping(help) {
            self.receivers.notify_one();
        }
    }

    /// Moves a claimed lending sender's message into the buffer, if there is room at once:
    /// `TAKEN`, else `NOTIFIED` (the sender retries itself). Inexact (see `start_send`): no
    /// waiting under the lock; a slot still being read answers `NOTIFIED`, and the sender's
    /// own retry is exact.
    ///
    /// # Safety
    ///
    /// `packet` points at the `msg` cell of an [`AsyncSend<T>`] registered in `senders`, whose
    /// waiter the caller claimed (`HELPING`) while holding the list's lock: until the final
    /// word is stored, its owner neither touches the cell nor leaves.
    unsafe fn help_send(&self, packet: *const ()) -> usize {
        // SAFETY: as our caller promised: a live cell, ours alone while the waiter is claimed.
        let cell = unsafe { &*packet.cast::<UnsafeCell<Option<T>>>() };
        let mut token = Token::new();
        if !self.start_send(&mut token, false) {
            return super::waiters::NOTIFIED;
        }
        if token.ptr.is_null() {
            // Closed: the sender retries and gets its message back in the error.
            return super::waiters::NOTIFIED;
        }
        // SAFETY: exclusive access to the cell, as above.
        let msg = cell.with_mut(|m| unsafe { (*m).take() });
        let msg = msg.expect("a lending sender's message stays in its packet while it waits");
        // SAFETY: a fresh token from a successful `start_send`, with a slot (not closed).
        let written = unsafe { self.write(&token, msg) };
        debug_assert!(written.is_ok(), "a claimed slot takes the message");
        super::waiters::TAKEN
    }

    /// One attempt of an async send: the message is taken from `msg` on completion (or on
    /// close, into the error). Does not notify.
    fn attempt_push(&self, msg: &mut Option<T>, exact: bool) -> Option<Result<(), T>> {
        match self.push(msg.take().expect("message present until sent"), exact) {
            Ok(()) => Some(Ok(())),
            Err(TrySendError::Closed(m)) => Some(Err(m)),
            Err(TrySendError::Full(m)) => {
                *msg = Some(m);
                None
            }
        }
    }

    /// One attempt of a blocking send: `None` while full. `msg` is taken on completion, and
    /// the receivers are notified.
    #[inline]
    fn attempt_send(&self, msg: &mut Option<T>, exact: bool) -> Option<Result<(), T>> {
        let done = self.attempt_push(msg, exact);
        if let Some(Ok(())) = done {
            self.receivers.notify_one();
        }
        done
    }

    fn attempt_recv(&self, exact: bool) -> Option<Result<T, ()>> {
        match self.recv_now(exact) {
            Ok(m) => Some(Ok(m)),
            Err(TryRecvError::Closed) => Some(Err(())),
            Err(TryRecvError::Empty) => None,
        }
    }

    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut slot = Some(msg);
        match block_on(&self.senders, deadline, |exact| {
            self.attempt_send(&mut slot, exact)
        }) {
            Some(Ok(())) => Ok(()),
            Some(Err(m)) => Err(SendTimeoutError::Closed(m)),
            None => Err(SendTimeoutError::Timeout(
                slot.take().expect("unsent message"),
            )),
        }
    }

    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match block_on(&self.receivers, deadline, |exact| self.attempt_recv(exact)) {
            Some(Ok(m)) => Ok(m),
            Some(Err(())) => Err(RecvTimeoutError::Closed),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    pub(crate) fn send_state(&self, msg: T) -> super::FlavorSend<T> {
        super::FlavorSend::Array(AsyncSend {
            wait: AsyncWait::default(),
            msg: UnsafeCell::new(Some(msg)),
        })
    }

    pub(crate) fn recv_state(&self) -> super::FlavorRecv<T> {
        super::FlavorRecv::Array(AsyncWait::default())
    }

    /// # Safety
    ///
    /// As [`AsyncWait::poll`]: `wait` stays pinned until `finish_send` runs.
    pub(crate) unsafe fn poll_send(
        &self,
        st: &mut AsyncSend<T>,
        waker: &Waker,
    ) -> Poll<Result<(), T>> {
        let cell = &st.msg;
        let packet = (cell as *const UnsafeCell<Option<T>>).cast::<()>();
        let attempt = |exact| {
            // SAFETY: `poll_lending` runs the attempt only while no helper can claim the
            // waiter, so the cell is ours.
            cell.with_mut(|m| self.attempt_push(unsafe { &mut *m }, exact))
        };
        // SAFETY: forwarded from our caller (the state stays pinned until `finish_send`), and
        // `cell` is touched only inside the attempt, as `poll_lending` requires.
        let poll = unsafe { st.wait.poll_lending(&self.senders, waker, packet, attempt) };
        match poll {
            Poll::Pending => Poll::Pending,
            // A receiver moved the message (and notified the receivers).
            Poll::Ready(None) => Poll::Ready(Ok(())),
            Poll::Ready(Some(Ok(()))) => {
                self.receivers.notify_one();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Some(Err(m))) => Poll::Ready(Err(m)),
        }
    }

    #[inline]
    pub(crate) fn finish_send(&self, st: &mut AsyncSend<T>) {
        // A notification this send took and did not use is passed on as a receive gives
        // one: helping the next lending sender.
        st.wait
            .finish_passing_on(&self.senders, || self.notify_sender());
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
        unsafe { wait.poll(&self.receivers, waker, || self.attempt_recv(true)) }
    }

    #[inline]
    pub(crate) fn finish_recv(&self, wait: &mut AsyncWait) {
        wait.finish(&self.receivers);
    }

    /// Whether a send could proceed now (room, or the close).
    fn send_ready(&self) -> bool {
        // Holes take room until a receiver passes them: count them as messages here.
        self.occupied() < self.cap || self.is_closed()
    }

    fn recv_ready(&self) -> bool {
        self.len() > 0 || self.is_closed()
    }

    /// Closes the channel; true if this call did. Wakes every waiter: senders fail with their
    /// message back, receivers drain what is buffered, then see the close.
    pub(crate) fn close(&self) -> bool {
        // Ordering: SeqCst, ordered with the fences in `push`/`pop` that read `tail`.
        let tail = self.tail.fetch_or(self.mark_bit, Ordering::SeqCst);
        if tail & self.mark_bit != 0 {
            return false;
        }
        self.closed.store(true, Ordering::Relaxed);
        self.senders.notify_all(super::waiters::CLOSED);
        self.receivers.notify_all(super::waiters::CLOSED);
        true
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Ordering: SeqCst, a consistent view with `close`.
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        Some(self.cap)
    }

    /// Messages buffered now (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.occupied()
            .saturating_sub(self.holes.load(Ordering::Relaxed))
    }

    /// Changes with every completed claim and with the close (`head` and `tail` move
    /// monotonically, a given-back claim aside, which changes no readiness).
    pub(crate) fn version(&self) -> u128 {
        // Ordering: SeqCst loads, in the single order of the claiming CASes and `close`.
        let head = self.head.load(Ordering::SeqCst) as u128;
        let tail = self.tail.load(Ordering::SeqCst) as u128;
        head << 64 | tail
    }

    /// Slots between `head` and `tail`: messages and holes (a snapshot).
    fn occupied(&self) -> usize {
        loop {
            // Ordering: SeqCst loads give a consistent (head, tail) pair when tail is
            // unchanged across the head load.
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == tail {
                return self.count_between(head, tail & !self.mark_bit);
            }
        }
    }

    fn count_between(&self, head: usize, tail: usize) -> usize {
        let hix = head & (self.mark_bit - 1);
        let tix = tail & (self.mark_bit - 1);
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if tail == head {
            0
        } else {
            self.cap
        }
    }
}

// The operations of a select arm (see `handle.rs`): `try_select` claims a slot, `complete`
// moves the message and notifies the other side, `give_back` undoes an uncompleted claim.

impl<T> SendHandle<T> for Channel<T> {
    /// `exact` as in [`start_send`](Channel::start_send).
    fn try_select(&self, token: &mut Token, exact: bool) -> bool {
        self.start_send(token, exact)
    }

    /// Registers a blocked `select`'s send arm; returns whether room (or the close) may be
    /// there now.
    unsafe fn register(&self, waiter: &Waiter, oper: usize, _: Option<&Cell<Option<T>>>) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { self.senders.register_oper(waiter, oper) };
        // Ordering: SeqCst fence between registering and re-checking (see `block_on`).
        fence(Ordering::SeqCst);
        self.send_ready()
    }

    fn unregister(&self, waiter: &Waiter, _: Option<&Cell<Option<T>>>) {
        self.senders.unregister(waiter);
    }

    fn is_ready(&self) -> bool {
        self.send_ready()
    }

    /// A watcher was notified but does not act: pass the notification on (helping a
    /// lending sender, as a receive does).
    fn pass_on(&self) {
        self.notify_sender();
    }

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
    /// completed with the wrong handle): if no sender claimed a later slot meanwhile, `tail`
    /// moves back and the slot is free again, exactly as before; otherwise the slot becomes a
    /// hole that receivers pass by (see `holes`), taking its place in the capacity until then.
    unsafe fn give_back(&self, token: &Token) {
        if token.ptr.is_null() {
            return;
        }
        let pos = token.pos - 1;
        // Ordering: SeqCst, as the claiming CAS in `start_send`. Positions never repeat, so
        // finding `tail` at the position after ours means nobody claimed past it; receivers
        // of `pos` see stamp `pos` (no message) either way.
        if self
            .tail
            .compare_exchange(self.next(pos), pos, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.holes.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the claim made this slot of our buffer ours for this lap (as in `write`).
        let slot = unsafe { &*token.ptr.cast::<Slot<T>>() };
        // Ordering: Release, as `write`'s stamp store: receivers of `pos` read it with
        // Acquire; the slot holds nothing to publish, but the store ends our use of it.
        slot.stamp
            .store(token.pos | self.mark_bit, Ordering::Release);
        // A receiver may wait on this slot (a later one was written): let it pass.
        self.receivers.notify_one();
    }
}

impl<T> RecvHandle<T> for Channel<T> {
    /// `exact` as in [`start_recv`](Channel::start_recv).
    fn try_select(&self, token: &mut Token, exact: bool) -> bool {
        self.start_recv(token, exact)
    }

    /// The receive side of [`SendHandle::register`].
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

    fn pass_on(&self) {
        self.receivers.notify_one();
    }

    fn version(&self) -> u128 {
        Channel::version(self)
    }

    unsafe fn complete(&self, token: &Token) -> Result<T, ()> {
        // SAFETY: forwarded from our caller: a claim of `start_recv` on this channel.
        let msg = unsafe { self.read(token) }?;
        self.notify_sender();
        Ok(msg)
    }

    /// Gives back a receive claim that was never read: if no receiver claimed a later slot
    /// meanwhile, `head` moves back and the message is first in line again, exactly as
    /// before (`None`); otherwise it is read and returned, for the caller to keep (the
    /// `Select` arm delivers it on its next selection).
    unsafe fn give_back(&self, token: &Token) -> Option<T> {
        if token.ptr.is_null() {
            return None;
        }
        let pos = token.pos.wrapping_sub(self.one_lap);
        // Ordering: SeqCst, as the claiming CAS in `start_recv` (positions never repeat: see
        // `SendHandle::give_back`).
        if self
            .head
            .compare_exchange(self.next(pos), pos, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
        {
            // The message is receivable again: a receiver may have parked meanwhile.
            self.receivers.notify_one();
            return None;
        }
        // SAFETY: forwarded from our caller.
        unsafe { RecvHandle::complete(self, token) }.ok()
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can touch the channel; Relaxed loads suffice (the last
        // handle's drop happened-before this, through the `Arc` that owns the channel).
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark_bit;
        let mut pos = head;
        let mut panic = FirstPanic::default();
        for _ in 0..self.count_between(head, tail) {
            let slot = &self.buffer[pos & (self.mark_bit - 1)];
            // A position between head and tail holds a message exactly when its stamp says
            // so: not for a hole, nor for a claim whose `SelectedOperation` was forgotten.
            if slot.stamp.load(Ordering::Relaxed) == pos + 1 {
                // Stamp `pos + 1`: written by a completed send and not received; dropped once,
                // here. A panicking `Drop` does not stop the others (as `Vec`).
                // SAFETY: so the slot is initialised and nothing else reads it again.
                panic.run(|| slot.msg.with_mut(|p| unsafe { (*p).assume_init_drop() }));
            }
            pos = self.next(pos);
        }
        panic.resume();
    }
}
