//! The rendezvous flavour (`bounded(0)`): Go's unbuffered `make(chan T)`. A send completes only
//! when a receiver takes the value.
//!
//! Semantics follow Go's `runtime/chan.go` (`sendq`/`recvq` of waiting goroutines under the
//! channel lock; a sender that finds a waiting receiver copies the value straight into it), and
//! the hand-off packet follows crossbeam-channel's `zero.rs` (the selected party waits for a
//! `ready` flag, so the selector may finish the exchange after claiming it). What makes it fast
//! here is the waiter, not lock-freedom: a waiter spins briefly on its `selected` word before
//! parking, so a rendezvous between two running threads costs a few cache-line transfers
//! instead of a futex sleep and wake-up (the ~23 us per message of peers that park at once).
//!
//! # Invariants (under the channel lock)
//!
//! - A registered sender's packet holds its message until a receiver takes it.
//! - A *thread* receiver registers with an empty packet and is handed the message directly. A
//!   *task* receiver (async) is only notified and pulls from a waiting sender when next polled:
//!   a future can be dropped at any time, and a message handed to it would be lost.
//! - Hence a waiting sender and a waiting thread receiver never coexist: whoever arrives second
//!   completes the exchange.

use core::marker::{PhantomData, PhantomPinned};
use core::task::{Poll, Waker};
use std::time::Instant;

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::select::Token;
use super::waiters::{Entry, Selected, WaitQueue, Waiter, ABORTED, CLOSED, NOTIFIED};
use crate::backoff::Backoff;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{Mutex, MutexGuard};

/// `Packet::state`: no message yet.
const EMPTY: usize = 0;
/// The message is in the packet and may be taken.
const FULL: usize = 1;
/// The message was taken; the packet's owner may reuse or free it.
const DONE: usize = 2;

/// The message slot of a waiting party, on its stack, inside its future, or in a `select` arm.
///
/// A sender's packet is written by the sender side and emptied by the receiver side; a
/// receiver's packet the other way round. `state` orders the two: the writer stores `FULL`
/// after writing, the reader waits for `FULL`, takes, and stores `DONE`. A plain sender
/// registers its packet already `FULL`; a `select` send arm registers it `EMPTY` and writes
/// only once it has been selected (its value is computed then), so its partner waits briefly.
pub(crate) struct Packet<T> {
    msg: UnsafeCell<Option<T>>,
    state: AtomicUsize,
    /// Queues hold raw pointers to the packet while its owner keeps using it (see `Waiter`).
    _pin: PhantomPinned,
}

impl<T> Packet<T> {
    pub(crate) fn new(msg: Option<T>) -> Self {
        let state = if msg.is_some() { FULL } else { EMPTY };
        Self {
            msg: UnsafeCell::new(msg),
            state: AtomicUsize::new(state),
            _pin: PhantomPinned,
        }
    }

    /// Waits until the other party has moved `state` to `want`. Brief: the other party has
    /// selected us (or we it) and does not block before storing it.
    fn wait_for(&self, want: usize) {
        wait_state(&self.state, want);
    }

    /// Writer side: puts `msg` into the packet and publishes it.
    ///
    /// A raw pointer, not `&self`: when the packet is its reader's, the reader may free it as
    /// soon as it sees `FULL`, while this call has not returned yet. A `&Packet` argument
    /// would still be live (and, to Miri, protected) then, over bytes outside any
    /// `UnsafeCell` (the padding of a `Packet<()>`); only the `&AtomicUsize` of the final
    /// store is, as with `Arc`'s count.
    ///
    /// # Safety
    ///
    /// `this` points at a live packet of which the caller is the writer for this exchange
    /// (see the type docs); the reader does not touch `msg` before `FULL`.
    unsafe fn put(this: *const Self, msg: T) {
        // SAFETY: live per the contract; a reference to the field alone, never to `Self`.
        let cell = unsafe { &(*this).msg };
        // SAFETY: per the contract, nobody else accesses `msg` until we publish it.
        cell.with_mut(|p| unsafe { *p = Some(msg) });
        // SAFETY: live until the store below publishes the message.
        let state = unsafe { &(*this).state };
        // Ordering: Release publishes the message to the reader's Acquire in `wait_for`.
        state.store(FULL, Ordering::Release);
    }

    /// Reader side: waits for the message, takes it, and releases the packet to its owner
    /// (who may free it at once: we touch nothing after the `DONE` store; a raw pointer for
    /// the reason given at [`put`](Self::put)).
    ///
    /// # Safety
    ///
    /// `this` points at a packet of which the caller is the reader for this exchange (see
    /// the type docs), alive until our `DONE` store.
    unsafe fn take_full(this: *const Self) -> T {
        // SAFETY: live per the contract; references to single fields, never to `Self`.
        let (cell, state) = unsafe { (&(*this).msg, &(*this).state) };
        wait_state(state, FULL);
        // SAFETY: `FULL` seen with Acquire: the writer is done and touches `msg` no more.
        let msg = cell.with_mut(|p| unsafe { (*p).take() });
        // Ordering: Release: our take is done before the owner reuses or frees the packet.
        state.store(DONE, Ordering::Release);
        msg.expect("a FULL packet holds a message")
    }

    /// Owner side: the message, when no exchange happened (or after it completed).
    fn take(&self) -> Option<T> {
        // SAFETY: only the owner calls this, when no partner can touch the packet (the
        // waiter was never selected by one, or the exchange is over).
        self.msg.with_mut(|p| unsafe { (*p).take() })
    }

    /// Owner side: makes an unregistered packet `EMPTY` for a new registration.
    fn reset(&self) {
        drop(self.take());
        // Relaxed: the packet is unregistered, so nobody else reads `state`; the lock taken
        // to register it publishes the store.
        self.state.store(EMPTY, Ordering::Relaxed);
    }
}

/// [`Packet::wait_for`] on the state word alone (for [`Packet::take_full`], which holds no
/// `&Packet`).
fn wait_state(state: &AtomicUsize, want: usize) {
    let mut backoff = Backoff::new();
    // Ordering: Acquire pairs with the Release stores of `state` in `put` and `take_full`:
    // the partner's write to (or take from) `msg` is visible once we see its state.
    while state.load(Ordering::Acquire) != want {
        backoff.snooze();
    }
}

/// A blocked thread's waiter and packet, side by side in one cache line: the partner that
/// selects the thread claims the waiter's word, then moves the message through the packet
/// and stores its state, and the thread reads both; so one line moves between the two CPUs
/// per exchange instead of two.
#[repr(C, align(64))]
struct Parked<T> {
    waiter: Waiter,
    packet: Packet<T>,
}

impl<T> Parked<T> {
    fn new(msg: Option<T>) -> Self {
        Self {
            waiter: Waiter::for_thread(),
            packet: Packet::new(msg),
        }
    }
}

/// `Token::pos` of a committed exchange: the packet is the partner's.
const PARTNER: usize = 0;
/// `Token::pos` of a committed exchange: the packet is our own arm's (a partner selected us).
pub(crate) const OWN: usize = 1;

/// Whether a registration carries a packet (an exchange offer), rather than only a wish to be
/// told.
fn has_packet(e: &Entry) -> bool {
    !e.packet.is_null()
}

/// The channel state guarded by one lock, as Go's `hchan.lock` guards both queues.
#[derive(Default)]
struct Inner {
    senders: WaitQueue,
    receivers: WaitQueue,
    closed: bool,
}

impl Inner {
    /// The queue of one side (`send`: the senders) and of its partners.
    fn sides(&mut self, send: bool) -> (&mut WaitQueue, &mut WaitQueue) {
        if send {
            (&mut self.senders, &mut self.receivers)
        } else {
            (&mut self.receivers, &mut self.senders)
        }
    }
}

pub(crate) struct Channel<T> {
    inner: Mutex<Inner>,
    _marker: PhantomData<T>,
}

// SAFETY: messages move between threads through packets (so `T: Send`); they are never
// shared, so `T: Sync` is not needed. Everything else sits behind the `Mutex`.
unsafe impl<T: Send> Sync for Channel<T> {}

/// Async send state: the packet and the registration live in the pinned future.
pub(crate) struct AsyncSend<T> {
    packet: Packet<T>,
    waiter: Option<Waiter>,
    registered: bool,
    _pin: PhantomPinned,
}

/// Async receive state: a notify-only registration (see the module docs).
pub(crate) struct AsyncRecv<T> {
    waiter: Option<Waiter>,
    registered: bool,
    _pin: PhantomPinned,
    _marker: PhantomData<T>,
}

impl<T> Channel<T> {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            _marker: PhantomData,
        }
    }

    /// Hands `msg` to the first waiting receiver with a packet (a thread, or a `select` arm),
    /// if any. Returns it to wake after the lock is released.
    fn give_to_receiver(inner: &mut Inner, msg: T) -> Result<Selected, T> {
        let Some(sel) = inner.receivers.select_first(NOTIFIED, has_packet) else {
            return Err(msg);
        };
        // Receivers register a `Packet<T>` of this channel's `T`; we selected the receiver,
        // which now waits for `FULL` before touching or freeing its packet.
        // SAFETY: so the packet is live and typed, and we are its only writer.
        unsafe { Packet::put(sel.packet.cast::<Packet<T>>(), msg) };
        Ok(sel)
    }

    /// Selects the first waiting sender, if any: the caller must wake it (after unlocking)
    /// and then take its message with [`take_from`](Self::take_from), outside the lock (a
    /// `select` sender writes its message only after waking, and needs the lock to do so).
    fn select_sender(inner: &mut Inner) -> Option<Selected> {
        inner.senders.select_first(NOTIFIED, has_packet)
    }

    /// Wakes the selected sender and takes its message.
    fn take_from(sel: Selected) -> T {
        let packet = sel.packet.cast::<Packet<T>>();
        sel.wake();
        // Senders register a `Packet<T>` of this channel's `T`; we selected the sender, which
        // waits for our `DONE` before reusing or freeing its packet.
        // SAFETY: so the packet is live and typed, and we are its only reader.
        unsafe { Packet::take_full(packet) }
    }

    /// Wakes one registration without a packet (an async receiver, or a `Select::ready`
    /// watcher) in `queue`, so that it comes to look: the other side just changed.
    fn notify_watcher(queue: &mut WaitQueue) -> Option<Selected> {
        queue.select_first(NOTIFIED, |e| !has_packet(e))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(TrySendError::Closed(msg));
        }
        match Self::give_to_receiver(&mut inner, msg) {
            Ok(sel) => {
                drop(inner);
                sel.wake();
                Ok(())
            }
            Err(msg) => Err(TrySendError::Full(msg)),
        }
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut inner = self.lock();
        if let Some(sel) = Self::select_sender(&mut inner) {
            drop(inner);
            return Ok(Self::take_from(sel));
        }
        Err(if inner.closed {
            TryRecvError::Closed
        } else {
            TryRecvError::Empty
        })
    }

    // Out of line, here and in `recv`: the 64-byte-aligned `Parked` on the stack makes the
    // function realign its frame, which must not spread to the flavour dispatch in
    // `Sender::send` and so cost the other flavours' fast paths (+3 instructions per
    // message on the list, measured by ci/gungraun.sh).
    #[inline(never)]
    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(SendTimeoutError::Closed(msg));
        }
        let msg = match Self::give_to_receiver(&mut inner, msg) {
            Ok(sel) => {
                drop(inner);
                sel.wake();
                return Ok(());
            }
            Err(msg) => msg,
        };
        let parked = Parked::new(Some(msg));
        let (waiter, packet) = (&parked.waiter, &parked.packet);
        // `waiter` and `packet` live on this frame; every path below returns only after the
        // entry is gone: selected (the selector removed it, and we wait for `DONE` before
        // `packet` dies) or aborted (we unregister under the lock).
        // SAFETY: so the registered pointers outlive every use of them.
        unsafe {
            inner
                .senders
                .register(waiter, (packet as *const Packet<T>).cast())
        };
        let task = Self::notify_watcher(&mut inner.receivers);
        drop(inner);
        if let Some(t) = task {
            t.wake();
        }
        match waiter.wait(deadline) {
            NOTIFIED => {
                packet.wait_for(DONE);
                Ok(())
            }
            CLOSED => Err(SendTimeoutError::Closed(
                packet.take().expect("unsent message"),
            )),
            s => {
                debug_assert_eq!(s, ABORTED);
                self.lock().senders.unregister(waiter);
                Err(SendTimeoutError::Timeout(
                    packet.take().expect("unsent message"),
                ))
            }
        }
    }

    #[inline(never)]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut inner = self.lock();
        if let Some(sel) = Self::select_sender(&mut inner) {
            drop(inner);
            return Ok(Self::take_from(sel));
        }
        if inner.closed {
            return Err(RecvTimeoutError::Closed);
        }
        let parked = Parked::<T>::new(None);
        let (waiter, packet) = (&parked.waiter, &parked.packet);
        // SAFETY: as in `send`: we return only once the entry is gone and any exchange on
        // `packet` is complete.
        unsafe {
            inner
                .receivers
                .register(waiter, (packet as *const Packet<T>).cast())
        };
        let watcher = Self::notify_watcher(&mut inner.senders);
        drop(inner);
        if let Some(w) = watcher {
            w.wake();
        }
        match waiter.wait(deadline) {
            NOTIFIED => {
                packet.wait_for(FULL);
                Ok(packet.take().expect("a selecting sender hands its message"))
            }
            CLOSED => Err(RecvTimeoutError::Closed),
            s => {
                debug_assert_eq!(s, ABORTED);
                self.lock().receivers.unregister(waiter);
                Err(RecvTimeoutError::Timeout)
            }
        }
    }

    pub(crate) fn send_state(&self, msg: T) -> super::FlavorSend<T> {
        super::FlavorSend::Zero(AsyncSend {
            packet: Packet::new(Some(msg)),
            waiter: None,
            registered: false,
            _pin: PhantomPinned,
        })
    }

    pub(crate) fn recv_state(&self) -> super::FlavorRecv<T> {
        super::FlavorRecv::Zero(AsyncRecv {
            waiter: None,
            registered: false,
            _pin: PhantomPinned,
            _marker: PhantomData,
        })
    }

    /// # Safety
    ///
    /// `st` stays pinned (inside its future) until `finish_send` runs in the future's `Drop`.
    pub(crate) unsafe fn poll_send(
        &self,
        st: &mut AsyncSend<T>,
        waker: &Waker,
    ) -> Poll<Result<(), T>> {
        loop {
            if st.registered {
                let waiter = st.waiter.as_ref().expect("registered waiter");
                match waiter.selected() {
                    NOTIFIED => {
                        st.registered = false;
                        st.packet.wait_for(DONE);
                        return Poll::Ready(Ok(()));
                    }
                    CLOSED => {
                        st.registered = false;
                        return Poll::Ready(Err(st.packet.take().expect("unsent message")));
                    }
                    _ => {
                        if self.lock().senders.update_waker(waiter, waker) {
                            return Poll::Pending;
                        }
                        // Selected between the two checks: look again.
                        continue;
                    }
                }
            }
            let msg = st
                .packet
                .take()
                .expect("SendFuture polled after completion");
            let mut inner = self.lock();
            if inner.closed {
                return Poll::Ready(Err(msg));
            }
            let msg = match Self::give_to_receiver(&mut inner, msg) {
                Ok(sel) => {
                    drop(inner);
                    sel.wake();
                    return Poll::Ready(Ok(()));
                }
                Err(msg) => msg,
            };
            // SAFETY: the packet is unregistered, so only this future touches it.
            unsafe { Packet::put(&st.packet, msg) };
            let waiter = st.waiter.insert(Waiter::for_task(waker));
            // SAFETY: the waiter and packet live in the pinned future; `finish_send` (run by
            // its `Drop`) removes the entry or waits out the exchange first.
            unsafe {
                inner
                    .senders
                    .register(waiter, (&st.packet as *const Packet<T>).cast())
            };
            st.registered = true;
            let task = Self::notify_watcher(&mut inner.receivers);
            drop(inner);
            if let Some(t) = task {
                t.wake();
            }
            return Poll::Pending;
        }
    }

    /// A send future goes away: withdraw, or let a running exchange finish. Its message is
    /// then either delivered or dropped with the future.
    pub(crate) fn finish_send(&self, st: &mut AsyncSend<T>) {
        if !core::mem::take(&mut st.registered) {
            return;
        }
        let waiter = st.waiter.as_ref().expect("registered waiter");
        match waiter.try_abort() {
            Ok(()) => {
                self.lock().senders.unregister(waiter);
            }
            Err(NOTIFIED) => st.packet.wait_for(DONE),
            Err(_) => {} // closed: the message stays in the packet and drops with it
        }
    }

    /// # Safety
    ///
    /// `st` stays pinned (inside its future) until `finish_recv` runs in the future's `Drop`.
    pub(crate) unsafe fn poll_recv(
        &self,
        st: &mut AsyncRecv<T>,
        waker: &Waker,
    ) -> Poll<Result<T, ()>> {
        let mut inner = self.lock();
        if st.registered {
            let waiter = st.waiter.as_ref().expect("registered waiter");
            if !inner.receivers.update_waker(waiter, waker) {
                // A notifier selected (and removed) us: that wake-up is being served now.
                st.registered = false;
            }
        }
        if let Some(sel) = Self::select_sender(&mut inner) {
            let next = Self::withdraw(&mut inner, st);
            drop(inner);
            if let Some(n) = next {
                n.wake();
            }
            return Poll::Ready(Ok(Self::take_from(sel)));
        }
        if inner.closed {
            let next = Self::withdraw(&mut inner, st);
            drop(inner);
            if let Some(n) = next {
                n.wake();
            }
            return Poll::Ready(Err(()));
        }
        if !st.registered {
            let waiter = st.waiter.insert(Waiter::for_task(waker));
            // SAFETY: the waiter lives in the pinned future; `finish_recv` (run by its `Drop`)
            // removes the entry first if it is still there.
            unsafe { inner.receivers.register(waiter, core::ptr::null()) };
            st.registered = true;
        }
        Poll::Pending
    }

    /// The receive completed (or the future goes away) while registered: drop the
    /// registration under the lock. A notification that selected us meanwhile may have been
    /// meant for another waiting sender than the one we served, so it passes to another task
    /// receiver while senders still wait; returns that receiver to wake after unlocking.
    fn withdraw(inner: &mut Inner, st: &mut AsyncRecv<T>) -> Option<Selected> {
        if !core::mem::take(&mut st.registered) {
            return None;
        }
        let waiter = st.waiter.as_ref().expect("registered waiter");
        match waiter.try_abort() {
            Ok(()) => {
                inner.receivers.unregister(waiter);
                None
            }
            Err(NOTIFIED) if inner.senders.any_selectable(has_packet) => {
                Self::notify_watcher(&mut inner.receivers)
            }
            Err(_) => None,
        }
    }

    /// A receive future goes away: withdraw, passing on a notification it never served.
    pub(crate) fn finish_recv(&self, st: &mut AsyncRecv<T>) {
        if !st.registered {
            return;
        }
        let mut inner = self.lock();
        let next = Self::withdraw(&mut inner, st);
        drop(inner);
        if let Some(n) = next {
            n.wake();
        }
    }

    // The operations of a `select` arm (see `select.rs`). An arm completes in two steps:
    // `start_*` commits to the exchange (selects the partner), `complete_*` moves the message.
    // A `select` blocked on this channel registers its arm with its own packet; a partner that
    // selects it commits the whole `select` to that arm.

    /// Commits to sending to a waiting receiver, if one is there (or to failing, if the
    /// channel is closed). The receiver's packet goes into `token`.
    pub(crate) fn start_send(&self, token: &mut Token) -> bool {
        let mut inner = self.lock();
        if inner.closed {
            token.ptr = core::ptr::null();
            return true;
        }
        let Some(sel) = inner.receivers.select_first(NOTIFIED, has_packet) else {
            return false;
        };
        drop(inner);
        token.ptr = sel.packet;
        token.pos = PARTNER;
        sel.wake();
        true
    }

    /// Finishes a send committed by `start_send` (or by a receiver that selected our
    /// registered arm: `token` then names our own packet).
    ///
    /// # Safety
    ///
    /// `token` comes from `start_send` on this channel, or from `accept` of an arm of this
    /// channel whose registration a receiver selected; used once.
    pub(crate) unsafe fn complete_send(&self, token: &Token, msg: T) -> Result<(), T> {
        if token.ptr.is_null() {
            return Err(msg);
        }
        let packet = token.ptr.cast::<Packet<T>>();
        // SAFETY: a selected packet of this channel's `T`, alive until its owner sees our
        // `FULL` (a partner's) or our `DONE` wait returns (our own); we are its writer.
        unsafe { Packet::put(packet, msg) };
        if token.pos == OWN {
            // Our own packet: the receiver that selected us takes the message; wait for it
            // before the packet can be reused or freed.
            // SAFETY: our own packet lives in the arm, which outlives this call.
            unsafe { (*packet).wait_for(DONE) };
        }
        Ok(())
    }

    /// Commits to receiving from a waiting sender, if one is there (or to failing, if the
    /// channel is closed).
    pub(crate) fn start_recv(&self, token: &mut Token) -> bool {
        let mut inner = self.lock();
        if let Some(sel) = Self::select_sender(&mut inner) {
            drop(inner);
            token.ptr = sel.packet;
            token.pos = PARTNER;
            sel.wake();
            return true;
        }
        if inner.closed {
            token.ptr = core::ptr::null();
            return true;
        }
        false
    }

    /// Finishes a receive committed by `start_recv` (or by a sender that selected our
    /// registered arm).
    ///
    /// # Safety
    ///
    /// As [`complete_send`](Self::complete_send), for receives.
    pub(crate) unsafe fn complete_recv(&self, token: &Token) -> Result<T, ()> {
        if token.ptr.is_null() {
            return Err(());
        }
        // SAFETY: a selected packet of this channel's `T`, alive until our `DONE` store (a
        // partner's packet) or for as long as the arm (our own); we are its reader.
        Ok(unsafe { Packet::take_full(token.ptr.cast::<Packet<T>>()) })
    }

    /// Registers a blocked `select`'s send arm (`send`) or receive arm, with `packet`
    /// (`EMPTY`: a send arm's value is computed once the arm is selected), or without one for
    /// a watcher (`Select::ready`). Returns whether the operation may be ready now (a partner
    /// of another party waits, or closed).
    ///
    /// # Safety
    ///
    /// As [`WaitQueue::register`]; `packet` (if given) is a `Packet<T>` not registered
    /// elsewhere.
    pub(crate) unsafe fn register_arm(
        &self,
        send: bool,
        waiter: &Waiter,
        oper: usize,
        packet: Option<&Packet<T>>,
    ) -> bool {
        let mut inner = self.lock();
        let (own, other) = inner.sides(send);
        let ptr = packet.map_or(core::ptr::null(), |p| {
            p.reset();
            (p as *const Packet<T>).cast()
        });
        // SAFETY: forwarded from our caller.
        unsafe { own.register_oper(waiter, ptr, oper) };
        let ready = other.any_selectable(|e| has_packet(e) && !e.is(waiter));
        // A new exchange offer: a watcher of the other side may now proceed.
        let watcher = packet.and_then(|_| Self::notify_watcher(other));
        let ready = ready || inner.closed;
        drop(inner);
        if let Some(w) = watcher {
            w.wake();
        }
        ready
    }

    pub(crate) fn unregister_send(&self, waiter: &Waiter) {
        self.lock().senders.unregister(waiter);
    }

    pub(crate) fn unregister_recv(&self, waiter: &Waiter) {
        self.lock().receivers.unregister(waiter);
    }

    /// Whether a send (`send`) or a receive could proceed now: a partner waits, or the
    /// channel is closed.
    pub(crate) fn arm_ready(&self, send: bool) -> bool {
        let mut inner = self.lock();
        inner.closed || inner.sides(send).1.any_selectable(has_packet)
    }

    /// A watcher of one side was notified but does not act: pass the notification to another
    /// watcher of that side while a partner still waits (it may have been meant for it).
    pub(crate) fn pass_on(&self, send: bool) {
        let mut inner = self.lock();
        let (own, other) = inner.sides(send);
        let next = if other.any_selectable(has_packet) {
            Self::notify_watcher(own)
        } else {
            None
        };
        drop(inner);
        if let Some(n) = next {
            n.wake();
        }
    }

    pub(crate) fn close(&self) -> bool {
        let mut inner = self.lock();
        if inner.closed {
            return false;
        }
        inner.closed = true;
        inner.senders.select_all(CLOSED);
        inner.receivers.select_all(CLOSED);
        true
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub(crate) fn len(&self) -> usize {
        0
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        Some(0)
    }
}
