//! The futex layer: sleep on a 32-bit word until another thread changes it and wakes us.
//!
//! Three operations and a timed variant, nothing else (after the `atomic-wait` crate's shape):
//!
//! - [`wait`]`(word, expected)`: sleeps while `*word == expected`. May return spuriously;
//!   callers always re-check their condition in a loop.
//! - [`wait_until`]`(word, expected, deadline)`: the same, giving up at `deadline`. Returns
//!   `false` once the deadline has passed.
//! - [`wake_one`] / [`wake_all`]: wakes one / every thread sleeping on `word`.
//!
//! The check of `*word == expected` and the enqueueing of the sleeper are atomic with respect to
//! `wake_*`: a waker that changes the word and then calls `wake_*` can never miss a sleeper that
//! saw the old value. That is the whole contract every blocking primitive in weft relies on.
//!
//! Backends: Linux `futex(2)`, macOS `ulock` and Windows `WaitOnAddress` through `atomic-wait`;
//! the timed wait is the raw `FUTEX_WAIT` syscall on Linux (atomic-wait has no timeout). On
//! other platforms the timed wait degrades to short sleeps (documented, not spinning).
//!
//! Under `--cfg weft_loom` the layer is a model: a table of sleepers keyed by the word's
//! address, guarded by a loom `Mutex`, with loom `park`/`unpark`. Checking the value under the
//! table lock is exactly the kernel's hash-bucket lock, so the model has the same no-lost-wake-up
//! guarantee and nothing more. A timed wait in the model may time out at any point the model
//! checker chooses, so expiry racing a wake-up is explored.

#[cfg(not(weft_loom))]
pub(crate) use real::{wait, wait_until, wake_all, wake_one};

#[cfg(weft_loom)]
pub(crate) use model::{wait, wait_until, wake_all, wake_one};

#[cfg(not(weft_loom))]
mod real {
    use crate::primitive::sync::atomic::AtomicU32;
    use std::time::Instant;

    /// Sleeps while `word` holds `expected`. May wake spuriously.
    #[inline]
    pub(crate) fn wait(word: &AtomicU32, expected: u32) {
        atomic_wait::wait(word, expected);
    }

    /// Wakes at most one thread sleeping on `word`.
    #[inline]
    pub(crate) fn wake_one(word: &AtomicU32) {
        atomic_wait::wake_one(word as *const AtomicU32);
    }

    /// Wakes every thread sleeping on `word`.
    #[inline]
    pub(crate) fn wake_all(word: &AtomicU32) {
        atomic_wait::wake_all(word as *const AtomicU32);
    }

    /// Sleeps while `word` holds `expected`, at most until `deadline`.
    ///
    /// Returns `false` when the deadline has passed (on entry or on return), `true` when woken
    /// (possibly spuriously) or when the word no longer held `expected`.
    #[cfg(target_os = "linux")]
    pub(crate) fn wait_until(word: &AtomicU32, expected: u32, deadline: Instant) -> bool {
        let now = Instant::now();
        let Some(left) = deadline
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
        else {
            return false;
        };
        let ts = libc::timespec {
            // Saturate rather than wrap: a timeout of centuries is "forever" in practice.
            tv_sec: libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX),
            // subsec_nanos() < 1e9 fits every c_long.
            tv_nsec: left.subsec_nanos() as libc::c_long,
        };
        // `word` is a live, aligned 4-byte atomic for the duration of the call; the kernel only
        // reads it (and compares it with `expected`). `ts` is a valid relative timespec on our
        // stack. The last two arguments are ignored by FUTEX_WAIT.
        // SAFETY: so every pointer passed is valid for the kernel's use of it. FUTEX_PRIVATE_FLAG
        // is right: the word is never shared across processes.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word as *const AtomicU32,
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                &ts as *const libc::timespec,
                core::ptr::null::<u32>(),
                0u32,
            )
        };
        if r == 0 {
            return true;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ETIMEDOUT) => false,
            // EAGAIN: the word had changed; EINTR: a signal. Both are wake-ups.
            _ => Instant::now() < deadline,
        }
    }

    /// Portable fallback: sleep in short slices, re-checking the word. Costs a wake-up every
    /// 100 us while waiting, never a spin.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn wait_until(word: &AtomicU32, expected: u32, deadline: Instant) -> bool {
        use crate::primitive::sync::atomic::Ordering;
        let now = Instant::now();
        let Some(left) = deadline
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
        else {
            return false;
        };
        if word.load(Ordering::Relaxed) == expected {
            std::thread::sleep(left.min(std::time::Duration::from_micros(100)));
        }
        Instant::now() < deadline
    }
}

#[cfg(weft_loom)]
mod model {
    use crate::primitive::sync::atomic::{AtomicU32, Ordering};
    use loom::sync::Mutex;
    use loom::thread::{self, Thread, ThreadId};
    use std::time::Instant;

    struct Sleeper {
        addr: usize,
        id: ThreadId,
        thread: Thread,
        woken: bool,
    }

    loom::lazy_static! {
        static ref TABLE: Mutex<Vec<Sleeper>> = Mutex::new(Vec::new());
    }

    fn enqueue(word: &AtomicU32, expected: u32) -> bool {
        let mut table = TABLE.lock().unwrap();
        // Relaxed is enough: the table lock orders this load after any waker's store that
        // reached the table first (the waker stores, then locks the table to wake).
        if word.load(Ordering::Relaxed) != expected {
            return false;
        }
        table.push(Sleeper {
            addr: word as *const AtomicU32 as usize,
            id: thread::current().id(),
            thread: thread::current(),
            woken: false,
        });
        true
    }

    /// Removes our record; returns whether a waker had marked it.
    fn dequeue() -> bool {
        let me = thread::current().id();
        let mut table = TABLE.lock().unwrap();
        let at = table
            .iter()
            .position(|s| s.id == me)
            .expect("sleeper record");
        table.swap_remove(at).woken
    }

    fn is_woken() -> bool {
        let me = thread::current().id();
        TABLE.lock().unwrap().iter().any(|s| s.id == me && s.woken)
    }

    pub(crate) fn wait(word: &AtomicU32, expected: u32) {
        if !enqueue(word, expected) {
            return;
        }
        while !is_woken() {
            thread::park();
        }
        dequeue();
    }

    /// The model's timer fires at a point of the model checker's choosing: after one yield,
    /// either a waker has marked us (woken) or the deadline is taken to have passed.
    pub(crate) fn wait_until(word: &AtomicU32, expected: u32, _deadline: Instant) -> bool {
        if !enqueue(word, expected) {
            return true;
        }
        thread::yield_now();
        dequeue()
    }

    fn wake(word: &AtomicU32, all: bool) {
        let addr = word as *const AtomicU32 as usize;
        let mut table = TABLE.lock().unwrap();
        // FIFO among sleepers on the same word, as Linux does for equal priorities.
        for s in table.iter_mut().filter(|s| s.addr == addr && !s.woken) {
            s.woken = true;
            s.thread.unpark();
            if !all {
                break;
            }
        }
    }

    pub(crate) fn wake_one(word: &AtomicU32) {
        wake(word, false);
    }

    pub(crate) fn wake_all(word: &AtomicU32) {
        wake(word, true);
    }
}
