//! Async channels: weft's `chan` (`send_async` / `recv_async`) on weft's scheduler, beside
//! tokio's `mpsc`, flume's and kanal's async channels on tokio's multi-thread runtime.
//!
//! An implementation is a channel library together with the runtime its tasks run on
//! ([`AsyncChan::Runtime`], an [`AsyncSched`] of the `sched` suite), so that each library
//! runs where its users run it:
//!
//! | implementation | runtime | channel | bounded(0) | several receivers |
//! |---|---|---|---|---|
//! | `weft` | `weft::sched::Scheduler` | `weft::chan::bounded(n)`, `send_async` / `recv_async` | rendezvous | yes |
//! | `tokio` | tokio multi-thread | `tokio::sync::mpsc::channel(n)` | none: left out | no: left out of `mpmc` |
//! | `flume` | tokio multi-thread | `flume::bounded(n)`, `send_async` / `recv_async` | rendezvous | yes |
//! | `kanal` | tokio multi-thread | `kanal::bounded_async(n)` | rendezvous | yes |
//!
//! tokio's `mpsc::channel` panics on a capacity of 0 and has no rendezvous form; rather than
//! run `channel(1)` under a `capacity: 0` row (a different channel under the same label), tokio
//! is left out of the capacity-0 cases ([`AsyncChan::RENDEZVOUS`]). Its receiver cannot be
//! cloned, so it is left out of `mpmc` ([`AsyncChan::MULTI_CONSUMER`]).
//!
//! Messages are `u64`s, each a distinct number, so that receivers can check count and sum.

use std::future::Future;

use super::sched::AsyncSched;

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
}

/// `kanal::bounded_async` on tokio's multi-thread runtime.
#[derive(Debug)]
pub struct Kanal;

impl AsyncChan for Kanal {
    const NAME: &'static str = "kanal";
    const RENDEZVOUS: bool = true;
    const MULTI_CONSUMER: bool = true;
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
        assert_eq!(v.0, ["weft", "tokio", "flume", "kanal"]);
    }
}
