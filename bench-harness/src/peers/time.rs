//! Timers: weft's one timer facility (`weft::time` sleeps, `weft::chan::after`) on weft's
//! scheduler, tokio's time driver on its multi-thread runtime, and, for the blocking select
//! with a timer arm, crossbeam-channel's `after`.
//!
//! Two adapter traits, as the peers offer two models:
//!
//! - [`TimeRt`]: a runtime of tasks with sleeps and a receive that gives up after a timeout
//!   (weft, tokio), in two forms: a select with a timer arm (weft's `select_async!` over the
//!   channel and `chan::after(d)`, Go's `case <-time.After(d)`; tokio's `select!` over its
//!   mpsc receive and `time::sleep(d)`), and a timeout around the receive future
//!   (`weft::time::timeout`, `tokio::time::timeout`).
//! - [`BlockingTimed`]: a blocking select over a channel and a timer channel on plain threads
//!   (weft's `select!` with `recv(after(d))`, crossbeam's the same).

use std::future::Future;
use std::time::{Duration, Instant};

use super::sched::AsyncSched;

/// What a receive with a timeout got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {
    /// A message.
    Msg(u64),
    /// Every sender is gone and the channel is empty.
    Closed,
    /// The timeout passed first.
    TimedOut,
}

/// A task runtime with timers, as the `time` workloads use it.
pub trait TimeRt: AsyncSched + Sync {
    /// An owned sleep future.
    type Sleep: Future<Output = ()> + Send + 'static;
    /// The sending end of [`timed_channel`](Self::timed_channel).
    type TimedTx: Send + Sync + 'static;
    /// The receiving end of [`timed_channel`](Self::timed_channel).
    type TimedRx: Send + 'static;

    /// A runtime with `workers` worker threads and its timers enabled.
    fn with_timers(workers: usize) -> Self;

    /// Sleeps for `duration` (called inside the runtime).
    fn sleep(duration: Duration) -> Self::Sleep;

    /// Sleeps until `deadline` (called inside the runtime).
    fn sleep_until(deadline: Instant) -> Self::Sleep;

    /// A channel of capacity `capacity` (at least 1 where the library has no rendezvous).
    fn timed_channel(capacity: usize) -> (Self::TimedTx, Self::TimedRx);

    /// Whether [`timed_channel`](Self::timed_channel) has capacity 0 (a rendezvous).
    const RENDEZVOUS: bool;

    /// Sends `value`, waiting while the channel is full.
    ///
    /// # Panics
    ///
    /// If the receiver is gone.
    fn send_timed(tx: &Self::TimedTx, value: u64) -> impl Future<Output = ()> + Send;

    /// The next message, unless `timeout` passes first, through a select with a timer arm
    /// made for every call.
    fn select_recv_or_timer(
        rx: &mut Self::TimedRx,
        timeout: Duration,
    ) -> impl Future<Output = Timed> + Send;

    /// The next message, unless `timeout` passes first, through the library's timeout
    /// wrapper around the receive future.
    fn timeout_recv(
        rx: &mut Self::TimedRx,
        timeout: Duration,
    ) -> impl Future<Output = Timed> + Send;
}

impl TimeRt for weft::sched::Scheduler {
    type Sleep = weft::time::Sleep;
    type TimedTx = weft::chan::Sender<u64>;
    type TimedRx = weft::chan::Receiver<u64>;
    const RENDEZVOUS: bool = true;

    fn with_timers(workers: usize) -> Self {
        weft::sched::Scheduler::new(workers)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        weft::time::sleep(duration)
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        weft::time::sleep_until(deadline)
    }

    fn timed_channel(capacity: usize) -> (Self::TimedTx, Self::TimedRx) {
        weft::chan::bounded(capacity)
    }

    async fn send_timed(tx: &Self::TimedTx, value: u64) {
        if tx.send_async(value).await.is_err() {
            panic!("weft: the receiver is gone");
        }
    }

    async fn select_recv_or_timer(rx: &mut Self::TimedRx, timeout: Duration) -> Timed {
        let rx = &*rx;
        weft::select_async! {
            recv(rx) -> m => m.map_or(Timed::Closed, Timed::Msg),
            recv(weft::chan::after(timeout)) -> _ => Timed::TimedOut,
        }
    }

    async fn timeout_recv(rx: &mut Self::TimedRx, timeout: Duration) -> Timed {
        match weft::time::timeout(timeout, rx.recv_async()).await {
            Ok(Ok(v)) => Timed::Msg(v),
            Ok(Err(_)) => Timed::Closed,
            Err(_) => Timed::TimedOut,
        }
    }
}

/// tokio's multi-thread runtime with its time driver (`enable_time`), `tokio::time::sleep`,
/// `tokio::select!` and `tokio::time::timeout` around `tokio::sync::mpsc`'s receive (no
/// rendezvous: capacity 0 is not run).
impl TimeRt for tokio::runtime::Runtime {
    type Sleep = tokio::time::Sleep;
    type TimedTx = tokio::sync::mpsc::Sender<u64>;
    type TimedRx = tokio::sync::mpsc::Receiver<u64>;
    const RENDEZVOUS: bool = false;

    fn with_timers(workers: usize) -> Self {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_time()
            .build()
            .expect("tokio: failed to start the runtime")
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }

    fn timed_channel(capacity: usize) -> (Self::TimedTx, Self::TimedRx) {
        assert!(capacity > 0, "tokio's mpsc has no rendezvous");
        tokio::sync::mpsc::channel(capacity)
    }

    async fn send_timed(tx: &Self::TimedTx, value: u64) {
        if tx.send(value).await.is_err() {
            panic!("tokio: the receiver is gone");
        }
    }

    async fn select_recv_or_timer(rx: &mut Self::TimedRx, timeout: Duration) -> Timed {
        tokio::select! {
            m = rx.recv() => m.map_or(Timed::Closed, Timed::Msg),
            () = tokio::time::sleep(timeout) => Timed::TimedOut,
        }
    }

    async fn timeout_recv(rx: &mut Self::TimedRx, timeout: Duration) -> Timed {
        match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Some(v)) => Timed::Msg(v),
            Ok(None) => Timed::Closed,
            Err(_) => Timed::TimedOut,
        }
    }
}

/// A channel with a blocking select over it and a timer channel, on plain threads.
pub trait BlockingTimed: 'static {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;
    /// The sending end.
    type Tx: Send + Sync;
    /// The receiving end.
    type Rx: Send + Sync;

    /// A channel of capacity `capacity` (0: rendezvous).
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx);

    /// Sends `value`, blocking while the channel is full.
    ///
    /// # Panics
    ///
    /// If the receiver is gone.
    fn send(tx: &Self::Tx, value: u64);

    /// Go's `select { case v := <-rx: ...; case <-time.After(timeout): ... }`: a timer
    /// channel made for every call.
    fn recv_or_after(rx: &Self::Rx, timeout: Duration) -> Timed;
}

/// weft's `select!` with a `recv(weft::chan::after(d))` arm.
#[derive(Debug)]
pub struct Weft;

impl BlockingTimed for Weft {
    const NAME: &'static str = "weft";
    type Tx = weft::chan::Sender<u64>;
    type Rx = weft::chan::Receiver<u64>;

    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        weft::chan::bounded(capacity)
    }

    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("weft: the receiver is gone");
    }

    fn recv_or_after(rx: &Self::Rx, timeout: Duration) -> Timed {
        weft::select! {
            recv(rx) -> m => m.map_or(Timed::Closed, Timed::Msg),
            recv(weft::chan::after(timeout)) -> _ => Timed::TimedOut,
        }
    }
}

/// crossbeam-channel's `select!` with a `recv(crossbeam_channel::after(d))` arm.
#[derive(Debug)]
pub struct Crossbeam;

impl BlockingTimed for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;

    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(capacity)
    }

    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("crossbeam: the receiver is gone");
    }

    fn recv_or_after(rx: &Self::Rx, timeout: Duration) -> Timed {
        crossbeam_channel::select! {
            recv(rx) -> m => m.map_or(Timed::Closed, Timed::Msg),
            recv(crossbeam_channel::after(timeout)) -> _ => Timed::TimedOut,
        }
    }
}
