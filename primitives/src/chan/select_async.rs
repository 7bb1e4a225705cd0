//! `select` in async code: [`select_async!`](crate::select_async) and
//! [`Select::select_async`]. The same selection as the blocking select (`select.rs`: Go's
//! random choice among ready arms, its evaluation order, linearizable `default`), waiting
//! on the task's waker instead of the thread.
//!
//! # How it waits
//!
//! A poll tries every arm in the select's random order, exactly. If none can proceed, it
//! registers one task waiter (pinned in the future) in every arm's channel and returns
//! `Pending`. Whoever claims the waiter wakes the task; the next poll withdraws the other
//! registrations and tries the claimed arm (or selects again). A poll with a new waker
//! withdraws and registers anew, so a waiter's waker never changes while it is registered.
//!
//! # Cancel safety
//!
//! Registrations ask nothing of the task before it runs again: receive arms (and a
//! `Select`'s send arms) only watch, on a rendezvous channel too (no sender can hand a
//! message to a future that might then be dropped); only a `select_async!` send arm on a
//! rendezvous channel registers its value, in the packet a receiver takes whole. (A
//! `Select` send arm and a receive that both only watch meet through the rendezvous
//! channel's hand-off slot: see `zero.rs`.) So a
//! future dropped at its await point withdraws every registration, passes an unused
//! notification on to another waiter, and, for that value, either lets the receiver that
//! already took it finish (the send happened, once) or gets it back (and drops it, never
//! sent): nothing is lost, nothing is done twice, and nothing spins in `poll` beyond a
//! partner's own brief exchange.
//!
//! The design is weft's: tokio's `select!` polls each branch's own future (an unchosen
//! send's value is lost, tokio#3033); crossbeam's and flume's selects block the thread.

use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::handle::Token;
use super::select::{
    try_linearizable, try_pass, unregister_all, Arm, Arms, Order, Select, SelectedOperation,
};
use super::waiters::{self, Waiter, ABORTED, WAITING};

/// What an async select keeps between polls.
struct Waiting {
    order: Option<Order>,
    biased: bool,
    /// Registered under this many positions of `order` while `registered > 0`.
    waiter: Option<Waiter>,
    registered: usize,
    /// The waiter is registered in channels' wait lists: it must not move.
    _pin: PhantomPinned,
}

impl Waiting {
    fn new(biased: bool) -> Self {
        Self {
            order: None,
            biased,
            waiter: None,
            registered: 0,
            _pin: PhantomPinned,
        }
    }

    /// One poll of the select over `arms`: `Ready(Some(i))` with arm `i` committed in
    /// `token`, `Ready(None)` for `default` (only with `now`: nothing is ready).
    fn poll<A: Arms + ?Sized>(
        &mut self,
        arms: &A,
        now: bool,
        token: &mut Token,
        waker: &Waker,
    ) -> Poll<Option<usize>> {
        let n = arms.count();
        let biased = self.biased;
        let order = self.order.get_or_insert_with(|| Order::new(n, biased));
        // Set when the registration just made found an arm ready: withdraw at once, rather
        // than wait for a wake-up that may never come (a partner that registered before us
        // notifies nobody).
        let mut withdraw = false;
        loop {
            if self.registered > 0 {
                let waiter = self.waiter.as_ref().expect("a registered waiter");
                let mut selected = waiter.selected();
                if selected == WAITING {
                    if !withdraw && waiter.will_wake(waker) {
                        return Poll::Pending;
                    }
                    // An arm may be ready, or polled with another waker: withdraw (unless a
                    // claim came first), and try again.
                    selected = waiter.try_abort().err().unwrap_or(ABORTED);
                }
                unregister_all(arms, order, self.registered, waiter, selected);
                self.registered = 0;
                if waiters::kind(selected) != ABORTED {
                    let i = waiters::oper(selected);
                    if arms.arm(i).accept_async(token, waiters::kind(selected)) {
                        return Poll::Ready(Some(i));
                    }
                }
            }
            if let Some(i) = try_pass(arms, order, token, true) {
                return Poll::Ready(Some(i));
            }
            if now {
                return Poll::Ready(try_linearizable(arms, order, token, |a, o, t| {
                    try_pass(a, o, t, true)
                }));
            }
            if n == 0 {
                return Poll::Pending; // a select without arms waits for ever
            }
            let waiter = self.waiter.insert(Waiter::for_task(waker));
            let mut ready = false;
            while self.registered < n && !ready {
                let i = order.at(self.registered);
                // SAFETY: the waiter lives in this pinned future (`_pin`), and every arm
                // registered here is unregistered before it goes: by the next poll (above)
                // or by `cancel`, which the future's `Drop` runs.
                ready = unsafe { arms.arm(i).register_async(waiter, i) };
                self.registered += 1;
            }
            if !ready {
                return Poll::Pending;
            }
            // An arm may be ready: withdraw (the loop's top does, claimed or not), try again.
            withdraw = true;
        }
    }

    /// The future goes away: withdraw every registration; a claim that came meanwhile is
    /// finished or undone by its arm.
    fn cancel<A: Arms + ?Sized>(&mut self, arms: &A) {
        if self.registered == 0 {
            return;
        }
        let waiter = self.waiter.as_ref().expect("a registered waiter");
        let selected = waiter.try_abort().err().unwrap_or(ABORTED);
        let order = self.order.as_mut().expect("an order while registered");
        unregister_all(arms, order, self.registered, waiter, selected);
        self.registered = 0;
        if waiters::kind(selected) != ABORTED {
            arms.arm(waiters::oper(selected))
                .abandon_async(waiters::kind(selected));
        }
    }
}

/// The future `select_async!` awaits: owns the arms (so that it is `Send` where they are),
/// and hands them back with the committed token. Not public API.
///
/// `Arms` is crate-private on purpose: only the macro names this type, with the tuples of
/// arms it builds, so the bound need not be nameable outside.
#[doc(hidden)]
#[must_use = "futures do nothing unless awaited"]
#[allow(private_bounds)]
pub struct SelectFuture<A: Arms> {
    arms: Option<A>,
    now: bool,
    token: Token,
    waiting: Waiting,
}

#[allow(private_bounds)]
impl<A: Arms> SelectFuture<A> {
    #[doc(hidden)]
    pub fn new(arms: A, biased: bool, now: bool) -> Self {
        Self {
            arms: Some(arms),
            now,
            token: Token::new(),
            waiting: Waiting::new(biased),
        }
    }
}

#[allow(private_bounds)]
impl<A: Arms> Future for SelectFuture<A> {
    /// The selected arm (`None`: `default`), the arms, and the token to complete it with.
    type Output = (Option<usize>, A, Token);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: nothing is moved out of the pinned future but the arms, once the select is
        // over and nothing is registered: registrations point at `waiting.waiter`, never at
        // an arm (an async select lends no arm's packet: see `Arm::register_async`).
        let this = unsafe { self.get_unchecked_mut() };
        let arms = this
            .arms
            .as_ref()
            .expect("SelectFuture polled after completion");
        match this
            .waiting
            .poll(arms, this.now, &mut this.token, cx.waker())
        {
            Poll::Pending => Poll::Pending,
            Poll::Ready(selected) => {
                let arms = this.arms.take().expect("arms until completion");
                let token = core::mem::take(&mut this.token);
                Poll::Ready((selected, arms, token))
            }
        }
    }
}

#[allow(private_bounds)]
impl<A: Arms> Drop for SelectFuture<A> {
    fn drop(&mut self) {
        if let Some(arms) = &self.arms {
            self.waiting.cancel(arms);
        }
    }
}

/// The arms of a `select_async!`, as the tuple it builds: `(arm0, arm1, ..)`.
macro_rules! tuple_arms {
    ($( ($($a:ident $i:tt),*) )*) => {$(
        impl<$($a: Arm),*> Arms for ($($a,)*) {
            fn count(&self) -> usize {
                [$($i),*].len()
            }
            fn arm(&self, i: usize) -> &dyn Arm {
                match i {
                    $($i => &self.$i,)*
                    _ => unreachable!("arm {i} of a select_async! of {}", self.count()),
                }
            }
        }
    )*};
}

tuple_arms! {
    (A0 0)
    (A0 0, A1 1)
    (A0 0, A1 1, A2 2)
    (A0 0, A1 1, A2 2, A3 3)
    (A0 0, A1 1, A2 2, A3 3, A4 4)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11)
}

impl Arms for () {
    fn count(&self) -> usize {
        0
    }
    fn arm(&self, i: usize) -> &dyn Arm {
        unreachable!("arm {i} of a select_async! without arms")
    }
}

/// The future of [`Select::select_async`]: the [`SelectedOperation`] it committed.
///
/// Cancel-safe: dropping it before it completes withdraws every registration and passes
/// on a notification it did not use (see [`select_async!`](crate::select_async)); nothing
/// is committed until it returns the operation.
#[must_use = "futures do nothing unless awaited"]
pub struct SelectAsync<'s, 'a> {
    select: Option<&'s mut Select<'a>>,
    waiting: Waiting,
}

impl core::fmt::Debug for SelectAsync<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SelectAsync")
            .field("waiting", &(self.waiting.registered > 0))
            .finish_non_exhaustive()
    }
}

impl<'s, 'a> Future for SelectAsync<'s, 'a> {
    type Output = SelectedOperation<'s>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: only the `&mut Select` moves out, once nothing is registered (as in
        // `SelectFuture::poll`); the waiter stays in place.
        let this = unsafe { self.get_unchecked_mut() };
        let select = this
            .select
            .as_mut()
            .expect("SelectAsync polled after completion");
        let (arms, token, _) = select.parts();
        match this.waiting.poll(arms, false, token, cx.waker()) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(selected) => {
                let index = selected.expect("a select without default returns an operation");
                let select = this.select.take().expect("the select until completion");
                Poll::Ready(select.selected_operation(index))
            }
        }
    }
}

impl Drop for SelectAsync<'_, '_> {
    fn drop(&mut self) {
        if let Some(select) = self.select.as_mut() {
            let (arms, _, _) = select.parts();
            self.waiting.cancel(arms);
        }
    }
}

impl<'a> Select<'a> {
    /// As [`select`](Self::select), awaiting instead of blocking the thread: in a task,
    /// waiting frees the worker. Works under any executor (it only uses the task's waker).
    ///
    /// Cancel-safe: dropping the future before it completes commits nothing and leaves no
    /// registration behind.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft::chan::{bounded, Select};
    ///
    /// let (tx1, rx1) = bounded::<u32>(1);
    /// let (tx2, rx2) = bounded::<u32>(0);
    /// let sched = weft::sched::Scheduler::new(1);
    /// let got = sched.block_on(async move {
    ///     weft::go(async move { tx2.send_async(7).await.unwrap() });
    ///     let receivers = [&rx1, &rx2];
    ///     let mut sel = Select::new();
    ///     for rx in receivers {
    ///         sel.recv(rx);
    ///     }
    ///     let op = sel.select_async().await;
    ///     let i = op.index();
    ///     op.recv(receivers[i]).unwrap()
    /// });
    /// assert_eq!(got, 7);
    /// drop(tx1);
    /// ```
    pub fn select_async(&mut self) -> SelectAsync<'_, 'a> {
        let biased = self.parts().2;
        SelectAsync {
            select: Some(self),
            waiting: Waiting::new(biased),
        }
    }
}
