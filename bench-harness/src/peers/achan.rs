//! Async channels: weft's `chan` (`send_async` / `recv_async`) on weft's scheduler, beside
//! tokio's `mpsc`, flume's and kanal's async channels on tokio's multi-thread runtime.
//!
//! An implementation is a channel library together with the runtime its tasks run on
//! ([`AsyncChan::Runtime`], an [`AsyncSched`] of the `sched` suite), so that each library
//! runs where its users run it:
//!
//! | implementation | runtime | channel | bounded(0) | unbounded | several receivers | select receive | select send |
//! |---|---|---|---|---|---|---|---|
//! | `weft` | `weft::sched::Scheduler` | `weft::chan::bounded(n)`, `send_async` / `recv_async` | rendezvous | yes | yes | `Select::select_async` | `Select::select_async` |
//! | `tokio` | tokio multi-thread | `tokio::sync::mpsc::channel(n)` | none: left out | another type: left out | no: left out of `mpmc`, `select_both` | `tokio::select!` | not needed (`select_both` needs several receivers) |
//! | `flume` | tokio multi-thread | `flume::bounded(n)`, `send_async` / `recv_async` | rendezvous | yes | yes | `futures::select!` | no |
//! | `kanal` | tokio multi-thread | `kanal::bounded_async(n)` | rendezvous | yes | yes | left out: loses messages (see below) | no |
//!
//! The select workloads use each library's own way of waiting on several channels in a task:
//! weft's `Select` built once per task and awaited with `select_async` for every message;
//! `tokio::select!` with one branch per channel (disabled once its channel is closed);
//! `futures::select!` over fused receive futures made afresh for each message, for flume and
//! kanal, which have no select of their own for tasks. Neither tokio, flume nor kanal has a
//! select-send that keeps an unchosen send's value and sends each message once (a dropped
//! `send_async` future of flume or kanal may already have handed its value over), so
//! `select_both` runs weft alone beside Go. kanal is left out of both select workloads: its
//! receive future loses a message it was handed when dropped (see `Kanal::SELECT_SAFE_RECV`),
//! which the workloads' count check catches.
//!
//! tokio's `mpsc::channel` panics on a capacity of 0 and has no rendezvous form; rather than
//! run `channel(1)` under a `capacity: 0` row (a different channel under the same label), tokio
//! is left out of the capacity-0 cases ([`AsyncChan::RENDEZVOUS`]). Its receiver cannot be
//! cloned, so it is left out of `mpmc` ([`AsyncChan::MULTI_CONSUMER`]).
//!
//! Messages are `u64`s, each a distinct number, so that receivers can check count and sum.

use std::future::Future;
use std::ops::Range;
use std::pin::pin;

use futures::future::{Fuse, FutureExt};

use super::sched::AsyncSched;

/// The most channels a select workload selects over (as in the `chan` suite and Go's twin).
pub const MAX_SELECT: usize = 8;

/// One `select_async!` with a send arm of `$v` on each `$txs[i]` listed: Go's
/// `select { case c0 <- v: case c1 <- v: .. }` for a fixed number of channels.
macro_rules! send_to_one_of {
    ($txs:ident, $v:ident; $($i:tt)+) => {
        weft::select_async! {
            $( send($txs[$i], $v) -> r => r.expect("weft: channel closed during a select send"), )+
        }
    };
}

/// A library's bounded async channel of `u64`, on the runtime its tasks run on.
///
/// `send` and `recv` panic where a closed channel would be a failure of the workload.
pub trait AsyncChan: 'static {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;
    /// Whether `bounded(0)` is a rendezvous channel (a send completes when a receiver takes
    /// the message); where it is not, the capacity-0 cases leave this implementation out.
    const RENDEZVOUS: bool;
    /// Whether a receiver can be cloned (each message going to one receiver); where it
    /// cannot, `mpmc` leaves this implementation out.
    const MULTI_CONSUMER: bool;
    /// Whether a receive future dropped in a select (an arm not chosen) leaves its message in
    /// the channel; where it does not, the select workloads leave this implementation out
    /// (they check every message, and would fail).
    const SELECT_SAFE_RECV: bool = true;

    /// The runtime the workload's tasks run on.
    type Runtime: AsyncSched;
    /// The sending end.
    type Sender: Send + Sync + 'static;
    /// The receiving end.
    type Receiver: Send + 'static;

    /// A channel holding at most `cap` messages (0: a rendezvous channel).
    ///
    /// # Panics
    ///
    /// If `cap` is 0 and the library has no rendezvous channel.
    fn bounded(cap: usize) -> (Self::Sender, Self::Receiver);

    /// Another sending end of the same channel.
    fn clone_sender(tx: &Self::Sender) -> Self::Sender;

    /// Another receiving end of the same channel, or `None` where it has one consumer.
    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver>;

    /// Sends `value`, waiting (as a task) for room or, on a rendezvous channel, a receiver.
    ///
    /// # Panics
    ///
    /// If every receiver is gone.
    fn send(tx: &Self::Sender, value: u64) -> impl Future<Output = ()> + Send;

    /// The next value, or `None` once every sender is gone and the channel is drained.
    fn recv(rx: &mut Self::Receiver) -> impl Future<Output = Option<u64>> + Send;

    /// An unbounded channel with the same end types, or `None` where the library has none
    /// (or only one of another type).
    fn unbounded() -> Option<(Self::Sender, Self::Receiver)>;

    /// `select_rx`'s and `select_both`'s receiver: takes messages from whichever of `rxs`
    /// (at most [`MAX_SELECT`]) has one, through the library's select, until every one is
    /// closed and drained. Returns how many it took and their sum.
    fn select_drain(rxs: Vec<Self::Receiver>) -> impl Future<Output = (u64, u64)> + Send;

    /// `select_both`'s sender: sends each of `values` on whichever of `txs` (at most
    /// [`MAX_SELECT`]) can take it, through the library's select, each value exactly once;
    /// `None` where the library has no such select.
    fn select_send(
        txs: Vec<Self::Sender>,
        values: Range<u64>,
    ) -> Option<impl Future<Output = ()> + Send + 'static>;
}

/// Whether `C` runs `select_both` (a select-send and several receivers per channel).
pub fn has_select_send<C: AsyncChan>() -> bool {
    C::select_send(Vec::new(), 0..0).is_some()
}

/// Adds `(1, v)` to `tally` for `Some(v)`; for `None` marks the arm closed.
fn take(tally: &mut (u64, u64), open: &mut bool, v: Option<u64>) {
    match v {
        Some(v) => {
            tally.0 += 1;
            tally.1 += v;
        }
        None => *open = false,
    }
}

/// [`AsyncChan::select_drain`] through `futures::select!` (random among ready branches): one
/// branch per channel, each a fused receive future made afresh for every message; a closed
/// channel's branch is a terminated future from then on.
async fn futures_select_drain<'a, R: Sync, F>(rxs: &'a [R], recv: impl Fn(&'a R) -> F) -> (u64, u64)
where
    F: Future<Output = Option<u64>> + 'a,
{
    assert!(rxs.len() <= MAX_SELECT, "at most {MAX_SELECT} channels");
    let mut open = [false; MAX_SELECT];
    open[..rxs.len()].fill(true);
    let mut tally = (0, 0);
    let arm = |i: usize, open: &[bool; MAX_SELECT]| -> Fuse<F> {
        if open[i] {
            recv(&rxs[i]).fuse()
        } else {
            Fuse::terminated()
        }
    };
    while open.contains(&true) {
        let mut f0 = pin!(arm(0, &open));
        let mut f1 = pin!(arm(1, &open));
        let mut f2 = pin!(arm(2, &open));
        let mut f3 = pin!(arm(3, &open));
        let mut f4 = pin!(arm(4, &open));
        let mut f5 = pin!(arm(5, &open));
        let mut f6 = pin!(arm(6, &open));
        let mut f7 = pin!(arm(7, &open));
        let (i, v) = futures::select! {
            v = f0 => (0, v),
            v = f1 => (1, v),
            v = f2 => (2, v),
            v = f3 => (3, v),
            v = f4 => (4, v),
            v = f5 => (5, v),
            v = f6 => (6, v),
            v = f7 => (7, v),
        };
        take(&mut tally, &mut open[i], v);
    }
    tally
}

/// `weft::chan` on `weft::sched::Scheduler`.
#[derive(Debug)]
pub struct Weft;

impl AsyncChan for Weft {
    const NAME: &'static str = "weft";
    const RENDEZVOUS: bool = true;
    const MULTI_CONSUMER: bool = true;
    type Runtime = weft::sched::Scheduler;
    type Sender = weft::chan::Sender<u64>;
    type Receiver = weft::chan::Receiver<u64>;

    fn bounded(cap: usize) -> (Self::Sender, Self::Receiver) {
        weft::chan::bounded(cap)
    }

    fn clone_sender(tx: &Self::Sender) -> Self::Sender {
        tx.clone()
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(rx.clone())
    }

    #[inline]
    async fn send(tx: &Self::Sender, value: u64) {
        if tx.send_async(value).await.is_err() {
            panic!("weft: the receivers are gone");
        }
    }

    #[inline]
    async fn recv(rx: &mut Self::Receiver) -> Option<u64> {
        rx.recv_async().await.ok()
    }

    fn unbounded() -> Option<(Self::Sender, Self::Receiver)> {
        Some(weft::chan::unbounded())
    }

    async fn select_drain(rxs: Vec<Self::Receiver>) -> (u64, u64) {
        let mut sel = weft::chan::Select::new();
        for rx in &rxs {
            sel.recv(rx);
        }
        let mut open = rxs.len();
        let mut tally = (0, 0);
        while open > 0 {
            let op = sel.select_async().await;
            let i = op.index();
            let mut still_open = true;
            take(&mut tally, &mut still_open, op.recv(&rxs[i]).ok());
            if !still_open {
                // Closed and drained: stop selecting on it.
                sel.remove(i);
                open -= 1;
            }
        }
        tally
    }

    fn select_send(
        txs: Vec<Self::Sender>,
        values: Range<u64>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        // Go's twin writes a `select` statement with a send case per channel (its value
        // evaluated on entering the select); weft's form of that statement is
        // `select_async!`, with one send arm per channel, which lends its value to the
        // receiver that takes it. (A `Select` built at run time takes the value only once
        // its send arm is chosen, so its arms can only watch: about 1.5x the instructions
        // per message, see docs/PERFORMANCE.md.)
        Some(async move {
            assert!(
                values.is_empty() || (1..=MAX_SELECT).contains(&txs.len()),
                "1..={MAX_SELECT} channels"
            );
            for v in values {
                match txs.len() {
                    1 => send_to_one_of!(txs, v; 0),
                    2 => send_to_one_of!(txs, v; 0 1),
                    3 => send_to_one_of!(txs, v; 0 1 2),
                    4 => send_to_one_of!(txs, v; 0 1 2 3),
                    5 => send_to_one_of!(txs, v; 0 1 2 3 4),
                    6 => send_to_one_of!(txs, v; 0 1 2 3 4 5),
                    7 => send_to_one_of!(txs, v; 0 1 2 3 4 5 6),
                    _ => send_to_one_of!(txs, v; 0 1 2 3 4 5 6 7),
                }
            }
        })
    }
}

/// `weft::chan` on tokio's multi-thread runtime: the same channels and selects as [`Weft`],
/// driven by tokio's workers and wakers, so that beside tokio's mpsc, flume and kanal on that
/// runtime the channel is the only difference (issue #11).
#[derive(Debug)]
pub struct WeftOnTokio;

impl AsyncChan for WeftOnTokio {
    const NAME: &'static str = "weft-tokio";
    const RENDEZVOUS: bool = true;
    const MULTI_CONSUMER: bool = true;
    type Runtime = tokio::runtime::Runtime;
    type Sender = weft::chan::Sender<u64>;
    type Receiver = weft::chan::Receiver<u64>;

    fn bounded(cap: usize) -> (Self::Sender, Self::Receiver) {
        Weft::bounded(cap)
    }

    fn clone_sender(tx: &Self::Sender) -> Self::Sender {
        Weft::clone_sender(tx)
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Weft::clone_receiver(rx)
    }

    #[inline]
    fn send(tx: &Self::Sender, value: u64) -> impl Future<Output = ()> + Send {
        Weft::send(tx, value)
    }

    #[inline]
    fn recv(rx: &mut Self::Receiver) -> impl Future<Output = Option<u64>> + Send {
        Weft::recv(rx)
    }

    fn unbounded() -> Option<(Self::Sender, Self::Receiver)> {
        Weft::unbounded()
    }

    fn select_drain(rxs: Vec<Self::Receiver>) -> impl Future<Output = (u64, u64)> + Send {
        Weft::select_drain(rxs)
    }

    fn select_send(
        txs: Vec<Self::Sender>,
        values: Range<u64>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        Weft::select_send(txs, values)
    }
}

/// `tokio::sync::mpsc::channel` on tokio's multi-thread runtime.
#[derive(Debug)]
pub struct Tokio;

impl AsyncChan for Tokio {
    const NAME: &'static str = "tokio";
    const RENDEZVOUS: bool = false;
    const MULTI_CONSUMER: bool = false;
    type Runtime = tokio::runtime::Runtime;
    type Sender = tokio::sync::mpsc::Sender<u64>;
    type Receiver = tokio::sync::mpsc::Receiver<u64>;

    fn bounded(cap: usize) -> (Self::Sender, Self::Receiver) {
        assert!(cap > 0, "tokio: no rendezvous channel");
        tokio::sync::mpsc::channel(cap)
    }

    fn clone_sender(tx: &Self::Sender) -> Self::Sender {
        tx.clone()
    }

    fn clone_receiver(_: &Self::Receiver) -> Option<Self::Receiver> {
        None
    }

    #[inline]
    async fn send(tx: &Self::Sender, value: u64) {
        if tx.send(value).await.is_err() {
            panic!("tokio: the receiver is gone");
        }
    }

    #[inline]
    fn recv(rx: &mut Self::Receiver) -> impl Future<Output = Option<u64>> + Send {
        rx.recv()
    }

    fn unbounded() -> Option<(Self::Sender, Self::Receiver)> {
        None // `unbounded_channel` has its own end types
    }

    /// `tokio::select!` (random among ready branches) with one branch per channel, disabled
    /// by its precondition once the channel is closed and drained. The macro needs its
    /// branches written out, so the receivers are padded to [`MAX_SELECT`] with channels
    /// whose branches start disabled (their futures are made but never polled).
    async fn select_drain(mut rxs: Vec<Self::Receiver>) -> (u64, u64) {
        assert!(rxs.len() <= MAX_SELECT, "at most {MAX_SELECT} channels");
        let mut open = [false; MAX_SELECT];
        open[..rxs.len()].fill(true);
        while rxs.len() < MAX_SELECT {
            rxs.push(tokio::sync::mpsc::channel(1).1);
        }
        let mut rxs: [Self::Receiver; MAX_SELECT] = rxs.try_into().expect("padded");
        let [r0, r1, r2, r3, r4, r5, r6, r7] = &mut rxs;
        let mut tally = (0, 0);
        loop {
            let (i, v) = tokio::select! {
                v = r0.recv(), if open[0] => (0, v),
                v = r1.recv(), if open[1] => (1, v),
                v = r2.recv(), if open[2] => (2, v),
                v = r3.recv(), if open[3] => (3, v),
                v = r4.recv(), if open[4] => (4, v),
                v = r5.recv(), if open[5] => (5, v),
                v = r6.recv(), if open[6] => (6, v),
                v = r7.recv(), if open[7] => (7, v),
                else => break,
            };
            take(&mut tally, &mut open[i], v);
        }
        tally
    }

    fn select_send(
        _: Vec<Self::Sender>,
        _: Range<u64>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        None::<std::future::Ready<()>>
    }
}

/// `flume::bounded` with `send_async` / `recv_async` on tokio's multi-thread runtime.
#[derive(Debug)]
pub struct Flume;

impl AsyncChan for Flume {
    const NAME: &'static str = "flume";
    const RENDEZVOUS: bool = true;
    const MULTI_CONSUMER: bool = true;
    type Runtime = tokio::runtime::Runtime;
    type Sender = flume::Sender<u64>;
    type Receiver = flume::Receiver<u64>;

    fn bounded(cap: usize) -> (Self::Sender, Self::Receiver) {
        flume::bounded(cap)
    }

    fn clone_sender(tx: &Self::Sender) -> Self::Sender {
        tx.clone()
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(rx.clone())
    }

    #[inline]
    async fn send(tx: &Self::Sender, value: u64) {
        if tx.send_async(value).await.is_err() {
            panic!("flume: the receivers are gone");
        }
    }

    #[inline]
    async fn recv(rx: &mut Self::Receiver) -> Option<u64> {
        rx.recv_async().await.ok()
    }

    fn unbounded() -> Option<(Self::Sender, Self::Receiver)> {
        Some(flume::unbounded())
    }

    async fn select_drain(rxs: Vec<Self::Receiver>) -> (u64, u64) {
        futures_select_drain(&rxs, |rx| async move { rx.recv_async().await.ok() }).await
    }

    fn select_send(
        _: Vec<Self::Sender>,
        _: Range<u64>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        None::<std::future::Ready<()>>
    }
}

/// `kanal::bounded_async` on tokio's multi-thread runtime.
#[derive(Debug)]
pub struct Kanal;

impl AsyncChan for Kanal {
    const NAME: &'static str = "kanal";
    const RENDEZVOUS: bool = true;
    const MULTI_CONSUMER: bool = true;
    /// kanal's receive future, dropped after a sender handed it a message, loses it: in
    /// `select_rx` through `futures::select!` 72 of 300 messages were lost (bounded(0), one
    /// worker, weft-bench's `select_workloads_deliver_every_message`, 2026-12-07).
    const SELECT_SAFE_RECV: bool = false;
    type Runtime = tokio::runtime::Runtime;
    type Sender = kanal::AsyncSender<u64>;
    type Receiver = kanal::AsyncReceiver<u64>;

    fn bounded(cap: usize) -> (Self::Sender, Self::Receiver) {
        kanal::bounded_async(cap)
    }

    fn clone_sender(tx: &Self::Sender) -> Self::Sender {
        tx.clone()
    }

    fn clone_receiver(rx: &Self::Receiver) -> Option<Self::Receiver> {
        Some(rx.clone())
    }

    #[inline]
    async fn send(tx: &Self::Sender, value: u64) {
        if tx.send(value).await.is_err() {
            panic!("kanal: the receivers are gone");
        }
    }

    #[inline]
    async fn recv(rx: &mut Self::Receiver) -> Option<u64> {
        rx.recv().await.ok()
    }

    fn unbounded() -> Option<(Self::Sender, Self::Receiver)> {
        Some(kanal::unbounded_async())
    }

    async fn select_drain(rxs: Vec<Self::Receiver>) -> (u64, u64) {
        futures_select_drain(&rxs, |rx| async move { rx.recv().await.ok() }).await
    }

    fn select_send(
        _: Vec<Self::Sender>,
        _: Range<u64>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        None::<std::future::Ready<()>>
    }
}

/// Something to do once per async channel implementation, with its type in hand.
pub trait AsyncChanVisitor {
    /// Called for each implementation `C`, in [`visit_all`]'s order.
    fn visit<C: AsyncChan>(&mut self);
}

/// The async channel implementations under comparison, weft first. This is the one list to
/// extend when adding a peer.
pub fn visit_all(visitor: &mut impl AsyncChanVisitor) {
    visitor.visit::<Weft>();
    visitor.visit::<WeftOnTokio>();
    visitor.visit::<Tokio>();
    visitor.visit::<Flume>();
    visitor.visit::<Kanal>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implementation carries messages from a task to a task, and reports the end of
    /// the stream once the sender is gone.
    struct Basics(Vec<&'static str>);

    impl AsyncChanVisitor for Basics {
        fn visit<C: AsyncChan>(&mut self) {
            let rt = <C::Runtime as AsyncSched>::new(2);
            let sum = rt.run(async {
                let (tx, mut rx) = C::bounded(1);
                let sender = <C::Runtime as AsyncSched>::spawn(async move {
                    for k in 1..=10 {
                        C::send(&tx, k).await;
                    }
                });
                let mut sum = 0;
                while let Some(k) = C::recv(&mut rx).await {
                    sum += k;
                }
                sender.await;
                sum
            });
            assert_eq!(sum, 55, "{}", C::NAME);
            self.0.push(C::NAME);
        }
    }

    #[test]
    fn every_async_channel_carries_messages() {
        let mut v = Basics(Vec::new());
        visit_all(&mut v);
        assert_eq!(v.0, ["weft", "weft-tokio", "tokio", "flume", "kanal"]);
    }
}
