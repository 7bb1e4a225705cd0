//! Integration tests for `weft::sync::WaitGroup`, in crossbeam's order: smoke -> single thread
//! -> many threads -> reuse -> timeouts -> misuse panics -> stress.
//!
//! Loop and thread counts shrink under Miri. Deadline checks assert a lower bound (the wait
//! really lasted the timeout) and a generous upper bound (it did not hang); nothing asserts
//! throughput. Happens-before is checked with plain (non-atomic) memory where possible, so
//! Miri and ThreadSanitizer report a missing edge as a data race.

use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use weft::sync::WaitGroup;

/// Upper bound for "returned at the deadline, not absurdly later".
const SLACK: Duration = if cfg!(miri) {
    Duration::from_secs(60)
} else {
    Duration::from_secs(5)
};

/// Long enough for a blocked thread to spend its spin-then-yield budget and park on the futex,
/// for tests that want the sleeping paths. Natively the budget is microseconds; under Miri every
/// spin hint is a yield and every basic block costs 5 us of virtual time, so it is tens of
/// virtual milliseconds.
const PARK: Duration = if cfg!(miri) {
    Duration::from_millis(200)
} else {
    Duration::from_millis(10)
};

/// A timeout for deadline checks that outlasts the spin budget (see `PARK`), so the waiter
/// really times out asleep on the futex.
const TIMEOUT: Duration = if cfg!(miri) {
    Duration::from_millis(500)
} else {
    Duration::from_millis(50)
};

/// Plain memory shared between threads, ordered only by the `WaitGroup` under test.
struct Slots(Vec<UnsafeCell<u64>>);

// SAFETY: `Slots` hands out no references; every access goes through the unsafe `read`/`write`,
// whose callers promise that the WaitGroup orders conflicting accesses.
unsafe impl Sync for Slots {}

impl Slots {
    fn new(n: usize) -> Self {
        Self((0..n).map(|_| UnsafeCell::new(0)).collect())
    }

    /// # Safety
    /// No write to slot `i` may race with this read.
    unsafe fn read(&self, i: usize) -> u64 {
        // SAFETY: the caller rules out a concurrent write; the pointer is valid for `self`.
        unsafe { *self.0[i].get() }
    }

    /// # Safety
    /// No other access to slot `i` may race with this write.
    unsafe fn write(&self, i: usize, v: u64) {
        // SAFETY: the caller rules out concurrent accesses; the pointer is valid for `self`.
        unsafe { *self.0[i].get() = v }
    }
}

/// Runs `f`, expecting it to panic, and returns the panic message.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        panic!("panic payload is not a string")
    }
}

// ---------------------------------------------------------------------------------------------
// Smoke and single-thread behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn smoke() {
    let wg = WaitGroup::new();
    assert_eq!(wg.count(), 0);
    // Zero: returns at once, whatever the timeout.
    wg.wait();
    assert!(wg.wait_timeout(Duration::ZERO));
    assert!(wg.wait_timeout(Duration::MAX));

    wg.add(3);
    assert_eq!(wg.count(), 3);
    wg.add(0);
    assert_eq!(wg.count(), 3);
    wg.done();
    assert_eq!(wg.count(), 2);
    assert_eq!(format!("{wg:?}"), "WaitGroup { count: 2 }");
    assert!(!wg.wait_timeout(Duration::ZERO));
    wg.done();
    wg.done();
    assert_eq!(wg.count(), 0);
    wg.wait();
    assert_eq!(format!("{wg:?}"), "WaitGroup { count: 0 }");

    let wg = WaitGroup::default();
    assert_eq!(wg.count(), 0);
    wg.wait();
}

#[test]
fn const_static() {
    static WG: WaitGroup = WaitGroup::new();
    static HITS: AtomicUsize = AtomicUsize::new(0);
    const fn make() -> WaitGroup {
        WaitGroup::new()
    }
    let local = make();

    WG.add(4);
    local.add(1);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                HITS.fetch_add(1, Ordering::Relaxed);
                WG.done();
            });
        }
        WG.wait();
        assert_eq!(HITS.load(Ordering::Relaxed), 4);
        local.done();
    });
    assert_eq!(WG.count(), 0);
    local.wait();
}

#[test]
fn wait_returns_after_done_on_other_thread() {
    let wg = WaitGroup::new();
    let slot = Slots::new(1);
    wg.add(1);
    thread::scope(|s| {
        s.spawn(|| {
            // Give the waiter time to spin out and park (not needed for correctness).
            thread::sleep(PARK);
            // SAFETY: the main thread reads the slot only after `wait`, which `done` precedes.
            unsafe { slot.write(0, 7) };
            wg.done();
        });
        wg.wait();
        assert_eq!(wg.count(), 0);
        // SAFETY: the writer's `done` happened-before `wait` returned.
        assert_eq!(unsafe { slot.read(0) }, 7);
    });
}

// ---------------------------------------------------------------------------------------------
// Many threads
// ---------------------------------------------------------------------------------------------

#[test]
fn many_waiters_many_workers() {
    // Several threads wait at once; all of them must wake, and each must see every worker's
    // plain write.
    const WAITERS: usize = 4;
    const WORKERS: usize = 4;

    let wg = WaitGroup::new();
    let slots = Slots::new(WORKERS);
    let woken = AtomicUsize::new(0);
    wg.add(WORKERS);
    thread::scope(|s| {
        for _ in 0..WAITERS {
            s.spawn(|| {
                wg.wait();
                for i in 0..WORKERS {
                    // SAFETY: every write precedes its worker's `done`, which happened-before
                    // this `wait` returned; nothing writes after.
                    assert_eq!(unsafe { slots.read(i) }, i as u64 + 100);
                }
                woken.fetch_add(1, Ordering::Relaxed);
            });
        }
        for i in 0..WORKERS {
            let (wg, slots) = (&wg, &slots);
            s.spawn(move || {
                // Let the waiters park first (not needed for correctness).
                thread::sleep(PARK);
                // SAFETY: each worker writes its own slot; readers read only after `wait`.
                unsafe { slots.write(i, i as u64 + 100) };
                wg.done();
            });
        }
    });
    assert_eq!(woken.into_inner(), WAITERS);
    assert_eq!(wg.count(), 0);
}

#[test]
fn many_threads_wait_on_one_group() {
    // Go's usual shape: add before spawning, done at the end of each task, one wait.
    const THREADS: usize = if cfg!(miri) { 4 } else { 16 };
    const N: usize = if cfg!(miri) { 10 } else { 1_000 };

    let wg = WaitGroup::new();
    let slots = Slots::new(THREADS);
    thread::scope(|s| {
        for t in 0..THREADS {
            wg.add(1);
            let (wg, slots) = (&wg, &slots);
            s.spawn(move || {
                let mut sum = 0u64;
                for i in 0..N as u64 {
                    sum += i;
                }
                // SAFETY: slot `t` is this thread's alone; it is read only after `wait`.
                unsafe { slots.write(t, sum) };
                wg.done();
            });
        }
        wg.wait();
        for t in 0..THREADS {
            // SAFETY: every writer's `done` happened-before `wait` returned.
            assert_eq!(unsafe { slots.read(t) }, (0..N as u64).sum::<u64>());
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Reuse across rounds
// ---------------------------------------------------------------------------------------------

#[test]
fn reuse_across_rounds() {
    // Persistent workers and a coordinator, `ROUNDS` rounds, each group reused every round
    // (every reuse starts after the previous round's waits returned, as Go requires):
    // - `go[r % 2]` releases the workers for round r; the coordinator re-arms the other one
    //   for round r + 1 before releasing this one, so a fast worker cannot run through.
    // - `finished` collects the workers' `done` for the round.
    // The input (coordinator -> workers, ordered by `go`) and the results (workers ->
    // coordinator, ordered by `finished`) are plain memory.
    const WORKERS: usize = if cfg!(miri) { 3 } else { 4 };
    const ROUNDS: u64 = if cfg!(miri) { 30 } else { 2_000 };

    let go = [WaitGroup::new(), WaitGroup::new()];
    let finished = WaitGroup::new();
    let input = Slots::new(1);
    let results = Slots::new(WORKERS);
    go[0].add(1);
    thread::scope(|s| {
        for w in 0..WORKERS {
            let (go, finished, input, results) = (&go, &finished, &input, &results);
            s.spawn(move || {
                for r in 0..ROUNDS {
                    go[(r % 2) as usize].wait();
                    // The coordinator wrote the input before `go.done()`, which
                    // happened-before our `wait` returned; it writes again only after
                    // `finished.wait()`, which our `finished.done()` below precedes.
                    // SAFETY: so this read races with no write.
                    let x = unsafe { input.read(0) };
                    // SAFETY: slot `w` is ours; the coordinator reads it only after
                    // `finished.wait()`, and we write it again only after the next `go`.
                    unsafe { results.write(w, x * 10 + w as u64) };
                    finished.done();
                }
            });
        }
        for r in 0..ROUNDS {
            // Re-arm the next round's gate: its previous waits (round r - 1) have all
            // returned, since every worker called `finished.done()` after them.
            go[((r + 1) % 2) as usize].add(1);
            finished.add(WORKERS);
            // SAFETY: no worker reads the input until `go.done()` below; all reads of the
            // previous round preceded their `finished.done()`, which we waited for.
            unsafe { input.write(0, r) };
            go[(r % 2) as usize].done();
            finished.wait();
            for w in 0..WORKERS {
                // SAFETY: the worker's write preceded its `finished.done()`.
                assert_eq!(unsafe { results.read(w) }, r * 10 + w as u64, "round {r}");
            }
        }
        // The gate armed for round ROUNDS is never used; release it.
        go[(ROUNDS % 2) as usize].done();
    });
    assert_eq!(go[0].count() + go[1].count() + finished.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// wait_timeout: deadlines
// ---------------------------------------------------------------------------------------------

#[test]
fn wait_timeout_times_out_then_succeeds() {
    let timeout = TIMEOUT;
    let wg = WaitGroup::new();
    wg.add(1);

    let start = Instant::now();
    assert!(!wg.wait_timeout(timeout), "count is 1: must time out");
    let took = start.elapsed();
    assert!(took >= timeout, "gave up early: {took:?} < {timeout:?}");
    assert!(took < SLACK, "gave up far too late: {took:?}");
    assert_eq!(wg.count(), 1, "a timed-out wait leaves the counter alone");

    // Released mid-wait by another thread: returns true, long before its own deadline.
    let waiting = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            while !waiting.load(Ordering::Relaxed) {
                thread::yield_now();
            }
            thread::sleep(PARK);
            wg.done();
        });
        let start = Instant::now();
        waiting.store(true, Ordering::Relaxed);
        assert!(wg.wait_timeout(Duration::from_secs(30)));
        assert!(
            start.elapsed() < SLACK,
            "woke far too late: {:?}",
            start.elapsed()
        );
    });
    assert_eq!(wg.count(), 0);
    assert!(wg.wait_timeout(timeout));

    // A timed-out waiter may leave its "waiters" flag behind: the next round still works,
    // with an untimed waiter parked behind it.
    wg.add(2);
    assert!(!wg.wait_timeout(Duration::from_millis(1)));
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(PARK);
            wg.done();
            wg.done();
        });
        wg.wait();
    });
    assert_eq!(wg.count(), 0);
}

#[test]
fn wait_timeout_unbounded() {
    // Duration::MAX overflows the deadline: it means "wait forever", not "give up at once".
    let wg = WaitGroup::new();
    wg.add(1);
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(PARK);
            wg.done();
        });
        assert!(wg.wait_timeout(Duration::MAX));
    });
}

#[test]
fn wait_timeout_many_waiters() {
    // Timed and untimed waiters together; the timed ones use short timeouts in a loop, so
    // some time out while others sleep, and all must see the final zero.
    const WAITERS: usize = 4;
    let wg = WaitGroup::new();
    let done_seen = AtomicUsize::new(0);
    wg.add(1);
    thread::scope(|s| {
        for i in 0..WAITERS {
            let (wg, done_seen) = (&wg, &done_seen);
            s.spawn(move || {
                if i % 2 == 0 {
                    wg.wait();
                } else {
                    while !wg.wait_timeout(Duration::from_micros(200)) {}
                }
                done_seen.fetch_add(1, Ordering::Relaxed);
            });
        }
        thread::sleep(PARK);
        let early = done_seen.load(Ordering::Relaxed);
        // Released before the check, so that a failure cannot leave the waiters (two of them
        // untimed) waiting forever.
        wg.done();
        assert_eq!(early, 0, "a waiter returned at count 1");
    });
    assert_eq!(done_seen.into_inner(), WAITERS);
}

// ---------------------------------------------------------------------------------------------
// Misuse: negative counter and overflow
// ---------------------------------------------------------------------------------------------

#[test]
fn done_on_zero_panics_and_recovers() {
    let wg = WaitGroup::new();
    let msg = panic_message(|| wg.done());
    assert!(msg.contains("negative"), "unclear message: {msg:?}");
    assert_eq!(wg.count(), 0, "the counter is restored to zero");
    wg.wait();
    assert!(wg.wait_timeout(Duration::ZERO));

    // Still fully usable, including waking a parked waiter.
    wg.add(2);
    assert_eq!(wg.count(), 2);
    wg.done();
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(PARK);
            wg.done();
        });
        wg.wait();
    });
    assert_eq!(wg.count(), 0);

    // Once more, after a round that left the "waiters" flag behind (a timed-out wait).
    wg.add(1);
    assert!(!wg.wait_timeout(Duration::from_millis(1)));
    wg.done();
    let msg = panic_message(|| wg.done());
    assert!(msg.contains("negative"), "unclear message: {msg:?}");
    assert_eq!(wg.count(), 0);
    wg.add(1);
    wg.done();
    wg.wait();
}

#[test]
#[should_panic(expected = "negative")]
fn done_on_zero_should_panic() {
    WaitGroup::new().done();
}

#[test]
fn add_overflow_panics_and_leaves_counter() {
    let max = WaitGroup::MAX_COUNT;
    assert_eq!(max, (1 << 31) - 1);

    let wg = WaitGroup::new();
    wg.add(max);
    assert_eq!(wg.count(), max);
    let msg = panic_message(|| wg.add(1));
    assert!(msg.contains("overflow"), "unclear message: {msg:?}");
    assert_eq!(wg.count(), max, "the counter is left unchanged");
    // And it still counts down.
    wg.done();
    assert_eq!(wg.count(), max - 1);
    wg.add(1);
    assert_eq!(wg.count(), max);

    // usize::MAX on an empty group (would wrap in a naive u32 add).
    let wg = WaitGroup::new();
    let msg = panic_message(|| wg.add(usize::MAX));
    assert!(msg.contains("overflow"), "unclear message: {msg:?}");
    assert_eq!(wg.count(), 0);
    wg.wait();

    // One past the maximum, and an amount that would set only the high (flag) bit.
    for n in [max + 1, 1 << 31, (1 << 32) + 1] {
        let msg = panic_message(|| wg.add(n));
        assert!(
            msg.contains("overflow"),
            "add({n}): unclear message: {msg:?}"
        );
        assert_eq!(wg.count(), 0, "add({n}) changed the counter");
    }

    // With the "waiters" flag set (a timed-out wait left it): overflow must not disturb it,
    // and the group must still wake a waiter afterwards.
    wg.add(1);
    assert!(!wg.wait_timeout(Duration::from_millis(1)));
    let msg = panic_message(|| wg.add(max));
    assert!(msg.contains("overflow"), "unclear message: {msg:?}");
    assert_eq!(wg.count(), 1);
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(PARK);
            wg.done();
        });
        wg.wait();
    });
    assert_eq!(wg.count(), 0);
}

#[test]
#[should_panic(expected = "overflow")]
fn add_overflow_should_panic() {
    let wg = WaitGroup::new();
    wg.add(WaitGroup::MAX_COUNT);
    wg.add(1);
}

// ---------------------------------------------------------------------------------------------
// Stress
// ---------------------------------------------------------------------------------------------

#[test]
fn stress_add_done_with_waiters() {
    // Workers hold one count each for the whole round and, meanwhile, add and retire extra
    // counts of their own (nested tasks); waiters (timed and untimed) wait concurrently. No
    // wait may return before every unit of work in the round is complete, and each round
    // reuses the same group.
    const WORKERS: usize = if cfg!(miri) { 2 } else { 4 };
    const WAITERS: usize = if cfg!(miri) { 2 } else { 4 };
    const N: usize = if cfg!(miri) { 20 } else { 10_000 };
    const ROUNDS: usize = if cfg!(miri) { 3 } else { 20 };

    let wg = WaitGroup::new();
    let work = AtomicUsize::new(0);
    for round in 1..=ROUNDS {
        wg.add(WORKERS);
        thread::scope(|s| {
            for _ in 0..WORKERS {
                s.spawn(|| {
                    for i in 0..N {
                        let extra = 1 + i % 3;
                        wg.add(extra);
                        for _ in 0..extra {
                            work.fetch_add(1, Ordering::Relaxed);
                            wg.done();
                        }
                    }
                    wg.done();
                });
            }
            for w in 0..WAITERS {
                let (wg, work) = (&wg, &work);
                s.spawn(move || {
                    if w % 2 == 0 {
                        wg.wait();
                    } else {
                        while !wg.wait_timeout(Duration::from_micros(50)) {}
                    }
                    // Relaxed is enough: every increment precedes a `done`, and all of those
                    // happened-before the wait returned, so coherence forbids a stale value.
                    let seen = work.load(Ordering::Relaxed);
                    assert_eq!(seen, round * WORKERS * per_worker(N), "wait returned early");
                });
            }
        });
        assert_eq!(wg.count(), 0);
    }
}

/// Units of work one worker of `stress_add_done_with_waiters` does: sum of `1 + i % 3`.
fn per_worker(n: usize) -> usize {
    (0..n).map(|i| 1 + i % 3).sum()
}
