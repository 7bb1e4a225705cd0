//! Wait lists: where blocked senders and receivers (threads or async tasks) wait for a
//! channel to change.
//!
//! The design follows crossbeam-channel's `waker.rs` (a locked list of entries, each pointing
//! at a waiter whose `selected` word is claimed with one CAS), with weft's own pieces: the
//! lock is weft's futex [`Mutex`], sleeping threads are woken through their [`Parker`], and
//! the same entries carry async [`Waker`]s, so threads and tasks wait in one list.
//!
//! # Lifetimes without allocation
//!
//! A [`Waiter`] lives on the blocked thread's stack or inside a pinned future; the list holds a
//! raw pointer to it (an [`Entry`]). The list's `Vec` keeps its capacity, so registration does
//! not allocate once the list has seen its peak number of simultaneous waiters. Soundness rests
//! on two rules:
//!
//! 1. A waiter stays alive while any entry points at it. Entries are removed under the list
//!    lock, either by the notifier that selected the waiter (the CAS winner removes the entry it
//!    used), or by the waiter itself (`unregister`) before it goes away.
//! 2. After a notifier's CAS on `selected` succeeds, the waiter may return and free itself at
//!    any moment (it can see `selected` while spinning, without the lock). So the notifier
//!    clones what it needs to wake the waiter (an `Arc<Parker>` or a `Waker`) *before* the
//!    CAS, and touches nothing of the waiter after it.

use core::task::Waker;
use std::time::Instant;

use crate::backoff::spin_then_yield_or_park;
use crate::parker::Parker;
use crate::primitive::cell::UnsafeCell;
use crate::primitive::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::primitive::sync::Arc;
use crate::sync::Mutex;

/// `Waiter::selected` while nobody has claimed the waiter.
pub(crate) const WAITING: usize = 0;
/// The waiter withdrew (deadline passed, future dropped) before anyone selected it.
pub(crate) const ABORTED: usize = 1;
/// The waiter was woken because the channel closed.
pub(crate) const CLOSED: usize = 2;
/// The waiter was woken because the channel may now let it proceed.
pub(crate) const NOTIFIED: usize = 3;
/// Not selected yet, like `WAITING`, but the waiting thread is (about to be) asleep on its
/// parker: a notifier must unpark it. While the word is `WAITING` the waiter is still
/// spinning on it, and a notifier's CAS alone wakes it: no parker traffic on that path.
const SLEEPING: usize = 4;
/// Final, for a *lending* waiter only (an async plain send on the ring buffer, whose message
/// the list entry points at): a receiver that freed a slot moved the waiter's message into it
/// on the waiter's behalf (`WaitList::notify_one_helping`). The send is complete.
pub(crate) const TAKEN: usize = 5;
/// Transient, for a lending waiter only: a notifier claimed it and, holding the list's lock,
/// is deciding between `TAKEN` (it moved the message) and `NOTIFIED` (no room after all). The
/// waiter must not touch its message or leave meanwhile; it waits by taking the list's lock
/// ([`WaitList::wait_for_helper`]), which the notifier releases only after storing the final
/// word.
const HELPING: usize = 6;

/// A selection word is `kind | oper << OPER_SHIFT`: the kind above (`CLOSED`, `NOTIFIED`) and
/// the registration's operation index. A plain operation registers with index 0, so its word
/// is just the kind; a `select` registers one waiter under several indices (its arms) and
/// learns from the word which arm was selected.
const OPER_SHIFT: u32 = 3;
const KIND_MASK: usize = (1 << OPER_SHIFT) - 1;

/// The kind of a selection word (`ABORTED`, `CLOSED`, `NOTIFIED`).
pub(crate) fn kind(selected: usize) -> usize {
    selected & KIND_MASK
}

/// The operation index of a selection word.
pub(crate) fn oper(selected: usize) -> usize {
    selected >> OPER_SHIFT
}

/// Whether a `selected` word is still unclaimed.
fn unclaimed(s: usize) -> bool {
    s == WAITING || s == SLEEPING
}

/// How to wake a waiter.
#[derive(Clone, Debug)]
pub(crate) enum Unblock {
    /// A thread sleeping on its parker.
    Thread(Arc<Parker>),
    /// An async task.
    Task(Waker),
}

impl Unblock {
    fn wake(self) {
        match self {
            Unblock::Thread(p) => p.unpark(),
            Unblock::Task(w) => w.wake(),
        }
    }
}

/// One blocked operation: a thread's or a future's registration. See the module docs for the
/// lifetime rules.
#[derive(Debug)]
pub(crate) struct Waiter {
    /// `WAITING`, then set exactly once by a CAS: `ABORTED` by the waiter, or `CLOSED` /
    /// `NOTIFIED` by a notifier.
    selected: AtomicUsize,
    /// Read by notifiers under the lock of the list the waiter is registered in; changed only
    /// under that same lock (async re-polls) or while unregistered.
    unblock: UnsafeCell<Unblock>,
    /// Lists hold raw pointers to the waiter while its owner keeps using it: `!Unpin` keeps a
    /// `&mut` to it (e.g. from `Option::insert`) from asserting uniqueness over it.
    _pin: core::marker::PhantomPinned,
}

impl Waiter {
    /// A waiter for the calling thread.
    pub(crate) fn for_thread() -> Self {
        Self::new(Unblock::Thread(Parker::current()))
    }

    /// A waiter for an async task.
    pub(crate) fn for_task(waker: &Waker) -> Self {
        Self::new(Unblock::Task(waker.clone()))
    }

    fn new(unblock: Unblock) -> Self {
        Self {
            selected: AtomicUsize::new(WAITING),
            unblock: UnsafeCell::new(unblock),
            _pin: core::marker::PhantomPinned,
        }
    }

    /// Whether this waiter is an async task. Call only under the lock guarding the queue the
    /// waiter is registered in (or on the waiter's own thread while unregistered).
    pub(crate) fn is_task(&self) -> bool {
        // SAFETY: `unblock` is only written under the guarding lock, which the caller holds.
        self.unblock
            .with(|u| matches!(unsafe { &*u }, Unblock::Task(_)))
    }

    /// Whether a task waiter would wake `waker`'s task (false for a thread waiter). For the
    /// waiter's owner, whose registrations never change `unblock` (an async select registers
    /// anew instead of updating it): notifiers only read it, so a read here races nothing.
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        // SAFETY: as above, nobody writes `unblock` while this waiter lives registered.
        self.unblock
            .with(|u| matches!(unsafe { &*u }, Unblock::Task(w) if w.will_wake(waker)))
    }

    /// Whether this is a task waiter, asked by its owner (as [`will_wake`](Self::will_wake),
    /// with the same reasoning: `unblock` is only read while the waiter is registered).
    pub(crate) fn owned_by_task(&self) -> bool {
        // SAFETY: as in `will_wake`.
        self.unblock
            .with(|u| matches!(unsafe { &*u }, Unblock::Task(_)))
    }

    /// The current selection (`WAITING` if none yet).
    pub(crate) fn selected(&self) -> usize {
        // Ordering: Acquire pairs with the Release CAS of the notifier (`select_first`), so
        // whatever it did before selecting us (e.g. freeing a slot) is visible.
        match self.selected.load(Ordering::Acquire) {
            SLEEPING => WAITING,
            s => s,
        }
    }

    /// Withdraws the waiter. `Err(selection)` if a notifier got there first.
    pub(crate) fn try_abort(&self) -> Result<(), usize> {
        // Ordering: Acquire pairs with the notifier's Release CAS (see `selected`), for the
        // claimed case below. A load rather than a Relaxed load plus an Acquire fence: the
        // same on x86, and ThreadSanitizer, which ignores fences, then sees the edge too (a
        // select that skips unregistering its claimed arm relies on it alone).
        let mut cur = self.selected.load(Ordering::Acquire);
        loop {
            if !unclaimed(cur) {
                return Err(cur);
            }
            // Ordering: Acquire on failure pairs with the notifier's Release CAS.
            match self
                .selected
                .compare_exchange(cur, ABORTED, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// Blocks the calling thread (whose waiter this is) until it is selected or `deadline`
    /// passes: spins briefly, yields, then parks. On timeout tries to abort; returns the final
    /// selection (`ABORTED` if the abort won).
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> usize {
        let selected = || Some(self.selected()).filter(|&s| s != WAITING);
        if let Some(s) = spin_then_yield_or_park(selected) {
            return s;
        }
        let parker = self.unblock.with(|u| {
            // SAFETY: a thread waiter's `unblock` is never changed after construction, and we
            // only clone it.
            match unsafe { &*u } {
                Unblock::Thread(p) => Arc::clone(p),
                Unblock::Task(_) => unreachable!("Waiter::wait on a task waiter"),
            }
        });
        // Announce the sleep. This CAS and a notifier's CAS are ordered on the same word:
        // either the notifier sees SLEEPING (and unparks us), or this fails on its token.
        // Ordering: Acquire on failure pairs with the notifier's Release CAS.
        if let Err(s) =
            self.selected
                .compare_exchange(WAITING, SLEEPING, Ordering::Relaxed, Ordering::Acquire)
        {
            return s;
        }
        loop {
            if let Some(s) = selected() {
                return s;
            }
            if !parker.park(deadline) {
                return match self.try_abort() {
                    Ok(()) => ABORTED,
                    Err(s) => s,
                };
            }
        }
    }
}

/// A registration: which waiter, under which operation index, and (rendezvous only) where
/// its message packet lives.
#[derive(Debug)]
pub(crate) struct Entry {
    waiter: *const Waiter,
    /// A `*const zero::Packet<T>` for the rendezvous flavour; null otherwise, and for
    /// rendezvous registrations that only want to be told (async receivers, `Select::ready`).
    pub(crate) packet: *const (),
    /// Added to the selection word (see `OPER_SHIFT`); 0 outside `select`.
    oper: usize,
}

impl Entry {
    /// Whether this entry belongs to `waiter`.
    pub(crate) fn is(&self, waiter: &Waiter) -> bool {
        core::ptr::eq(self.waiter, waiter)
    }
}

/// A selected waiter, handed to the notifier: wake it once the exchange is complete.
#[derive(Debug)]
pub(crate) struct Selected {
    /// The packet of the selected waiter (null outside the rendezvous flavour).
    pub(crate) packet: *const (),
    /// `None` when the waiter was a thread still spinning: the CAS already woke it.
    unblock: Option<Unblock>,
}

impl Selected {
    /// Wakes the selected waiter. Call it after the lock protecting the queue is released.
    pub(crate) fn wake(self) {
        if let Some(u) = self.unblock {
            u.wake();
        }
    }
}

/// A FIFO of registrations, without a lock of its own: the owner guards it (a [`WaitList`],
/// or the rendezvous flavour's channel lock, which guards both of its queues together).
///
/// Every method must be called with that guarding lock held; rule 1 of the module docs is
/// stated in terms of that lock.
#[derive(Debug, Default)]
pub(crate) struct WaitQueue {
    entries: Vec<Entry>,
    /// Registrations so far (wrapping): a version for linearizable selects.
    registrations: usize,
}

// The raw pointers are only dereferenced by the methods below, which run under the owner's
// lock while the entry is present, when rule 1 (module docs) guarantees the waiter and its
// packet are alive; `Waiter` is `Sync` (atomics, and an `Unblock` of `Send + Sync` parts).
// SAFETY: so the queue may move to (and be used from) another thread.
unsafe impl Send for WaitQueue {}

impl WaitQueue {
    /// Registers `waiter` (with `packet` for the rendezvous flavour, else null).
    ///
    /// # Safety
    ///
    /// `waiter` (and `packet`, if not null) must stay alive and at the same address until the
    /// entry has been removed: by [`unregister`](Self::unregister), or by a notifier that
    /// selected it (`select_first`/`select_all`).
    pub(crate) unsafe fn register(&mut self, waiter: &Waiter, packet: *const ()) {
        // SAFETY: forwarded from our caller.
        unsafe { self.register_oper(waiter, packet, 0) };
    }

    /// [`register`](Self::register) under operation index `oper` (a `select` arm).
    ///
    /// # Safety
    ///
    /// As [`register`](Self::register).
    pub(crate) unsafe fn register_oper(&mut self, waiter: &Waiter, packet: *const (), oper: usize) {
        assert!(
            oper <= usize::MAX >> OPER_SHIFT,
            "weft::chan::select: too many operations"
        );
        self.entries.push(Entry {
            waiter,
            packet,
            oper,
        });
        self.registrations = self.registrations.wrapping_add(1);
    }

    /// Removes `waiter`'s entry if it is still here. Returns whether it was.
    pub(crate) fn unregister(&mut self, waiter: &Waiter) -> bool {
        match self
            .entries
            .iter()
            .position(|e| core::ptr::eq(e.waiter, waiter))
        {
            Some(at) => {
                self.entries.remove(at);
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Registrations so far (wrapping).
    pub(crate) fn registrations(&self) -> usize {
        self.registrations
    }

    /// Whether `waiter` is registered here.
    pub(crate) fn contains(&self, waiter: &Waiter) -> bool {
        self.entries.iter().any(|e| e.is(waiter))
    }

    /// Whether an entry that `accept`s is registered by a waiter that can still be selected.
    pub(crate) fn any_selectable(&self, mut accept: impl FnMut(&Entry) -> bool) -> bool {
        self.entries.iter().any(|e| {
            // SAFETY: as in `select_first`: present entry, lock held, waiter alive.
            let waiter = unsafe { &*e.waiter };
            unclaimed(waiter.selected.load(Ordering::Relaxed)) && accept(e)
        })
    }

    /// Selects the first waiter (FIFO) that can still be selected and whose entry `accept`s,
    /// with `kind` (plus the entry's operation index); removes its entry and returns it.
    /// Waiters already claimed (aborting, or a `select` taken by another of its arms) are
    /// left for their owners to remove.
    pub(crate) fn select_first(
        &mut self,
        kind: usize,
        accept: impl FnMut(&Entry) -> bool,
    ) -> Option<Selected> {
        self.select_first_or_help(kind, accept, None::<fn(*const ()) -> usize>)
    }

    /// [`select_first`](Self::select_first) with `NOTIFIED`, except that a *lending* waiter
    /// (an entry with a packet, in a queue whose registrants lend their message: the ring
    /// buffer's senders) is claimed with `HELPING` and handed to `help`, which gets the
    /// packet and returns the final kind: `TAKEN` if it moved the message, else `NOTIFIED`.
    /// `help` runs under the guarding lock (the caller holds it), where the claimed waiter
    /// neither touches its message nor leaves; it must not take this queue's lock.
    pub(crate) fn select_first_helping(
        &mut self,
        help: impl FnOnce(*const ()) -> usize,
    ) -> Option<Selected> {
        self.select_first_or_help(NOTIFIED, |_| true, Some(help))
    }

    fn select_first_or_help<H: FnOnce(*const ()) -> usize>(
        &mut self,
        kind: usize,
        mut accept: impl FnMut(&Entry) -> bool,
        mut help: Option<H>,
    ) -> Option<Selected> {
        let mut i = 0;
        while i < self.entries.len() {
            // SAFETY: the entry is present and the caller holds the guarding lock, so by
            // rule 1 the waiter is alive (it cannot unregister and leave without that lock).
            let waiter = unsafe { &*self.entries[i].waiter };
            let mut cur = waiter.selected.load(Ordering::Relaxed);
            if !unclaimed(cur) || !accept(&self.entries[i]) {
                i += 1;
                continue;
            }
            let oper = self.entries[i].oper << OPER_SHIFT;
            let token = kind | oper;
            let is_task = waiter.is_task();
            let packet = self.entries[i].packet;
            if !packet.is_null() && help.is_some() {
                debug_assert!(
                    is_task && cur == WAITING,
                    "only async tasks lend their message"
                );
                // Rule 2 as below: the waker first (the final store frees the waiter).
                let unblock = waiter.unblock.with(|u| {
                    // SAFETY: as below: written only under the guarding lock, which we hold.
                    unsafe { (*u).clone() }
                });
                // Relaxed: the waiter published its message before registering, under the
                // guarding lock we hold; the CAS only has to exclude its abort.
                if waiter
                    .selected
                    .compare_exchange(cur, HELPING, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
                {
                    i += 1; // aborted meanwhile; its owner removes the entry
                    continue;
                }
                let help = help.take().expect("checked is_some");
                let done = help(packet);
                debug_assert!(done == TAKEN || done == NOTIFIED);
                self.entries.remove(i);
                // Ordering: Release publishes the helper's work (the message taken out of the
                // packet, or nothing) to the waiter's Acquire in `selected`/`try_abort`; the
                // waiter may leave as soon as it sees this (rule 2: nothing of it is touched
                // after).
                waiter.selected.store(done | oper, Ordering::Release);
                return Some(Selected {
                    packet,
                    unblock: Some(unblock),
                });
            }
            loop {
                // Rule 2: take what we need before the CAS frees the waiter to leave. A thread
                // still spinning (WAITING) sees the CAS itself and needs no unpark.
                let unblock = (cur == SLEEPING || is_task).then(|| {
                    waiter.unblock.with(|u| {
                        // SAFETY: `unblock` is only written under the guarding lock
                        // (`update_waker`), which the caller holds.
                        unsafe { (*u).clone() }
                    })
                });
                // Ordering: Release publishes the notifier's prior writes (the freed slot, the
                // message in the packet) to the waiter's Acquire in `selected`/`try_abort`.
                match waiter.selected.compare_exchange(
                    cur,
                    token,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        let entry = self.entries.remove(i);
                        return Some(Selected {
                            packet: entry.packet,
                            unblock,
                        });
                    }
                    // WAITING -> SLEEPING under us: retry, now with the parker.
                    Err(now) if unclaimed(now) => cur = now,
                    Err(_) => break, // aborted meanwhile; its owner removes the entry
                }
            }
            i += 1;
        }
        None
    }

    /// Selects every waiter that can still be selected, with `token` (`CLOSED` on close), and
    /// wakes them. Waking under the caller's lock: rare (close) and simple.
    pub(crate) fn select_all(&mut self, token: usize) {
        while let Some(s) = self.select_first(token, |_| true) {
            s.wake();
        }
    }

    /// Replaces a registered task waiter's waker (an async re-poll with a new waker). Returns
    /// `false` if the waiter is no longer registered here (it was selected meanwhile).
    pub(crate) fn update_waker(&mut self, waiter: &Waiter, waker: &Waker) -> bool {
        if !self.contains(waiter) {
            return false;
        }
        waiter.unblock.with_mut(|u| {
            // SAFETY: notifiers read `unblock` only under the guarding lock, which the caller
            // holds, and a task waiter is registered in one queue only.
            let u = unsafe { &mut *u };
            if !matches!(u, Unblock::Task(w) if w.will_wake(waker)) {
                *u = Unblock::Task(waker.clone());
            }
        });
        true
    }
}

/// A [`WaitQueue`] with its own lock and a lock-free emptiness flag: the waiting side of the
/// lock-free flavours (array, list), whose notifiers are on the message hot path.
#[derive(Debug)]
pub(crate) struct WaitList {
    queue: Mutex<WaitQueue>,
    /// Mirrors `queue.is_empty()`, updated under the lock, read without it: the no-waiter path
    /// of a notifier is one load. See [`WaitList::is_empty`] for the ordering contract.
    empty: AtomicBool,
}

impl WaitList {
    pub(crate) fn new() -> Self {
        Self {
            queue: Mutex::new(WaitQueue::default()),
            empty: AtomicBool::new(true),
        }
    }

    /// Registers `waiter`. The caller must then re-check its condition behind a `SeqCst`
    /// fence (the notifier may have acted just before), pairing with the notifier's fence
    /// before [`is_empty`](Self::is_empty).
    ///
    /// # Safety
    ///
    /// As [`WaitQueue::register`]: `waiter` stays alive and in place until removed.
    pub(crate) unsafe fn register(&self, waiter: &Waiter) {
        // SAFETY: forwarded from our caller.
        unsafe { self.register_oper(waiter, 0) };
    }

    /// [`register`](Self::register) under operation index `oper` (a `select` arm).
    ///
    /// # Safety
    ///
    /// As [`WaitQueue::register`].
    pub(crate) unsafe fn register_oper(&self, waiter: &Waiter, oper: usize) {
        let mut q = self.queue.lock();
        // SAFETY: forwarded from our caller.
        unsafe { q.register_oper(waiter, core::ptr::null(), oper) };
        // Ordering: SeqCst, so this store and the registrant's following fence + re-check
        // order against the notifier's change + fence + load of `empty` (store buffering).
        self.empty.store(false, Ordering::SeqCst);
    }

    /// Removes `waiter`'s entry if present; returns whether it was.
    pub(crate) fn unregister(&self, waiter: &Waiter) -> bool {
        let mut q = self.queue.lock();
        let was = q.unregister(waiter);
        // Ordering: SeqCst like every store to `empty` (see `register`).
        self.empty.store(q.is_empty(), Ordering::SeqCst);
        was
    }

    /// See [`WaitQueue::update_waker`].
    pub(crate) fn update_waker(&self, waiter: &Waiter, waker: &Waker) -> bool {
        self.queue.lock().update_waker(waiter, waker)
    }

    /// Whether nobody waits. Notifiers call this after their own change, behind a `SeqCst`
    /// fence: then either they see the registration, or the registrant's re-check sees their
    /// change.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // Ordering: SeqCst, the load half of the store-buffering pair (see `register`).
        self.empty.load(Ordering::SeqCst)
    }

    /// Whether nobody waits, read under the lock. The flag alone may still say "not empty"
    /// for a moment after the last entry left: a notifier wakes the waiters it removed
    /// before it stores the flag, and a woken waiter may already have gone on.
    pub(crate) fn is_empty_exact(&self) -> bool {
        self.queue.lock().is_empty()
    }

    /// After a change that may unblock one waiter: wake the first waiter, if any.
    ///
    /// The caller's change must be a `SeqCst` read-modify-write (the ring buffer's CAS on
    /// `tail`/`head`): it precedes our `SeqCst` load of `empty` in the single total order,
    /// which makes it the notifier's half of the store-buffering pair with a registrant's
    /// `SeqCst` store + fence + re-check. No fence is needed here, which saves an `mfence` per
    /// message on x86. (Forwarding a notification, the other caller, needs no ordering: a
    /// registrant re-checks the condition itself.)
    ///
    /// loom models `SeqCst` accesses as `AcqRel` (a limitation its README lists) and so cannot
    /// see the total-order argument; only `SeqCst` fences are modelled in full. The model build
    /// therefore states the same ordering with an explicit fence.
    #[inline]
    pub(crate) fn notify_one(&self) {
        // Ordering: model build only, the fence standing for the caller's SeqCst RMW (above).
        #[cfg(weft_loom)]
        fence(Ordering::SeqCst);
        if !self.is_empty() {
            self.notify_one_slow();
        }
    }

    #[cold]
    fn notify_one_slow(&self) {
        let mut q = self.queue.lock();
        let selected = q.select_first(NOTIFIED, |_| true);
        // Ordering: SeqCst like every store to `empty` (see `register`).
        self.empty.store(q.is_empty(), Ordering::SeqCst);
        drop(q);
        if let Some(s) = selected {
            s.wake();
        }
    }

    /// [`notify_one`](Self::notify_one), helping a lending waiter: see
    /// [`WaitQueue::select_first_helping`]. Returns whether `help` moved a message (`TAKEN`):
    /// the caller then notifies that message's receivers, as after a send of its own.
    #[inline]
    pub(crate) fn notify_one_helping(&self, help: impl FnOnce(*const ()) -> usize) -> bool {
        // Ordering: model build only, as in `notify_one`.
        #[cfg(weft_loom)]
        fence(Ordering::SeqCst);
        if self.is_empty() {
            return false;
        }
        self.notify_one_helping_slow(help)
    }

    #[cold]
    fn notify_one_helping_slow(&self, help: impl FnOnce(*const ()) -> usize) -> bool {
        let mut q = self.queue.lock();
        let mut took = false;
        let selected = q.select_first_helping(|packet| {
            let done = help(packet);
            took = done == TAKEN;
            done
        });
        // Ordering: SeqCst like every store to `empty` (see `register`).
        self.empty.store(q.is_empty(), Ordering::SeqCst);
        drop(q);
        if let Some(s) = selected {
            s.wake();
        }
        took
    }

    /// Registers a lending `waiter` whose message `packet` points at, then runs `check` (the
    /// exact re-check) still under the list's lock, where no helper can claim the waiter, so
    /// `check` may use the message. If `check` completes (`Some`), the registration is
    /// withdrawn before the lock is released. `check` must not take this list's lock.
    ///
    /// # Safety
    ///
    /// As [`WaitQueue::register`] for `waiter` and `packet`; `packet` is what this list's
    /// helpers expect (see [`notify_one_helping`](Self::notify_one_helping)'s callers).
    pub(crate) unsafe fn register_lending<R>(
        &self,
        waiter: &Waiter,
        packet: *const (),
        check: impl FnOnce() -> Option<R>,
    ) -> Option<R> {
        let mut q = self.queue.lock();
        // SAFETY: forwarded from our caller.
        unsafe { q.register_oper(waiter, packet, 0) };
        // Ordering: SeqCst, as in `register_oper`.
        self.empty.store(false, Ordering::SeqCst);
        // Ordering: SeqCst fence between registering and re-checking (see `block_on`).
        fence(Ordering::SeqCst);
        let done = check();
        if done.is_some() {
            q.unregister(waiter);
            // Ordering: SeqCst like every store to `empty`.
            self.empty.store(q.is_empty(), Ordering::SeqCst);
        }
        done
    }

    /// For a lending waiter that saw `HELPING`: waits until its helper is done (the helper
    /// holds this list's lock from its claim to its final store) and returns the final word.
    fn wait_for_helper(&self, waiter: &Waiter) -> usize {
        drop(self.queue.lock());
        let s = waiter.selected();
        debug_assert!(
            s != HELPING,
            "a helper stores the final word before unlocking"
        );
        s
    }

    /// Whether an async task waits here (one that can still be selected): a timer channel
    /// asks, to know whether its deadline needs an entry in a timer queue.
    pub(crate) fn any_task(&self) -> bool {
        if self.is_empty() {
            return false;
        }
        let q = self.queue.lock();
        // `is_task` is read under the list's lock, as it requires.
        // SAFETY: as in `WaitQueue::any_selectable`: present entries, lock held.
        q.any_selectable(|e| unsafe { &*e.waiter }.is_task())
    }

    /// Wakes every waiter with `token` (`CLOSED` on close).
    pub(crate) fn notify_all(&self, token: usize) {
        let mut q = self.queue.lock();
        q.select_all(token);
        // Ordering: SeqCst like every store to `empty` (see `register`).
        self.empty.store(q.is_empty(), Ordering::SeqCst);
    }
}

/// The blocking loop of the lock-free flavours: try, spin briefly, yield, then register in
/// `list`, re-check, and park until notified; repeat. `attempt` returns `Some` when the
/// operation completed or failed for good (closed), `None` when it would block. Its argument
/// says whether a `None` must be exact: the re-check after registering, which decides to
/// park, is; the polls before may answer `None` whenever the check would read state the
/// other side writes on every operation (see `array::Channel::start_send`).
///
/// Returns `None` if `deadline` passed first (after one last attempt).
pub(crate) fn block_on<R>(
    list: &WaitList,
    deadline: Option<Instant>,
    mut attempt: impl FnMut(bool) -> Option<R>,
) -> Option<R> {
    loop {
        if let Some(r) = spin_then_yield_or_park(|| attempt(false)) {
            return Some(r);
        }
        let waiter = Waiter::for_thread();
        // `waiter` lives on this frame until the loop iteration ends, and every exit below
        // removes it first: unregister after an abort, or the notifier removed it when it
        // selected us.
        // SAFETY: so it outlives its registration, as `register` requires.
        unsafe { list.register(&waiter) };
        // Ordering: SeqCst fence between registering and re-checking: our half of the
        // store-buffering pair with `WaitList::notify_one`.
        fence(Ordering::SeqCst);
        if let Some(r) = attempt(true) {
            withdraw(list, &waiter);
            return Some(r);
        }
        if waiter.wait(deadline) == ABORTED {
            // Timed out, and the abort won: nobody will remove our entry but us.
            list.unregister(&waiter);
            return attempt(true);
        }
        // Notified (or closed): try again.
    }
}

/// Withdraws a registered waiter that no longer needs to wait. If a notifier selected it
/// meanwhile, the notification may have been for a change other than the one the waiter
/// consumed (it stayed registered across its own successful attempt), so it is passed on to
/// the next waiter: at worst one spurious wake-up, never a lost one.
#[inline(never)]
fn withdraw(list: &WaitList, waiter: &Waiter) {
    withdraw_passing_on(list, waiter, || list.notify_one());
}

/// [`withdraw`], passing a notification on with `pass_on` (the ring buffer's senders pass it
/// on helping, as a receive notifies them).
#[inline(never)]
fn withdraw_passing_on(list: &WaitList, waiter: &Waiter, pass_on: impl FnOnce()) {
    let mut outcome = waiter.try_abort();
    if outcome == Err(HELPING) {
        outcome = Err(list.wait_for_helper(waiter));
    }
    match outcome {
        Ok(()) => {
            list.unregister(waiter);
        }
        Err(s) if kind(s) == NOTIFIED => pass_on(),
        // Closed (every waiter was woken), or a helper took the message: the send is done.
        Err(_) => {}
    }
}

/// The async counterpart of [`block_on`], kept inside a future: at most one registration,
/// re-armed on each poll, withdrawn (or its notification passed on) when the future completes
/// or is dropped. No allocation: the waiter lives in the (pinned) future.
#[derive(Debug, Default)]
pub(crate) struct AsyncWait {
    waiter: Option<Waiter>,
    /// The waiter is (or was, until a notifier removed it) in the list.
    registered: bool,
    _pin: core::marker::PhantomPinned,
}

impl AsyncWait {
    /// One poll: attempt, and if it would block, make sure a registration with the current
    /// waker is in `list` (re-checking after registering).
    ///
    /// # Safety
    ///
    /// `self` must stay pinned (not move) until [`finish`](Self::finish) has run, and `finish`
    /// must run before it is dropped (the owning future's `Drop` calls it).
    pub(crate) unsafe fn poll<R>(
        &mut self,
        list: &WaitList,
        waker: &Waker,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> core::task::Poll<R> {
        use core::task::Poll;
        if let Some(r) = attempt() {
            self.finish(list);
            return Poll::Ready(r);
        }
        if self.registered {
            if let Some(w) = &self.waiter {
                if list.update_waker(w, waker) {
                    // Still waiting, now with the current waker. The attempt above ran before
                    // the update; a change in between found us registered and will notify.
                    return Poll::Pending;
                }
            }
            // Selected (the notifier removed us) and the retry above failed: register anew.
        }
        let waiter = self.waiter.insert(Waiter::for_task(waker));
        // SAFETY: the waiter lives inside `self`, which our caller keeps pinned until `finish`
        // removes the registration (or a notifier did).
        unsafe { list.register(waiter) };
        self.registered = true;
        // Ordering: SeqCst fence between registering and re-checking (see `block_on`).
        fence(Ordering::SeqCst);
        match attempt() {
            Some(r) => {
                self.finish(list);
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }

    /// One poll of a *lending* operation (an async plain send on the ring buffer): like
    /// [`poll`](Self::poll), but the registration carries `packet`, a pointer to the
    /// operation's message, which a helper may move on the operation's behalf
    /// ([`WaitList::notify_one_helping`]). So `attempt` (which uses the message) runs only
    /// while no helper can claim the waiter: unregistered, or under the list's lock for the
    /// exact re-check ([`WaitList::register_lending`]). A re-poll while still registered and
    /// unclaimed tries nothing: the change it could find would have selected it.
    ///
    /// `Ready(None)`: a helper completed the operation (`TAKEN`); `Ready(Some(r))`: `attempt`
    /// did.
    ///
    /// # Safety
    ///
    /// As [`poll`](Self::poll); and `packet` stays valid, and is touched by the caller only
    /// inside `attempt`, until `finish` ran.
    pub(crate) unsafe fn poll_lending<R>(
        &mut self,
        list: &WaitList,
        waker: &Waker,
        packet: *const (),
        mut attempt: impl FnMut(bool) -> Option<R>,
    ) -> core::task::Poll<Option<R>> {
        use core::task::Poll;
        if self.registered {
            let waiter = self.waiter.as_ref().expect("a registration has its waiter");
            let mut s = waiter.selected();
            if s == WAITING {
                if waiter.will_wake(waker) || list.update_waker(waiter, waker) {
                    return Poll::Pending;
                }
                // Selected since the load (the notifier removed the entry): final now, as
                // `update_waker` took the lock after the notifier released it.
                s = waiter.selected();
            }
            if s == HELPING {
                s = list.wait_for_helper(waiter);
            }
            // Selected: the notifier removed our entry.
            self.registered = false;
            if kind(s) == TAKEN {
                return Poll::Ready(None);
            }
            // NOTIFIED or CLOSED: try again.
        }
        if let Some(r) = attempt(false) {
            return Poll::Ready(Some(r));
        }
        let waiter = self.waiter.insert(Waiter::for_task(waker));
        // SAFETY: the waiter lives inside `self`, which our caller keeps pinned until `finish`
        // removes the registration (or a notifier did); `packet` as our caller promised.
        match unsafe { list.register_lending(waiter, packet, || attempt(true)) } {
            Some(r) => Poll::Ready(Some(r)),
            None => {
                self.registered = true;
                Poll::Pending
            }
        }
    }

    /// Withdraws the registration, whether the operation completed or the future was
    /// dropped; a notification received meanwhile is passed on (see [`withdraw`]).
    #[inline]
    pub(crate) fn finish(&mut self, list: &WaitList) {
        if !core::mem::take(&mut self.registered) {
            return;
        }
        if let Some(w) = &self.waiter {
            withdraw(list, w);
        }
    }

    /// [`finish`](Self::finish), passing a notification on with `pass_on` instead of
    /// [`WaitList::notify_one`].
    #[inline]
    pub(crate) fn finish_passing_on(&mut self, list: &WaitList, pass_on: impl FnOnce()) {
        if !core::mem::take(&mut self.registered) {
            return;
        }
        if let Some(w) = &self.waiter {
            withdraw_passing_on(list, w, pass_on);
        }
    }
}
