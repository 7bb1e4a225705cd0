//! Allocation-freedom of `select` (issue #4: "no allocation per select beyond a small fixed
//! registration per arm, and none on the path where an arm is already ready").
//!
//! A counting global allocator counts the allocations of the thread under test only (a
//! thread-local switch), so a partner thread's allocations do not blur the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use weft::chan::{bounded, unbounded, Receiver, Select, SendTimeoutError, Sender};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every method forwards to `System` unchanged; the counter has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the thread-local may be gone while a thread shuts down.
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded from our caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from our caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded from our caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Makes a channel of one flavour.
type Make = fn() -> (Sender<u64>, Receiver<u64>);

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while `f` runs. Tests in this file run one at a time
/// (`ALLOCATIONS` is shared), see `serial`.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// The tests share the counter, so they take turns.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn rounds() -> u64 {
    if cfg!(miri) {
        20
    } else {
        2_000
    }
}

/// Blocks once in a select over `rxs` and, last, one more rendezvous channel, on which a
/// helper thread sends only once the select waits there: a `try_send` on a rendezvous
/// channel succeeds only when a receiver is registered, and a select registers its arms in
/// written order, stopping early only at a ready one (nothing is sent on `rxs` yet). So on
/// return every arm has registered once (each channel's wait list has its first capacity),
/// this thread has its parker, and the thread's packet memory keeps a packet for each
/// rendezvous arm.
///
/// A select that merely times out does not guarantee this: it gives up without registering
/// when its deadline has passed before it gets there, which Miri's clock made happen (seed 7
/// of the macro test: the parker and a wait list's first growth fell into the count).
fn block_once_on(rxs: &[&Receiver<u64>]) {
    let (wake_rx, helper) = wake_when_waited_on();
    let mut sel = Select::new();
    for rx in rxs {
        sel.recv(rx);
    }
    let last = sel.recv(&wake_rx);
    let op = sel.select();
    assert_eq!(
        op.index(),
        last,
        "nothing is sent on the channels under test yet"
    );
    op.recv(&wake_rx)
        .expect("the helper sends before it leaves");
    helper.join().unwrap();
}

/// A rendezvous channel and a helper thread that sends on it once: a rendezvous `try_send`
/// succeeds only once a receiver waits there (a thread, or an async select that watches), so
/// the send comes only after the select under test has registered every arm.
fn wake_when_waited_on() -> (Receiver<u64>, thread::JoinHandle<()>) {
    let (wake_tx, wake_rx) = bounded::<u64>(0);
    let helper = thread::spawn(move || {
        while wake_tx.try_send(0).is_err() {
            thread::yield_now();
        }
    });
    (wake_rx, helper)
}

/// Receives `warm_up + rounds` messages through one reused `Select` over `rxs` and returns
/// how many allocations this thread made during the last `rounds`.
///
/// Before `start` launches the senders, [`block_once_on`] puts this thread's parker, every
/// wait list's first growth and the rendezvous packets in place; the warm-up receives cover
/// what remains of first uses.
fn select_recv_allocations(
    rxs: &[Receiver<u64>],
    start: impl FnOnce(),
    warm_up: u64,
    rounds: u64,
) -> usize {
    let mut sel = Select::new();
    for rx in rxs {
        sel.recv(rx);
    }
    block_once_on(&rxs.iter().collect::<Vec<_>>());
    start();
    let mut recv_one = || {
        let op = sel.select();
        let i = op.index();
        op.recv(&rxs[i]).expect("senders outlive the receives")
    };
    for _ in 0..warm_up {
        recv_one();
    }
    allocations_in(|| {
        for _ in 0..rounds {
            recv_one();
        }
    })
}

#[test]
fn a_ready_select_allocates_nothing() {
    let _turn = serial();
    let makers: [(&str, Make); 2] = [("bounded(1)", || bounded(1)), ("unbounded", unbounded)];
    for (name, make) in makers {
        let (tx, rx) = make();
        let (_tx2, rx2) = bounded::<u64>(1);
        // Fewer messages than a list block holds (31): the list allocates a block per 31
        // sends, on the sending side, which here is this thread.
        let n = 30;
        let mut got = 0;
        let count = allocations_in(|| {
            for k in 0..n {
                tx.try_send(k).expect("room for one");
                got += weft::select! {
                    recv(rx) -> m => m.expect("sent above"),
                    recv(rx2) -> m => m.expect("never closed"),
                };
            }
        });
        assert_eq!(got, (0..n).sum::<u64>());
        assert_eq!(
            count, 0,
            "{name}: select! with a ready arm allocated {count} times"
        );
    }
}

#[test]
fn a_blocking_select_on_a_rendezvous_channel_reuses_its_packet() {
    let _turn = serial();
    let (tx, rx) = bounded::<u64>(0);
    let n = rounds();
    let mut sender = None;
    // Both paths occur: the sender waiting first (a ready arm) and the select waiting first
    // (a blocking registration whose packet the sender fills).
    let count = select_recv_allocations(
        &[rx],
        || {
            sender = Some(thread::spawn(move || {
                for k in 0..n + 10 {
                    tx.send(k).unwrap();
                }
            }));
        },
        10,
        n,
    );
    sender.expect("started").join().unwrap();
    assert_eq!(
        count, 0,
        "{n} selects on bounded(0) allocated {count} times"
    );
}

#[test]
fn a_blocking_select_over_several_channels_allocates_nothing_per_call() {
    let _turn = serial();
    let n = rounds();
    let (txs, rxs): (Vec<_>, Vec<_>) = [bounded::<u64>(0), bounded(1), unbounded()]
        .into_iter()
        .unzip();
    // Each sender keeps sending until told to stop: a channel that closed early would make
    // its arm ready with an error in the middle of the count.
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    let count = select_recv_allocations(
        &rxs,
        || {
            for tx in txs {
                let stop = Arc::clone(&stop);
                senders.push(thread::spawn(move || {
                    let mut sent = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        match tx.send_timeout(sent, Duration::from_millis(1)) {
                            Ok(()) => sent += 1,
                            Err(SendTimeoutError::Timeout(_)) => {}
                            Err(SendTimeoutError::Closed(_)) => unreachable!("receiver alive"),
                        }
                        if sent % 7 == 0 {
                            thread::yield_now(); // let the select block now and then
                        }
                    }
                    sent
                }));
            }
        },
        30,
        n,
    );
    stop.store(true, Ordering::Relaxed);
    // Drain each channel until its sender stops and closes it; nothing may be lost.
    let left: u64 = rxs.iter().map(|rx| rx.iter().count() as u64).sum();
    let sent: u64 = senders.into_iter().map(|s| s.join().unwrap()).sum();
    assert_eq!(left + 30 + n, sent);
    assert_eq!(
        count, 0,
        "{n} selects over three flavours allocated {count} times"
    );
}

#[test]
fn a_blocking_select_macro_on_a_rendezvous_channel_allocates_nothing_after_warm_up() {
    let _turn = serial();
    let n = rounds();
    let (tx, rx) = bounded::<u64>(0);
    let (_tx2, rx2) = bounded::<u64>(0);
    // Before the sender starts, this thread blocks once on both channels (see
    // `block_once_on`), so its packet memory holds two packets whatever the warm-up calls
    // below happen to do (they may all find the sender already waiting and never block).
    block_once_on(&[&rx, &rx2]);
    let sender = thread::spawn(move || {
        for k in 0..n + 10 {
            tx.send(k).unwrap();
        }
    });
    let recv_one = || {
        weft::select! {
            recv(rx) -> m => m.expect("the sender outlives the receives"),
            recv(rx2) -> _m => unreachable!("nothing is sent on the second channel"),
        }
    };
    let mut sum = 0;
    for _ in 0..10 {
        sum += recv_one();
    }
    // Each call builds its arms afresh; a blocking one takes its two packets from (and gives
    // them back to) the thread's packet memory.
    let count = allocations_in(|| {
        for _ in 0..n {
            sum += recv_one();
        }
    });
    sender.join().unwrap();
    assert_eq!(sum, (0..n + 10).sum::<u64>());
    assert_eq!(
        count, 0,
        "{n} select! calls on bounded(0) allocated {count} times"
    );
}

/// Counts this thread's allocations from `start_counting` until `stop_counting`, for code
/// that runs inside a future (the counting switch is the thread's, and the future runs on
/// the thread that polls it).
fn start_counting() -> usize {
    COUNTING.with(|c| c.set(true));
    ALLOCATIONS.load(Ordering::Relaxed)
}

fn stop_counting(before: usize) -> usize {
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// A sender thread per channel that sends `0..n` and closes; returns their handles.
fn senders(txs: Vec<Sender<u64>>, n: u64) -> Vec<thread::JoinHandle<()>> {
    txs.into_iter()
        .map(|tx| {
            thread::spawn(move || {
                for k in 0..n {
                    tx.send(k).unwrap();
                    if k % 5 == 0 {
                        thread::yield_now(); // let the select wait now and then
                    }
                }
            })
        })
        .collect()
}

/// [`block_once_on`] for an async select: waits once in a `Select::select_async` over `rxs`
/// and one more rendezvous channel that a helper thread sends on only once the select
/// waits there, so that every arm has registered once (each channel's wait list has its
/// first capacity) before the count. Without it, a warm-up whose selects all found a
/// message ready left that first growth to the counted rounds (ThreadSanitizer's timing
/// made it happen: 1 allocation).
async fn wait_once_on(rxs: &[Receiver<u64>]) {
    let (wake_rx, helper) = wake_when_waited_on();
    let mut sel = Select::new();
    for rx in rxs {
        sel.recv(rx);
    }
    let last = sel.recv(&wake_rx);
    let op = sel.select_async().await;
    assert_eq!(
        op.index(),
        last,
        "nothing is sent on the channels under test yet"
    );
    op.recv(&wake_rx)
        .expect("the helper sends before it leaves");
    helper.join().unwrap();
}

/// Channels of the flavours whose sends allocate nothing on the sending side once warm
/// (the list allocates a block per 31 sends, on the sender's thread: not counted here, but
/// kept out so the figure says what the select does).
fn async_select_channels() -> (Vec<Sender<u64>>, Vec<Receiver<u64>>) {
    [bounded::<u64>(0), bounded(1), bounded(16)]
        .into_iter()
        .unzip()
}

/// `Select::select_async`, reused across receives, in a task on weft's scheduler: once
/// warm, neither a ready select nor one that waits (its task waiter pinned in the future,
/// the waker cloned by reference count) allocates.
#[test]
fn a_reused_select_async_in_a_task_allocates_nothing_per_call() {
    let _turn = serial();
    let n = rounds();
    let warm_up = 30u64;
    let (txs, rxs) = async_select_channels();
    let per = n + warm_up;
    let sched = weft::sched::Scheduler::new(1);
    let (count, got, handles) = sched.block_on(async move {
        wait_once_on(&rxs).await;
        let handles = senders(txs, per);
        let mut sel = Select::new();
        for rx in &rxs {
            sel.recv(rx);
        }
        let mut got = 0u64;
        let mut before = 0;
        // Until every sender has closed: each arm then reports `Closed` and is removed.
        let mut open = rxs.len();
        while open > 0 {
            if got == warm_up {
                before = start_counting();
            }
            let op = sel.select_async().await;
            let i = op.index();
            match op.recv(&rxs[i]) {
                Ok(_) => got += 1,
                Err(_) => {
                    if got >= warm_up {
                        // Stop before the removals: `remove` may compact the arm table.
                        break;
                    }
                    sel.remove(i);
                    open -= 1;
                }
            }
        }
        let count = if got >= warm_up {
            stop_counting(before)
        } else {
            0
        };
        // Drain what is left so every sender finishes.
        for rx in &rxs {
            got += rx.iter().count() as u64;
        }
        (count, got, handles)
    });
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(got, 3 * per, "every message received once");
    assert_eq!(
        count, 0,
        "select_async over three flavours allocated {count} times once warm"
    );
}

/// `select_async!` builds its arms afresh on every call (a future on the task's stack):
/// once warm it allocates nothing either, under `futures::executor::block_on` here.
#[test]
fn a_select_async_macro_allocates_nothing_after_warm_up() {
    let _turn = serial();
    let n = rounds();
    let warm_up = 30u64;
    let (txs, rxs) = async_select_channels();
    let per = n + warm_up;
    let (count, got, handles) = futures::executor::block_on(async {
        wait_once_on(&rxs).await;
        let handles = senders(txs, per);
        let (r0, r1, r2) = (&rxs[0], &rxs[1], &rxs[2]);
        let mut got = 0u64;
        let mut closed = [false; 3];
        let mut before = 0;
        let mut counting = false;
        loop {
            if got == warm_up && !counting {
                before = start_counting();
                counting = true;
            }
            // A closed channel's arm stays ready with an error: stop counting at the first.
            let (i, res) = weft::select_async! {
                recv(r0) -> m => (0, m),
                recv(r1) -> m => (1, m),
                recv(r2) -> m => (2, m),
            };
            match res {
                Ok(_) => got += 1,
                Err(_) => {
                    closed[i] = true;
                    break;
                }
            }
        }
        let count = if counting { stop_counting(before) } else { 0 };
        for (i, rx) in rxs.iter().enumerate() {
            if !closed[i] {
                got += rx.iter().count() as u64;
            }
        }
        (count, got, handles)
    });
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(got, 3 * per, "every message received once");
    assert_eq!(
        count, 0,
        "select_async! over three flavours allocated {count} times once warm"
    );
}

/// Go's `select { case v := <-ch: ..; case <-time.After(d): .. }` per message: the `after`
/// channel each select makes reuses the last one's allocation (`chan/timer.rs`, `spare`),
/// so once warm the loop allocates nothing, blocking or async, while the message arm wins.
#[test]
fn a_select_with_a_fresh_after_arm_allocates_nothing_after_warm_up() {
    let _turn = serial();
    let n = rounds();
    let (tx, rx) = bounded::<u64>(1);
    let far = Duration::from_secs(3600);
    let round = |i: u64| {
        tx.send(i).unwrap();
        let got = weft::select! {
            recv(rx) -> v => v.unwrap(),
            recv(weft::chan::after(far)) -> _ => unreachable!("a message is ready"),
        };
        assert_eq!(got, i);
    };
    round(0);
    let count = allocations_in(|| (1..n).for_each(round));
    assert_eq!(
        count, 0,
        "select! with after(d) allocated {count} times once warm"
    );

    let count = futures::executor::block_on(async {
        let mut before = 0;
        for i in 0..n {
            if i == 1 {
                before = start_counting();
            }
            tx.send(i).unwrap();
            let got = weft::select_async! {
                recv(rx) -> v => v.unwrap(),
                recv(weft::chan::after(far)) -> _ => unreachable!("a message is ready"),
            };
            assert_eq!(got, i);
        }
        stop_counting(before)
    });
    assert_eq!(
        count, 0,
        "select_async! with after(d) allocated {count} times once warm"
    );
}

/// Go's `select { case v := <-ch: ..; case <-time.After(d): .. }` in a task that waits each
/// time: the `after` channel gets a timer-queue entry while the select waits, and is dropped
/// with the entry cancelled once the message comes. Once warm that allocates nothing either:
/// the waited-on channel, its wait list's capacity and its timer-queue waker are reused.
#[test]
fn an_async_select_that_waits_on_a_fresh_after_arm_allocates_nothing_after_warm_up() {
    let _turn = serial();
    let n = rounds();
    let far = Duration::from_secs(3600);
    // A rendezvous `try_send` succeeds only while a receiver waits: each message comes only
    // once the select has registered (and armed its `after` channel's entry).
    let (tx, rx) = bounded::<u64>(0);
    let helper = thread::spawn(move || {
        for i in 0..n {
            while tx.try_send(i).is_err() {
                thread::yield_now();
            }
        }
    });
    let count = futures::executor::block_on(async {
        let mut before = 0;
        for i in 0..n {
            if i == 10 {
                before = start_counting();
            }
            let got = weft::select_async! {
                recv(rx) -> v => v.unwrap(),
                recv(weft::chan::after(far)) -> _ => unreachable!("the message comes first"),
            };
            assert_eq!(got, i);
        }
        stop_counting(before)
    });
    helper.join().unwrap();
    assert_eq!(
        count, 0,
        "select_async! waiting with after(d) allocated {count} times once warm"
    );
}
