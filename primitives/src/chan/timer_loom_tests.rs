//! loom models of the timer channels (`timer.rs`), run by `ci/loom.sh`. Their async waits
//! register in the model build's one timer queue (`timers::model_queue`), which these models
//! fire by hand with a synthetic "now".

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;
use std::time::{Duration, Instant};

use loom::thread;

use super::timer::{Ticker, Timer};
use crate::timers::model_queue;

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.max_branches = 20_000;
    builder.check(f);
}

/// An async receive waits on a far timer (its entry armed in the queue) while one thread
/// fires the queue and another resets the timer to now: the receive completes with one
/// value, nothing is left armed once the channel is gone, and the reset's new entry is not
/// taken by the old one's firing.
#[test]
fn reset_races_fire() {
    model(|| {
        let t = std::sync::Arc::new(Timer::new(Duration::from_secs(3600)));
        let count = std::sync::Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        {
            let mut fut = pin!(t.receiver().recv_async());
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            let firer = thread::spawn(|| {
                model_queue().fire_due(Instant::now() + Duration::from_secs(7200));
            });
            let t2 = std::sync::Arc::clone(&t);
            let resetter = thread::spawn(move || {
                t2.reset(Duration::ZERO);
            });
            firer.join().unwrap();
            resetter.join().unwrap();
            // The reset notified the waiter: it was woken, and its deadline has passed.
            assert!(count.0.load(Ordering::Relaxed) >= 1);
            match fut.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(_)) => {}
                other => panic!("the reset timer is due: {other:?}"),
            }
        }
        assert!(t.receiver().try_recv().is_err(), "one value");
        drop(t);
        assert_eq!(model_queue().len(), 0, "no entry outlives its channel");
    });
}

/// Two receivers of one ticker, one async (armed in the queue), one on another thread
/// taking ticks with `try_recv`, while the queue fires: no tick is received twice, and
/// the async receiver, once woken, finds a tick or is re-armed (never left unarmed while
/// it waits).
#[test]
fn ticker_receivers_race_the_fire() {
    model(|| {
        let ticker = std::sync::Arc::new(Ticker::new(Duration::from_secs(3600)));
        let count = std::sync::Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(ticker.receiver().recv_async());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        let t2 = std::sync::Arc::clone(&ticker);
        let other = thread::spawn(move || t2.receiver().try_recv().is_ok());
        model_queue().fire_due(Instant::now() + Duration::from_secs(7200));
        let other_got = other.join().unwrap();
        assert!(!other_got, "the tick is an hour away in real time");
        // Woken by the fire (spuriously: not due in real time), the receive re-arms.
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(model_queue().len(), 1, "armed again for the next tick");
    });
}

/// The allocation behind a timer channel's receiver.
fn allocation(rx: &super::Receiver<Instant>) -> *const () {
    match &rx.flavor {
        super::Flavor::Timer(s) => std::sync::Arc::as_ptr(s).cast(),
        _ => unreachable!("a timer channel"),
    }
}

/// A task's receive armed on an hour's timer is dropped with its channel (retired into the
/// thread's spare, its entry cancelled) while another thread fires the queue, so the old
/// entry's firing may run after the allocation is renewed as the next `after`, and may meet
/// the new channel's own entry: the renewed channel is not due, a task waiting on it stays
/// armed (re-armed if the firing woke it), and no entry outlives it.
#[test]
fn a_retired_channel_renewed_while_its_old_entry_fires() {
    model(|| {
        let count = std::sync::Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let far = Duration::from_secs(3600);
        let old = super::after(far);
        let was = allocation(&old);
        {
            let mut fut = pin!(old.recv_async());
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(model_queue().len(), 1, "armed while the task waited");
        let firer = thread::spawn(|| {
            model_queue().fire_due(Instant::now() + Duration::from_secs(7200));
        });
        drop(old);
        let rx = super::after(far);
        assert_eq!(allocation(&rx), was, "renewed from the spare");
        {
            let mut fut = pin!(rx.recv_async());
            assert!(fut.as_mut().poll(&mut cx).is_pending(), "an hour away");
            firer.join().unwrap();
            assert!(
                fut.as_mut().poll(&mut cx).is_pending(),
                "still an hour away"
            );
            assert_eq!(model_queue().len(), 1, "armed for the new deadline");
        }
        assert_eq!(
            rx.try_recv(),
            Err(super::TryRecvError::Empty),
            "nothing stale"
        );
        drop(rx);
        assert_eq!(model_queue().len(), 0, "no entry outlives its channel");
    });
}
