//! Blocking operations inside a thread-local destructor (issue 16, item 6).
//!
//! Each test runs its body in the `Drop` of a thread-local on a fresh thread, after weft's own
//! thread-locals on that thread (the cached parker, the scheduler's `block_on` context) have
//! been destroyed: the thread touches our thread-local first and weft's afterwards, and
//! thread-local destructors run in reverse order of registration. A primitive that reaches
//! its thread-local with `LocalKey::with` then panics ("cannot access a Thread Local Storage
//! value during or after destruction"), which inside a destructor aborts the process. The
//! body runs under `catch_unwind` and reports back, so such a panic fails the test instead.
//!
//! Every flavour is covered: `bounded(0)` with a partner thread, `bounded(1)`, `unbounded()`;
//! `send`, `recv`, `recv_timeout` (both outcomes), a blocking `select!` and `Select`; the
//! futex `Mutex` and `WaitGroup` (which park on the futex directly, not through the parker:
//! covered so that stays true); `Scheduler::block_on`, `spawn`, `go` and `JoinHandle::join`.

mod common;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{PARK, SLACK, TIMEOUT};
use weft::chan::{bounded, unbounded, RecvError, RecvTimeoutError, Select, SendError};
use weft::sched::Scheduler;
use weft::sync::{Mutex, WaitGroup};

type Body = Box<dyn FnOnce() + Send>;

/// A thread-local whose destructor runs the body it holds.
struct RunOnDrop(RefCell<Option<Body>>);

impl Drop for RunOnDrop {
    fn drop(&mut self) {
        if let Some(body) = self.0.get_mut().take() {
            body();
        }
    }
}

thread_local! {
    static ON_EXIT: RunOnDrop = const { RunOnDrop(RefCell::new(None)) };
}

/// Runs `body` in a thread-local destructor after weft's thread-locals on that thread are
/// gone, and fails the test if it panicked.
fn in_tls_destructor(body: impl FnOnce() + Send + 'static) {
    let (report_tx, report_rx) = mpsc::channel::<Result<(), String>>();
    let thread = thread::spawn(move || {
        // Registered first, so destroyed last.
        ON_EXIT.with(|slot| {
            *slot.0.borrow_mut() = Some(Box::new(move || {
                let outcome = panic::catch_unwind(AssertUnwindSafe(body)).map_err(|payload| {
                    payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "non-string panic".into())
                });
                let _ = report_tx.send(outcome);
            }));
        });
        touch_weft_thread_locals();
    });
    thread.join().expect("the thread itself does not panic");
    match report_rx.recv_timeout(SLACK) {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => panic!("the destructor's body panicked: {msg}"),
        Err(_) => panic!("the destructor's body never reported"),
    }
}

/// Creates weft's thread-locals on this thread (after `ON_EXIT`): a blocked receive creates
/// the cached parker, `Scheduler::block_on` its `block_on` context.
fn touch_weft_thread_locals() {
    let (_tx, rx) = bounded::<()>(0);
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    let sched = Scheduler::new(1);
    assert_eq!(sched.block_on(async { 1 }), 1);
    sched.shutdown();
}

/// Asserts that `rx.recv_timeout(TIMEOUT)` times out after at least `TIMEOUT`.
fn assert_times_out<T: std::fmt::Debug>(rx: &weft::chan::Receiver<T>) {
    let start = Instant::now();
    assert_eq!(
        rx.recv_timeout(TIMEOUT).unwrap_err(),
        RecvTimeoutError::Timeout
    );
    assert!(start.elapsed() >= TIMEOUT);
}

#[test]
fn rendezvous_with_a_partner() {
    in_tls_destructor(|| {
        let (to_partner, partner_rx) = bounded::<u32>(0);
        let (partner_tx, from_partner) = bounded::<u32>(0);
        let partner = thread::spawn(move || {
            thread::sleep(PARK);
            let got = partner_rx.recv().unwrap();
            thread::sleep(PARK);
            partner_tx.send(got + 1).unwrap();
            thread::sleep(PARK);
            partner_tx.send(got + 2).unwrap();
            // Dropping `partner_tx` closes `from_partner`.
        });
        // Blocks until the partner takes it.
        to_partner.send(10).unwrap();
        // Blocks until the partner sends.
        assert_eq!(from_partner.recv(), Ok(11));
        assert_eq!(from_partner.recv_timeout(SLACK), Ok(12));
        partner.join().unwrap();
        assert_eq!(from_partner.recv(), Err(RecvError));
        // No partner left: a send fails with the message back, a timed receive times out.
        assert_eq!(to_partner.send(13), Err(SendError(13)));
        let (_tx, rx) = bounded::<u32>(0);
        assert_times_out(&rx);
    });
}

#[test]
fn ring_buffer() {
    in_tls_destructor(|| {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(1).unwrap();
        let partner = {
            let rx = rx.clone();
            thread::spawn(move || {
                thread::sleep(PARK);
                assert_eq!(rx.recv(), Ok(1));
                thread::sleep(PARK);
                assert_eq!(rx.recv(), Ok(2));
            })
        };
        // The buffer is full: blocks until the partner receives.
        tx.send(2).unwrap();
        partner.join().unwrap();
        let partner = {
            let tx = tx.clone();
            thread::spawn(move || {
                thread::sleep(PARK);
                tx.send(3).unwrap();
            })
        };
        // Empty: blocks until the partner sends.
        assert_eq!(rx.recv(), Ok(3));
        partner.join().unwrap();
        assert_times_out(&rx);
        tx.send(4).unwrap();
        assert_eq!(rx.recv_timeout(TIMEOUT), Ok(4));
        drop(tx);
        assert_eq!(rx.recv(), Err(RecvError));
    });
}

#[test]
fn linked_list() {
    in_tls_destructor(|| {
        let (tx, rx) = unbounded::<u32>();
        tx.send(1).unwrap();
        assert_eq!(rx.recv(), Ok(1));
        let partner = {
            let tx = tx.clone();
            thread::spawn(move || {
                thread::sleep(PARK);
                tx.send(2).unwrap();
            })
        };
        // Empty: blocks until the partner sends.
        assert_eq!(rx.recv(), Ok(2));
        partner.join().unwrap();
        assert_times_out(&rx);
        tx.send(3).unwrap();
        assert_eq!(rx.recv_timeout(TIMEOUT), Ok(3));
        drop(tx);
        assert_eq!(rx.recv(), Err(RecvError));
    });
}

#[test]
fn blocking_selects() {
    in_tls_destructor(|| {
        let (tx0, rx0) = bounded::<u32>(0);
        let (tx1, rx1) = unbounded::<u32>();
        let partner = thread::spawn(move || {
            thread::sleep(PARK);
            tx0.send(7).unwrap();
            thread::sleep(PARK);
            tx1.send(8).unwrap();
            (tx0, tx1)
        });
        let first = weft::select! {
            recv(rx0) -> m => m.unwrap(),
            recv(rx1) -> m => m.unwrap() + 100,
        };
        assert_eq!(first, 7);
        let mut sel = Select::new();
        sel.recv(&rx0);
        let i1 = sel.recv(&rx1);
        let op = sel.select();
        assert_eq!(op.index(), i1);
        assert_eq!(op.recv(&rx1), Ok(8));
        let _senders = partner.join().unwrap();
        // Nothing more comes: a select with a timeout gives up.
        let mut sel = Select::new();
        sel.recv(&rx0);
        sel.recv(&rx1);
        let start = Instant::now();
        assert!(sel.select_timeout(TIMEOUT).is_err());
        assert!(start.elapsed() >= TIMEOUT);
    });
}

#[test]
fn mutex_and_wait_group() {
    in_tls_destructor(|| {
        let mutex = Arc::new(Mutex::new(0u32));
        let group = Arc::new(WaitGroup::new());
        group.add(1);
        let partner = {
            let mutex = Arc::clone(&mutex);
            let group = Arc::clone(&group);
            thread::spawn(move || {
                let mut guard = mutex.lock();
                thread::sleep(PARK);
                *guard += 1;
                drop(guard);
                thread::sleep(PARK);
                group.done();
            })
        };
        // Wait until the partner holds the lock, then contend for it.
        while mutex.try_lock().is_some_and(|g| *g == 0) {
            thread::yield_now();
        }
        *mutex.lock() += 1;
        group.wait();
        assert_eq!(*mutex.lock(), 2);
        partner.join().unwrap();
    });
}

#[test]
fn scheduler_block_on_and_join() {
    in_tls_destructor(|| {
        let sched = Arc::new(Scheduler::new(1));
        let (tx, rx) = bounded::<u32>(0);
        let partner = thread::spawn(move || {
            thread::sleep(PARK);
            tx.send(5).unwrap();
        });
        // Parks this thread between polls.
        let got = sched.block_on({
            let sched = Arc::clone(&sched);
            async move {
                let inner = sched.spawn(async { 6 });
                let m = rx.recv_async().await.unwrap();
                m + inner.await.unwrap()
            }
        });
        assert_eq!(got, 11);
        partner.join().unwrap();
        assert_eq!(sched.spawn(async { 3 }).join().unwrap(), 3);
        Arc::into_inner(sched).unwrap().shutdown();
    });
}

/// Not under Miri: the global scheduler's workers live as long as the process, and Miri
/// reports threads still running when the main thread ends.
#[test]
#[cfg_attr(miri, ignore)]
fn go_and_join() {
    in_tls_destructor(|| {
        // Outside `block_on`: the global scheduler.
        assert_eq!(weft::go(async { 4 }).join().unwrap(), 4);
        // Inside `block_on`, after its thread-local context is gone: also the global one.
        let sched = Scheduler::new(1);
        let got = sched.block_on(async { weft::go(async { 7 }).await.unwrap() });
        assert_eq!(got, 7);
        sched.shutdown();
    });
}
