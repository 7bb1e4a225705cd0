//! Owned, `'static`, `Unpin` async ends: [`RecvStream`] (a receiver that can be polled,
//! stored in a struct, and used as a `futures_core::Stream`) and [`SendSink`] (a sender
//! that can be driven from a poll function, and used as a `futures_sink::Sink`), for
//! runtimes and combinators built on weft.
//!
//! Each keeps its operation's state (the registration a waiting receive or send leaves in
//! the channel's wait list) in one heap box made when the end is made and reused for every
//! message, so the end itself can move freely between polls. The borrowing futures
//! ([`Receiver::recv_async`], [`Sender::send_async`]) keep the same state inline instead,
//! with no allocation, at the price of being `!Unpin`.

use core::fmt;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::{FlavorRecv, FlavorSend, Receiver, RecvError, SendError, Sender};

/// A pinned home for an operation's state: `None` between operations.
struct Home<S> {
    state: Option<S>,
    _pin: PhantomPinned,
}

impl<S> Home<S> {
    fn boxed() -> Pin<Box<Self>> {
        Box::pin(Self {
            state: None,
            _pin: PhantomPinned,
        })
    }

    /// The state slot. The caller may write a state into an empty slot, or take out one
    /// whose registration is finished; it must not move a state that is registered.
    fn slot(self: Pin<&mut Self>) -> &mut Option<S> {
        // SAFETY: the `Home` never moves (it is only reached through this pin); its state
        // is moved only while unregistered (the rule above, which every caller keeps).
        unsafe { &mut self.get_unchecked_mut().state }
    }
}

/// An owned receiving end for async code: [`Receiver::into_stream`].
///
/// `'static` and `Unpin` (for `T: 'static`): store it in a struct, poll it with
/// [`poll_recv`](Self::poll_recv) from a hand-written `poll`, or, with the `futures` cargo
/// feature, use it as a `futures_core::Stream` (it ends when the channel is closed and
/// drained) and `FusedStream`.
///
/// Cancel safety: a message is taken only by the poll that returns it. A poll that
/// returned `Pending` leaves a registration that the next poll reuses, or that dropping the
/// stream withdraws (passing on a wake-up it took), so stopping to poll loses nothing.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
///
/// let (tx, rx) = weft::chan::bounded(4);
/// let mut stream = rx.into_stream();
/// tx.send(1).unwrap();
/// drop(tx);
/// let sched = weft::sched::Scheduler::new(1);
/// sched.block_on(async move {
///     assert_eq!(poll_fn(|cx| stream.poll_recv(cx)).await, Ok(1));
///     assert!(poll_fn(|cx| stream.poll_recv(cx)).await.is_err(), "closed and drained");
/// });
/// ```
pub struct RecvStream<T> {
    rx: Receiver<T>,
    home: Pin<Box<Home<FlavorRecv<T>>>>,
    done: bool,
}

impl<T> Receiver<T> {
    /// This receiver as an owned, `Unpin` [`RecvStream`] (one allocation, for the stream's
    /// life).
    ///
    /// ```
    /// // A stream stored in a struct, polled by hand.
    /// struct Inbox {
    ///     messages: weft::chan::RecvStream<String>,
    /// }
    /// let (tx, rx) = weft::chan::unbounded();
    /// let mut inbox = Inbox { messages: rx.into_stream() };
    /// tx.send("hi".to_string()).unwrap();
    /// let got = weft::sched::Scheduler::new(1)
    ///     .block_on(std::future::poll_fn(|cx| inbox.messages.poll_recv(cx)));
    /// assert_eq!(got.as_deref(), Ok("hi"));
    /// ```
    pub fn into_stream(self) -> RecvStream<T> {
        RecvStream {
            rx: self,
            home: Home::boxed(),
            done: false,
        }
    }
}

impl<T> RecvStream<T> {
    /// Polls for a message: `Ready(Ok(msg))`, `Ready(Err(RecvError))` once the channel is
    /// closed and drained, or `Pending` with `cx`'s waker registered.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let (tx, rx) = weft::chan::unbounded();
    /// let mut stream = rx.into_stream();
    /// let sched = weft::sched::Scheduler::new(1);
    /// let sum = sched.block_on(async move {
    ///     let sender = weft::go(async move { (1..=3).for_each(|i| tx.send(i).unwrap()) });
    ///     let mut sum = 0;
    ///     while let Ok(v) = poll_fn(|cx| stream.poll_recv(cx)).await {
    ///         sum += v;
    ///     }
    ///     sender.await.unwrap();
    ///     sum
    /// });
    /// assert_eq!(sum, 6);
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let rx = &self.rx;
        let slot = self.home.as_mut().slot();
        let state = slot.get_or_insert_with(|| rx.new_recv_state());
        // SAFETY: the state lives in the pinned `Home`, and is finished below once the
        // receive completes, or by `Drop`.
        let poll = unsafe { rx.poll_recv_state(state, cx) };
        if poll.is_ready() {
            rx.finish_recv_state(state);
            *slot = None;
        }
        if let Poll::Ready(Err(_)) = poll {
            self.done = true;
        }
        poll
    }

    /// The receiver (for `try_recv`, `len`, ...).
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(2);
    /// tx.send(7).unwrap();
    /// let stream = rx.into_stream();
    /// assert_eq!(stream.receiver().len(), 1);
    /// ```
    pub fn receiver(&self) -> &Receiver<T> {
        &self.rx
    }

    /// Gives the receiver back, withdrawing a pending registration.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// let stream = rx.into_stream();
    /// tx.send(3).unwrap();
    /// assert_eq!(stream.into_inner().recv(), Ok(3));
    /// ```
    pub fn into_inner(mut self) -> Receiver<T> {
        self.withdraw();
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so each field is moved out once;
        // the registration was withdrawn above, so the state's home may go.
        unsafe {
            drop(core::ptr::read(&this.home));
            core::ptr::read(&this.rx)
        }
    }

    fn withdraw(&mut self) {
        let rx = &self.rx;
        let slot = self.home.as_mut().slot();
        if let Some(state) = slot.as_mut() {
            rx.finish_recv_state(state);
        }
        *slot = None;
    }
}

// SAFETY: through `&RecvStream` only the receiver (itself `Sync` for `T: Send`) and the
// `done` flag are read; the operation state in `home` is touched only through `&mut self`.
unsafe impl<T: Send> Sync for RecvStream<T> {}

impl<T> Drop for RecvStream<T> {
    fn drop(&mut self) {
        self.withdraw();
    }
}

impl<T> fmt::Debug for RecvStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream")
            .field("receiver", &self.rx)
            .field("done", &self.done)
            .finish()
    }
}

#[cfg(feature = "futures")]
impl<T> futures_core::Stream for RecvStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        this.poll_recv(cx).map(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            (self.rx.len(), None)
        }
    }
}

#[cfg(feature = "futures")]
impl<T> futures_core::FusedStream for RecvStream<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// An owned sending end for async code: [`Sender::into_sink`].
///
/// The send protocol of `futures_sink::Sink` (with the `futures` cargo feature), also as
/// inherent methods for hand-written poll functions: [`poll_ready`](Self::poll_ready) until
/// ready, [`start_send`](Self::start_send) one message, [`poll_flush`](Self::poll_flush)
/// until it is delivered. A message that cannot go at once waits inside the sink (one at a
/// time), registered in the channel; it is never lost:
///
/// - if the channel closes, the poll that sees it returns the message in [`SendError`];
/// - [`cancel`](Self::cancel) withdraws a waiting message and returns it (or `None` if a
///   receiver took it meanwhile);
/// - dropping the sink with a message still waiting drops the message, unless a receiver
///   took it first: delivered or dropped, exactly once.
///
/// `poll_close` flushes; it does not close the channel for the other senders (that is
/// [`Sender::close`]).
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
///
/// let (tx, rx) = weft::chan::bounded(0); // rendezvous: the send waits for the receiver
/// let mut sink = tx.into_sink();
/// let sched = weft::sched::Scheduler::new(2);
/// let receiver = sched.spawn(async move { rx.recv_async().await.unwrap() });
/// sched.block_on(async move {
///     poll_fn(|cx| sink.poll_ready(cx)).await.unwrap();
///     sink.start_send("hello").unwrap();
///     poll_fn(|cx| sink.poll_flush(cx)).await.unwrap();
/// });
/// assert_eq!(receiver.join().unwrap(), "hello");
/// ```
pub struct SendSink<T> {
    tx: Sender<T>,
    home: Pin<Box<Home<FlavorSend<T>>>>,
}

impl<T> Sender<T> {
    /// This sender as an owned, `Unpin` [`SendSink`] (one allocation, for the sink's
    /// life).
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// let mut sink = tx.into_sink();
    /// sink.start_send(1).unwrap(); // room: sent at once
    /// assert!(!sink.is_pending());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn into_sink(self) -> SendSink<T> {
        SendSink {
            tx: self,
            home: Home::boxed(),
        }
    }
}

impl<T> SendSink<T> {
    /// Whether a message waits inside the sink.
    ///
    /// ```
    /// let (tx, rx) = weft::chan::bounded(1);
    /// let mut sink = tx.into_sink();
    /// sink.start_send(1).unwrap();
    /// assert!(!sink.is_pending(), "sent at once");
    /// sink.start_send(2).unwrap();
    /// assert!(sink.is_pending(), "the buffer is full: 2 waits in the sink");
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn is_pending(&self) -> bool {
        self.home.state.is_some()
    }

    /// Ready for [`start_send`](Self::start_send) once no message waits in the sink:
    /// drives a waiting one first. `Err` with the waiting message if the channel closed.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let (tx, rx) = weft::chan::bounded(1);
    /// let mut sink = tx.into_sink();
    /// sink.start_send("a").unwrap();
    /// sink.start_send("b").unwrap(); // waits in the sink
    /// let sched = weft::sched::Scheduler::new(1);
    /// let receiver = sched.spawn(async move { [rx.recv_async().await, rx.recv_async().await] });
    /// sched.block_on(async {
    ///     poll_fn(|cx| sink.poll_ready(cx)).await.unwrap(); // "b" delivered: ready for the next
    /// });
    /// assert!(!sink.is_pending());
    /// assert_eq!(receiver.join().unwrap(), [Ok("a"), Ok("b")]);
    /// ```
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.poll_flush(cx)
    }

    /// Sends `msg` if it can go at once; otherwise it waits in the sink, registered, and
    /// [`poll_flush`](Self::poll_flush) delivers it.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the channel is closed.
    ///
    /// # Panics
    ///
    /// If a message already waits in the sink (call `poll_ready` until ready first).
    ///
    /// ```
    /// let (tx, rx) = weft::chan::unbounded();
    /// let mut sink = tx.into_sink();
    /// sink.start_send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(sink.start_send(2).unwrap_err().into_inner(), 2, "closed: the message comes back");
    /// ```
    pub fn start_send(&mut self, msg: T) -> Result<(), SendError<T>> {
        assert!(
            !self.is_pending(),
            "weft::chan::SendSink::start_send: a message is still waiting (poll_ready first)"
        );
        match self.tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(super::TrySendError::Closed(msg)) => Err(SendError(msg)),
            Err(super::TrySendError::Full(msg)) => {
                let state = self.tx.new_send_state(msg);
                *self.home.as_mut().slot() = Some(state);
                Ok(())
            }
        }
    }

    /// Drives the waiting message, if any, until it is delivered (`Ready(Ok)`), or the
    /// channel closes (`Ready(Err)` with the message back).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let (tx, rx) = weft::chan::bounded(0); // rendezvous
    /// let mut sink = tx.into_sink();
    /// sink.start_send(7).unwrap(); // no receiver yet: waits in the sink
    /// let sched = weft::sched::Scheduler::new(1);
    /// let receiver = sched.spawn(async move { rx.recv_async().await });
    /// sched.block_on(async { poll_fn(|cx| sink.poll_flush(cx)).await.unwrap() });
    /// assert_eq!(receiver.join().unwrap(), Ok(7));
    /// ```
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let tx = &self.tx;
        let slot = self.home.as_mut().slot();
        let Some(state) = slot.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        // SAFETY: the state lives in the pinned `Home`; it is finished below once the send
        // completes, or by `cancel` / `Drop`.
        let poll = unsafe { tx.poll_send_state(state, cx) };
        if poll.is_ready() {
            tx.finish_send_state(state);
            *slot = None;
        }
        poll
    }

    /// As [`poll_flush`](Self::poll_flush): the channel stays open for other senders.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let (tx, rx) = weft::chan::unbounded();
    /// let tx2 = tx.clone();
    /// let mut sink = tx.into_sink();
    /// sink.start_send(1).unwrap();
    /// let sched = weft::sched::Scheduler::new(1);
    /// sched.block_on(async { poll_fn(|cx| sink.poll_close(cx)).await.unwrap() });
    /// tx2.send(2).unwrap(); // still open
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.poll_flush(cx)
    }

    /// Withdraws a waiting message: `Some(msg)` if it was not delivered, `None` if a
    /// receiver took it (or none waited).
    ///
    /// ```
    /// let (tx, _rx) = weft::chan::bounded(1);
    /// let mut sink = tx.into_sink();
    /// sink.start_send("first").unwrap();
    /// sink.start_send("second").unwrap(); // waits inside the sink: the buffer is full
    /// assert!(sink.is_pending());
    /// assert_eq!(sink.cancel(), Some("second"));
    /// assert!(!sink.is_pending());
    /// ```
    pub fn cancel(&mut self) -> Option<T> {
        let tx = &self.tx;
        let slot = self.home.as_mut().slot();
        // Finished in place (it may be registered), then moved out.
        tx.finish_send_state(slot.as_mut()?);
        slot.take().and_then(FlavorSend::into_unsent)
    }

    /// The sender (for `try_send`, `len`, ...).
    ///
    /// ```
    /// let (tx, _rx) = weft::chan::bounded(2);
    /// let sink = tx.into_sink();
    /// sink.sender().try_send(1).unwrap();
    /// assert_eq!(sink.sender().len(), 1);
    /// ```
    pub fn sender(&self) -> &Sender<T> {
        &self.tx
    }
}

// SAFETY: through `&SendSink` only the sender (`Sync` for `T: Send`) is used and whether
// a state is present is read; the state itself is touched only through `&mut self`.
unsafe impl<T: Send> Sync for SendSink<T> {}

impl<T> Drop for SendSink<T> {
    fn drop(&mut self) {
        let tx = &self.tx;
        let slot = self.home.as_mut().slot();
        if let Some(state) = slot.as_mut() {
            tx.finish_send_state(state);
        }
        *slot = None;
    }
}

impl<T> fmt::Debug for SendSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink")
            .field("sender", &self.tx)
            .field("pending", &self.is_pending())
            .finish()
    }
}

#[cfg(feature = "futures")]
impl<T> futures_sink::Sink<T> for SendSink<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        self.get_mut().start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_close(cx)
    }
}
