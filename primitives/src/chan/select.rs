//! `select` over channels, with Go's semantics: wait on several operations at once and
//! complete exactly one.
//!
//! # How a select runs
//!
//! 1. **Try pass.** Each arm is tried once, without blocking, starting from a random arm (Go's
//!    uniform choice among ready cases; [`Select::new_biased`] and
//!    [`select_biased!`](crate::select_biased) start from the first). Trying an arm *commits*
//!    it when it succeeds: the ring buffer and the list claim a slot, the rendezvous channel
//!    selects a waiting partner. The message itself moves afterwards, in the arm's
//!    completion, which is what lets a send arm compute its value only once it is chosen.
//! 2. **Spin.** The try pass repeats in the project's brief spin-then-yield.
//! 3. **Block.** One [`Waiter`] is registered in the wait list of every arm's channel, each
//!    registration under its arm's index. Whoever claims the waiter (one CAS on its word)
//!    selects the arm: for the ring buffer and the list that means "this arm's channel
//!    changed, try it again"; for the rendezvous channel it *is* the exchange, done with the
//!    packet the arm registered. A registration that finds its channel ready at once makes the
//!    select withdraw (abort its own waiter) and try again, so it never sleeps past a ready
//!    arm. On waking, the select removes its other registrations before anything else.
//!
//! A select therefore completes exactly one operation, also when it meets another select on
//! the two ends of a rendezvous channel (the second to register sees the first and completes
//! the exchange from its try pass) and when it races a close (the close claims the waiter; the
//! arm then completes with the error).
//!
//! The design follows crossbeam-channel's `select.rs` (tokens that commit an operation, one
//! context per select registered in each channel) and Go's `runtime/select.go` (random start,
//! a select waiting on every channel at once, `default`).
//!
//! # Allocation
//!
//! None on the path where an arm is ready. A blocked select on a rendezvous channel allocates
//! its arm's packet (a few words) once per arm; a [`Select`] keeps its arms in a `Vec`
//! allocated as they are added.

use core::cell::Cell;
use core::fmt;
use core::time::Duration;
use std::time::Instant;

use super::handle::{RecvHandle, SendHandle, Token, DELIVERED, STASHED};
use super::waiters::{self, Waiter, ABORTED, NOTIFIED};
use super::{deadline_after, End, Receiver, RecvError, SendError, Sender};
use crate::backoff::spin_then_yield_or_park;

/// One arm of a select, with its element type erased: what the selection algorithm below
/// drives (the typed arms forward to their channel's `handle` traits).
pub(super) trait Arm {
    /// Tries to commit the operation without blocking (`true`: committed, in `token`).
    /// Without `exact`, `false` may also mean "a peer is mid-operation on the slot" (see
    /// `array::Channel::start_send`): for the polls of a select that will re-check exactly
    /// before it sleeps.
    fn try_start(&self, token: &mut Token, exact: bool) -> bool;
    /// Registers `waiter` under index `oper`; returns whether the arm may be ready now.
    ///
    /// # Safety
    ///
    /// `waiter` stays alive and in place until [`unregister`](Self::unregister) ran.
    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool;
    fn unregister(&self, waiter: &Waiter);
    /// The select's waiter was claimed for this arm with `kind`: commit the operation.
    /// `false`: not possible after all (another thread took the change), select again.
    fn accept(&self, token: &mut Token, kind: usize) -> bool;
    /// Whether the operation could proceed now.
    fn is_ready(&self) -> bool;
    /// As `register`, but only to be told when the arm may be ready (`Select::ready`).
    ///
    /// # Safety
    ///
    /// As [`register`](Self::register).
    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool;
    /// A watcher was notified and will not act on it: pass the notification on.
    fn pass_on(&self);
    /// The arm's partner can only complete with a registered waiter (a rendezvous channel),
    /// so the select must register before it spins.
    fn needs_registration(&self) -> bool;
    /// Undoes the commitment in `token` (made by this arm, not completed): the claimed slot
    /// is released or marked for receivers to pass by, a rendezvous partner goes on waiting,
    /// and a message that cannot go back in place stays in the arm for its next selection.
    fn give_back(&self, token: &Token);
    /// A number that changes whenever the arm's readiness may have changed (the channel's
    /// operation counters), for a linearizable non-blocking select (`try_linearizable`).
    fn version(&self) -> u128;
    /// When the arm becomes ready by itself (a timer channel's deadline): a blocking select
    /// sleeps no longer than the earliest of these.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// As `register`, for an async select: a registration whose claim asks for nothing
    /// before the task runs again (it only wakes the task, which then tries the arm), so a
    /// select future can be dropped at its await point with nothing half done. Only a
    /// `select!` send arm on a rendezvous channel registers its value (`FULL`): a receiver
    /// takes it whole, or gives it back.
    ///
    /// # Safety
    ///
    /// As [`register`](Self::register).
    unsafe fn register_async(&self, waiter: &Waiter, oper: usize) -> bool;
    /// The async select's waiter was claimed for this arm with `kind`: commit the
    /// operation if it can proceed (`false`: select again).
    fn accept_async(&self, token: &mut Token, kind: usize) -> bool;
    /// The async select's waiter was claimed for this arm with `kind`, and the select goes
    /// away instead (its future dropped): finish or undo what the claim started, and pass
    /// an unused notification on.
    fn abandon_async(&self, kind: usize);
}

/// The receive arm of a select: `recv(rx)`.
#[doc(hidden)]
pub struct RecvArm<'a, T> {
    end: End<'a, T>,
    /// The channel's identity, put in every token the arm commits.
    chan: *const (),
    /// A message received for a [`SelectedOperation`] that was given back when it could not
    /// go back in place (another receiver had claimed past it, or a rendezvous sender had
    /// already handed it over). The arm is ready while it holds one, and its next
    /// selection delivers it first; it drops with the arm.
    stash: Cell<Option<T>>,
    /// Whether `stash` holds a message (read without moving it).
    stashed: Cell<bool>,
}

/// The send arm of a select: `send(tx, value)`.
#[doc(hidden)]
pub struct SendArm<'a, T> {
    end: End<'a, T>,
    chan: *const (),
    /// `select!`'s arm: the value, evaluated on entering the select (Go's order), until it
    /// is sent (or, on a rendezvous channel, while it sits in the registered packet). It
    /// drops with the arm if another arm is chosen. Empty for a [`Select`] arm, whose value
    /// comes with its completion.
    value: Cell<Option<T>>,
    /// Whether this is a `select!` arm carrying its value.
    valued: bool,
}

impl<'a, T> RecvArm<'a, T> {
    #[doc(hidden)]
    pub fn new(rx: &'a Receiver<T>) -> Self {
        let (end, chan) = rx.select_end();
        Self {
            end,
            chan,
            stash: Cell::new(None),
            stashed: Cell::new(false),
        }
    }

    /// Completes the receive this arm committed.
    ///
    /// # Panics
    ///
    /// If `token` is not a receive this arm's channel committed (a misuse of this hidden
    /// API; `select!` passes the chosen arm its own token).
    #[doc(hidden)]
    #[inline]
    pub fn complete(&self, token: &Token) -> Result<T, RecvError> {
        assert!(
            token.chan == self.chan && !token.send,
            "weft::chan::select: the token is not a receive on this arm's channel"
        );
        if token.how == STASHED {
            self.stashed.set(false);
            return Ok(self.stash.take().expect("a stashed arm holds a message"));
        }
        // SAFETY: a token committed on this very channel (checked above), by this arm's
        // `try_start` or `accept` (every token names the arm that committed it: `select!`
        // completes only the chosen arm, a `SelectedOperation` only its own), completed
        // once: a `SelectedOperation` is consumed by its completion, `select!` completes one
        // arm once.
        unsafe { RecvHandle::complete(&self.end, token) }.map_err(|()| RecvError)
    }

    fn keep(&self, msg: T) {
        debug_assert!(!self.stashed.get(), "one stashed message per arm");
        self.stash.set(Some(msg));
        self.stashed.set(true);
    }
}

impl<'a, T> SendArm<'a, T> {
    /// A [`Select`] arm: the value comes with the completion.
    #[doc(hidden)]
    pub fn new(tx: &'a Sender<T>) -> Self {
        let (end, chan) = tx.select_end();
        Self {
            end,
            chan,
            value: Cell::new(None),
            valued: false,
        }
    }

    /// A `select!` arm, with its value evaluated on entering the select.
    #[doc(hidden)]
    #[inline]
    pub fn with_value(tx: &'a Sender<T>, value: T) -> Self {
        let (end, chan) = tx.select_end();
        Self {
            end,
            chan,
            value: Cell::new(Some(value)),
            valued: true,
        }
    }

    /// The value a `select!` arm carries, for flavours that register it.
    fn value(&self) -> Option<&Cell<Option<T>>> {
        self.valued.then_some(&self.value)
    }

    /// Whether an async select registers this arm's value with the channel: a `select!`
    /// send arm on a rendezvous channel, whose receiver then takes it whole.
    fn hands_over(&self) -> bool {
        self.valued && SendHandle::needs_registration(&self.end)
    }

    /// Completes the send this `select!` arm committed, with its value.
    ///
    /// # Panics
    ///
    /// As [`RecvArm::complete`].
    #[doc(hidden)]
    #[inline]
    pub fn complete(&self, token: &Token) -> Result<(), SendError<T>> {
        if token.how == DELIVERED && token.chan == self.chan && token.send {
            return Ok(());
        }
        let msg = self
            .value
            .take()
            .expect("a select! send arm holds its value");
        self.complete_with(token, msg)
    }

    /// Completes the committed send with `msg`.
    #[inline]
    fn complete_with(&self, token: &Token, msg: T) -> Result<(), SendError<T>> {
        assert!(
            token.chan == self.chan && token.send,
            "weft::chan::select: the token is not a send on this arm's channel"
        );
        // SAFETY: as in `RecvArm::complete`.
        unsafe { SendHandle::complete(&self.end, token, msg) }.map_err(SendError)
    }
}

// SAFETY: an arm owns what it holds when it is not inside a select call (a `Select` moves
// only while no `SelectedOperation` borrows it, and between its calls): `end` refers to a
// channel that is `Sync` for `T: Send`, and a rendezvous end's packet is registered nowhere
// (a select unregisters before it returns) and holds at most a `T`; `chan` is an identity,
// never dereferenced; the stash holds a `T`. Moving those to another thread moves `T`s.
unsafe impl<T: Send> Send for RecvArm<'_, T> {}
// SAFETY: as for `RecvArm`; `value` holds a `T`.
unsafe impl<T: Send> Send for SendArm<'_, T> {}

impl<T> Arm for RecvArm<'_, T> {
    #[inline]
    fn try_start(&self, token: &mut Token, exact: bool) -> bool {
        token.start(self.chan, false);
        if self.stashed.get() {
            token.how = STASHED;
            return true;
        }
        RecvHandle::try_select(&self.end, token, exact)
    }

    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { RecvHandle::register(&self.end, waiter, oper) }
    }

    fn unregister(&self, waiter: &Waiter) {
        RecvHandle::unregister(&self.end, waiter);
    }

    fn accept(&self, token: &mut Token, kind: usize) -> bool {
        // A stashed arm never registers (its try pass commits it), so is never claimed.
        token.start(self.chan, false);
        RecvHandle::accept(&self.end, token, kind)
    }

    fn needs_registration(&self) -> bool {
        RecvHandle::needs_registration(&self.end)
    }

    fn version(&self) -> u128 {
        if self.stashed.get() {
            return u128::MAX; // ready: never reaches the version comparison
        }
        RecvHandle::version(&self.end)
    }

    fn deadline(&self) -> Option<Instant> {
        RecvHandle::deadline(&self.end)
    }

    fn give_back(&self, token: &Token) {
        if token.how == STASHED {
            return; // the message stays in the stash
        }
        // SAFETY: a token this arm committed on its channel and nobody completed (our
        // caller's contract), used once here.
        if let Some(msg) = unsafe { RecvHandle::give_back(&self.end, token) } {
            self.keep(msg);
        }
    }

    fn is_ready(&self) -> bool {
        self.stashed.get() || RecvHandle::is_ready(&self.end)
    }

    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { RecvHandle::watch(&self.end, waiter, oper) }
    }

    fn pass_on(&self) {
        RecvHandle::pass_on(&self.end);
    }

    unsafe fn register_async(&self, waiter: &Waiter, oper: usize) -> bool {
        // A receive only watches: on a rendezvous channel it registers no packet, so no
        // sender can hand it a message that a dropped future would then hold.
        // SAFETY: forwarded from our caller.
        unsafe { RecvHandle::watch(&self.end, waiter, oper) }
    }

    fn accept_async(&self, token: &mut Token, kind: usize) -> bool {
        if self.try_start(token, true) {
            return true;
        }
        self.abandon_async(kind);
        false
    }

    fn abandon_async(&self, kind: usize) {
        if kind == NOTIFIED {
            RecvHandle::pass_on(&self.end);
        }
    }
}

impl<T> Arm for SendArm<'_, T> {
    #[inline]
    fn try_start(&self, token: &mut Token, exact: bool) -> bool {
        token.start(self.chan, true);
        SendHandle::try_select(&self.end, token, exact)
    }

    unsafe fn register(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { SendHandle::register(&self.end, waiter, oper, self.value()) }
    }

    fn unregister(&self, waiter: &Waiter) {
        SendHandle::unregister(&self.end, waiter, self.value());
    }

    fn accept(&self, token: &mut Token, kind: usize) -> bool {
        token.start(self.chan, true);
        SendHandle::accept(&self.end, token, kind, self.value())
    }

    fn version(&self) -> u128 {
        SendHandle::version(&self.end)
    }

    fn give_back(&self, token: &Token) {
        if token.how == DELIVERED {
            return;
        }
        // SAFETY: as in `RecvArm::give_back`.
        unsafe { SendHandle::give_back(&self.end, token) };
    }

    fn needs_registration(&self) -> bool {
        SendHandle::needs_registration(&self.end)
    }

    fn is_ready(&self) -> bool {
        SendHandle::is_ready(&self.end)
    }

    unsafe fn watch(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe { SendHandle::watch(&self.end, waiter, oper) }
    }

    fn pass_on(&self) {
        SendHandle::pass_on(&self.end);
    }

    unsafe fn register_async(&self, waiter: &Waiter, oper: usize) -> bool {
        // SAFETY: forwarded from our caller.
        unsafe {
            if self.hands_over() {
                SendHandle::register(&self.end, waiter, oper, self.value())
            } else {
                SendHandle::watch(&self.end, waiter, oper)
            }
        }
    }

    fn accept_async(&self, token: &mut Token, kind: usize) -> bool {
        if self.hands_over() {
            // The registered `FULL` packet: delivered, given back, or closed.
            return self.accept(token, kind);
        }
        if self.try_start(token, true) {
            return true;
        }
        self.abandon_async(kind);
        false
    }

    fn abandon_async(&self, kind: usize) {
        if self.hands_over() {
            // A receiver took our packet (or the close did): wait out the exchange. The value
            // was delivered (the send happened, once), or comes back to the arm and drops
            // with it, never sent.
            let mut token = Token::new();
            if self.accept(&mut token, kind) && token.how != DELIVERED {
                // The close: the arm committed to failing; nothing to give back but the token.
                self.give_back(&token);
            }
        } else if kind == NOTIFIED {
            SendHandle::pass_on(&self.end);
        }
    }
}

/// The place of an operation removed from a [`Select`]: never ready, so indices stay stable.
struct Removed;

impl Arm for Removed {
    fn try_start(&self, _: &mut Token, _: bool) -> bool {
        false
    }
    unsafe fn register(&self, _: &Waiter, _: usize) -> bool {
        false
    }
    fn unregister(&self, _: &Waiter) {}
    fn accept(&self, _: &mut Token, _: usize) -> bool {
        unreachable!("a removed operation is never registered")
    }
    fn is_ready(&self) -> bool {
        false
    }
    unsafe fn watch(&self, _: &Waiter, _: usize) -> bool {
        false
    }
    fn pass_on(&self) {}
    fn needs_registration(&self) -> bool {
        false
    }
    fn give_back(&self, _: &Token) {
        unreachable!("a removed operation never commits")
    }
    fn version(&self) -> u128 {
        0
    }
    unsafe fn register_async(&self, _: &Waiter, _: usize) -> bool {
        false
    }
    fn accept_async(&self, _: &mut Token, _: usize) -> bool {
        unreachable!("a removed operation is never registered")
    }
    fn abandon_async(&self, _: usize) {
        unreachable!("a removed operation is never registered")
    }
}

/// A reference to an arm, for the array `select!` builds on its stack.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ArmRef<'r>(&'r dyn Arm);

impl<'r, 'a: 'r, T: 'r> From<&'r RecvArm<'a, T>> for ArmRef<'r> {
    fn from(arm: &'r RecvArm<'a, T>) -> Self {
        ArmRef(arm)
    }
}

impl<'r, 'a: 'r, T: 'r> From<&'r SendArm<'a, T>> for ArmRef<'r> {
    fn from(arm: &'r SendArm<'a, T>) -> Self {
        ArmRef(arm)
    }
}

/// The arms of one select, however they are stored.
pub(super) trait Arms {
    fn count(&self) -> usize;
    fn arm(&self, i: usize) -> &dyn Arm;
}

impl Arms for [ArmRef<'_>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn arm(&self, i: usize) -> &dyn Arm {
        self[i].0
    }
}

impl<'a> Arms for [Box<dyn Arm + Send + 'a>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn arm(&self, i: usize) -> &dyn Arm {
        &*self[i]
    }
}

/// How long a select may wait.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Timeout {
    /// Not at all (`default`).
    Now,
    /// Until an arm is ready.
    Never,
    /// Until an arm is ready or the instant passes.
    At(Instant),
}

impl Timeout {
    #[doc(hidden)]
    pub fn after(timeout: Duration) -> Self {
        deadline_after(timeout).map_or(Timeout::Never, Timeout::At)
    }
}

/// The order in which a select polls and registers its arms: a uniformly random permutation
/// (Go's `selectgo` shuffles its poll order), or written order when biased. Drawn lazily, by
/// Fisher-Yates one step at a time, so a select whose first arm is ready draws one random
/// number; the order then stays fixed for the rest of the call (its later passes and its
/// registrations), so a blocked select also registers in random order, and a partner that
/// takes the first registration picks among duplicate arms uniformly.
///
/// Why a permutation and not a random start followed by a rotation: with a rotation, an arm
/// that follows `k` never-ready arms is first whenever the start falls on any of them, and
/// gets `k + 1` shares (arms `[never, never, ready, ready]` were chosen 75% / 25%).
pub(super) struct Order {
    n: usize,
    /// Positions `..drawn` are fixed; the rest is the pool still to draw from.
    drawn: usize,
    biased: bool,
    /// The arm drawn first (valid once `drawn >= 1`).
    first: usize,
    /// The pool position Fisher-Yates' second step swapped with position 1 (valid once
    /// `drawn >= 2`): like the first, recorded without the table, which only a third draw
    /// writes out. A select over two channels of which one is quiet draws twice on about half
    /// its rounds; writing the table there cost ~50 instructions per message
    /// (bench-harness/examples/async_path.rs `weft-select`, Callgrind).
    second: usize,
    /// The permutation, written only once a third draw needs it: a biased select, and a
    /// random one whose first arm is ready, never touch it. An `Order` is built on every
    /// select, and building (zeroing, moving) a 128-byte table each time cost a biased
    /// reused `Select` 60% more instructions per message (ci/gungraun.sh, `select_dynamic`).
    slots: Slots,
}

/// The storage of a permutation being drawn: inline for up to `SMALL` arms, else on the heap.
enum Slots {
    Unwritten,
    Small([u32; SMALL]),
    Large(Vec<u32>),
}

/// Arms a select orders without allocating.
const SMALL: usize = 32;

impl Order {
    #[inline(always)]
    pub(super) fn new(n: usize, biased: bool) -> Self {
        // The model build keeps schedules deterministic: loom replays them.
        let biased = biased || cfg!(weft_loom) || n < 2;
        Self {
            n,
            drawn: 0,
            biased,
            first: 0,
            second: 1,
            slots: Slots::Unwritten,
        }
    }

    /// The arm at position `k` of the order (`k` < `n`, and positions asked in increasing
    /// order the first time).
    #[inline]
    pub(super) fn at(&mut self, k: usize) -> usize {
        if self.biased {
            return k;
        }
        if k == 0 {
            if self.drawn == 0 {
                // Fisher-Yates' first step swaps position 0 with a uniform `j`; the table
                // that records the swap waits until a second draw needs it.
                self.first = random_below(self.n);
                self.drawn = 1;
            }
            return self.first;
        }
        self.later(k)
    }

    /// What position `i` holds after the first swap (0 with `first`), before any other.
    #[inline]
    fn identity(&self, i: usize) -> usize {
        match i {
            0 => self.first,
            i if i == self.first => 0,
            i => i,
        }
    }

    /// Position `k >= 1`: draws up to it; from the third position on, writing the table out
    /// first if still unwritten.
    #[cold]
    fn later(&mut self, k: usize) -> usize {
        let n = self.n;
        // Kept out of `at`, which is inlined into every select: there the extra branch cost
        // a reused biased `Select` 23% more instructions (ci/gungraun.sh, `select_dynamic`).
        if k == 1 && matches!(self.slots, Slots::Unwritten) {
            if self.drawn == 1 {
                let pool = n - 1;
                self.second = 1 + if pool > 1 { random_below(pool) } else { 0 };
                self.drawn = 2;
            }
            return self.identity(self.second);
        }
        let unwritten = matches!(self.slots, Slots::Unwritten);
        if unwritten {
            let identity = |i: usize| self.identity(i) as u32;
            self.slots = if n <= SMALL {
                let mut small = [0; SMALL];
                for (i, slot) in small[..n].iter_mut().enumerate() {
                    *slot = identity(i);
                }
                Slots::Small(small)
            } else {
                Slots::Large((0..n).map(identity).collect())
            };
        }
        let second = self.second;
        let slots = match &mut self.slots {
            Slots::Small(small) => &mut small[..n],
            Slots::Large(large) => &mut large[..],
            Slots::Unwritten => unreachable!("written above"),
        };
        if unwritten && self.drawn >= 2 {
            // Replay the second step, drawn before the table existed.
            slots.swap(1, second);
        }
        while self.drawn <= k {
            let j = self.drawn + random_below(n - self.drawn);
            slots.swap(self.drawn, j);
            self.drawn += 1;
        }
        slots[k] as usize
    }
}

/// A per-thread xorshift64* generator: uniform enough for choosing among arms, and free of
/// shared state. The model build never calls it (`Order` is biased there).
fn random_below(n: usize) -> usize {
    #[cfg(weft_loom)]
    {
        let _ = n;
        0
    }
    #[cfg(not(weft_loom))]
    {
        std::thread_local! {
            static STATE: Cell<u64> = Cell::new({
                // Seed from std's per-thread random hash keys (and the thread-local's address):
                // distinct per thread and per run, with no system call per select.
                use std::hash::{BuildHasher, Hasher};
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_usize(&STATE as *const _ as usize);
                h.finish() | 1
            });
        }
        let step = |s: &Cell<u64>| {
            let mut x = s.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            s.set(x);
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        // In a thread-local destructor the generator may be gone: a stack-address-seeded draw
        // keeps the select working there (its fairness matters less than not aborting).
        let r = STATE.try_with(step).unwrap_or_else(|_| {
            let local = 0u8;
            step(&Cell::new(core::ptr::from_ref(&local) as u64 | 1))
        });
        // Multiply-shift maps the high bits onto 0..n without a division.
        ((u128::from(r >> 32) * n as u128) >> 32) as usize
    }
}

/// How long a blocked select sleeps: until its own `deadline` or the earliest deadline of a
/// timer arm, whichever comes first. Read after registering, so a reset of a timer after
/// this read notifies the registered waiter.
fn wake_at<A: Arms + ?Sized>(
    arms: &A,
    order: &mut Order,
    registered: usize,
    deadline: Option<Instant>,
) -> Option<Instant> {
    (0..registered)
        .filter_map(|k| arms.arm(order.at(k)).deadline())
        .chain(deadline)
        .min()
}

/// Blocks until `deadline` (forever without one): a select without arms.
fn sleep_until(deadline: Option<Instant>) {
    loop {
        match deadline {
            None => std::thread::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return;
                }
                std::thread::sleep(d - now);
            }
        }
    }
}

/// Withdraws `waiter` from the arms at the first `registered` positions of `order` after its
/// wait ended with `selected`.
///
/// A notifier that claimed the waiter for arm `i` (any kind but `ABORTED`; the only
/// claiming CAS is in `WaitQueue::select_first`) removes that arm's entry in the same
/// critical section as its CAS, and touches the waiter no more after the CAS (rule 2 of the
/// waiters module): once the arm's lock is free again nobody can find the entry, so arm `i`
/// needs no visit, which saves one lock round trip per blocked select (the only one for a
/// select of one arm).
pub(super) fn unregister_all<A: Arms + ?Sized>(
    arms: &A,
    order: &mut Order,
    registered: usize,
    waiter: &Waiter,
    selected: usize,
) {
    let claimed_for = (waiters::kind(selected) != ABORTED).then(|| waiters::oper(selected));
    for k in 0..registered {
        let i = order.at(k);
        if Some(i) != claimed_for {
            arms.arm(i).unregister(waiter);
        }
    }
}

/// One pass over every arm in `order`: the first that commits.
#[inline]
pub(super) fn try_pass<A: Arms + ?Sized>(
    arms: &A,
    order: &mut Order,
    token: &mut Token,
    exact: bool,
) -> Option<usize> {
    (0..order.n)
        .map(|k| order.at(k))
        .find(|&i| arms.arm(i).try_start(token, exact))
}

/// A non-blocking select that is linearizable: it commits an arm, or reports that none was
/// ready at some instant during the call. A single pass is not enough: arm 1 may be empty
/// when looked at, then filled, while arm 2 is emptied before its look, so that some arm was
/// ready at every instant. So, after a pass that found nothing, every arm's version (its
/// channel's operation counters, which any change of readiness moves) is read, a second
/// pass runs, and the versions are read again: if none moved, each arm stayed unready from
/// its first read to its second, and all were unready together at the end of the second
/// pass. Otherwise some operation completed meanwhile, and it goes round again.
pub(super) fn try_linearizable<A: Arms + ?Sized>(
    arms: &A,
    order: &mut Order,
    token: &mut Token,
    mut look: impl FnMut(&A, &mut Order, &mut Token) -> Option<usize>,
) -> Option<usize> {
    if let Some(i) = look(arms, order, token) {
        return Some(i);
    }
    let n = arms.count();
    let mut small = [0u128; SMALL];
    let mut large = Vec::new();
    let before: &mut [u128] = if n <= SMALL {
        &mut small[..n]
    } else {
        large.resize(n, 0);
        &mut large[..]
    };
    let mut backoff = crate::backoff::Backoff::new();
    loop {
        for (i, v) in before.iter_mut().enumerate() {
            *v = arms.arm(i).version();
        }
        if let Some(i) = look(arms, order, token) {
            return Some(i);
        }
        if before
            .iter()
            .enumerate()
            .all(|(i, v)| arms.arm(i).version() == *v)
        {
            return None;
        }
        backoff.snooze();
    }
}

/// Runs a select over `arms`: commits exactly one operation, in `token`, and returns its
/// index, or `None` if `timeout` passed first (at once for `Timeout::Now`).
///
/// The token is filled in place, never returned by value: a returned token is copied through
/// the callers' frames, and on x86 those copies' 16-byte loads cannot be forwarded from the
/// 8-byte stores that filled it; each stalls until the stores reach the cache. One thread
/// sending into a ring buffer and draining it through a reused `Select`: 35.5 ns per message
/// with the token returned through three frames, 29 with those frames inlined, 14 with the
/// token filled in place (crossbeam-channel's `Select`: 29-30; a plain `recv`: 12). A
/// `select!` draining a list: 30.7 -> 12.7 ns (crossbeam-channel's `select!`: 13.6).
#[inline]
fn run<A: Arms + ?Sized>(
    arms: &A,
    biased: bool,
    timeout: Timeout,
    token: &mut Token,
) -> Option<usize> {
    let mut order = Order::new(arms.count(), biased);
    // A select that may wait polls inexactly: it re-checks exactly before it sleeps.
    let exact = matches!(timeout, Timeout::Now);
    if let Some(i) = try_pass(arms, &mut order, token, exact) {
        return Some(i);
    }
    match timeout {
        Timeout::Now => {
            try_linearizable(arms, &mut order, token, |a, o, t| try_pass(a, o, t, true))
        }
        _ => wait_and_run(arms, &mut order, timeout, token),
    }
}

/// The blocking part of [`run`], out of line so that the path where an arm is ready at once
/// stays small: registers, waits, and commits, or gives up at the deadline.
#[cold]
#[inline(never)]
fn wait_and_run<A: Arms + ?Sized>(
    arms: &A,
    order: &mut Order,
    timeout: Timeout,
    token: &mut Token,
) -> Option<usize> {
    let n = arms.count();
    let deadline = match timeout {
        Timeout::Now => return None,
        Timeout::Never => None,
        Timeout::At(d) => Some(d),
    };
    if n == 0 {
        sleep_until(deadline);
        return None;
    }
    let exact_look = |order: &mut Order, token: &mut Token| {
        try_linearizable(arms, order, token, |a, o, t| try_pass(a, o, t, true))
    };
    // With a rendezvous arm, no spin before registering: its partner (a plain operation or
    // another select) can only pair with a *registered* waiter, so two selects that both spun
    // first would each wait out the other's spin (select_both on bounded(0) went from ~5 us
    // to ~1 us per message). The spin then happens after registering, on the waiter's own
    // word (`Waiter::wait`), where a partner can complete with us meanwhile. With buffered
    // arms only, spinning on the channels first is cheaper than registering on each.
    let register_first = (0..n).any(|i| arms.arm(i).needs_registration());
    let mut first = true;
    loop {
        let found = if first && register_first {
            None
        } else if first {
            // Polls, so inexact: the registration below re-checks each arm exactly.
            spin_then_yield_or_park(|| try_pass(arms, order, token, false))
        } else {
            try_pass(arms, order, token, true)
        };
        if found.is_some() {
            return found;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // Out of time before registering: one exact, linearizable look (the polls above
            // may have missed a ready arm, or not looked at all), as `Timeout::Now` takes.
            return if first {
                exact_look(order, token)
            } else {
                None
            };
        }
        first = false;
        let waiter = Waiter::for_thread();
        let mut registered = 0;
        let mut ready = false;
        while registered < n && !ready {
            let i = order.at(registered);
            // SAFETY: `waiter` lives on this frame, and every arm registered here is
            // unregistered below before the frame ends.
            ready = unsafe { arms.arm(i).register(&waiter, i) };
            registered += 1;
        }
        let selected = if ready {
            // An arm is ready: withdraw and try again, unless a partner claimed us already.
            waiter.try_abort().err().unwrap_or(ABORTED)
        } else {
            waiter.wait(wake_at(arms, order, registered, deadline))
        };
        unregister_all(arms, order, registered, &waiter, selected);
        if waiters::kind(selected) == ABORTED {
            if ready || !deadline.is_some_and(|d| Instant::now() >= d) {
                continue; // an arm was ready, or a timer arm's deadline came first
            }
            // Timed out: one last, linearizable look.
            return exact_look(order, token);
        }
        let i = waiters::oper(selected);
        if arms.arm(i).accept(token, waiters::kind(selected)) {
            return Some(i);
        }
    }
}

/// Waits until one of `arms` may be ready, without committing anything: `Select::ready`.
fn run_ready<A: Arms + ?Sized>(arms: &A, biased: bool, timeout: Timeout) -> Option<usize> {
    let n = arms.count();
    let mut order = Order::new(n, biased);
    let ready_pass = |arms: &A, order: &mut Order| {
        (0..n)
            .map(|k| order.at(k))
            .find(|&i| arms.arm(i).is_ready())
    };
    let mut unused = Token::new();
    let mut look =
        |order: &mut Order| try_linearizable(arms, order, &mut unused, |a, o, _| ready_pass(a, o));
    if let Some(i) = ready_pass(arms, &mut order) {
        return Some(i);
    }
    let deadline = match timeout {
        Timeout::Now => return look(&mut order),
        Timeout::Never => None,
        Timeout::At(d) => Some(d),
    };
    if n == 0 {
        sleep_until(deadline);
        return None;
    }
    loop {
        if let Some(i) = spin_then_yield_or_park(|| ready_pass(arms, &mut order)) {
            return Some(i);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return look(&mut order);
        }
        let waiter = Waiter::for_thread();
        let mut registered = 0;
        let mut ready = false;
        while registered < n && !ready {
            let i = order.at(registered);
            // SAFETY: as in `run`.
            ready = unsafe { arms.arm(i).watch(&waiter, i) };
            registered += 1;
        }
        let selected = if ready {
            waiter.try_abort().err().unwrap_or(ABORTED)
        } else {
            waiter.wait(wake_at(arms, &mut order, registered, deadline))
        };
        unregister_all(arms, &mut order, registered, &waiter, selected);
        match waiters::kind(selected) {
            ABORTED if ready || !deadline.is_some_and(|d| Instant::now() >= d) => continue,
            ABORTED => return look(&mut order),
            kind => {
                let i = waiters::oper(selected);
                if kind == NOTIFIED {
                    // The notification may have been meant for a thread that will act on it.
                    arms.arm(i).pass_on();
                }
                if arms.arm(i).is_ready() {
                    return Some(i);
                }
            }
        }
    }
}

/// The entry point of [`select!`](crate::select): runs the select over `arms` (built on the
/// caller's stack), committing the chosen operation in `token` (the caller's, completed in
/// place: see `run`). Not public API.
#[doc(hidden)]
pub fn __run(
    arms: &[ArmRef<'_>],
    biased: bool,
    timeout: Timeout,
    token: &mut Token,
) -> Option<usize> {
    run(arms, biased, timeout, token)
}

/// A select over a number of operations known only at run time.
///
/// Add operations with [`recv`](Self::recv) and [`send`](Self::send) (each returns the
/// operation's index), then call [`select`](Self::select) (or `try_select`,
/// `select_timeout`): it returns a [`SelectedOperation`] naming the chosen operation, which
/// must then be completed with [`SelectedOperation::recv`] or [`SelectedOperation::send`] on
/// the same handle. Among several ready operations one is chosen uniformly at random
/// ([`new_biased`](Self::new_biased): the first added).
///
/// A `Select` is `Send` (it holds only handles of `Send` element types: `recv` and `send`
/// ask for `T: Send`), so it can be built on one thread and used on another; it is not
/// `Sync` (every call takes `&mut self`).
///
/// A `Select` can be reused: each call selects afresh. It allocates as operations are added,
/// not per call (except a few words the first time a call blocks on a rendezvous channel).
///
/// # Examples
///
/// ```
/// use weft::chan::{bounded, Select};
///
/// let (tx1, rx1) = bounded::<i32>(1);
/// let (_tx2, rx2) = bounded::<i32>(1);
/// tx1.send(7).unwrap();
///
/// let receivers = [&rx1, &rx2];
/// let mut sel = Select::new();
/// for rx in receivers {
///     sel.recv(rx);
/// }
/// let oper = sel.select();
/// let index = oper.index();
/// assert_eq!(index, 0);
/// assert_eq!(oper.recv(receivers[index]), Ok(7));
/// ```
pub struct Select<'a> {
    arms: Vec<Box<dyn Arm + Send + 'a>>,
    /// Indices of removed operations (their place holds a `Removed`).
    removed: Vec<usize>,
    biased: bool,
    /// The operation the last select committed, read in place by its `SelectedOperation`
    /// (see `run` on why it is not moved).
    token: Token,
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("operations", &self.arms.len())
            .field("biased", &self.biased)
            .finish()
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// [`Select::try_select`] found no operation ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrySelectError;

/// [`Select::select_timeout`] (or `ready_timeout`, `select_deadline`, `ready_deadline`) ran out
/// of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectTimeoutError;

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no operation is ready")
    }
}

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for an operation")
    }
}

impl std::error::Error for TrySelectError {}
impl std::error::Error for SelectTimeoutError {}

impl<'a> Select<'a> {
    /// An empty select with Go's fairness: a random choice among ready operations.
    ///
    /// ```
    /// use weft::chan::{bounded, Select};
    /// let (tx1, rx1) = bounded(1);
    /// let (tx2, rx2) = bounded(1);
    /// tx1.send("a").unwrap();
    /// tx2.send("b").unwrap();
    /// let mut sel = Select::new();
    /// let i1 = sel.recv(&rx1);
    /// let i2 = sel.recv(&rx2);
    /// let op = sel.select(); // both are ready: either may be chosen
    /// let got = match op.index() {
    ///     i if i == i1 => op.recv(&rx1).unwrap(),
    ///     i if i == i2 => op.recv(&rx2).unwrap(),
    ///     _ => unreachable!(),
    /// };
    /// assert!(got == "a" || got == "b");
    /// ```
    pub fn new() -> Self {
        Self {
            arms: Vec::new(),
            removed: Vec::new(),
            biased: false,
            token: Token::new(),
        }
    }

    /// An empty select that prefers the operation added first among ready ones.
    ///
    /// ```
    /// use weft::chan::{bounded, Select};
    /// let (tx1, rx1) = bounded(1);
    /// let (tx2, rx2) = bounded(1);
    /// tx1.send(1).unwrap();
    /// tx2.send(2).unwrap();
    /// let mut sel = Select::new_biased();
    /// sel.recv(&rx1);
    /// sel.recv(&rx2);
    /// let op = sel.select();
    /// assert_eq!(op.index(), 0, "the first added wins among ready ones");
    /// assert_eq!(op.recv(&rx1), Ok(1));
    /// ```
    pub fn new_biased() -> Self {
        Self {
            arms: Vec::new(),
            removed: Vec::new(),
            biased: true,
            token: Token::new(),
        }
    }

    /// Adds a receive on `rx`; returns its index.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::unbounded();
    /// tx.send(3).unwrap();
    /// let mut sel = weft::chan::Select::new();
    /// let i = sel.recv(&rx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), i);
    /// assert_eq!(op.recv(&rx), Ok(3));
    /// ```
    pub fn recv<T: Send>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.arms.push(Box::new(RecvArm::new(rx)));
        self.arms.len() - 1
    }

    /// Adds a send on `tx`; returns its index. The value is given on completion
    /// ([`SelectedOperation::send`]): between the selection and the completion, a rendezvous
    /// receiver that was chosen waits for it, so complete promptly.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// let mut sel = weft::chan::Select::new();
    /// let i = sel.send(&tx);
    /// let op = sel.select(); // there is room
    /// assert_eq!(op.index(), i);
    /// op.send(&tx, "hello").unwrap();
    /// assert_eq!(rx.recv(), Ok("hello"));
    /// ```
    pub fn send<T: Send>(&mut self, tx: &'a Sender<T>) -> usize {
        self.arms.push(Box::new(SendArm::new(tx)));
        self.arms.len() - 1
    }

    /// Removes the operation at `index` (e.g. on a channel found closed); the indices of the
    /// others do not change. A select whose operations are all removed blocks forever.
    ///
    /// # Panics
    ///
    /// If there is no operation at `index`, or it was removed already.
    ///
    /// ```
    /// use weft::chan::{bounded, Select};
    /// let (tx1, rx1) = bounded::<u8>(1);
    /// let (tx2, rx2) = bounded(1);
    /// drop(tx1); // closed: its receive is always ready
    /// tx2.send(9).unwrap();
    /// let mut sel = Select::new_biased();
    /// let closed = sel.recv(&rx1);
    /// let live = sel.recv(&rx2);
    /// sel.remove(closed);
    /// let op = sel.select();
    /// assert_eq!(op.index(), live);
    /// assert_eq!(op.recv(&rx2), Ok(9));
    /// ```
    pub fn remove(&mut self, index: usize) {
        assert!(
            index < self.arms.len() && !self.removed.contains(&index),
            "weft::chan::Select::remove: no operation at index {index}"
        );
        self.arms[index] = Box::new(Removed);
        self.removed.push(index);
    }

    #[inline]
    fn selected(&mut self, timeout: Timeout) -> Option<SelectedOperation<'_>> {
        let index = run(&self.arms[..], self.biased, timeout, &mut self.token)?;
        Some(self.selected_operation(index))
    }

    /// The operation at `index`, which a selection just committed in `self.token`.
    pub(super) fn selected_operation(&mut self, index: usize) -> SelectedOperation<'_> {
        SelectedOperation {
            index,
            token: &self.token,
            arm: &*self.arms[index],
        }
    }

    /// The arms and the token, for a selection run elsewhere (`select_async.rs`).
    pub(super) fn parts(&mut self) -> (&[Box<dyn Arm + Send + 'a>], &mut Token, bool) {
        (&self.arms[..], &mut self.token, self.biased)
    }

    /// Waits until an operation can proceed and commits it. A select without operations
    /// blocks forever, as in Go.
    ///
    /// # Panics
    ///
    /// Never on its own: a select with no operations (or with all of them removed) blocks
    /// forever, as Go's `select {}` does, rather than panicking. Completing the returned
    /// [`SelectedOperation`] with another channel than the one at its index panics there.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(0);
    /// let sender = std::thread::spawn(move || tx.send(5).unwrap());
    /// let mut sel = weft::chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select().recv(&rx), Ok(5)); // waits for the sender
    /// sender.join().unwrap();
    /// ```
    #[inline]
    pub fn select(&mut self) -> SelectedOperation<'_> {
        self.selected(Timeout::Never)
            .expect("a select without a deadline returns an operation")
    }

    /// Commits an operation that can proceed now, if any (Go's `default`).
    ///
    /// Linearizable, as Go's `select` with `default` is: it reports that nothing is ready
    /// only if, at some instant during the call, no operation could proceed (a single pass
    /// over the operations could see each one unready at a different moment while one of
    /// them was always ready; it looks again until the channels hold still).
    ///
    /// # Errors
    ///
    /// [`TrySelectError`] if none can.
    ///
    /// ```
    /// use weft::chan::{bounded, Select, TrySelectError};
    /// let (_tx, rx) = bounded::<u8>(1);
    /// let mut sel = Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.try_select().err(), Some(TrySelectError));
    /// ```
    #[inline]
    pub fn try_select(&mut self) -> Result<SelectedOperation<'_>, TrySelectError> {
        self.selected(Timeout::Now).ok_or(TrySelectError)
    }

    /// As [`select`](Self::select), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if no operation could proceed in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::chan::{bounded, Select, SelectTimeoutError};
    /// let (_tx, rx) = bounded::<u8>(1);
    /// let mut sel = Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select_timeout(Duration::from_millis(2)).err(), Some(SelectTimeoutError));
    /// ```
    #[inline]
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'_>, SelectTimeoutError> {
        self.selected(Timeout::after(timeout))
            .ok_or(SelectTimeoutError)
    }

    /// As [`select`](Self::select), waiting until `deadline` at most: for a loop whose
    /// selects share one deadline, without recomputing what is left of it each time. A
    /// deadline already past still commits an operation that can proceed now.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if no operation could proceed before `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use weft::chan::{bounded, Select};
    ///
    /// let (tx, rx) = bounded::<u32>(4);
    /// let deadline = Instant::now() + Duration::from_millis(20);
    /// tx.send(1).unwrap();
    /// let mut got = Vec::new();
    /// let mut sel = Select::new();
    /// sel.recv(&rx);
    /// // One message, then nothing until the shared deadline passes.
    /// while let Ok(op) = sel.select_deadline(deadline) {
    ///     got.push(op.recv(&rx).unwrap());
    /// }
    /// assert_eq!(got, [1]);
    /// assert!(Instant::now() >= deadline);
    /// ```
    #[inline]
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'_>, SelectTimeoutError> {
        self.selected(Timeout::At(deadline))
            .ok_or(SelectTimeoutError)
    }

    /// Waits until an operation may be able to proceed and returns its index, without
    /// performing it. Another thread may take the chance first: the operation itself (e.g. a
    /// `try_recv`) can still find nothing.
    ///
    /// # Panics
    ///
    /// Never: with no operations it blocks forever, as [`select`](Self::select) does.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// let mut sel = weft::chan::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.ready(), i);
    /// assert_eq!(rx.try_recv(), Ok(1)); // the operation is done separately
    /// ```
    pub fn ready(&mut self) -> usize {
        run_ready(&self.arms[..], self.biased, Timeout::Never)
            .expect("a wait without a deadline returns an operation")
    }

    /// As [`ready`](Self::ready), without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySelectError`] if no operation is ready.
    ///
    /// ```
    /// let (_tx, rx) = weft::chan::bounded::<u8>(1);
    /// let mut sel = weft::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_ready().is_err());
    /// ```
    pub fn try_ready(&mut self) -> Result<usize, TrySelectError> {
        run_ready(&self.arms[..], self.biased, Timeout::Now).ok_or(TrySelectError)
    }

    /// As [`ready`](Self::ready), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if no operation became ready in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = weft::chan::bounded::<u8>(1);
    /// let mut sel = weft::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.ready_timeout(Duration::from_millis(2)).is_err());
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, SelectTimeoutError> {
        run_ready(&self.arms[..], self.biased, Timeout::after(timeout)).ok_or(SelectTimeoutError)
    }

    /// As [`ready`](Self::ready), waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if no operation became ready before `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = weft::chan::bounded(1);
    /// tx.send(()).unwrap();
    /// let mut sel = weft::chan::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.ready_deadline(Instant::now() + Duration::from_secs(1)), Ok(i));
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, SelectTimeoutError> {
        run_ready(&self.arms[..], self.biased, Timeout::At(deadline)).ok_or(SelectTimeoutError)
    }
}

/// The operation a [`Select`] committed: complete it with [`recv`](Self::recv) or
/// [`send`](Self::send), on the handle it was added with.
///
/// The operation is committed (a slot claimed, or a rendezvous partner chosen and waiting),
/// so complete it promptly: a rendezvous partner waits for it.
///
/// # Giving it back
///
/// Dropping it uncompleted (also while unwinding from a panic, or after completing it with
/// the wrong handle, which panics) gives the commitment back, and the channel is left as if
/// the operation had never been selected: a claimed slot is released (or, if a later
/// operation claimed past it, marked for receivers to pass by), a rendezvous partner goes
/// on waiting, or times out, as it asked. Two cases cannot be undone in place, and are
/// kept instead, never lost: a received message that another receiver has already
/// overtaken, or that a rendezvous sender handed over and left with, stays in the
/// [`Select`] and is what its next selection of that operation delivers (or drops with
/// it); a selected rendezvous send whose receiver gives it back goes on as a blocking send
/// of the value on that channel.
///
/// [`mem::forget`](core::mem::forget) skips this: the channel may then stay stuck at the
/// claimed slot (receivers wait for it) or a partner wait for ever, but nothing unsound
/// happens, and dropping the channel drops exactly the messages it holds.
#[must_use = "the selected operation must be completed with `recv` or `send`"]
pub struct SelectedOperation<'s> {
    index: usize,
    /// The committed operation, in the `Select`, which stays mutably borrowed while this
    /// value lives: no other select can overwrite it before the completion.
    token: &'s Token,
    /// The arm that committed it (`Select::arms[index]`), for its completion or give-back.
    arm: &'s dyn Arm,
}

impl fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish()
    }
}

impl<'s> SelectedOperation<'s> {
    /// The index of the selected operation (as returned when it was added).
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// let mut sel = weft::chan::Select::new();
    /// let send = sel.send(&tx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), send);
    /// op.send(&tx, 1).unwrap();
    /// # drop(rx);
    /// ```
    #[inline]
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes the selected receive.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the channel is closed and drained.
    ///
    /// # Panics
    ///
    /// If the selected operation is not a receive on `rx`'s channel (the operation is then
    /// given back, see the type docs).
    ///
    /// ```
    /// let (tx, rx) = weft::chan::unbounded::<u8>();
    /// drop(tx);
    /// let mut sel = weft::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select().recv(&rx).is_err(), "closed and drained: ready, with an error");
    /// ```
    #[inline]
    pub fn recv<T>(self, rx: &Receiver<T>) -> Result<T, RecvError> {
        self.check(rx.flavor.id(), false);
        let this = core::mem::ManuallyDrop::new(self);
        // The arm set `token.chan` to its channel when it committed, and that is `rx`'s
        // (checked above), with the receive direction: the arm is the `RecvArm` of a
        // receiver of this very channel, whose element type is `T`. `RecvArm` is covariant
        // in its lifetime, which outlives `'s`.
        // SAFETY: so the arm is a live `RecvArm<'_, T>`; the cast drops the vtable only.
        let arm = unsafe { &*core::ptr::from_ref(this.arm).cast::<RecvArm<'_, T>>() };
        arm.complete(this.token)
    }

    /// Completes the selected send with `msg`.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `msg` back if the channel is closed.
    ///
    /// # Panics
    ///
    /// If the selected operation is not a send on `tx`'s channel (the operation is then given
    /// back, see the type docs).
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// drop(rx);
    /// let mut sel = weft::chan::Select::new();
    /// sel.send(&tx);
    /// let err = sel.select().send(&tx, "back").unwrap_err();
    /// assert_eq!(err.into_inner(), "back");
    /// ```
    #[inline]
    pub fn send<T>(self, tx: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        self.check(tx.flavor.id(), true);
        let this = core::mem::ManuallyDrop::new(self);
        // As in `recv`: the arm is the `SendArm<'_, T>` of a sender of this very channel.
        // SAFETY: so the arm is a live `SendArm<'_, T>`; the cast drops the vtable only.
        let arm = unsafe { &*core::ptr::from_ref(this.arm).cast::<SendArm<'_, T>>() };
        arm.complete_with(this.token, msg)
    }

    /// Panics (giving the operation back as `self` drops) if it is not on `chan` in the
    /// direction `send`.
    #[inline]
    fn check(&self, chan: *const (), send: bool) {
        if self.token.chan != chan || self.token.send != send {
            wrong_handle(self.index, send);
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn wrong_handle(index: usize, send: bool) -> ! {
    let what = if send {
        "a send on this sender"
    } else {
        "a receive on this receiver"
    };
    panic!("weft::chan::select: the selected operation (index {index}) is not {what}")
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        self.arm.give_back(self.token);
    }
}

#[cfg(all(test, not(weft_loom)))]
mod order_tests {
    use super::Order;

    /// Every permutation of `n` arms, drawn position by position as a select asks for them
    /// (the first two without the table, the rest with it), comes out about equally often:
    /// the lazily recorded swaps replay Fisher-Yates exactly.
    #[test]
    fn lazy_draws_give_uniform_permutations() {
        for n in [2usize, 3, 4] {
            let mut counts = std::collections::HashMap::new();
            // Under Miri (ci/miri.sh runs the unit tests too) only that each draw is a
            // permutation: the counts need rounds Miri would take minutes over.
            let rounds = if cfg!(miri) { 200 } else { 24_000 };
            for _ in 0..rounds {
                let mut order = Order::new(n, false);
                let perm: Vec<usize> = (0..n).map(|k| order.at(k)).collect();
                let mut seen = perm.clone();
                seen.sort_unstable();
                assert_eq!(
                    seen,
                    (0..n).collect::<Vec<_>>(),
                    "not a permutation: {perm:?}"
                );
                *counts.entry(perm).or_insert(0u64) += 1;
            }
            if cfg!(miri) {
                continue;
            }
            let perms: u64 = (1..=n as u64).product();
            assert_eq!(
                counts.len() as u64,
                perms,
                "n = {n}: some order never drawn"
            );
            let expected = rounds as f64 / perms as f64;
            for (perm, &c) in &counts {
                // 24,000 rounds over at most 24 orders: each expects >= 1,000, and a fair
                // chooser lands within 20% of that all but ~1e-9 of the time.
                assert!(
                    (c as f64 - expected).abs() < 0.2 * expected,
                    "n = {n}: order {perm:?} drawn {c} times, expected about {expected}"
                );
            }
        }
    }
}
