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
//! - A send that cannot lend a packet (a [`Select`](super::Select) send arm awaited in a
//!   task, whose value comes only at completion, or a `try_send`) meets a receiver that only
//!   watches through the channel's one hand-off slot ([`Handoff`]): every receive takes from
//!   it first, so a message there is received once, after a close too, or drops with the
//!   channel. An async plain send that finds only watchers does the same rather than lend its
//!   packet: lending would cost a wake-up of the watcher and another of the sender once the
//!   watcher took the message, two task switches per message instead of one.

use core::cell::Cell;
use core::marker::{PhantomData, PhantomPinned};
use core::task::{Poll, Waker};
use std::time::Instant;

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::handle::{RecvHandle, SendHandle, Token, DELIVERED};
use super::waiters::{Entry, Selected, WaitQueue, Waiter, ABORTED, CLOSED, NOTIFIED};
use crate::backoff::Backoff;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{Mutex, MutexGuard};

/// `Packet::state`: no message yet.
const EMPTY: usize = 0;
/// The message is in the packet and may be taken.
const FULL: usize = 1;
/// The message was taken (or a `CANCELLED` seen): the packet's owner may reuse or free it.
const DONE: usize = 2;
/// The writer withdrew before writing (a `SelectedOperation` given back): no message comes;
/// the reader goes on waiting, or times out, as it asked. When the writer is the packet's
/// owner, it waits for the reader's `DONE` before it reuses the packet.
const CANCELLED: usize = 3;
/// The reader withdrew without taking the `FULL` message (a `SelectedOperation` given back):
/// the message is still the owner's, who goes on waiting with it.
const RETURNED: usize = 4;

/// The message slot of a waiting party, on its stack, inside its future, or in a `select` arm.
///
/// A sender's packet is written by the sender side and emptied by the receiver side; a
/// receiver's packet the other way round. `state` orders the two: the writer stores `FULL`
/// after writing, the reader waits for `FULL`, takes, and stores `DONE`. A plain sender, and
/// a `select!` send arm (whose value is evaluated on entering the select, as in Go), register
/// the packet already `FULL`; a [`Select`](super::Select) send arm, whose value comes with
/// its completion, registers it `EMPTY` and writes once selected, so its partner waits.
///
/// A committed exchange that is given back (a `SelectedOperation` dropped uncompleted)
/// moves `state` to `CANCELLED` (by the writer) or `RETURNED` (by the reader), and the
/// partner goes on waiting: see those states.
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

    /// Waits until the other party has moved `state` away from `from`, and returns the new
    /// state. Brief: the other party has selected us (or we it) and runs no user code before
    /// storing it, except a [`Select`](super::Select) user between `select` and completing.
    fn wait_while(&self, from: usize) -> usize {
        wait_while(&self.state, from)
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
        // Ordering: Release publishes the message to the reader's Acquire in `wait_while`.
        state.store(FULL, Ordering::Release);
    }

    /// Writer side, instead of [`put`](Self::put): no message will come (a selected send
    /// given back). The reader, the packet's owner, goes on waiting; this store is our last
    /// touch of the packet (raw pointer: see `put`).
    ///
    /// # Safety
    ///
    /// As [`put`](Self::put), and the packet is the reader's (the partner's) own.
    unsafe fn cancel_partner(this: *const Self) {
        // SAFETY: live until the store below, per the contract.
        let state = unsafe { &(*this).state };
        // Ordering: Release pairs with the owner's Acquire in `wait_while`; nothing was
        // written, but the store is our last access and must precede its reuse of the packet.
        state.store(CANCELLED, Ordering::Release);
    }

    /// Writer side on our own `EMPTY` packet, which a reader selected and waits on: no
    /// message will come. Waits for the reader's acknowledgement (`DONE`), after which
    /// the packet is ours again.
    fn cancel_own(&self) {
        // Ordering: Release pairs with the reader's Acquire in `wait_while` (`take_full`).
        self.state.store(CANCELLED, Ordering::Release);
        let now = self.wait_while(CANCELLED);
        debug_assert_eq!(now, DONE, "a cancelled packet is acknowledged with DONE");
    }

    /// Reader side: waits for the message, takes it, and releases the packet to its owner
    /// (who may free it at once: we touch nothing after the `DONE` store; a raw pointer for
    /// the reason given at [`put`](Self::put)). `None` if the writer cancelled instead.
    ///
    /// # Safety
    ///
    /// `this` points at a packet of which the caller is the reader for this exchange (see
    /// the type docs), alive until our `DONE` store.
    unsafe fn take_full(this: *const Self) -> Option<T> {
        // SAFETY: live per the contract; references to single fields, never to `Self`.
        let (cell, state) = unsafe { (&(*this).msg, &(*this).state) };
        let now = wait_while(state, EMPTY);
        let msg = if now == FULL {
            // SAFETY: `FULL` seen with Acquire: the writer is done and touches `msg` no more.
            Some(
                cell.with_mut(|p| unsafe { (*p).take() })
                    .expect("a FULL packet holds a message"),
            )
        } else {
            debug_assert_eq!(now, CANCELLED);
            None
        };
        // Ordering: Release: our take is done before the owner reuses or frees the packet
        // (and, after a `CANCELLED`, acknowledges it).
        state.store(DONE, Ordering::Release);
        msg
    }

    /// Reader side, instead of [`take_full`](Self::take_full): a selected receive given
    /// back. Waits for the writer's decision; a message stays in the packet for its owner
    /// (`RETURNED`), a cancellation is acknowledged (`DONE`). Our last touch of the packet.
    ///
    /// # Safety
    ///
    /// As [`take_full`](Self::take_full).
    unsafe fn return_partner(this: *const Self) {
        // SAFETY: live per the contract, until the store below.
        let state = unsafe { &(*this).state };
        let now = wait_while(state, EMPTY);
        let answer = if now == FULL { RETURNED } else { DONE };
        // Ordering: Release pairs with the owner's Acquire in `wait_while`: we did not touch
        // `msg`, and this store is our last access to the packet.
        state.store(answer, Ordering::Release);
    }

    /// Owner side: the message, when no exchange happened (or after it completed).
    pub(crate) fn take(&self) -> Option<T> {
        // SAFETY: only the owner calls this, when no partner can touch the packet (the
        // waiter was never selected by one, or the exchange is over).
        self.msg.with_mut(|p| unsafe { (*p).take() })
    }

    /// Owner side: makes an unregistered packet `EMPTY` (or `FULL` with `msg`) for a new
    /// registration.
    fn reset(&self, msg: Option<T>) {
        drop(self.take());
        let state = if msg.is_some() { FULL } else { EMPTY };
        // SAFETY: unregistered, so only the owner touches `msg`.
        self.msg.with_mut(|p| unsafe { *p = msg });
        // Relaxed: the packet is unregistered, so nobody else reads `state`; the lock taken
        // to register it publishes the store.
        self.state.store(state, Ordering::Relaxed);
    }
}

/// [`Packet::wait_while`] on the state word alone (for the raw-pointer functions, which hold
/// no `&Packet`).
fn wait_while(state: &AtomicUsize, from: usize) -> usize {
    let mut backoff = Backoff::new();
    loop {
        // Ordering: Acquire pairs with the Release stores of `state` (`put`, `take_full`, the
        // cancellations): the partner's write to (or take from) `msg` is visible once we see
        // its state.
        let now = state.load(Ordering::Acquire);
        if now != from {
            return now;
        }
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
/// `Token::pos` of a committed exchange through the channel's hand-off slot (see
/// [`Handoff`]); `Token::ptr` is then the channel.
const SLOT: usize = 2;

/// Whether a registration carries a packet (an exchange offer), rather than only a wish to be
/// told.
fn has_packet(e: &Entry) -> bool {
    !e.packet.is_null()
}

/// Whether a registration only watches (an async receiver, a `Select` arm in a task, a
/// `Select::ready` watcher), other than `waiter`'s own.
fn watches_besides(waiter: Option<&Waiter>) -> impl Fn(&Entry) -> bool + '_ {
    move |e| !has_packet(e) && !waiter.is_some_and(|w| e.is(w))
}

/// The hand-off slot: how a send that cannot lend a packet meets a receiver that only
/// watches.
///
/// Both a [`Select`](super::Select) send arm awaited in a task and every async receive only
/// watch (neither may leave a partner waiting on a future that can be dropped: see the
/// module docs), so two of them would wait for each other for ever. Instead, a send that
/// finds no receiver with a packet but a watching one reserves the slot (`start_send`),
/// puts its message there on completion and wakes a watcher, and every receive takes from
/// the slot first. A watcher dropped after that wake-up passes it on, and a message left in
/// the slot goes to the next receiver (after a close too), or drops with the channel: it is
/// never lost. Such a send completes when its message is in the slot rather than in a
/// receiver's hands, the one way in which this channel is not strictly Go's rendezvous.
enum Handoff<T> {
    /// Nothing in transit.
    Free,
    /// A committed send will put its message here (or give the reservation back).
    Reserved,
    /// A message for the next receiver.
    Full(T),
    /// A committed receive will take this message (or give it back: `Full` again).
    Claimed(T),
}

/// The channel state guarded by one lock, as Go's `hchan.lock` guards both queues.
struct Inner<T> {
    senders: WaitQueue,
    receivers: WaitQueue,
    closed: bool,
    handoff: Handoff<T>,
    /// Changes of `handoff` so far (wrapping), for `version`.
    handoffs: usize,
}

impl<T> Inner<T> {
    /// The queue of one side (`send`: the senders) and of its partners.
    fn sides(&mut self, send: bool) -> (&mut WaitQueue, &mut WaitQueue) {
        if send {
            (&mut self.senders, &mut self.receivers)
        } else {
            (&mut self.receivers, &mut self.senders)
        }
    }

    fn set_handoff(&mut self, to: Handoff<T>) -> Handoff<T> {
        self.handoffs = self.handoffs.wrapping_add(1);
        core::mem::replace(&mut self.handoff, to)
    }

    /// Whether a receive could take the slot's message now.
    fn handoff_full(&self) -> bool {
        matches!(self.handoff, Handoff::Full(_))
    }

    /// Whether a send could reserve the slot now: it is free and a receiver other than
    /// `waiter` watches.
    fn can_reserve(&self, waiter: Option<&Waiter>) -> bool {
        matches!(self.handoff, Handoff::Free)
            && self.receivers.any_selectable(watches_besides(waiter))
    }

    /// Takes the slot's message, if it holds one for anybody (`Full`); returns it and a send
    /// watcher to wake after unlocking (the slot is free again for it).
    fn take_handoff(&mut self) -> Option<(T, Option<Selected>)> {
        if !self.handoff_full() {
            return None;
        }
        let Handoff::Full(msg) = self.set_handoff(Handoff::Free) else {
            unreachable!("checked Full")
        };
        Some((msg, self.slot_freed()))
    }

    /// The slot just became free: a send watcher may now reserve it, if a receiver watches.
    fn slot_freed(&mut self) -> Option<Selected> {
        if self.receivers.any_selectable(watches_besides(None)) {
            self.senders.select_first(NOTIFIED, watches_besides(None))
        } else {
            None
        }
    }

    /// Offers `msg`, in transit through the slot, to a receiver: straight into a waiting
    /// receiver's packet if there is one (the slot becomes free), else into the slot for a
    /// watcher, who is notified. Returns whom to wake after unlocking.
    fn offer(&mut self, msg: T) -> [Option<Selected>; 2] {
        if let Some(sel) = self.receivers.select_first(NOTIFIED, has_packet) {
            // Receivers register a `Packet<T>` of this channel's `T`; we selected the
            // receiver, which now waits for `FULL` before touching or freeing its packet.
            // SAFETY: so the packet is live and typed, and we are its only writer.
            unsafe { Packet::put(sel.packet.cast::<Packet<T>>(), msg) };
            self.set_handoff(Handoff::Free);
            return [Some(sel), self.slot_freed()];
        }
        self.set_handoff(Handoff::Full(msg));
        [
            self.receivers.select_first(NOTIFIED, watches_besides(None)),
            None,
        ]
    }
}

impl<T> Default for Inner<T> {
    fn default() -> Self {
        Self {
            senders: WaitQueue::default(),
            receivers: WaitQueue::default(),
            closed: false,
            handoff: Handoff::Free,
            handoffs: 0,
        }
    }
}

/// Wakes what an [`Inner`] operation selected (after the lock is released).
fn wake_all(sels: impl IntoIterator<Item = Option<Selected>>) {
    for s in sels.into_iter().flatten() {
        s.wake();
    }
}

pub(crate) struct Channel<T> {
    inner: Mutex<Inner<T>>,
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

impl<T> AsyncSend<T> {
    /// After `finish_send`: the message, if it was not delivered.
    pub(crate) fn take_unsent(self) -> Option<T> {
        debug_assert!(!self.registered, "finish_send first");
        self.packet.take()
    }
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
    fn give_to_receiver(inner: &mut Inner<T>, msg: T) -> Result<Selected, T> {
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
    fn select_sender(inner: &mut Inner<T>) -> Option<Selected> {
        inner.senders.select_first(NOTIFIED, has_packet)
    }

    /// Wakes the selected sender and takes its message; `None` if the sender, a
    /// [`Select`](super::Select) user, gave its selected send back instead (look again).
    fn take_from(sel: Selected) -> Option<T> {
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

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
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
            Err(msg) if inner.can_reserve(None) => {
                // Only watchers wait (tasks): the message waits for one in the slot.
                let wake = inner.offer(msg);
                drop(inner);
                wake_all(wake);
                Ok(())
            }
            Err(msg) => Err(TrySendError::Full(msg)),
        }
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        loop {
            let mut inner = self.lock();
            if let Some((msg, next)) = inner.take_handoff() {
                drop(inner);
                wake_all([next]);
                return Ok(msg);
            }
            if let Some(sel) = Self::select_sender(&mut inner) {
                drop(inner);
                match Self::take_from(sel) {
                    Some(msg) => return Ok(msg),
                    None => continue,
                }
            }
            return Err(if inner.closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
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
        let mut msg = msg;
        loop {
            let mut inner = self.lock();
            if inner.closed {
                return Err(SendTimeoutError::Closed(msg));
            }
            msg = match Self::give_to_receiver(&mut inner, msg) {
                Ok(sel) => {
                    drop(inner);
                    sel.wake();
                    return Ok(());
                }
                Err(msg) => msg,
            };
            let parked = Parked::new(Some(msg));
            let (waiter, packet) = (&parked.waiter, &parked.packet);
            // `waiter` and `packet` live on this frame; every path below leaves the iteration
            // only after the entry is gone: selected (the selector removed it, and we wait for
            // its `DONE` or `RETURNED` before `packet` dies) or aborted (we unregister under
            // the lock).
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
                NOTIFIED => match packet.wait_while(FULL) {
                    DONE => return Ok(()),
                    now => {
                        // A selecting receiver gave its receive back: the message is still
                        // ours; wait again (with what is left of the deadline).
                        debug_assert_eq!(now, RETURNED);
                        msg = packet.take().expect("a returned packet keeps its message");
                    }
                },
                CLOSED => {
                    return Err(SendTimeoutError::Closed(
                        packet.take().expect("unsent message"),
                    ))
                }
                s => {
                    debug_assert_eq!(s, ABORTED);
                    self.lock().senders.unregister(waiter);
                    return Err(SendTimeoutError::Timeout(
                        packet.take().expect("unsent message"),
                    ));
                }
            }
        }
    }

    #[inline(never)]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        loop {
            let mut inner = self.lock();
            if let Some((msg, next)) = inner.take_handoff() {
                drop(inner);
                wake_all([next]);
                return Ok(msg);
            }
            if let Some(sel) = Self::select_sender(&mut inner) {
                drop(inner);
                match Self::take_from(sel) {
                    Some(msg) => return Ok(msg),
                    None => continue,
                }
            }
            if inner.closed {
                return Err(RecvTimeoutError::Closed);
            }
            let parked = Parked::<T>::new(None);
            let (waiter, packet) = (&parked.waiter, &parked.packet);
            // SAFETY: as in `send`: we leave the iteration only once the entry is gone and
            // any exchange on `packet` is complete (`FULL` taken, or `CANCELLED` seen: the
            // writer's last touch).
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
                NOTIFIED => match packet.wait_while(EMPTY) {
                    FULL => {
                        return Ok(packet.take().expect("a selecting sender hands its message"))
                    }
                    now => {
                        // The selecting sender gave its send back: wait again, with what is
                        // left of the deadline.
                        debug_assert_eq!(now, CANCELLED);
                    }
                },
                CLOSED => return Err(RecvTimeoutError::Closed),
                s => {
                    debug_assert_eq!(s, ABORTED);
                    self.lock().receivers.unregister(waiter);
                    return Err(RecvTimeoutError::Timeout);
                }
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
                        if st.packet.wait_while(FULL) == DONE {
                            return Poll::Ready(Ok(()));
                        }
                        // RETURNED: a selecting receiver gave it back; the message is
                        // still in the packet: offer it again.
                        continue;
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
            if inner.can_reserve(None) {
                // Only watchers wait (async receivers): rather than registering and waking one
                // to come and take the message from this future (two task switches per
                // message), leave it in the slot for them, as Go's sender copies straight
                // into a waiting receiver, and complete. The slot's rules (module docs) keep
                // it from being lost if that receiver goes away.
                let wake = inner.offer(msg);
                drop(inner);
                wake_all(wake);
                return Poll::Ready(Ok(()));
            }
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
            Err(NOTIFIED) => {
                // Delivered (`DONE`), or given back (`RETURNED`): then the message stays in
                // the packet and drops with the future.
                st.packet.wait_while(FULL);
            }
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
        loop {
            if let Some((msg, freed)) = inner.take_handoff() {
                let next = Self::withdraw(&mut inner, st);
                drop(inner);
                wake_all([freed, next]);
                return Poll::Ready(Ok(msg));
            }
            let Some(sel) = Self::select_sender(&mut inner) else {
                break;
            };
            let next = Self::withdraw(&mut inner, st);
            drop(inner);
            if let Some(n) = next {
                n.wake();
            }
            match Self::take_from(sel) {
                Some(msg) => return Poll::Ready(Ok(msg)),
                // The sender gave its selected send back: look again (and register anew
                // below if nothing is there).
                None => inner = self.lock(),
            }
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
            // A watching sender (a `Select` in a task) can now go through the slot.
            let sender = if matches!(inner.handoff, Handoff::Free) {
                inner.senders.select_first(NOTIFIED, watches_besides(None))
            } else {
                None
            };
            drop(inner);
            wake_all([sender]);
        }
        Poll::Pending
    }

    /// The receive completed (or the future goes away) while registered: drop the
    /// registration under the lock. A notification that selected us meanwhile may have been
    /// meant for another waiting sender than the one we served, so it passes to another task
    /// receiver while senders still wait; returns that receiver to wake after unlocking.
    fn withdraw(inner: &mut Inner<T>, st: &mut AsyncRecv<T>) -> Option<Selected> {
        if !core::mem::take(&mut st.registered) {
            return None;
        }
        let waiter = st.waiter.as_ref().expect("registered waiter");
        match waiter.try_abort() {
            Ok(()) => {
                inner.receivers.unregister(waiter);
                None
            }
            Err(NOTIFIED) if inner.senders.any_selectable(has_packet) || inner.handoff_full() => {
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
    // `start_*` commits to the exchange (selects the partner), `complete_*` moves the message;
    // `give_back_*` undoes a commitment that is not completed. A `select` blocked on this
    // channel registers its arm with its own packet; a partner that selects it commits the
    // whole `select` to that arm.

    /// Commits to sending to a waiting receiver, if one is there (or to failing, if the
    /// channel is closed). The receiver's packet goes into `token`; where only watchers
    /// wait, the hand-off slot is reserved instead.
    pub(crate) fn start_send(&self, token: &mut Token) -> bool {
        let mut inner = self.lock();
        if inner.closed {
            token.ptr = core::ptr::null();
            return true;
        }
        let Some(sel) = inner.receivers.select_first(NOTIFIED, has_packet) else {
            if !inner.can_reserve(None) {
                return false;
            }
            inner.set_handoff(Handoff::Reserved);
            token.ptr = core::ptr::from_ref(self).cast();
            token.pos = SLOT;
            return true;
        };
        drop(inner);
        token.ptr = sel.packet;
        token.pos = PARTNER;
        sel.wake();
        true
    }

    /// Finishes a send committed by `start_send` (or by a receiver that selected our
    /// registered `EMPTY` arm: `token` then names our own packet).
    ///
    /// If that receiver gives the exchange back (`RETURNED`: it was a `Select` user that
    /// dropped its selected receive), the committed send goes on as a plain blocking send of
    /// the message on this channel.
    ///
    /// # Safety
    ///
    /// `token` comes from `start_send` on this channel, or from `accept` of an arm of this
    /// channel whose registration a receiver selected; used once.
    pub(crate) unsafe fn complete_send(&self, token: &Token, msg: T) -> Result<(), T> {
        if token.ptr.is_null() {
            return Err(msg);
        }
        if token.pos == SLOT {
            let mut inner = self.lock();
            debug_assert!(matches!(inner.handoff, Handoff::Reserved));
            if inner.closed {
                // Nobody may receive it any more: the message comes back in the error.
                inner.set_handoff(Handoff::Free);
                return Err(msg);
            }
            let wake = inner.offer(msg);
            drop(inner);
            wake_all(wake);
            return Ok(());
        }
        let packet = token.ptr.cast::<Packet<T>>();
        // SAFETY: a selected packet of this channel's `T`, alive until its owner sees our
        // `FULL` (a partner's) or our wait below returns (our own); we are its writer.
        unsafe { Packet::put(packet, msg) };
        if token.pos == OWN {
            // SAFETY: our own packet lives in the arm, which outlives this call.
            let own = unsafe { &*packet };
            // The receiver that selected us takes the message; wait for it before the
            // packet can be reused or freed.
            if own.wait_while(FULL) == RETURNED {
                let msg = own.take().expect("a returned packet keeps its message");
                return self.send(msg, None).map_err(SendTimeoutError::into_inner);
            }
        }
        Ok(())
    }

    /// Gives back a send committed by `start_send` or `accept` and never completed: the
    /// partner receiver goes on waiting (or times out) as it asked.
    ///
    /// # Safety
    ///
    /// As [`complete_send`](Self::complete_send), instead of it.
    pub(crate) unsafe fn give_back_send(&self, token: &Token) {
        if token.ptr.is_null() {
            return;
        }
        if token.pos == SLOT {
            let mut inner = self.lock();
            debug_assert!(matches!(inner.handoff, Handoff::Reserved));
            inner.set_handoff(Handoff::Free);
            let next = inner.slot_freed();
            drop(inner);
            wake_all([next]);
            return;
        }
        let packet = token.ptr.cast::<Packet<T>>();
        if token.pos == OWN {
            // SAFETY: our own packet, in the arm that outlives this call; the receiver that
            // selected it waits for our write.
            unsafe { &*packet }.cancel_own();
        } else {
            // SAFETY: the selected receiver's packet, alive until our store (its owner waits
            // for it); we are its writer.
            unsafe { Packet::cancel_partner(packet) };
        }
    }

    /// Commits to receiving from a waiting sender, if one is there (or to failing, if the
    /// channel is closed). A sender found is one whose message is in its packet (`FULL`): a
    /// `Select` sender that was selected waits until it writes or gives the send back.
    pub(crate) fn start_recv(&self, token: &mut Token) -> bool {
        loop {
            let mut inner = self.lock();
            if inner.handoff_full() {
                let Handoff::Full(msg) = inner.set_handoff(Handoff::Free) else {
                    unreachable!("checked Full")
                };
                inner.set_handoff(Handoff::Claimed(msg));
                token.ptr = core::ptr::from_ref(self).cast();
                token.pos = SLOT;
                return true;
            }
            if let Some(sel) = Self::select_sender(&mut inner) {
                drop(inner);
                let packet = sel.packet.cast::<Packet<T>>();
                sel.wake();
                // SAFETY: the selected sender's packet of this channel's `T`, alive until our
                // `DONE` (the sender waits for it); we are its reader.
                let state = unsafe { &(*packet).state };
                if wait_while(state, EMPTY) == CANCELLED {
                    // Ordering: Release: acknowledges the cancellation; our last touch.
                    state.store(DONE, Ordering::Release);
                    continue;
                }
                token.ptr = packet.cast();
                token.pos = PARTNER;
                return true;
            }
            if inner.closed {
                token.ptr = core::ptr::null();
                return true;
            }
            return false;
        }
    }

    /// Finishes a receive committed by `start_recv` (or by a sender that selected our
    /// registered arm, after `accept` saw its message: `FULL`).
    ///
    /// # Safety
    ///
    /// As [`complete_send`](Self::complete_send), for receives.
    pub(crate) unsafe fn complete_recv(&self, token: &Token) -> Result<T, ()> {
        if token.ptr.is_null() {
            return Err(());
        }
        if token.pos == SLOT {
            let mut inner = self.lock();
            let Handoff::Claimed(msg) = inner.set_handoff(Handoff::Free) else {
                unreachable!("a receive committed through the slot claimed its message")
            };
            let next = inner.slot_freed();
            drop(inner);
            wake_all([next]);
            return Ok(msg);
        }
        // SAFETY: a selected packet of this channel's `T`, `FULL` (seen by `start_recv` or
        // `accept`), alive until our `DONE` store (a partner's packet) or for as long as the
        // arm (our own); we are its reader.
        let msg = unsafe { Packet::take_full(token.ptr.cast::<Packet<T>>()) };
        Ok(msg.expect("a committed receive's packet is FULL"))
    }

    /// Gives back a receive committed by `start_recv` and never completed: the message
    /// stays with its sender, who goes on waiting. (A receive committed by `accept`, in our
    /// own packet, was delivered already: the caller keeps that message.)
    ///
    /// # Safety
    ///
    /// As [`complete_recv`](Self::complete_recv), instead of it, with `token.pos` `PARTNER`.
    pub(crate) unsafe fn give_back_recv(&self, token: &Token) {
        if token.ptr.is_null() {
            return;
        }
        if token.pos == SLOT {
            // The message goes back in transit, for the next receiver.
            let mut inner = self.lock();
            let Handoff::Claimed(msg) = inner.set_handoff(Handoff::Free) else {
                unreachable!("a receive committed through the slot claimed its message")
            };
            let wake = inner.offer(msg);
            drop(inner);
            wake_all(wake);
            return;
        }
        debug_assert_eq!(token.pos, PARTNER);
        // SAFETY: the selected sender's packet, alive until our answer (it waits for one).
        unsafe { Packet::return_partner(token.ptr.cast::<Packet<T>>()) };
    }

    /// A registered arm's packet after a partner selected it (`accept`): waits for the
    /// partner's side of the exchange. A receive arm (`send` false) returns whether a
    /// message came (`false`: the sender cancelled). A send arm registered `FULL` returns
    /// whether the receiver took it (`false`: returned; the message is back in the packet).
    pub(crate) fn await_partner(packet: &Packet<T>, send: bool) -> bool {
        if send {
            packet.wait_while(FULL) == DONE
        } else {
            packet.wait_while(EMPTY) == FULL
        }
    }

    /// Registers a blocked `select`'s send arm (`send`) or receive arm, with `packet`
    /// (`FULL` with `msg` for a `select!` send arm, `EMPTY` for a `Select` send arm, whose
    /// value comes at completion, and for receive arms), or without one for a watcher
    /// (`Select::ready`). Returns whether the operation may be ready now (a partner of
    /// another party waits, or closed).
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
        msg: Option<T>,
    ) -> bool {
        let mut inner = self.lock();
        let (own, other) = inner.sides(send);
        let ptr = packet.map_or(core::ptr::null(), |p| {
            p.reset(msg);
            (p as *const Packet<T>).cast()
        });
        // SAFETY: forwarded from our caller.
        unsafe { own.register_oper(waiter, ptr, oper) };
        let ready = other.any_selectable(|e| has_packet(e) && !e.is(waiter));
        let watcher = if packet.is_some() {
            // A new exchange offer: a watcher of the other side may now proceed.
            other.select_first(NOTIFIED, watches_besides(Some(waiter)))
        } else if !send && matches!(inner.handoff, Handoff::Free) {
            // A new watching receiver: a watching sender may now go through the slot.
            inner
                .senders
                .select_first(NOTIFIED, watches_besides(Some(waiter)))
        } else {
            None
        };
        let through_slot = if send {
            inner.can_reserve(Some(waiter))
        } else {
            inner.handoff_full()
        };
        let ready = ready || through_slot || inner.closed;
        drop(inner);
        if let Some(w) = watcher {
            w.wake();
        }
        ready
    }

    /// Unregisters a `select!` send arm and takes its message back out of its packet (which
    /// nobody selected: the caller knows the select was claimed for another arm, or not).
    pub(crate) fn unregister_send_take(&self, waiter: &Waiter, packet: &Packet<T>) -> Option<T> {
        self.lock().senders.unregister(waiter);
        packet.take()
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
        let through_slot = if send {
            inner.can_reserve(None)
        } else {
            inner.handoff_full()
        };
        inner.closed || through_slot || inner.sides(send).1.any_selectable(has_packet)
    }

    /// A watcher of one side was notified but does not act: pass the notification to another
    /// watcher of that side while a partner still waits (it may have been meant for it).
    pub(crate) fn pass_on(&self, send: bool) {
        let mut inner = self.lock();
        let through_slot = if send {
            inner.can_reserve(None)
        } else {
            inner.handoff_full()
        };
        let (own, other) = inner.sides(send);
        let next = if through_slot || other.any_selectable(has_packet) {
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

    /// A message in the hand-off slot counts (it is in the channel); a rendezvous channel
    /// holds nothing else.
    pub(crate) fn len(&self) -> usize {
        let inner = self.lock();
        usize::from(matches!(
            inner.handoff,
            Handoff::Full(_) | Handoff::Claimed(_)
        ))
    }

    /// Changes whenever a party registers on either side, the hand-off slot changes, and on
    /// close: the only events that can make a select arm on this channel ready.
    pub(crate) fn version(&self) -> u128 {
        let inner = self.lock();
        let regs = inner.senders.registrations() as u128
            + inner.receivers.registrations() as u128
            + inner.handoffs as u128;
        regs << 1 | u128::from(inner.closed)
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        Some(0)
    }
}

// ---------------------------------------------------------------------------------------------
// The select arms' end of the channel (see `handle.rs`). An arm completes in two steps:
// `try_select` commits to the exchange (selects the partner), `complete` moves the message;
// `give_back` undoes a commitment that is not completed. A `select` blocked on this channel
// registers its arm with its own packet; a partner that selects it commits the whole `select`
// to that arm, and the arm's `accept` takes the exchange over.
// ---------------------------------------------------------------------------------------------

/// A select arm on a rendezvous channel: the channel, and the packet the arm registers when
/// its select blocks.
pub(crate) struct SelectEnd<'a, T> {
    chan: &'a Channel<T>,
    /// The packet registered on the channel (from `packet_memory::alloc`, or null before the
    /// first blocking registration, and while lent to a token). Raw, so that moving the arm
    /// never retags it.
    packet: Cell<*mut Packet<T>>,
}

impl<'a, T> SelectEnd<'a, T> {
    pub(crate) fn new(chan: &'a Channel<T>) -> Self {
        Self {
            chan,
            packet: Cell::new(core::ptr::null_mut()),
        }
    }

    /// The arm's packet, allocated on first use (from [`packet_memory`]).
    fn packet(&self) -> &Packet<T> {
        if self.packet.get().is_null() {
            self.packet.set(packet_memory::alloc());
        }
        // SAFETY: non-null pointers in the cell come from `packet_memory::alloc` and are
        // freed only by our `Drop` (or lent to a token, which nulls the cell).
        unsafe { &*self.packet.get() }
    }

    /// Commits the arm that a partner selected: its packet is lent to the token, which gives
    /// it back on completion ([`return_packet`]). The cell is null meanwhile, so a token that
    /// is never completed (a forgotten `SelectedOperation`) keeps the packet, and the
    /// partner that may still write into it, away from the arm's next registration.
    fn accept_own(&self, token: &mut Token) {
        let packet = self.packet.replace(core::ptr::null_mut());
        debug_assert!(
            !packet.is_null(),
            "a selected rendezvous arm registered a packet"
        );
        token.ptr = packet.cast_const().cast();
        token.pos = OWN;
        token.home = core::ptr::from_ref(&self.packet).cast();
    }
}

impl<T> Drop for SelectEnd<'_, T> {
    fn drop(&mut self) {
        let packet = self.packet.get();
        if !packet.is_null() {
            // SAFETY: from `packet_memory::alloc`, unregistered (a select unregisters before
            // it returns), and no token holds it (lending it nulls the cell).
            unsafe { packet_memory::free(packet) };
        }
    }
}

/// Gives a lent packet back to its arm after the exchange on it completed (or frees it, had
/// the arm allocated another meanwhile, which a completed token's arm never does).
///
/// # Safety
///
/// `token.home` is non-null: the token was lent the packet of an arm of element type `T`
/// that is still alive (a `select!`'s arms outlive its completion in the same block; a
/// `SelectedOperation` borrows its `Select`), on this thread (tokens and arms are not
/// `Send`), and the exchange on the packet is over.
unsafe fn return_packet<T>(token: &Token) {
    // SAFETY: per the contract, `home` is that arm's live `Cell<*mut Packet<T>>`.
    let cell = unsafe { &*token.home.cast::<Cell<*mut Packet<T>>>() };
    let packet = token.ptr.cast::<Packet<T>>().cast_mut();
    let spare = cell.replace(packet);
    debug_assert!(
        spare.is_null(),
        "an arm with a lent packet allocated another"
    );
    if !spare.is_null() {
        // SAFETY: a packet in the cell comes from `packet_memory::alloc` and, while its arm
        // is not in a select, is registered nowhere.
        unsafe { packet_memory::free(spare) };
    }
}

/// Memory for select arms' rendezvous packets. A `select!`'s arms live for one call, so each
/// blocking call on a rendezvous channel would allocate a packet and free it again; freed
/// packets' memory is kept instead in a small per-thread cache, matched by layout (a packet's
/// size depends on `T`), and the next call on this thread reuses it.
#[cfg(not(weft_loom))]
mod packet_memory {
    use core::alloc::Layout;
    use core::cell::Cell;
    use core::ptr::NonNull;

    use super::Packet;

    /// Blocks kept per thread: one per rendezvous arm of the largest select in a loop.
    const SLOTS: usize = 4;

    type Slots = [Option<(Layout, NonNull<u8>)>; SLOTS];

    /// The cached blocks, owned by the cache alone; freed when the thread exits.
    struct Cache(Cell<Slots>);

    impl Drop for Cache {
        fn drop(&mut self) {
            for (layout, block) in self.0.get().into_iter().flatten() {
                // SAFETY: a cached block came from the global allocator with `layout` (see
                // `free`) and nothing else refers to it.
                unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
            }
        }
    }

    std::thread_local! {
        static CACHE: Cache = const { Cache(Cell::new([None; SLOTS])) };
    }

    /// A fresh `EMPTY` packet, in cached memory if a block of its layout is kept.
    pub(super) fn alloc<T>() -> *mut Packet<T> {
        let layout = Layout::new::<Packet<T>>();
        let cached = CACHE
            .try_with(|c| {
                let mut slots = c.0.get();
                let block = slots
                    .iter_mut()
                    .find(|s| matches!(s, Some((l, _)) if *l == layout))
                    .and_then(Option::take);
                c.0.set(slots);
                block
            })
            .ok()
            .flatten();
        match cached {
            Some((_, block)) => {
                let packet = block.as_ptr().cast::<Packet<T>>();
                // SAFETY: the block was allocated with `Packet<T>`'s layout (size and
                // alignment) and is unused: writing a packet into it is in bounds, aligned.
                unsafe { packet.write(Packet::new(None)) };
                packet
            }
            None => Box::into_raw(Box::new(Packet::new(None))),
        }
    }

    /// Drops the packet and keeps its memory for the next `alloc` on this thread (or frees it,
    /// the cache being full).
    ///
    /// # Safety
    ///
    /// `packet` came from [`alloc`], is registered nowhere, and no one touches it afterwards.
    pub(super) unsafe fn free<T>(packet: *mut Packet<T>) {
        // SAFETY: per the contract, the packet is initialised and ours alone. Dropped before
        // the cache is touched: a message's `Drop` may itself run a select.
        unsafe { core::ptr::drop_in_place(packet) };
        let layout = Layout::new::<Packet<T>>();
        let block = NonNull::new(packet.cast::<u8>()).expect("packets are never null");
        let kept = CACHE
            .try_with(|c| {
                let mut slots = c.0.get();
                let free = slots.iter_mut().find(|s| s.is_none());
                let kept = free.map(|s| *s = Some((layout, block))).is_some();
                c.0.set(slots);
                kept
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: `alloc` obtained the block from the global allocator with `Packet<T>`'s
            // layout (a `Box`, or a cached block of that layout).
            unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
        }
    }
}

/// The model build allocates every packet afresh: a thread-local cache would be shared by
/// loom's threads and outlive each model run.
#[cfg(weft_loom)]
mod packet_memory {
    use super::Packet;

    pub(super) fn alloc<T>() -> *mut Packet<T> {
        Box::into_raw(Box::new(Packet::new(None)))
    }

    /// # Safety
    ///
    /// `packet` came from [`alloc`], is registered nowhere, and no one touches it afterwards.
    pub(super) unsafe fn free<T>(packet: *mut Packet<T>) {
        // SAFETY: per the contract, a live `Box` allocation we own.
        drop(unsafe { Box::from_raw(packet) });
    }
}

impl<T> RecvHandle<T> for SelectEnd<'_, T> {
    fn try_select(&self, token: &mut Token, _: bool) -> bool {
        self.chan.start_recv(token)
    }

    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller; the packet is ours and unregistered.
        unsafe {
            self.chan
                .register_arm(false, waiter, oper, Some(self.packet()), None)
        }
    }

    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller; a watcher registers no packet.
        unsafe { self.chan.register_arm(false, waiter, oper, None, None) }
    }

    fn unregister(&self, waiter: &Waiter) {
        self.chan.unregister_recv(waiter);
    }

    fn accept(&self, token: &mut Token, kind: usize) -> bool {
        if kind == NOTIFIED {
            // A sender selected our packet: wait for its message (or its withdrawal: then
            // select again).
            if !Channel::await_partner(self.packet(), false) {
                return false;
            }
            self.accept_own(token);
            return true;
        }
        RecvHandle::try_select(self, token, true)
    }

    fn is_ready(&self) -> bool {
        self.chan.arm_ready(false)
    }

    fn pass_on(&self) {
        self.chan.pass_on(false);
    }

    fn needs_registration(&self) -> bool {
        true
    }

    fn version(&self) -> u128 {
        self.chan.version()
    }

    unsafe fn complete(&self, token: &Token) -> Result<T, ()> {
        // SAFETY: forwarded from our caller.
        let res = unsafe { self.chan.complete_recv(token) };
        if !token.home.is_null() {
            // A receive arm of this `T` lent its packet, and the exchange on it is over: we
            // took the message after the partner's `FULL`, its last touch.
            // SAFETY: so `return_packet`'s contract holds.
            unsafe { return_packet::<T>(token) };
        }
        res
    }

    unsafe fn give_back(&self, token: &Token) -> Option<T> {
        if token.home.is_null() {
            // SAFETY: forwarded from our caller; the partner's packet (`PARTNER`).
            unsafe { self.chan.give_back_recv(token) };
            return None;
        }
        // Our own packet, lent to the token: the sender handed its message over (`accept`
        // saw it) and left; the message is ours to keep.
        // SAFETY: a lent packet is live (its arm keeps it) and nobody else touches it after
        // the partner's `FULL`.
        let msg = unsafe { &*token.ptr.cast::<Packet<T>>() }.take();
        // SAFETY: our arm of this `T` lent it, and the exchange is over.
        unsafe { return_packet::<T>(token) };
        msg
    }
}

impl<T> SendHandle<T> for SelectEnd<'_, T> {
    fn try_select(&self, token: &mut Token, _: bool) -> bool {
        self.chan.start_send(token)
    }

    /// A `select!` arm registers its value (`FULL`), as a plain sender does: a receiver
    /// takes it straight away, with no round trip back to us.
    unsafe fn register(
        &self,
        waiter: &Waiter,
        oper: usize,
        value: Option<&Cell<Option<T>>>,
    ) -> bool {
        let msg = value.and_then(Cell::take);
        // SAFETY: forwarded from our caller; the packet is ours and unregistered.
        unsafe {
            self.chan
                .register_arm(true, waiter, oper, Some(self.packet()), msg)
        }
    }

    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller; a watcher registers no packet.
        unsafe { self.chan.register_arm(true, waiter, oper, None, None) }
    }

    fn unregister(&self, waiter: &Waiter, value: Option<&Cell<Option<T>>>) {
        match value {
            Some(value) => {
                // Not selected through this arm: the value comes back out of the packet.
                let msg = self.chan.unregister_send_take(waiter, self.packet());
                if msg.is_some() {
                    value.set(msg);
                }
            }
            None => self.chan.unregister_send(waiter),
        }
    }

    fn accept(&self, token: &mut Token, kind: usize, value: Option<&Cell<Option<T>>>) -> bool {
        if kind == NOTIFIED {
            let Some(value) = value else {
                self.accept_own(token);
                return true;
            };
            // A receiver selected our `FULL` packet and takes the message: wait for it (or
            // for its withdrawal, which leaves the value with us: select again).
            let packet = self.packet();
            if !Channel::await_partner(packet, true) {
                value.set(packet.take());
                return false;
            }
            token.how = DELIVERED;
            return true;
        }
        if let Some(value) = value {
            // Closed: the close removed our entry and touches the packet no more.
            let msg = self.packet().take();
            if msg.is_some() {
                value.set(msg);
            }
        }
        SendHandle::try_select(self, token, true)
    }

    fn is_ready(&self) -> bool {
        self.chan.arm_ready(true)
    }

    fn pass_on(&self) {
        self.chan.pass_on(true);
    }

    fn needs_registration(&self) -> bool {
        true
    }

    fn version(&self) -> u128 {
        self.chan.version()
    }

    unsafe fn complete(&self, token: &Token, msg: T) -> Result<(), T> {
        // SAFETY: forwarded from our caller.
        let res = unsafe { self.chan.complete_send(token, msg) };
        if !token.home.is_null() {
            // SAFETY: a send arm of this `T` lent its packet; `complete_send` waited until
            // the receiver took the message and stored `DONE`, its last touch.
            unsafe { return_packet::<T>(token) };
        }
        res
    }

    unsafe fn give_back(&self, token: &Token) {
        // SAFETY: forwarded from our caller.
        unsafe { self.chan.give_back_send(token) };
        if !token.home.is_null() {
            // SAFETY: our arm of this `T` lent its packet, and the cancellation was
            // acknowledged: the exchange is over.
            unsafe { return_packet::<T>(token) };
        }
    }
}
