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
use super::waiters::{Selected, WaitQueue, Waiter, ABORTED, CLOSED, NOTIFIED};
use crate::backoff::Backoff;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{Mutex, MutexGuard};

/// The message slot of a waiting party, on its stack or inside its future.
pub(crate) struct Packet<T> {
    msg: UnsafeCell<Option<T>>,
    /// Set by the party that selected this packet's owner once it has put (or taken) the
    /// message; the owner must not touch `msg` or go away before.
    ready: AtomicBool,
    /// Queues hold raw pointers to the packet while its owner keeps using it (see `Waiter`).
    _pin: PhantomPinned,
}

impl<T> Packet<T> {
    fn new(msg: Option<T>) -> Self {
        Self {
            msg: UnsafeCell::new(msg),
            ready: AtomicBool::new(false),
            _pin: PhantomPinned,
        }
    }

    /// Owner side: waits until the selector finished the exchange. Brief: the selector holds
    /// the channel lock and does not block between selecting us and setting `ready`.
    fn wait_ready(&self) {
        let mut backoff = Backoff::new();
        // Ordering: Acquire pairs with the selector's Release store of `ready`, making its
        // write to (or its take from) `msg` visible.
        while !self.ready.load(Ordering::Acquire) {
            backoff.snooze();
        }
    }

    /// Owner side: the message, when no exchange happened or after `wait_ready`.
    fn take(&self) -> Option<T> {
        // SAFETY: only the owner calls this, when no selector can touch the packet (the
        // waiter was never selected by a partner, or `wait_ready` returned).
        self.msg.with_mut(|p| unsafe { (*p).take() })
    }
}

/// The channel state guarded by one lock, as Go's `hchan.lock` guards both queues.
#[derive(Default)]
struct Inner {
    senders: WaitQueue,
    receivers: WaitQueue,
    closed: bool,
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

    /// Hands `msg` to the first waiting thread receiver, if any. Returns it to wake after the
    /// lock is released.
    fn give_to_receiver(inner: &mut Inner, msg: T) -> Result<Selected, T> {
        let Some(sel) = inner.receivers.select_first(NOTIFIED, |w| !w.is_task()) else {
            return Err(msg);
        };
        // SAFETY: thread receivers register a `Packet<T>` of this channel's `T`; we selected
        // the receiver, which now waits for `ready` before touching or freeing its packet.
        let packet = unsafe { &*sel.packet.cast::<Packet<T>>() };
        // SAFETY: as above, the owner does not touch `msg` until `ready`.
        packet.msg.with_mut(|p| unsafe { *p = Some(msg) });
        // Ordering: Release publishes the message to the owner's Acquire in `wait_ready`.
        packet.ready.store(true, Ordering::Release);
        Ok(sel)
    }

    /// Takes the message of the first waiting sender, if any.
    fn take_from_sender(inner: &mut Inner) -> Option<(T, Selected)> {
        let sel = inner.senders.select_first(NOTIFIED, |_| true)?;
        // SAFETY: senders register a `Packet<T>` holding their message; we selected the
        // sender, which waits for `ready` before touching or freeing its packet.
        let packet = unsafe { &*sel.packet.cast::<Packet<T>>() };
        // SAFETY: as above.
        let msg = packet
            .msg
            .with_mut(|p| unsafe { (*p).take() })
            .expect("a waiting sender holds its message");
        // Ordering: Release: our take is done before the owner reuses or frees the packet.
        packet.ready.store(true, Ordering::Release);
        Some((msg, sel))
    }

    /// Wakes one task receiver so it comes to take a newly registered sender's message.
    fn notify_task_receiver(inner: &mut Inner) -> Option<Selected> {
        inner.receivers.select_first(NOTIFIED, Waiter::is_task)
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
        if let Some((msg, sel)) = Self::take_from_sender(&mut inner) {
            drop(inner);
            sel.wake();
            return Ok(msg);
        }
        Err(if inner.closed {
            TryRecvError::Closed
        } else {
            TryRecvError::Empty
        })
    }

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
        let packet = Packet::new(Some(msg));
        let waiter = Waiter::for_thread();
        // SAFETY: `waiter` and `packet` live on this frame; every path below returns only
        // after the entry is gone: selected (the selector removed it, and we wait for `ready`
        // before `packet` dies) or aborted (we unregister under the lock).
        unsafe {
            inner
                .senders
                .register(&waiter, (&packet as *const Packet<T>).cast())
        };
        let task = Self::notify_task_receiver(&mut inner);
        drop(inner);
        if let Some(t) = task {
            t.wake();
        }
        match waiter.wait(deadline) {
            NOTIFIED => {
                packet.wait_ready();
                Ok(())
            }
            CLOSED => Err(SendTimeoutError::Closed(
                packet.take().expect("unsent message"),
            )),
            s => {
                debug_assert_eq!(s, ABORTED);
                self.lock().senders.unregister(&waiter);
                Err(SendTimeoutError::Timeout(
                    packet.take().expect("unsent message"),
                ))
            }
        }
    }

    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut inner = self.lock();
        if let Some((msg, sel)) = Self::take_from_sender(&mut inner) {
            drop(inner);
            sel.wake();
            return Ok(msg);
        }
        if inner.closed {
            return Err(RecvTimeoutError::Closed);
        }
        let packet = Packet::<T>::new(None);
        let waiter = Waiter::for_thread();
        // SAFETY: as in `send`: we return only once the entry is gone and any exchange on
        // `packet` is complete.
        unsafe {
            inner
                .receivers
                .register(&waiter, (&packet as *const Packet<T>).cast())
        };
        drop(inner);
        match waiter.wait(deadline) {
            NOTIFIED => {
                packet.wait_ready();
                Ok(packet.take().expect("a selecting sender hands its message"))
            }
            CLOSED => Err(RecvTimeoutError::Closed),
            s => {
                debug_assert_eq!(s, ABORTED);
                self.lock().receivers.unregister(&waiter);
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
                        st.packet.wait_ready();
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
            st.packet.msg.with_mut(|p| {
                // SAFETY: the packet is unregistered, so only this future touches it.
                unsafe { *p = Some(msg) }
            });
            let waiter = st.waiter.insert(Waiter::for_task(waker));
            // SAFETY: the waiter and packet live in the pinned future; `finish_send` (run by
            // its `Drop`) removes the entry or waits out the exchange first.
            unsafe {
                inner
                    .senders
                    .register(waiter, (&st.packet as *const Packet<T>).cast())
            };
            st.registered = true;
            let task = Self::notify_task_receiver(&mut inner);
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
            Err(NOTIFIED) => st.packet.wait_ready(),
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
        if let Some((msg, sel)) = Self::take_from_sender(&mut inner) {
            let next = Self::withdraw(&mut inner, st);
            drop(inner);
            sel.wake();
            if let Some(n) = next {
                n.wake();
            }
            return Poll::Ready(Ok(msg));
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
            Err(NOTIFIED) if !inner.senders.is_empty() => Self::notify_task_receiver(inner),
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
