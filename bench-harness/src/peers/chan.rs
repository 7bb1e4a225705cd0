//! Channels: weft's `chan` beside crossbeam-channel, flume, kanal and `std::sync::mpsc`.
//!
//! Not every library has every kind of channel or operation. Rather than leave a library out
//! of a suite, [`ChanLike`] lets an adapter say "not here" for what its library lacks, and the
//! workloads leave it out of just those cases:
//!
//! | implementation | bounded(0), bounded(n) | unbounded | several receivers | select receive | select send | select statement |
//! |---|---|---|---|---|---|---|
//! | `weft` | `weft::chan::bounded` | `weft::chan::unbounded` | yes | `Select` | `Select` | `select_biased!` |
//! | `crossbeam` | yes | yes | yes | `Select` | `Select` | `select_biased!` |
//! | `flume` | yes | yes | yes | `Selector` | left out: duplicates messages | no |
//! | `kanal` | yes | yes | yes | no | no | no |
//! | `std` | `sync_channel` | `channel` | no (single consumer) | no | no | no |
//!
//! weft and crossbeam select through the same kind of API (a `Select` built once per thread and
//! reused for every message), so `select_rx` and `select_both` compare the implementations,
//! not the calling conventions.
//!
//! Every adapter is generic over the [`Message`] it carries: the empty message `()`, a word
//! (`u64`) and a cache line's worth ([`Line`], 64 bytes).

use std::sync::mpsc;

/// A message the channel workloads send (`params.msg_bytes` is its size). Each is made from
/// a distinct number, which it carries (all but the empty message), so that receivers can
/// check by count and sum that every message arrived exactly once.
pub trait Message: Copy + Send + 'static {
    /// Its size in bytes.
    const BYTES: usize;
    /// Whether it carries its number. The empty message does not: only its count can be
    /// checked.
    const NUMBERED: bool;
    /// The message made from `k`.
    fn new(k: u64) -> Self;
    /// The number it was made from (0 when not [`Message::NUMBERED`]), read from all of it.
    fn number(self) -> u64;
}

/// The empty message: a channel op with no payload at all (Go's `chan struct{}`).
impl Message for () {
    const BYTES: usize = 0;
    const NUMBERED: bool = false;

    #[inline]
    fn new(_: u64) {}

    #[inline]
    fn number(self) -> u64 {
        0
    }
}

/// A word: 8 bytes, the number itself.
impl Message for u64 {
    const BYTES: usize = 8;
    const NUMBERED: bool = true;

    #[inline]
    fn new(k: u64) -> u64 {
        k
    }

    #[inline]
    fn number(self) -> u64 {
        self
    }
}

/// A 64-byte message: eight words `k, k + 1, ..., k + 7`. Its number is recovered from the
/// sum of all eight, so a torn or mixed-up message spoils the receivers' sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line(pub [u64; 8]);

impl Message for Line {
    const BYTES: usize = 64;
    const NUMBERED: bool = true;

    #[inline]
    fn new(k: u64) -> Line {
        Line(std::array::from_fn(|i| k.wrapping_add(i as u64)))
    }

    #[inline]
    fn number(self) -> u64 {
        // k + (k + 1) + ... + (k + 7) = 8k + 28.
        let sum = self.0.iter().fold(0u64, |a, &w| a.wrapping_add(w));
        sum.wrapping_sub(28) / 8
    }
}

/// A library's channels of any [`Message`], as the channel workloads use them. Implemented
/// on a marker type per library ([`Weft`], [`Crossbeam`], ...), whose handles are the
/// library's own.
///
/// Blocking `send` and `recv` panic if the channel is closed when it should not be: a closed
/// channel in the middle of a workload is a failure, not a result.
pub trait ChanLike: 'static {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;
    /// The sending handle of a channel of `M`.
    type Sender<M: Message>: Send;
    /// The receiving handle of a channel of `M`.
    type Receiver<M: Message>: Send;

    /// A channel holding at most `cap` messages; `cap == 0` is a rendezvous channel (a send
    /// completes when a receiver takes the message).
    fn bounded<M: Message>(cap: usize) -> (Self::Sender<M>, Self::Receiver<M>);

    /// A channel without a capacity limit, or `None` where the library has none.
    fn unbounded<M: Message>() -> Option<(Self::Sender<M>, Self::Receiver<M>)>;

    /// Another sending handle to the same channel.
    fn clone_sender<M: Message>(tx: &Self::Sender<M>) -> Self::Sender<M>;

    /// Another receiving handle to the same channel (each message goes to one receiver), or
    /// `None` where the channel has a single consumer.
    fn clone_receiver<M: Message>(rx: &Self::Receiver<M>) -> Option<Self::Receiver<M>>;

    /// Sends `msg`, waiting for room (or, on a rendezvous channel, for a receiver).
    ///
    /// # Panics
    ///
    /// If every receiver is gone.
    fn send<M: Message>(tx: &Self::Sender<M>, msg: M);

    /// Receives a message, waiting for one; `None` once every sender is gone and the channel
    /// is drained.
    fn recv<M: Message>(rx: &Self::Receiver<M>) -> Option<M>;

    /// A receive that selects over `rxs`: each call takes one message from whichever channel
    /// has one, and returns `None` once all of them are closed and drained. `None` (instead
    /// of the function) where the library has no select.
    fn select_recv<M: Message>(
        rxs: &[Self::Receiver<M>],
    ) -> Option<impl FnMut() -> Option<M> + '_> {
        let _ = rxs;
        None::<fn() -> Option<M>>
    }

    /// A send that selects over `txs`: each call sends its message on whichever channel has
    /// room (or a waiting receiver). `None` (instead of the function) where the library has
    /// no select. The function panics if every channel is closed.
    fn select_send<M: Message>(txs: &[Self::Sender<M>]) -> Option<impl FnMut(M) + '_> {
        let _ = txs;
        None::<fn(M)>
    }

    /// The library's biased select statement (`select_biased!`) with a receive arm on each of
    /// two channels: a call takes a message from `a` if it has one, else from `b`, waiting
    /// for either, and returns the arm's index (0 or 1) with the message. `None` (instead of
    /// the function) where the library has no select statement. The instruction-count bench
    /// measures it; the wall-clock workloads select through [`select_recv`](Self::select_recv).
    /// The function panics if the arm it takes is closed.
    fn select_biased<M: Message>() -> Option<impl SelectBiased<Self::Receiver<M>, M>> {
        None::<fn(&Self::Receiver<M>, &Self::Receiver<M>) -> (usize, M)>
    }
}

/// What [`ChanLike::select_biased`] gives: a function taking a message from the first of two
/// receivers `R` that has one (the first preferred), with the index of that receiver.
pub trait SelectBiased<R, M>: Fn(&R, &R) -> (usize, M) {}

impl<R, M, F: Fn(&R, &R) -> (usize, M)> SelectBiased<R, M> for F {}

/// Whether `C` has an unbounded channel.
pub fn has_unbounded<C: ChanLike>() -> bool {
    C::unbounded::<u64>().is_some()
}

/// Whether `C`'s channels take several receivers.
pub fn has_multi_consumer<C: ChanLike>() -> bool {
    C::clone_receiver(&C::bounded::<u64>(1).1).is_some()
}

/// Whether `C` can receive from whichever of several channels is ready.
pub fn has_select_recv<C: ChanLike>() -> bool {
    C::select_recv::<u64>(&[]).is_some()
}

/// Whether `C` can send on whichever of several channels is ready.
pub fn has_select_send<C: ChanLike>() -> bool {
    C::select_send::<u64>(&[]).is_some()
}

/// Whether `C` has a select statement ([`ChanLike::select_biased`]).
pub fn has_select_biased<C: ChanLike>() -> bool {
    C::select_biased::<u64>().is_some()
}

/// `select_recv` and `select_send` through a `Select` type with crossbeam-channel's API
/// (`new`, `recv`, `send`, `select`, `remove`; `SelectedOperation::{index, recv, send}`),
/// which weft's `Select` shares: built once per thread and reused for every message; and
/// `select_biased` through the library's `select_biased!` macro, whose syntax weft's shares.
macro_rules! select_through_select {
    ($select:path, $($select_biased:ident)::+, $lib:literal) => {
        fn select_biased<M: Message>() -> Option<impl SelectBiased<Self::Receiver<M>, M>> {
            Some(|a: &Self::Receiver<M>, b: &Self::Receiver<M>| {
                const CLOSED: &str = concat!($lib, ": channel closed during a select");
                $($select_biased)::+! {
                    recv(a) -> msg => (0, msg.expect(CLOSED)),
                    recv(b) -> msg => (1, msg.expect(CLOSED)),
                }
            })
        }

        fn select_recv<M: Message>(
            rxs: &[Self::Receiver<M>],
        ) -> Option<impl FnMut() -> Option<M> + '_> {
            let mut sel = <$select>::new();
            for rx in rxs {
                sel.recv(rx);
            }
            let mut open = rxs.len();
            Some(move || loop {
                if open == 0 {
                    return None;
                }
                let op = sel.select();
                let i = op.index();
                match op.recv(&rxs[i]) {
                    Ok(msg) => return Some(msg),
                    Err(_) => {
                        // Closed and drained: stop selecting on it.
                        sel.remove(i);
                        open -= 1;
                    }
                }
            })
        }

        fn select_send<M: Message>(txs: &[Self::Sender<M>]) -> Option<impl FnMut(M) + '_> {
            let mut sel = <$select>::new();
            for tx in txs {
                sel.send(tx);
            }
            Some(move |msg| {
                let op = sel.select();
                let i = op.index();
                op.send(&txs[i], msg)
                    .expect(concat!($lib, ": channel closed during a select send"));
            })
        }
    };
}

/// `weft::chan`: a Vyukov ring buffer for `bounded(n)`, a rendezvous hand-off for
/// `bounded(0)`, a list of blocks for `unbounded()`; select through a `weft::chan::Select`
/// built once per thread and reused for every message.
#[derive(Debug)]
pub struct Weft;

impl ChanLike for Weft {
    const NAME: &'static str = "weft";
    type Sender<M: Message> = weft::chan::Sender<M>;
    type Receiver<M: Message> = weft::chan::Receiver<M>;

    fn bounded<M: Message>(cap: usize) -> (Self::Sender<M>, Self::Receiver<M>) {
        weft::chan::bounded(cap)
    }

    fn unbounded<M: Message>() -> Option<(Self::Sender<M>, Self::Receiver<M>)> {
        Some(weft::chan::unbounded())
    }

    fn clone_sender<M: Message>(tx: &Self::Sender<M>) -> Self::Sender<M> {
        tx.clone()
    }

    fn clone_receiver<M: Message>(rx: &Self::Receiver<M>) -> Option<Self::Receiver<M>> {
        Some(rx.clone())
    }

    #[inline]
    fn send<M: Message>(tx: &Self::Sender<M>, msg: M) {
        tx.send(msg).expect("weft: channel closed during a send");
    }

    #[inline]
    fn recv<M: Message>(rx: &Self::Receiver<M>) -> Option<M> {
        rx.recv().ok()
    }

    select_through_select!(weft::chan::Select, weft::select_biased, "weft");
}

/// crossbeam-channel: `bounded` (array and zero flavours) and `unbounded` (linked blocks);
/// select through a `crossbeam_channel::Select` built once per thread and reused for every
/// message (crossbeam's own benchmark builds one per message, which is slower).
#[derive(Debug)]
pub struct Crossbeam;

impl ChanLike for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Sender<M: Message> = crossbeam_channel::Sender<M>;
    type Receiver<M: Message> = crossbeam_channel::Receiver<M>;

    fn bounded<M: Message>(cap: usize) -> (Self::Sender<M>, Self::Receiver<M>) {
        crossbeam_channel::bounded(cap)
    }

    fn unbounded<M: Message>() -> Option<(Self::Sender<M>, Self::Receiver<M>)> {
        Some(crossbeam_channel::unbounded())
    }

    fn clone_sender<M: Message>(tx: &Self::Sender<M>) -> Self::Sender<M> {
        tx.clone()
    }

    fn clone_receiver<M: Message>(rx: &Self::Receiver<M>) -> Option<Self::Receiver<M>> {
        Some(rx.clone())
    }

    #[inline]
    fn send<M: Message>(tx: &Self::Sender<M>, msg: M) {
        tx.send(msg)
            .expect("crossbeam: channel closed during a send");
    }

    #[inline]
    fn recv<M: Message>(rx: &Self::Receiver<M>) -> Option<M> {
        rx.recv().ok()
    }

    select_through_select!(
        crossbeam_channel::Select,
        crossbeam_channel::select_biased,
        "crossbeam"
    );
}

/// flume: one linked-queue channel with an optional bound; select-receive through a
/// `flume::Selector`, which is consumed by `wait`, so one is built per message (flume's
/// intended use; it allocates one boxed selection per channel).
///
/// No select-send, so no `select_both`: flume 0.12's `Selector::send` on several full
/// channels leaves the message in each one's wait list, and receivers can take it from more
/// than one before the selector withdraws the others. Its messages arrived twice in this
/// crate's tests. (Its select-receive is also unsafe with several select-receivers on the
/// same channels, which `select_both` has: `wait` hung here. A receive hook leaves the
/// channel's wait list when it fires; if another receiver takes the message first, the
/// selector polls nothing and parks with no hook left to wake it. Compare
/// zesterer/flume#135. `select_rx`, with one select-receiver, is fine.)
#[derive(Debug)]
pub struct Flume;

impl ChanLike for Flume {
    const NAME: &'static str = "flume";
    type Sender<M: Message> = flume::Sender<M>;
    type Receiver<M: Message> = flume::Receiver<M>;

    fn bounded<M: Message>(cap: usize) -> (Self::Sender<M>, Self::Receiver<M>) {
        flume::bounded(cap)
    }

    fn unbounded<M: Message>() -> Option<(Self::Sender<M>, Self::Receiver<M>)> {
        Some(flume::unbounded())
    }

    fn clone_sender<M: Message>(tx: &Self::Sender<M>) -> Self::Sender<M> {
        tx.clone()
    }

    fn clone_receiver<M: Message>(rx: &Self::Receiver<M>) -> Option<Self::Receiver<M>> {
        Some(rx.clone())
    }

    #[inline]
    fn send<M: Message>(tx: &Self::Sender<M>, msg: M) {
        tx.send(msg).expect("flume: channel closed during a send");
    }

    #[inline]
    fn recv<M: Message>(rx: &Self::Receiver<M>) -> Option<M> {
        rx.recv().ok()
    }

    fn select_recv<M: Message>(
        rxs: &[Self::Receiver<M>],
    ) -> Option<impl FnMut() -> Option<M> + '_> {
        let mut open = vec![true; rxs.len()];
        let mut left = rxs.len();
        Some(move || loop {
            if left == 0 {
                return None;
            }
            let selector = rxs
                .iter()
                .enumerate()
                .filter(|&(i, _)| open[i])
                .fold(flume::Selector::new(), |sel, (i, rx)| {
                    sel.recv(rx, move |r| r.map_err(|_| i))
                });
            match selector.wait() {
                Ok(msg) => return Some(msg),
                Err(closed) => {
                    // Closed and drained: stop selecting on it.
                    open[closed] = false;
                    left -= 1;
                }
            }
        })
    }
}

/// kanal: bounded (including rendezvous) and unbounded channels that spin briefly before
/// parking. No select.
#[derive(Debug)]
pub struct Kanal;

impl ChanLike for Kanal {
    const NAME: &'static str = "kanal";
    type Sender<M: Message> = kanal::Sender<M>;
    type Receiver<M: Message> = kanal::Receiver<M>;

    fn bounded<M: Message>(cap: usize) -> (Self::Sender<M>, Self::Receiver<M>) {
        kanal::bounded(cap)
    }

    fn unbounded<M: Message>() -> Option<(Self::Sender<M>, Self::Receiver<M>)> {
        Some(kanal::unbounded())
    }

    fn clone_sender<M: Message>(tx: &Self::Sender<M>) -> Self::Sender<M> {
        tx.clone()
    }

    fn clone_receiver<M: Message>(rx: &Self::Receiver<M>) -> Option<Self::Receiver<M>> {
        Some(rx.clone())
    }

    #[inline]
    fn send<M: Message>(tx: &Self::Sender<M>, msg: M) {
        tx.send(msg).expect("kanal: channel closed during a send");
    }

    #[inline]
    fn recv<M: Message>(rx: &Self::Receiver<M>) -> Option<M> {
        rx.recv().ok()
    }
}

/// `std::sync::mpsc`: `sync_channel(cap)` for bounded capacities (0 is a rendezvous),
/// `channel()` for unbounded. Single consumer, no select. (Since Rust 1.67 both are
/// crossbeam-channel's algorithms, vendored.)
#[derive(Debug)]
pub struct Std;

/// A `std::sync::mpsc` sender: the two constructors return different types.
#[derive(Debug, Clone)]
pub enum StdSender<M> {
    /// From `sync_channel(cap)`.
    Bounded(mpsc::SyncSender<M>),
    /// From `channel()`.
    Unbounded(mpsc::Sender<M>),
}

impl ChanLike for Std {
    const NAME: &'static str = "std";
    type Sender<M: Message> = StdSender<M>;
    type Receiver<M: Message> = mpsc::Receiver<M>;

    fn bounded<M: Message>(cap: usize) -> (Self::Sender<M>, Self::Receiver<M>) {
        let (tx, rx) = mpsc::sync_channel(cap);
        (StdSender::Bounded(tx), rx)
    }

    fn unbounded<M: Message>() -> Option<(Self::Sender<M>, Self::Receiver<M>)> {
        let (tx, rx) = mpsc::channel();
        Some((StdSender::Unbounded(tx), rx))
    }

    fn clone_sender<M: Message>(tx: &Self::Sender<M>) -> Self::Sender<M> {
        tx.clone()
    }

    fn clone_receiver<M: Message>(_: &Self::Receiver<M>) -> Option<Self::Receiver<M>> {
        None
    }

    #[inline]
    fn send<M: Message>(tx: &Self::Sender<M>, msg: M) {
        match tx {
            StdSender::Bounded(tx) => tx.send(msg),
            StdSender::Unbounded(tx) => tx.send(msg),
        }
        .expect("std: channel closed during a send");
    }

    #[inline]
    fn recv<M: Message>(rx: &Self::Receiver<M>) -> Option<M> {
        rx.recv().ok()
    }
}

/// Something to do once per channel implementation, with its type in hand.
pub trait ChanVisitor {
    /// Called once for each implementation `C`, in [`visit_all`]'s order.
    fn visit<C: ChanLike>(&mut self);
}

/// The channel implementations under comparison, weft first: calls `visitor.visit::<C>()`
/// for each. This is the one list to extend when adding a peer.
pub fn visit_all(visitor: &mut impl ChanVisitor) {
    visitor.visit::<Weft>();
    visitor.visit::<Crossbeam>();
    visitor.visit::<Flume>();
    visitor.visit::<Kanal>();
    visitor.visit::<Std>();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    /// What each implementation says it can do, and that it does it: 3 senders x 100
    /// messages on every channel it has, received by 2 receivers where it takes several, and
    /// through select where it has one.
    struct Delivery(Vec<(&'static str, bool, bool, bool, bool)>);

    /// 300 messages of `M` from 3 senders; returns how many arrived and the sum of their
    /// numbers.
    fn deliver<C: ChanLike, M: Message>(tx: C::Sender<M>, rx: C::Receiver<M>) -> (u64, u64) {
        let receivers: Vec<C::Receiver<M>> = match C::clone_receiver(&rx) {
            Some(second) => vec![rx, second],
            None => vec![rx],
        };
        thread::scope(|s| {
            for t in 0..3 {
                let tx = C::clone_sender(&tx);
                s.spawn(move || (0..100).for_each(|k| C::send(&tx, M::new(t * 100 + k))));
            }
            drop(tx);
            let tallies: Vec<_> = receivers
                .into_iter()
                .map(|rx| {
                    s.spawn(move || {
                        std::iter::from_fn(|| C::recv(&rx))
                            .fold((0, 0), |(n, sum), m| (n + 1, sum + m.number()))
                    })
                })
                .collect();
            tallies
                .into_iter()
                .map(|h| h.join().unwrap())
                .fold((0, 0), |(n, sum), (m, t)| (n + m, sum + t))
        })
    }

    fn deliver_all<C: ChanLike>(cap: Option<usize>) {
        fn one<C: ChanLike, M: Message>(cap: Option<usize>) {
            let (tx, rx) = match cap {
                Some(cap) => C::bounded::<M>(cap),
                None => C::unbounded::<M>().unwrap(),
            };
            let want = if M::NUMBERED { (0..300).sum() } else { 0 };
            assert_eq!(deliver::<C, M>(tx, rx), (300, want), "{} {cap:?}", C::NAME);
        }
        one::<C, ()>(cap);
        one::<C, u64>(cap);
        one::<C, Line>(cap);
    }

    /// 3 channels of capacity 1, messages `0..300`, one sender per channel unless `C` can
    /// select-send; one select-receiver. Every message must arrive once.
    fn deliver_by_select<C: ChanLike>() {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| C::bounded::<Line>(1)).unzip();
        let mut got = thread::scope(|s| {
            if has_select_send::<C>() {
                s.spawn(|| {
                    let txs = txs; // dropped at the end: closes the channels
                    let mut send = C::select_send(&txs).unwrap();
                    (0..300).for_each(|k| send(Line::new(k)));
                });
            } else {
                for (t, tx) in txs.into_iter().enumerate() {
                    s.spawn(move || {
                        (0..100).for_each(|k| C::send(&tx, Line::new(t as u64 * 100 + k)))
                    });
                }
            }
            let mut recv = C::select_recv(&rxs).unwrap();
            std::iter::from_fn(&mut recv)
                .map(Line::number)
                .collect::<Vec<_>>()
        });
        got.sort_unstable();
        assert_eq!(got, (0..300).collect::<Vec<_>>(), "{}", C::NAME);
    }

    impl ChanVisitor for Delivery {
        fn visit<C: ChanLike>(&mut self) {
            for cap in [0, 1, 16] {
                deliver_all::<C>(Some(cap));
            }
            if has_unbounded::<C>() {
                deliver_all::<C>(None);
            }
            if has_select_recv::<C>() {
                deliver_by_select::<C>();
            }
            self.0.push((
                C::NAME,
                has_unbounded::<C>(),
                has_multi_consumer::<C>(),
                has_select_recv::<C>(),
                has_select_send::<C>(),
            ));
        }
    }

    #[test]
    fn messages_carry_their_numbers() {
        assert_eq!(std::mem::size_of::<Line>(), Line::BYTES);
        assert_eq!(std::mem::size_of::<u64>(), u64::BYTES);
        assert_eq!(std::mem::size_of::<()>(), <() as Message>::BYTES);
        for k in [0, 1, 12345, u64::MAX / 16] {
            assert_eq!(Line::new(k).number(), k);
            assert_eq!(u64::new(k).number(), k);
        }
        let mut torn = Line::new(10);
        torn.0[3] = Line::new(20).0[3];
        assert_ne!(torn.number(), 10);
    }

    /// `select_biased` takes the first arm while it has messages, then the second; only weft
    /// and crossbeam have a select statement.
    struct Biased(Vec<(&'static str, bool)>);

    impl ChanVisitor for Biased {
        fn visit<C: ChanLike>(&mut self) {
            if let Some(select) = C::select_biased::<u64>() {
                let (a, b) = (C::bounded::<u64>(4), C::bounded::<u64>(4));
                C::send(&b.0, 10);
                C::send(&a.0, 1);
                C::send(&a.0, 2);
                let got: Vec<_> = (0..3).map(|_| select(&a.1, &b.1)).collect();
                assert_eq!(got, [(0, 1), (0, 2), (1, 10)], "{}", C::NAME);
            }
            self.0.push((C::NAME, has_select_biased::<C>()));
        }
    }

    #[test]
    fn select_biased_prefers_the_first_arm() {
        let mut v = Biased(Vec::new());
        visit_all(&mut v);
        assert_eq!(
            v.0,
            [
                ("weft", true),
                ("crossbeam", true),
                ("flume", false),
                ("kanal", false),
                ("std", false),
            ]
        );
    }

    #[test]
    fn every_channel_delivers_what_it_can() {
        let mut v = Delivery(Vec::new());
        visit_all(&mut v);
        assert_eq!(
            v.0,
            [
                ("weft", true, true, true, true),
                ("crossbeam", true, true, true, true),
                ("flume", true, true, true, false),
                ("kanal", true, true, false, false),
                ("std", true, false, false, false),
            ]
        );
    }
}
