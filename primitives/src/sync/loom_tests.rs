//! loom models of the Mutex and the WaitGroup, run by `ci/loom.sh`:
//! `RUSTFLAGS="--cfg weft_loom" cargo test -p weft-go --lib --release sync::loom_tests`.
//!
//! The futex layer is modelled (see `futex.rs`): a lost wake-up shows up as a loom deadlock,
//! a missing happens-before as a failed causality check on an `UnsafeCell` or a stale value
//! read from a Relaxed atomic.

use super::mutex::loom_probe;
use super::{Mutex, WaitGroup};
use crate::primitive::cell::UnsafeCell;
use core::future::Future;
use core::task::Poll;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

fn model(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.check(f);
}

/// Two threads increment through the lock while a third takes it once: mutual exclusion (the
/// counter is a plain cell, so a racing access fails loom's causality check) and no lost
/// wake-up when an unlock races a thread about to park.
#[test]
fn mutex_mutual_exclusion_and_wakeup() {
    model(3, || {
        let m = Arc::new(Mutex::new(0usize));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || *m.lock() += 1)
            })
            .collect();
        *m.lock() += 1;
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*m.lock(), 3);
        // Nothing is left locked or flagged once everyone is done.
        assert!(m.try_lock().is_some());
    });
}

/// The critical section of one owner happens-before the next owner's: a value written in a
/// cell beside the lock (not inside it) is seen by the next locker.
#[test]
fn mutex_publishes_critical_section() {
    model(3, || {
        let shared = Arc::new((Mutex::new(()), UnsafeCell::new(0usize)));
        let s2 = shared.clone();
        let t = thread::spawn(move || {
            let _g = s2.0.lock();
            // SAFETY: only accessed while holding the lock.
            s2.1.with_mut(|p| unsafe { *p += 1 });
        });
        {
            let _g = shared.0.lock();
            // SAFETY: only accessed while holding the lock.
            shared.1.with_mut(|p| unsafe { *p += 1 });
        }
        t.join().unwrap();
        let _g = shared.0.lock();
        // SAFETY: only accessed while holding the lock.
        assert_eq!(shared.1.with(|p| unsafe { *p }), 2);
    });
}

/// Starvation: a thread that re-locks at once can pass a parked waiter over; under loom the
/// waiter counts as starved after one fruitless wake-up and must then receive the lock by
/// hand-off. The probe proves some execution took that path.
#[test]
fn mutex_starvation_handoff() {
    let before = loom_probe::HANDOFFS.load(std::sync::atomic::Ordering::Relaxed);
    model(3, || {
        let m = Arc::new(Mutex::new(0usize));
        let m2 = m.clone();
        let barger = thread::spawn(move || {
            for _ in 0..3 {
                let mut g = m2.lock();
                // A critical section long enough for the other thread to give up spinning
                // and park (a schedule point for the model checker).
                thread::yield_now();
                *g += 1;
            }
        });
        *m.lock() += 10;
        barger.join().unwrap();
        assert_eq!(*m.lock(), 13);
        assert!(m.try_lock().is_some(), "lock left held or flagged");
    });
    let after = loom_probe::HANDOFFS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        after > before,
        "no execution exercised the starvation hand-off"
    );
}

/// `try_lock_for` expiring while the lock is being released: whatever the outcome, the lock
/// ends free, a `Some` means real ownership, and a blocking locker beside it is not stranded
/// by the timed waiter leaving (the timed waiter may have consumed a wake-up).
#[test]
fn mutex_try_lock_for_expiry() {
    model(2, || {
        let m = Arc::new(Mutex::new(0usize));
        let held = m.lock();
        let m2 = m.clone();
        let timed = thread::spawn(move || {
            if let Some(mut g) = m2.try_lock_for(Duration::from_millis(1)) {
                *g += 1;
                true
            } else {
                false
            }
        });
        let m3 = m.clone();
        let blocking = thread::spawn(move || *m3.lock() += 10);
        drop(held);
        let got = timed.join().unwrap();
        blocking.join().unwrap();
        assert_eq!(*m.lock(), 10 + usize::from(got));
        assert!(m.try_lock().is_some());
    });
}

/// A starving waiter whose deadline expires must withdraw its hand-off request (or keep the
/// lock if the hand-off won the race); either way nothing is left held.
#[test]
fn mutex_starving_waiter_times_out() {
    let before = loom_probe::WITHDRAWN.load(std::sync::atomic::Ordering::Relaxed);
    model(2, || {
        let m = Arc::new(Mutex::new(0usize));
        let m2 = m.clone();
        let barger = thread::spawn(move || {
            for _ in 0..2 {
                let mut g = m2.lock();
                // Two schedule points: the waiter can park, and its timer can fire, while the
                // lock is held.
                thread::yield_now();
                thread::yield_now();
                *g += 1;
            }
        });
        let got = m
            .try_lock_for(Duration::from_millis(1))
            .map(|mut g| *g += 10)
            .is_some();
        barger.join().unwrap();
        assert_eq!(*m.lock(), 2 + if got { 10 } else { 0 });
        assert!(m.try_lock().is_some(), "lock left held or flagged");
    });
    let after = loom_probe::WITHDRAWN.load(std::sync::atomic::Ordering::Relaxed);
    assert!(after > before, "no execution withdrew a starvation request");
}

/// The waiter returns only once both `done`s happened, sees their writes (Relaxed stores made
/// visible by the Release/Acquire pair), and is never left asleep.
#[test]
fn wait_group_no_waiter_left_asleep() {
    model(3, || {
        let wg = Arc::new(WaitGroup::new());
        let seen = Arc::new(AtomicUsize::new(0));
        wg.add(2);
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (wg, seen) = (wg.clone(), seen.clone());
                thread::spawn(move || {
                    seen.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                })
            })
            .collect();
        wg.wait();
        assert_eq!(seen.load(Ordering::Relaxed), 2);
        assert_eq!(wg.count(), 0);
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// Several waiters at once: the one `done` that reaches zero wakes them all.
#[test]
fn wait_group_many_waiters() {
    model(3, || {
        let wg = Arc::new(WaitGroup::new());
        let data = Arc::new(AtomicUsize::new(0));
        wg.add(1);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (wg, data) = (wg.clone(), data.clone());
                thread::spawn(move || {
                    wg.wait();
                    assert_eq!(data.load(Ordering::Relaxed), 7);
                })
            })
            .collect();
        data.store(7, Ordering::Relaxed);
        wg.done();
        for w in waiters {
            w.join().unwrap();
        }
    });
}

/// Reuse across rounds with a persistent worker: each round's `wait` sees that round's work,
/// and a waiter of round 2 is not confused by the flag left from round 1.
#[test]
fn wait_group_reuse_across_rounds() {
    model(2, || {
        let wg = Arc::new(WaitGroup::new());
        let go = Arc::new(WaitGroup::new());
        let work = Arc::new(AtomicUsize::new(0));
        go.add(1);
        wg.add(1);
        let (wg2, go2, work2) = (wg.clone(), go.clone(), work.clone());
        let worker = thread::spawn(move || {
            work2.store(1, Ordering::Relaxed);
            wg2.done();
            go2.wait(); // round 2 starts once the main thread has re-armed `wg`
            work2.store(2, Ordering::Relaxed);
            wg2.done();
        });
        wg.wait();
        assert_eq!(work.load(Ordering::Relaxed), 1);
        wg.add(1);
        go.done();
        wg.wait();
        assert_eq!(work.load(Ordering::Relaxed), 2);
        worker.join().unwrap();
    });
}

/// A timed wait racing the final `done`: `true` means the work is visible; `false` means the
/// count was still non-zero at expiry; and a blocking waiter beside it still wakes.
#[test]
fn wait_group_timeout_races_done() {
    model(2, || {
        let wg = Arc::new(WaitGroup::new());
        let data = Arc::new(AtomicUsize::new(0));
        wg.add(1);
        let (wg2, data2) = (wg.clone(), data.clone());
        let timed = thread::spawn(move || {
            if wg2.wait_timeout(Duration::from_millis(1)) {
                assert_eq!(data2.load(Ordering::Relaxed), 1);
            }
        });
        let wg3 = wg.clone();
        let blocking = thread::spawn(move || wg3.wait());
        data.store(1, Ordering::Relaxed);
        wg.done();
        timed.join().unwrap();
        blocking.join().unwrap();
    });
}

/// Misuse must not corrupt the group: a `done` on zero panics without ever writing, so a waiter
/// woken by the legitimate `done` is not stranded by a wrapped word.
#[test]
fn wait_group_negative_done_strands_nobody() {
    model(2, || {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let wg2 = wg.clone();
        let t = thread::spawn(move || {
            wg2.done();
            let misuse = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg2.done()));
            assert!(misuse.is_err());
        });
        wg.wait();
        t.join().unwrap();
        assert_eq!(wg.count(), 0);
    });
}

/// ... and a correct `add` racing a misused `done` never sees a wrapped counter.
#[test]
fn wait_group_add_races_negative_done() {
    model(2, || {
        let wg = Arc::new(WaitGroup::new());
        let wg2 = wg.clone();
        let t = thread::spawn(move || {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg2.done()));
        });
        wg.add(1);
        t.join().unwrap();
        assert!(wg.count() <= 1);
    });
}

/// An async waiter (`wait_async`, driven by loom's `block_on`, which parks the thread until
/// the future's waker runs: a lost wake-up is a loom deadlock) completes once the `done`s
/// happened, sees their work, and leaves no registration behind; a blocking waiter beside it
/// is woken by the same `done`.
#[test]
fn wait_group_async_waiter_is_woken() {
    model(3, || {
        let wg = Arc::new(WaitGroup::new());
        let data = Arc::new(AtomicUsize::new(0));
        wg.add(2);
        let workers: Vec<_> = (1..=2)
            .map(|i| {
                let (wg, data) = (wg.clone(), data.clone());
                thread::spawn(move || {
                    data.fetch_add(i, Ordering::Relaxed);
                    wg.done();
                })
            })
            .collect();
        loom::future::block_on(wg.wait_async());
        assert_eq!(data.load(Ordering::Relaxed), 3);
        assert_eq!(wg.async_waiters(), 0);
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// Two async waiters of one group and a blocking one: the zeroing `done` wakes all three
/// (the futex and the table are both swept), with the work visible to each.
#[test]
fn wait_group_async_and_blocking_waiters() {
    model(2, || {
        let wg = Arc::new(WaitGroup::new());
        let data = Arc::new(AtomicUsize::new(0));
        wg.add(1);
        let waiters: Vec<_> = (0..2)
            .map(|k| {
                let (wg, data) = (wg.clone(), data.clone());
                thread::spawn(move || {
                    if k == 0 {
                        loom::future::block_on(wg.wait_async());
                    } else {
                        wg.wait();
                    }
                    assert_eq!(data.load(Ordering::Relaxed), 7);
                })
            })
            .collect();
        loom::future::block_on(async {
            // A second async waiter on this thread, registered before the `done` below.
            let mut pending = core::pin::pin!(wg.wait_async());
            let first = core::future::poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await;
            data.store(7, Ordering::Relaxed);
            wg.done();
            if first.is_pending() {
                pending.await;
            }
        });
        assert_eq!(data.load(Ordering::Relaxed), 7);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(wg.async_waiters(), 0);
    });
}

/// A `wait_async` future dropped while the final `done` races it (registered or not, woken
/// or not): its registration is withdrawn or taken exactly once, and nothing dangles (the
/// table holds no entry of the group afterwards; a waker left behind would be woken later
/// with its future gone).
#[test]
fn wait_group_async_waiter_dropped_while_done_races() {
    model(3, || {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let wg2 = wg.clone();
        let t = thread::spawn(move || wg2.done());
        {
            // Polled once (registering, unless the counter is already zero), then dropped.
            let mut fut = core::pin::pin!(wg.wait_async());
            let _ = loom::future::block_on(core::future::poll_fn(|cx| {
                Poll::Ready(fut.as_mut().poll(cx))
            }));
        }
        t.join().unwrap();
        assert_eq!(wg.async_waiters(), 0);
        assert_eq!(wg.count(), 0);
    });
}
