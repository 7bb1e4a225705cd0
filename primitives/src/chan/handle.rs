//! The seam between a select and the channel flavours: the committed-operation [`Token`] and
//! the two traits each flavour implements for its ends, in its own file, beside the
//! invariants its unsafe code relies on ([`RecvHandle`], [`SendHandle`]).
//!
//! A leaf module: it imports nothing of `select.rs` or of any flavour, and no flavour
//! imports `select.rs`. The shape follows crossbeam-channel's `select.rs` `SelectHandle`
//! trait and `Token`; weft's traits add what issue #8's soundness needs (giving a commitment
//! back) and what a linearizable `default` needs (a version).
//!
//! # How a select drives an arm
//!
//! `try_select` *commits* the operation when it can proceed now (a slot claimed, a
//! rendezvous partner chosen), filling the token; `complete` then moves the message through
//! the token, with no user code in between (`select!`) or as the user completes a
//! `SelectedOperation`; `give_back` undoes a commitment that is not completed. A select that
//! must wait `register`s one waiter under its arm's index in every arm's channel; whoever
//! claims the waiter selects the arm, and `accept` commits it (for a rendezvous channel the
//! claim *is* the exchange, through the arm's own packet). `unregister` withdraws. `watch`,
//! `is_ready` and `pass_on` serve `Select::ready`, which commits nothing.

use core::cell::Cell;
use core::fmt;

use super::waiters::Waiter;

/// `Token::how`: the message moves through `ptr` (a slot, a block, a packet).
pub(crate) const THROUGH: u8 = 0;
/// `Token::how`: a send already completed while the select waited (a receiver took the
/// message from the arm's registered `FULL` packet); its completion has nothing to move.
pub(crate) const DELIVERED: u8 = 1;
/// `Token::how`: a receive of the message kept in the arm (a receive given back that could
/// not be put back in place: see `select::RecvArm::stash`).
pub(crate) const STASHED: u8 = 2;

/// A committed operation of a select: which slot (ring buffer, list) or packet (rendezvous)
/// its completion moves the message through, and which channel and direction it belongs to.
///
/// Not public API: `select!` passes it from the selection to the chosen arm's completion,
/// with no user code in between; a `SelectedOperation` gives it back if it is dropped
/// uncompleted.
#[doc(hidden)]
pub struct Token {
    /// `THROUGH`, `DELIVERED` or `STASHED`.
    pub(crate) how: u8,
    /// The slot, the block, or the packet; null when the operation fails (closed).
    pub(crate) ptr: *const (),
    /// The stamp (ring buffer), the offset (list), or `zero::OWN` / `PARTNER`.
    pub(crate) pos: usize,
    /// Which channel, and which direction: a completion checks them against its handle.
    pub(crate) chan: *const (),
    pub(crate) send: bool,
    /// Flavour-private: the rendezvous channel's lent packet cell (see `zero::SelectEnd`).
    /// Null otherwise.
    pub(crate) home: *const (),
}

impl Token {
    #[doc(hidden)]
    #[inline]
    pub fn new() -> Self {
        Self {
            how: THROUGH,
            ptr: core::ptr::null(),
            pos: 0,
            chan: core::ptr::null(),
            send: false,
            home: core::ptr::null(),
        }
    }

    /// Resets the token for an attempt of the operation on `chan` in direction `send`.
    #[inline]
    pub(crate) fn start(&mut self, chan: *const (), send: bool) {
        self.how = THROUGH;
        self.chan = chan;
        self.send = send;
        self.home = core::ptr::null();
    }
}

// SAFETY: a token's pointers are dereferenced only by the completion or give-back of the arm
// that committed it, through a `SelectedOperation` that borrows both the token and the arm
// (and is neither `Send` nor `Sync`): a token that moves with its `Select` between calls is
// stale data, overwritten by the next selection before any use.
unsafe impl Send for Token {}

impl Default for Token {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token").finish_non_exhaustive()
    }
}

/// A receiving end as a select arm drives it (see the module docs).
pub(crate) trait RecvHandle<T> {
    /// Commits the receive if it can proceed now (`true`: committed, in `token`). Without
    /// `exact`, `false` may also mean "a peer is mid-operation": for the polls of a select
    /// that re-checks exactly before it sleeps.
    fn try_select(&self, token: &mut Token, exact: bool) -> bool;
    /// Registers `waiter` under index `oper`; returns whether the arm may be ready now.
    ///
    /// # Safety
    ///
    /// `waiter` stays alive and in place until [`unregister`](Self::unregister) ran.
    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool;
    /// As `register`, but only to be told when the arm may be ready (`Select::ready`).
    ///
    /// # Safety
    ///
    /// As [`register`](Self::register).
    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { self.register(waiter, oper) }
    }
    fn unregister(&self, waiter: &Waiter);
    /// The select's waiter was claimed for this arm with `kind`: commit the operation.
    /// `false`: not possible after all (another thread took the change), select again.
    fn accept(&self, token: &mut Token, kind: usize) -> bool {
        let _ = kind;
        self.try_select(token, true)
    }
    /// Whether the operation could proceed now.
    fn is_ready(&self) -> bool;
    /// A watcher was notified and will not act on it: pass the notification on.
    fn pass_on(&self);
    /// The arm's partner can only complete with a registered waiter (a rendezvous channel),
    /// so the select must register before it spins.
    fn needs_registration(&self) -> bool {
        false
    }
    /// A number that changes whenever the arm's readiness may have changed (the channel's
    /// operation counters), for a linearizable non-blocking select.
    fn version(&self) -> u128;
    /// When the arm becomes ready by itself (a timer channel's deadline): a blocking select
    /// sleeps no longer than this, so no thread has to fire the timer. `None` for channels
    /// that only a peer's operation makes ready.
    fn deadline(&self) -> Option<std::time::Instant> {
        None
    }
    /// Moves the committed message out; `Err` if the commitment was to the close.
    ///
    /// # Safety
    ///
    /// `token` was committed by `try_select` or `accept` of a handle on this channel, and is
    /// used once, here or in `give_back`.
    unsafe fn complete(&self, token: &Token) -> Result<T, ()>;
    /// Undoes the commitment in `token`: the message goes back in place, or, where another
    /// receiver has overtaken it (or a rendezvous sender handed it over and left), is
    /// returned for the arm to keep.
    ///
    /// # Safety
    ///
    /// As [`complete`](Self::complete).
    unsafe fn give_back(&self, token: &Token) -> Option<T>;
}

/// A sending end as a select arm drives it. `value` is a `select!` arm's value, evaluated on
/// entering the select (Go's order), for flavours that hand it over while the select waits
/// (a rendezvous channel registers it in the arm's `FULL` packet); `None` for a `Select`
/// arm, whose value comes with its completion.
pub(crate) trait SendHandle<T> {
    /// As [`RecvHandle::try_select`].
    fn try_select(&self, token: &mut Token, exact: bool) -> bool;
    /// As [`RecvHandle::register`]; may move `value` into the registration.
    ///
    /// # Safety
    ///
    /// As [`RecvHandle::register`].
    unsafe fn register(
        &self,
        waiter: &Waiter,
        oper: usize,
        value: Option<&Cell<Option<T>>>,
    ) -> bool;
    /// As [`RecvHandle::watch`].
    ///
    /// # Safety
    ///
    /// As [`RecvHandle::register`].
    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { self.register(waiter, oper, None) }
    }
    /// Withdraws; a value `register` moved in comes back into `value`.
    fn unregister(&self, waiter: &Waiter, value: Option<&Cell<Option<T>>>);
    /// As [`RecvHandle::accept`]; a value `register` moved in and not taken comes back into
    /// `value`.
    fn accept(&self, token: &mut Token, kind: usize, value: Option<&Cell<Option<T>>>) -> bool {
        let _ = (kind, value);
        self.try_select(token, true)
    }
    fn is_ready(&self) -> bool;
    fn pass_on(&self);
    fn needs_registration(&self) -> bool {
        false
    }
    fn version(&self) -> u128;
    /// Moves `msg` through the committed operation; `Err(msg)` if it was to the close.
    ///
    /// # Safety
    ///
    /// As [`RecvHandle::complete`].
    unsafe fn complete(&self, token: &Token, msg: T) -> Result<(), T>;
    /// Undoes the commitment in `token`: the claimed slot is released (or marked for
    /// receivers to pass by), a rendezvous partner goes on waiting.
    ///
    /// # Safety
    ///
    /// As [`RecvHandle::complete`].
    unsafe fn give_back(&self, token: &Token);
}
