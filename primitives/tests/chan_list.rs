//! Integration tests for the unbounded flavour of `weft::chan` (`unbounded()`, `list.rs`: a
//! linked list of 31-slot blocks, each freed by its last reader), in the order of
//! `chan_array.rs`: smoke -> single thread -> close -> drops -> many threads -> close races ->
//! timeouts -> async -> memory reclamation. The async operations of every flavour are also
//! exercised in `chan_async.rs`.
//!
//! Most tests cross block boundaries on purpose: counts around 31 and 62 (a block ends exactly
//! there), and thousands of messages natively. Under Miri an operation costs tens of
//! milliseconds (measured: about 25 ms a send, 13 ms a receive, on one thread), so the counts
//! shrink to just past one boundary (`MIRI_PAST_BLOCK`) where the test is about boundaries,
//! and to a handful elsewhere; tests whose paths another test already covers under Miri are
//! native-only there, so that the file's Miri run stays well under a minute per seed.
//!
//! A counting global allocator (`ALLOC`) sees the blocks: messages of an over-aligned type
//! (`Big`, align 512) make their blocks the only allocations of that alignment in this binary,
//! so the tests that use it can check that blocks are freed by their last reader, while the
//! channel is alive, and that none is leaked.

#[macro_use]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::VecDeque;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, MutexGuard};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    assert_recv_times_out, assert_send, block_on, block_on_timeout, exact_quotas_on,
    handles_are_send_sync, mpmc_exactly_once_on, poll_once, wait_for, CountingWaker, DropTracker,
    Rng, Tracked, PARK, SLACK, TIMEOUT,
};
use weft::chan::{
    unbounded, RecvError, RecvFuture, RecvTimeoutError, SendError, SendFuture, TryRecvError,
    TrySendError,
};

/// Slots per block (`list.rs`'s `BLOCK_CAP`), as documented: "one block per 31 messages".
const BLOCK: usize = 31;

/// Under Miri: enough messages for the tail (and the head, once drained) to cross one block
/// boundary, by one slot more.
const MIRI_PAST_BLOCK: usize = BLOCK + 2;

/// Message counts around block boundaries: empty, a first slot, the last slot of the first
/// block, a block exactly, the first slot of the second, and so on.
const BOUNDARY_COUNTS: &[usize] = &[0, 1, 30, 31, 32, 61, 62, 63, 93, 100];

// ---------------------------------------------------------------------------------------------
// Counting blocks through the allocator
// ---------------------------------------------------------------------------------------------

/// Alignment that marks a block: `Block<Big>` is aligned like `Big`, and nothing else in this
/// test binary allocates with it (the most aligned thing besides is the channel's shared state,
/// cache-padded: 128 bytes on x86-64, 256 at most on any target).
const BIG_ALIGN: usize = 512;

/// A message whose blocks the allocator can recognise (see [`BIG_ALIGN`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(512))]
struct Big {
    id: usize,
    check: usize,
}

impl Big {
    fn new(id: usize) -> Self {
        Self {
            id,
            check: !id.rotate_left(17),
        }
    }

    /// The message arrived intact (both words written by its sender).
    fn assert_intact(&self) {
        assert_eq!(
            self.check,
            !self.id.rotate_left(17),
            "torn message {self:?}"
        );
    }
}

/// `System`, counting the live allocations and allocation calls of alignment [`BIG_ALIGN`].
struct BlockCounter {
    live: AtomicUsize,
    allocated: AtomicUsize,
}

#[global_allocator]
static ALLOC: BlockCounter = BlockCounter {
    live: AtomicUsize::new(0),
    allocated: AtomicUsize::new(0),
};

// SAFETY: forwards every call to `System` unchanged; the counters have no effect on memory.
unsafe impl GlobalAlloc for BlockCounter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() == BIG_ALIGN {
            self.live.fetch_add(1, Ordering::SeqCst);
            self.allocated.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded from our caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() == BIG_ALIGN {
            self.live.fetch_sub(1, Ordering::SeqCst);
        }
        // SAFETY: forwarded from our caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Blocks of `Big` allocated now.
fn live_blocks() -> usize {
    ALLOC.live.load(Ordering::SeqCst)
}

/// Blocks of `Big` allocated so far.
fn allocated_blocks() -> usize {
    ALLOC.allocated.load(Ordering::SeqCst)
}

/// Tests that count blocks hold this, so they run one at a time (the counters are global).
fn block_counting() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(live_blocks(), 0, "a previous test leaked a block");
    guard
}

// ---------------------------------------------------------------------------------------------
// Smoke and single-thread behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn smoke() {
    let (tx, rx) = unbounded();
    tx.send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(8).unwrap();
    tx.try_send(9).unwrap();
    assert_eq!(rx.recv(), Ok(8));
    assert_eq!(rx.recv(), Ok(9));
    tx.send_timeout(10, TIMEOUT).unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT), Ok(10));
    assert_eq!(block_on(tx.send_async(11)), Ok(()));
    assert_eq!(block_on(rx.recv_async()), Ok(11));
    assert!(rx.is_empty());
}

#[test]
fn capacity_len_full_empty() {
    let (tx, rx) = unbounded::<usize>();
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.capacity(), None);
    assert!(!tx.is_full() && !rx.is_full());
    assert!(tx.is_empty() && rx.is_empty());
    assert_eq!(rx.len(), 0);
    // `head` starts at several places in a block, so the same counts end at different
    // offsets (a block's last slot, the first of the next, ...). Under Miri: from a block's
    // start to just past its end.
    let runs: Vec<(usize, usize)> = if cfg!(miri) {
        vec![(0, BLOCK + 1)]
    } else {
        [0, 1, 30, 31]
            .iter()
            .flat_map(|&offset| (0..=100).map(move |n| (offset, n)))
            .collect()
    };
    for (offset, n) in runs {
        let (tx, rx) = unbounded();
        for i in 0..offset {
            tx.send(i).unwrap();
            assert_eq!(rx.recv(), Ok(i));
        }
        for i in 0..n {
            assert_eq!(tx.len(), i, "offset {offset}: len before send {i}");
            assert_eq!(rx.len(), i);
            assert_eq!(rx.is_empty(), i == 0);
            assert!(!tx.is_full() && !rx.is_full());
            tx.send(i).unwrap();
        }
        assert_eq!(rx.len(), n, "offset {offset}: len after {n} sends");
        assert_eq!(tx.is_empty(), n == 0);
        assert!(!rx.is_full());
        for i in 0..n {
            assert_eq!(rx.try_recv(), Ok(i));
            assert_eq!(
                rx.len(),
                n - i - 1,
                "offset {offset}, n {n}: after recv {i}"
            );
            assert!(!rx.is_full());
        }
        assert!(rx.is_empty() && tx.is_empty());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(tx.capacity(), None);
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "single-threaded arithmetic: under Miri `capacity_len_full_empty` runs the same paths"
)]
fn len_with_interleaved_sends_and_receives() {
    // The backlog rises and falls by different steps, so head and tail cross block boundaries
    // at different times and in different blocks; len() is checked after every operation.
    const ROUNDS: usize = 300;
    let (tx, rx) = unbounded();
    let (mut sent, mut received) = (0usize, 0usize);
    for round in 0..ROUNDS {
        for _ in 0..(round * 7) % 45 + 1 {
            tx.send(sent).unwrap();
            sent += 1;
            assert_eq!(rx.len(), sent - received);
        }
        for _ in 0..((round * 5) % 40 + 1).min(sent - received) {
            assert_eq!(rx.recv(), Ok(received));
            received += 1;
            assert_eq!(tx.len(), sent - received);
        }
    }
    assert!(sent > 100 * BLOCK, "the test crossed many blocks ({sent})");
    assert_eq!(rx.try_iter().count(), sent - received);
    assert!(rx.is_empty());
}

#[test]
#[cfg_attr(
    miri,
    ignore = "single-threaded arithmetic: under Miri `capacity_len_full_empty` runs the same paths"
)]
fn linearizable_against_a_model() {
    // Single thread, random try_send/try_recv against a VecDeque: every result and every
    // len() must match. Sends are likelier, so the backlog spans many blocks at times; a
    // drain phase every so often brings head back to tail in another block.
    const OPS: usize = 50_000;
    let (tx, rx) = unbounded();
    let mut model = VecDeque::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut max_len, mut received) = (0, 0);
    for i in 0..OPS {
        let draining = (i / 100) % 4 == 3;
        if !draining && rng.below(5) < 3 {
            assert_eq!(tx.try_send(i), Ok(()));
            model.push_back(i);
        } else {
            match model.pop_front() {
                Some(v) => {
                    assert_eq!(rx.try_recv(), Ok(v));
                    received += 1;
                }
                None => assert_eq!(rx.try_recv(), Err(TryRecvError::Empty)),
            }
        }
        assert_eq!(rx.len(), model.len(), "op {i}");
        assert_eq!(rx.is_empty(), model.is_empty());
        assert!(!tx.is_full());
        max_len = max_len.max(model.len());
    }
    assert!(
        max_len > 3 * BLOCK,
        "the backlog spanned blocks ({max_len})"
    );
    assert!(
        received > 100 * BLOCK,
        "the head crossed many blocks ({received})"
    );
}

#[test]
fn send_never_blocks_nor_fails_while_open() {
    // No receiver is receiving: every kind of send still completes at once.
    const N: usize = if cfg!(miri) { 8 } else { 10_000 };
    let (tx, rx) = unbounded();
    let (c, w) = CountingWaker::new();
    let start = Instant::now();
    for i in 0..N {
        match i % 4 {
            0 => tx.send(i).unwrap(),
            1 => tx.try_send(i).unwrap(),
            // A zero timeout never times out: there is always room.
            2 => tx.send_timeout(i, Duration::ZERO).unwrap(),
            _ => assert_eq!(poll_once(pin!(tx.send_async(i)), &w), Poll::Ready(Ok(()))),
        }
        assert!(!tx.is_full());
    }
    assert!(start.elapsed() < SLACK);
    assert_eq!(
        c.wakes(),
        0,
        "a send never waits, so never registers its waker"
    );
    assert_eq!(rx.len(), N);
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        (0..N).collect::<Vec<_>>()
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "covered under Miri by `send_publishes_plain_memory` (the same, across threads)"
)]
fn fifo_across_block_boundaries() {
    // One thread: order holds across many blocks, for heap-owning messages too.
    const N: usize = 20_000;
    let (tx, rx) = unbounded();
    for i in 0..N {
        tx.send(vec![i; 3]).unwrap();
    }
    for i in 0..N {
        assert_eq!(rx.recv().unwrap(), [i; 3]);
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn zero_sized_messages() {
    // A ZST with a drop counter: slots hold no bytes, but every message is still counted,
    // ordered by its slot, and dropped once.
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Zst;
    impl Drop for Zst {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    assert_eq!(std::mem::size_of::<Zst>(), 0);

    let n = if cfg!(miri) { MIRI_PAST_BLOCK } else { 1_000 };
    let received = if cfg!(miri) { 2 } else { 40 };
    let (tx, rx) = unbounded::<()>();
    let n_unit = if cfg!(miri) { 3 } else { n };
    for _ in 0..n_unit {
        tx.send(()).unwrap();
    }
    assert_eq!(rx.len(), n_unit);
    assert_eq!(rx.try_iter().count(), n_unit);
    assert!(rx.is_empty());

    let (tx, rx) = unbounded();
    for _ in 0..n {
        tx.send(Zst).unwrap();
    }
    assert_eq!(rx.len(), n);
    assert_eq!(DROPS.load(Ordering::SeqCst), 0);
    for _ in 0..received {
        drop(rx.recv().unwrap());
    }
    assert_eq!(DROPS.load(Ordering::SeqCst), received);
    assert_eq!(rx.len(), n - received);
    drop((tx, rx));
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        n,
        "the rest dropped with the channel"
    );
}

#[test]
fn handles_debug_and_clone() {
    common::handles_debug_and_clone(unbounded(), None);
}

#[test]
fn send_sync() {
    handles_are_send_sync();
    assert_send::<SendFuture<'static, Cell<i32>>>();
    assert_send::<RecvFuture<'static, Cell<i32>>>();
    assert_not_impl!(SendFuture<'static, Rc<i32>>: Send);
    assert_not_impl!(RecvFuture<'static, Rc<i32>>: Send);

    // And they do work from other threads: a !Sync message (Cell) through shared handles.
    const N: usize = if cfg!(miri) { 3 } else { 40 };
    let (tx, rx) = unbounded::<Cell<usize>>();
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..N {
                tx.send(Cell::new(i)).unwrap();
            }
        });
        s.spawn(|| {
            for i in 0..N {
                assert_eq!(rx.recv().unwrap().get(), i);
            }
        });
    });
}

#[test]
fn iterators() {
    // Natively, `try_iter` crosses the block boundary.
    const K: usize = if cfg!(miri) { 3 } else { 40 };
    const N: usize = if cfg!(miri) { 4 } else { 1_000 };
    const M: usize = if cfg!(miri) { 3 } else { 35 };
    common::iterators(unbounded, K, N, M);
}

#[test]
fn send_publishes_plain_memory() {
    // The slot's write flag publishes a message's heap contents, including in a block the
    // receiver reaches through `next` before its sender has finished it.
    const N: usize = if cfg!(miri) { MIRI_PAST_BLOCK } else { 20_000 };
    common::send_publishes_plain_memory(unbounded(), N);
}

// ---------------------------------------------------------------------------------------------
// Close, single thread
// ---------------------------------------------------------------------------------------------

#[test]
fn close_from_sender_then_drain() {
    // Closed with the buffered messages ending at every kind of place in a block.
    let counts: &[usize] = if cfg!(miri) {
        &[BLOCK]
    } else {
        BOUNDARY_COUNTS
    };
    for &n in counts {
        common::close_from_sender_then_drain(unbounded(), n);
    }
}

#[test]
fn close_from_receiver() {
    const N: usize = if cfg!(miri) { 3 } else { 33 };
    common::close_from_receiver(unbounded(), N);
}

#[test]
fn last_sender_drop_closes() {
    common::last_sender_drop_closes(unbounded());
}

#[test]
fn last_receiver_drop_closes() {
    common::last_receiver_drop_closes(unbounded());
}

// ---------------------------------------------------------------------------------------------
// Drops
// ---------------------------------------------------------------------------------------------

#[test]
fn buffered_messages_dropped_once() {
    // `n` messages sent, the first `consumed` received (freeing the blocks they filled), the
    // rest left buffered: they must be dropped exactly once when the channel is freed, in
    // both drop orders, whether the backlog ends at a block boundary (31, 62) or mid-block.
    // Under Miri: a block exactly (tail at the next block's start), two of it received.
    // (Consumption across a block, then the drop, runs under Miri in
    // `reclamation_with_heap_messages_and_partial_consumption`.)
    let runs: Vec<(usize, usize, bool)> = if cfg!(miri) {
        vec![(BLOCK, 2, true)]
    } else {
        let mut runs = Vec::new();
        for &n in BOUNDARY_COUNTS {
            for consumed in [0, 1, 30, 31, 40, 62].into_iter().filter(|&c| c <= n) {
                runs.push((n, consumed, false));
                runs.push((n, consumed, true));
            }
        }
        runs
    };
    for (n, consumed, receiver_first) in runs {
        let drops = DropTracker::new(n);
        let (tx, rx) = unbounded();
        for id in 0..n {
            tx.send(Tracked::new(&drops, id)).unwrap();
        }
        for id in 0..consumed {
            assert_eq!(rx.recv().unwrap().id, id);
        }
        assert_eq!(drops.total(), consumed, "only received messages dropped");
        assert_eq!(rx.len(), n - consumed);
        if receiver_first {
            drop(rx);
            assert_eq!(drops.total(), consumed, "the sender keeps the channel");
            drop(tx);
        } else {
            drop(tx);
            assert_eq!(drops.total(), consumed, "the receiver keeps the channel");
            drop(rx);
        }
        drops.assert_all_dropped_once();
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri's own leak check covers this there")]
fn buffered_messages_freed_with_their_blocks() {
    // As above, counting blocks: the channel's drop frees every block it still holds, and
    // the ones consumed before were already freed by their reader.
    let _serial = block_counting();
    for &(n, consumed) in &[(0, 0), (31, 0), (62, 31), (100, 40), (93, 93)] {
        let before = allocated_blocks();
        let (tx, rx) = unbounded();
        for id in 0..n {
            tx.send(Big::new(id)).unwrap();
        }
        let blocks = n / BLOCK + 1;
        assert_eq!(
            allocated_blocks() - before,
            blocks,
            "n {n}: one block per 31"
        );
        assert_eq!(live_blocks(), blocks);
        for id in 0..consumed {
            assert_eq!(rx.recv().unwrap().id, id);
        }
        assert_eq!(
            live_blocks(),
            blocks - consumed / BLOCK,
            "n {n}, consumed {consumed}"
        );
        drop((tx, rx));
        assert_eq!(
            live_blocks(),
            0,
            "n {n}, consumed {consumed}: leaked a block"
        );
    }
}

#[test]
fn drops_across_threads() {
    const PER: usize = if cfg!(miri) { 6 } else { 5_000 };
    common::drops_across_threads(unbounded(), PER);
}

// ---------------------------------------------------------------------------------------------
// Many threads
// ---------------------------------------------------------------------------------------------

#[test]
#[cfg_attr(
    miri,
    ignore = "covered under Miri by `send_publishes_plain_memory` and `spsc_parked_receiver`"
)]
fn spsc_fifo() {
    common::spsc_fifo(unbounded(), 100_000);
}

#[test]
fn spsc_parked_receiver() {
    // A slow producer in bursts of varying length (some ending on a block boundary), so the
    // receiver parks on an empty channel and is woken by a send, often at a block's start.
    const BURSTS: usize = if cfg!(miri) { 2 } else { 60 };
    let nap = if cfg!(miri) {
        PARK
    } else {
        Duration::from_millis(1)
    };
    let lens: Vec<usize> = (0..BURSTS)
        .map(|b| {
            if cfg!(miri) {
                2
            } else {
                [30, 1, 2, 31, 32][b % 5]
            }
        })
        .collect();
    let total: usize = lens.iter().sum();
    let (tx, rx) = unbounded();
    thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            for &len in &lens {
                thread::sleep(nap);
                for _ in 0..len {
                    tx.send(i).unwrap();
                    i += 1;
                }
            }
        });
        for i in 0..total {
            let start = Instant::now();
            assert_eq!(rx.recv_timeout(SLACK), Ok(i));
            assert!(start.elapsed() < SLACK, "receiver stalled: lost wake-up");
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn mpsc() {
    const N: usize = if cfg!(miri) { 40 } else { 50_000 };
    mpmc_exactly_once_on(unbounded(), 4, 1, N);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn spmc() {
    const N: usize = if cfg!(miri) { 80 } else { 100_000 };
    mpmc_exactly_once_on(unbounded(), 1, 4, N);
}

#[test]
fn mpmc() {
    // Every message exactly once, and each producer's messages in order at each consumer
    // (checked by `mpmc_exactly_once_on`), across thousands of blocks natively.
    const N: usize = if cfg!(miri) { 9 } else { 50_000 };
    const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
    mpmc_exactly_once_on(unbounded(), THREADS, THREADS, N);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "same paths as `mpmc` under Miri; native-only to fit the Miri budget"
)]
fn mpmc_oversubscribed() {
    // 8 + 8 threads (on a couple of cores): receivers park and are preempted mid-operation.
    mpmc_exactly_once_on(unbounded(), 8, 8, 5_000);
}

#[test]
fn no_lost_wake_ups_exact_quotas() {
    // Nothing closes the channel, so every parked receiver depends on being woken by a send;
    // see `exact_quotas_on`.
    const N: usize = if cfg!(miri) { 4 } else { 10_000 };
    exact_quotas_on(unbounded(), 3, N, 2, 3 * N / 2);
    if !cfg!(miri) {
        exact_quotas_on(unbounded(), 2, N, 4, N / 2);
        exact_quotas_on(unbounded(), 1, 4 * N, 8, N / 2);
    }
}

#[test]
fn blocked_receivers_woken_by_a_burst() {
    // Each round: K receivers block on an empty channel, each expecting exactly Q messages;
    // then the sender(s) burst all K * Q at once, never waiting. Sends outrun the receivers'
    // wake-ups, so notifications arrive while receivers are spinning, registering,
    // re-checking or asleep: one lost leaves a receiver asleep with messages buffered, and it
    // misses its deadline. The burst starts a little later each round, and alternates between
    // two senders and one (under Miri, one round: two senders).
    const ROUNDS: usize = if cfg!(miri) { 1 } else { 200 };
    const K: usize = if cfg!(miri) { 2 } else { 4 };
    const Q: usize = if cfg!(miri) { 8 } else { 40 };
    for round in 0..ROUNDS {
        let delay = Duration::from_micros((round % 20) as u64 * 10);
        let (tx, rx) = unbounded();
        let sum = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..K {
                let (rx, sum) = (&rx, &sum);
                s.spawn(move || {
                    for _ in 0..Q {
                        let start = Instant::now();
                        let r = rx.recv_timeout(SLACK);
                        let took = start.elapsed();
                        assert!(
                            took < SLACK,
                            "round {round}: receiver stalled ({took:?}, {r:?}): lost wake-up"
                        );
                        sum.fetch_add(r.unwrap(), Ordering::Relaxed);
                    }
                });
            }
            thread::sleep(delay);
            if round % 2 == 1 {
                for i in 0..K * Q {
                    tx.send(i).unwrap();
                }
            } else {
                let tx = &tx;
                for half in 0..2 {
                    s.spawn(move || {
                        for i in (half * K * Q / 2)..((half + 1) * K * Q / 2) {
                            tx.send(i).unwrap();
                        }
                    });
                }
            }
        });
        let n = K * Q;
        assert_eq!(sum.into_inner(), n * (n - 1) / 2, "round {round}");
        assert!(rx.is_empty());
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a thread spinning on try_recv costs Miri more than it finds; native-only"
)]
fn try_recv_racing_blocking_recv() {
    // Non-blocking receives never register, so they must not swallow wake-ups meant for
    // blocked receivers: one thread spins on try_recv while another blocks, each with an
    // exact quota of N out of the 2N sent (so both quotas can always be met), and the
    // blocking one must never sit out its deadline.
    const N: usize = 20_000;
    let (tx, rx) = unbounded();
    let sum = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..2 * N {
                tx.send(i).unwrap();
                if i % 64 == 0 {
                    thread::yield_now();
                }
            }
        });
        s.spawn(|| {
            for _ in 0..N {
                let start = Instant::now();
                let r = rx.recv_timeout(SLACK);
                let took = start.elapsed();
                assert!(took < SLACK, "blocked receiver stalled ({took:?}, {r:?})");
                sum.fetch_add(r.unwrap(), Ordering::Relaxed);
            }
        });
        s.spawn(|| {
            let start = Instant::now();
            let mut got = 0;
            while got < N {
                match rx.try_recv() {
                    Ok(v) => {
                        sum.fetch_add(v, Ordering::Relaxed);
                        got += 1;
                    }
                    Err(TryRecvError::Empty) => thread::yield_now(),
                    Err(TryRecvError::Closed) => unreachable!(),
                }
                assert!(start.elapsed() < 4 * SLACK, "try_recv starved");
            }
        });
    });
    assert_eq!(sum.into_inner(), 2 * N * (2 * N - 1) / 2);
    assert!(rx.is_empty());
}

#[test]
fn len_is_a_consistent_snapshot_under_traffic() {
    // len() reads two counters that move concurrently. One producer and one consumer count
    // their completed operations; a sampler brackets each len() with those counts. At the
    // instant len() describes, the tail had passed every send completed before the sample
    // (`sent_before`) and at most one more (in flight), and the head had passed at least the
    // receives completed before it and at most one more than those completed after it. So
    // `sent_before - received_after - 1 <= len <= sent_after + 1 - received_before`: a len
    // that counts a transient position as a slot, or underflows across a block boundary,
    // breaks it.
    const N: usize = if cfg!(miri) { MIRI_PAST_BLOCK } else { 100_000 };
    const MIRI_SAMPLES: usize = 12;
    let (tx, rx) = unbounded();
    let sent = AtomicUsize::new(0);
    let received = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..N {
                tx.send(i).unwrap();
                sent.fetch_add(1, Ordering::SeqCst);
            }
        });
        let consumer = s.spawn(|| {
            for i in 0..N {
                assert_eq!(rx.recv_timeout(SLACK), Ok(i));
                received.fetch_add(1, Ordering::SeqCst);
            }
        });
        let mut samples = 0;
        loop {
            let received_before = received.load(Ordering::SeqCst);
            let sent_before = sent.load(Ordering::SeqCst);
            let len = rx.len();
            let sent_after = sent.load(Ordering::SeqCst);
            let received_after = received.load(Ordering::SeqCst);
            assert!(
                len <= sent_after + 1 - received_before,
                "len {len} > {sent_after} sent + 1 in flight - {received_before} received"
            );
            assert!(
                len + received_after + 1 >= sent_before,
                "len {len} < {sent_before} sent - {received_after} received - 1 in flight"
            );
            samples += 1;
            // (A consumer that panicked ends the sampling too; the scope re-raises its panic.)
            if received_after == N
                || consumer.is_finished()
                || (cfg!(miri) && samples == MIRI_SAMPLES)
            {
                break;
            }
            if cfg!(miri) {
                thread::yield_now();
            }
        }
    });
    assert_eq!(rx.len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Close races
// ---------------------------------------------------------------------------------------------

#[test]
fn close_wakes_blocked_receivers() {
    common::close_wakes_blocked_receivers(unbounded);
}

#[test]
fn blocked_receivers_drain_then_see_the_close() {
    // Receivers blocked on an empty channel; one burst of M messages and then the close:
    // between them they receive exactly the M messages, then all see Closed.
    const RECEIVERS: usize = if cfg!(miri) { 2 } else { 4 };
    const M: usize = if cfg!(miri) { 8 } else { 1_000 };
    let (tx, rx) = unbounded::<usize>();
    let started = AtomicUsize::new(0);
    let seen: Vec<AtomicUsize> = (0..M).map(|_| AtomicUsize::new(0)).collect();
    thread::scope(|s| {
        for _ in 0..RECEIVERS {
            let (rx, started, seen) = (&rx, &started, &seen);
            s.spawn(move || {
                started.fetch_add(1, Ordering::Relaxed);
                let start = Instant::now();
                loop {
                    match rx.recv_timeout(2 * SLACK) {
                        Ok(v) => {
                            seen[v].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(RecvTimeoutError::Closed) => break,
                        Err(RecvTimeoutError::Timeout) => panic!("missed the close"),
                    }
                }
                assert!(start.elapsed() < SLACK);
            });
        }
        wait_for("receivers to start", || {
            started.load(Ordering::Relaxed) == RECEIVERS
        });
        thread::sleep(PARK);
        for i in 0..M {
            tx.send(i).unwrap();
        }
        drop(tx);
    });
    for (v, c) in seen.iter().enumerate() {
        assert_eq!(c.load(Ordering::Relaxed), 1, "message {v}");
    }
}

#[test]
fn close_returns_true_exactly_once() {
    common::close_returns_true_exactly_once(unbounded);
}

#[test]
fn close_races_with_traffic() {
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 40 };
    const PER: usize = if cfg!(miri) { 10 } else { 3_000 };
    common::close_races_with_traffic(unbounded, ROUNDS, PER, 100);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a timing race, needing many rounds: native-only (Miri runs block installation and \
              close in the other tests)"
)]
fn close_keeps_its_mark_across_block_installation() {
    // The sender of a block's last slot moves `tail` to the next block after its claim; a
    // close landing in that window must stay closed (the move is an add, not a store). Each
    // round: 30 messages buffered, so the next send takes the last slot; one thread sends a
    // few more while another closes and then checks that sending fails.
    const ROUNDS: usize = 2_000;
    for round in 0..ROUNDS {
        let (tx, rx) = unbounded();
        for i in 0..BLOCK - 1 {
            tx.send(i).unwrap();
        }
        let barrier = Barrier::new(2);
        let sent = thread::scope(|s| {
            let sender = s.spawn(|| {
                barrier.wait();
                let mut sent = 0;
                for i in 0..3 {
                    match tx.send(BLOCK - 1 + i) {
                        Ok(()) => {
                            assert_eq!(sent, i, "a send succeeded after one failed");
                            sent += 1;
                        }
                        Err(e) => assert_eq!(e.into_inner(), BLOCK - 1 + i),
                    }
                }
                sent
            });
            barrier.wait();
            if round % 3 == 1 {
                thread::yield_now();
            }
            assert!(tx.close());
            assert!(tx.is_closed());
            assert_eq!(
                tx.send(usize::MAX),
                Err(SendError(usize::MAX)),
                "round {round}"
            );
            sender.join().unwrap()
        });
        assert!(tx.is_closed(), "round {round}: the close was lost");
        assert_eq!(
            tx.try_send(usize::MAX),
            Err(TrySendError::Closed(usize::MAX)),
            "round {round}"
        );
        assert_eq!(rx.len(), BLOCK - 1 + sent);
        assert_eq!(
            rx.iter().collect::<Vec<_>>(),
            (0..BLOCK - 1 + sent).collect::<Vec<_>>(),
            "round {round}"
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[test]
fn recv_timeout_on_empty_channel() {
    let (tx, rx) = unbounded::<usize>();
    assert_recv_times_out(&rx);
    // Also after the channel has been used across a block boundary (natively).
    for i in 0..if cfg!(miri) { 0 } else { 40 } {
        tx.send(i).unwrap();
        assert_eq!(rx.recv(), Ok(i));
    }
    assert_recv_times_out(&rx);
    tx.send(1).unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT), Ok(1));
}

#[test]
fn zero_and_unbounded_timeouts() {
    let (tx, rx) = unbounded();
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    tx.send_timeout(1, Duration::ZERO).unwrap();
    tx.send_timeout(2, Duration::ZERO).unwrap();
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(2));
    // Duration::MAX overflows the deadline: it means "wait forever", not "give up at once".
    tx.send_timeout(3, Duration::MAX).unwrap();
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(3));
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(PARK);
            tx.send(4).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::MAX), Ok(4));
    });
}

#[test]
fn recv_timeout_succeeds_when_message_arrives_mid_wait() {
    common::recv_timeout_succeeds_mid_wait(unbounded());
}

#[test]
fn timed_out_waiters_do_not_swallow_wake_ups() {
    // Receivers only: an unbounded send never waits.
    common::timed_out_receivers_do_not_swallow_wake_ups(unbounded());
}

#[test]
#[cfg_attr(
    miri,
    ignore = "receivers polling with zero timeouts cost Miri more than they find; the timeout \
              paths run under Miri in the other timeout tests"
)]
fn racing_timeouts_account_for_every_message() {
    // Receivers with short, varied timeouts racing senders: each message is received exactly
    // once, and no send times out, whatever its timeout.
    assert_eq!(
        common::racing_timeouts(unbounded(), 3, 5_000),
        0,
        "an unbounded send never times out"
    );
}

// ---------------------------------------------------------------------------------------------
// Async
// ---------------------------------------------------------------------------------------------

#[test]
fn send_async_completes_on_first_poll() {
    // Across block boundaries (natively), and without ever touching the waker.
    let (tx, rx) = unbounded();
    let (c, w) = CountingWaker::new();
    let n = if cfg!(miri) { 3 } else { 70 };
    for i in 0..n {
        assert_eq!(poll_once(pin!(tx.send_async(i)), &w), Poll::Ready(Ok(())));
    }
    for i in 0..n {
        assert_eq!(poll_once(pin!(rx.recv_async()), &w), Poll::Ready(Ok(i)));
    }
    assert_eq!(c.wakes(), 0);
}

#[test]
fn recv_async_resolves_when_a_message_arrives() {
    let (tx, rx) = unbounded();
    let (c, w) = CountingWaker::new();
    let mut recv = pin!(rx.recv_async());
    assert!(poll_once(recv.as_mut(), &w).is_pending());
    assert!(poll_once(recv.as_mut(), &w).is_pending(), "re-poll");
    assert_eq!(c.wakes(), 0);
    tx.try_send(5).unwrap();
    assert_eq!(c.wakes(), 1, "the send wakes the pending receive");
    assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Ok(5)));

    // From another thread, with block_on parking between polls.
    const N: usize = if cfg!(miri) { 4 } else { 100 };
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(PARK);
            for i in 0..N {
                block_on(tx.send_async(i)).unwrap();
            }
        });
        for i in 0..N {
            assert_eq!(block_on_timeout(rx.recv_async(), SLACK), Some(Ok(i)));
        }
    });
}

#[test]
fn send_async_on_closed_channel_returns_the_value() {
    let drops = DropTracker::new(2);
    let (tx, rx) = unbounded();
    tx.send(Tracked::new(&drops, 0)).unwrap();
    tx.close();
    let (c, w) = CountingWaker::new();
    let back = match poll_once(pin!(tx.send_async(Tracked::new(&drops, 1))), &w) {
        Poll::Ready(Err(SendError(v))) => v,
        other => panic!("expected Ready(Err), got {other:?}"),
    };
    assert_eq!(back.id, 1);
    assert_eq!(drops.total(), 0, "handed back, not dropped");
    drop(back);
    assert_eq!(drops.drops(1), 1);
    // The buffered message is still received, then the close.
    assert_eq!(
        poll_once(pin!(rx.recv_async()), &w).map(|r| r.map(|m| m.id)),
        Poll::Ready(Ok(0))
    );
    assert!(matches!(
        poll_once(pin!(rx.recv_async()), &w),
        Poll::Ready(Err(RecvError))
    ));
    assert_eq!(c.wakes(), 0);
    drops.assert_all_dropped_once();
}

#[test]
fn close_wakes_pending_recv_async() {
    for how in 0..3 {
        let (tx, rx) = unbounded::<u32>();
        let rx2 = rx.clone();
        let (c, w) = CountingWaker::new();
        let mut recv = pin!(rx2.recv_async());
        assert!(poll_once(recv.as_mut(), &w).is_pending());
        match how {
            0 => assert!(tx.close()),
            1 => assert!(rx.close()),
            _ => drop(tx),
        }
        assert!(c.wakes() >= 1, "case {how}: woken by the close");
        assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Err(RecvError)));
    }
}

#[test]
fn dropped_pending_recv_async_loses_nothing() {
    // Receives polled once (registered) and dropped, some after a send has already picked
    // them to wake: every message still reaches a later receiver, a thread or a task.
    common::dropped_pending_recv_loses_nothing(unbounded());
    common::dropped_notified_recv_passes_the_wake_up_to_a_thread(unbounded());
}

#[test]
#[cfg_attr(
    miri,
    ignore = "covered under Miri by `cancel_storm_unbounded` in chan_async.rs; native-only here"
)]
fn cancelled_recv_async_storm_loses_nothing() {
    // Across many blocks.
    common::cancel_storm(unbounded(), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Memory reclamation
// ---------------------------------------------------------------------------------------------

#[test]
fn blocks_are_freed_by_their_last_reader() {
    // One allocation per 31 messages, and each block freed as soon as its last message is
    // received, while the channel lives on.
    const BLOCKS: usize = if cfg!(miri) { 1 } else { 10 };
    const N: usize = BLOCKS * BLOCK + 5;
    let _serial = block_counting();
    let (tx, rx) = unbounded();
    assert_eq!(live_blocks(), 1, "the first block comes with the channel");
    let before = allocated_blocks();
    for i in 0..N {
        tx.send(Big::new(i)).unwrap();
    }
    assert_eq!(
        allocated_blocks() - before,
        BLOCKS,
        "one block per 31 messages"
    );
    assert_eq!(live_blocks(), BLOCKS + 1);
    // All of the first block but its last slot: nothing freed yet.
    for i in 0..BLOCK - 1 {
        assert_eq!(rx.recv().unwrap(), Big::new(i));
    }
    assert_eq!(
        live_blocks(),
        BLOCKS + 1,
        "the first block still has a message"
    );
    assert_eq!(rx.recv().unwrap(), Big::new(BLOCK - 1));
    assert_eq!(
        live_blocks(),
        BLOCKS,
        "the first block's last reader freed it"
    );
    for i in BLOCK..N {
        assert_eq!(rx.recv().unwrap(), Big::new(i));
        assert_eq!(
            live_blocks(),
            BLOCKS + 1 - (i + 1) / BLOCK,
            "after message {i}"
        );
    }
    assert_eq!(live_blocks(), 1, "only the block the list ends in is left");
    // Reused in lockstep (natively): a new block per 31 messages, the old one freed.
    for i in 0..if cfg!(miri) { 0 } else { 3 * BLOCK } {
        tx.send(Big::new(i)).unwrap();
        assert_eq!(rx.recv().unwrap(), Big::new(i));
        assert!(live_blocks() <= 2);
    }
    assert_eq!(live_blocks(), 1);
    drop((tx, rx));
    assert_eq!(live_blocks(), 0);
}

/// `producers` threads send `per` messages each (or, with `prefill`, the main thread sends
/// them all before the receivers start); `receivers` threads race to receive until the
/// channel is closed and drained: with `spin`, half of them with `try_recv` in a spin (never
/// parking, so they contend on every slot), the others blocking. Every message is received
/// exactly once and intact, and by the end every consumed block has been freed by its last
/// reader.
fn receivers_race_on_blocks(
    prefill: bool,
    producers: usize,
    receivers: usize,
    per: usize,
    spin: bool,
) {
    let before = allocated_blocks();
    let total = producers * per;
    let (tx, rx) = unbounded();
    let seen: Vec<AtomicUsize> = (0..total).map(|_| AtomicUsize::new(0)).collect();
    if prefill {
        for i in 0..total {
            tx.send(Big::new(i)).unwrap();
        }
        assert_eq!(live_blocks(), total / BLOCK + 1);
    }
    let start = Barrier::new(producers + receivers);
    thread::scope(|s| {
        for p in 0..producers {
            let (tx, start) = (tx.clone(), &start);
            s.spawn(move || {
                start.wait();
                if !prefill {
                    for i in 0..per {
                        tx.send(Big::new(p * per + i)).unwrap();
                    }
                }
            });
        }
        drop(tx);
        for r in 0..receivers {
            let (rx, seen, start) = (&rx, &seen, &start);
            s.spawn(move || {
                start.wait();
                let take = |m: Big| {
                    m.assert_intact();
                    assert_eq!(seen[m.id].fetch_add(1, Ordering::Relaxed), 0, "{m:?} twice");
                };
                if spin && r % 2 == 0 {
                    loop {
                        match rx.try_recv() {
                            Ok(m) => take(m),
                            Err(TryRecvError::Empty) => std::hint::spin_loop(),
                            Err(TryRecvError::Closed) => break,
                        }
                    }
                } else {
                    for m in rx {
                        take(m);
                    }
                }
            });
        }
    });
    for (v, c) in seen.iter().enumerate() {
        assert_eq!(c.load(Ordering::Relaxed), 1, "message {v}");
    }
    // One block per 31 messages; racing senders may each allocate a block for the same
    // boundary (the losers free theirs), so only the lower bound is exact.
    let allocated = allocated_blocks() - before - 1; // besides the channel's first block
    assert!(
        allocated >= total / BLOCK,
        "{allocated} blocks for {total} messages"
    );
    if prefill {
        assert_eq!(allocated, total / BLOCK, "one block per 31 messages");
    }
    assert_eq!(
        live_blocks(),
        1,
        "every consumed block freed by its last reader (the channel is still alive)"
    );
    drop(rx);
    assert_eq!(live_blocks(), 0);
}

#[test]
fn reclamation_receivers_race_on_a_prefilled_list() {
    // No sender runs: every slot is written, so receivers race purely among themselves on
    // claims, on moving `head` to the next block, and on the walk that frees a block (the
    // block's last reader starts it; a reader still reading then finishes it).
    let _serial = block_counting();
    const ROUNDS: usize = if cfg!(miri) { 1 } else { 10 };
    const RECEIVERS: usize = if cfg!(miri) { 3 } else { 6 };
    const N: usize = if cfg!(miri) { 2 * BLOCK + 3 } else { 20_000 };
    for _ in 0..ROUNDS {
        receivers_race_on_blocks(true, 1, RECEIVERS, N, true);
    }
}

#[test]
fn reclamation_receivers_race_senders_on_block_boundaries() {
    // Senders and many receivers at once: receivers wait for writes and for the next block
    // to be linked, and free blocks while senders fill the next ones. (Under Miri, where a
    // spinning receiver's every empty attempt costs as much as a message, all block.)
    let _serial = block_counting();
    const ROUNDS: usize = if cfg!(miri) { 1 } else { 6 };
    const PRODUCERS: usize = 2;
    const RECEIVERS: usize = if cfg!(miri) { 2 } else { 4 };
    const PER: usize = if cfg!(miri) { 16 } else { 8_000 };
    for _ in 0..ROUNDS {
        receivers_race_on_blocks(false, PRODUCERS, RECEIVERS, PER, !cfg!(miri));
    }
}

#[test]
fn reclamation_with_heap_messages_and_partial_consumption() {
    // Heap-owning messages (Miri checks every byte of them) over many blocks; receivers race,
    // then stop partway while blocks are still full: what is left is dropped with the
    // channel, once.
    const ROUNDS: usize = if cfg!(miri) { 1 } else { 10 };
    const RECEIVERS: usize = if cfg!(miri) { 2 } else { 4 };
    const N: usize = if cfg!(miri) { BLOCK + 3 } else { 10_000 };
    for round in 0..ROUNDS {
        let drops = DropTracker::new(N);
        let (tx, rx) = unbounded();
        // Under Miri: past the first block (freed by a racing reader), two messages left.
        let take_total = if cfg!(miri) { BLOCK + 1 } else { N / 2 + round };
        let taken = AtomicUsize::new(0);
        thread::scope(|s| {
            s.spawn(|| {
                for id in 0..N {
                    tx.send(Box::new(Tracked::new(&drops, id))).unwrap();
                }
            });
            for _ in 0..RECEIVERS {
                let (rx, taken) = (&rx, &taken);
                s.spawn(move || {
                    // Claim a ticket first, so exactly `take_total` messages are received.
                    while taken.fetch_add(1, Ordering::Relaxed) < take_total {
                        let m = rx.recv_timeout(SLACK).expect("the sender is still sending");
                        drop(m);
                    }
                });
            }
        });
        assert_eq!(drops.total(), take_total);
        assert_eq!(rx.len(), N - take_total);
        drop((tx, rx));
        drops.assert_all_dropped_once();
    }
}
