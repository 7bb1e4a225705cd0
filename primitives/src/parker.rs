//! A per-thread parker on the futex layer: a one-token semaphore, as in std's futex-based
//! `thread::park` (and its source, the `Parker` of Rust's `sys/sync/thread_parking/futex.rs`).
//!
//! Wait lists hold an `Arc<Parker>` of each sleeping thread rather than a pointer into the
//! sleeper's stack: a notifier that has published the wake-up condition may find the sleeper
//! already gone (it saw the condition while spinning and returned), and must still be able to
//! unpark without touching freed memory. The parker lives as long as any `Arc` to it.
//!
//! # State word
//!
//! `EMPTY = 0` (no token), `NOTIFIED = 1` (a token is waiting), `PARKED = u32::MAX` (the owner
//! sleeps or is about to). `park` consumes the token with a `fetch_sub`: `NOTIFIED -> EMPTY`
//! returns at once, `EMPTY -> PARKED` sleeps. `unpark` swaps in `NOTIFIED` and wakes only if
//! it replaced `PARKED`.
//!
//! A stale token (an `unpark` arriving after its waiter already left) makes one later `park`
//! return early; every caller re-checks its own condition in a loop, so that is harmless.

use std::time::Instant;

use crate::futex;
use crate::primitive::sync::atomic::{AtomicU32, Ordering};
use crate::primitive::sync::Arc;

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = u32::MAX;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Parker {
    state: AtomicU32,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU32::new(EMPTY),
        }
    }

    /// The calling thread's parker, created on first use and cached for the thread's life.
    ///
    /// Inside a thread-local destructor the cache may already be destroyed (`LocalKey::with`
    /// would panic there, and a panic in a destructor aborts): then a fresh parker serves this
    /// one wait, as in crossbeam. That is sound because nothing identifies a thread by its
    /// parker: a waiter parks on the `Arc` it holds and its notifier unparks that same `Arc`.
    pub(crate) fn current() -> Arc<Parker> {
        #[cfg(not(weft_loom))]
        std::thread_local! {
            static CURRENT: Arc<Parker> = Arc::new(Parker::new());
        }
        #[cfg(weft_loom)]
        loom::thread_local! {
            static CURRENT: Arc<Parker> = Arc::new(Parker::new());
        }
        CURRENT
            .try_with(Arc::clone)
            .unwrap_or_else(|_| Arc::new(Parker::new()))
    }

    /// Sleeps until a token is available (consuming it) or `deadline` passes. Returns `false`
    /// on timeout. May return `true` early because of a stale token: re-check the condition.
    ///
    /// Only the owning thread may call this.
    pub(crate) fn park(&self, deadline: Option<Instant>) -> bool {
        // Ordering: Acquire pairs with the Release swap in `unpark`, so what the unparker did
        // before unparking is visible once we consume its token.
        if self.state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
            return true;
        }
        crate::backoff::parked();
        loop {
            let woke = match deadline {
                None => {
                    futex::wait(&self.state, PARKED);
                    true
                }
                Some(d) => futex::wait_until(&self.state, PARKED, d),
            };
            // Ordering: Acquire pairs with the Release swap in `unpark` (see above).
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Acquire)
                .is_ok()
            {
                return true;
            }
            if !woke {
                // Timed out: withdraw from PARKED. A racing `unpark` may have just left a
                // token: then take it, we were notified after all.
                // Ordering: Acquire pairs with the Release swap in `unpark`.
                return self.state.swap(EMPTY, Ordering::Acquire) == NOTIFIED;
            }
            // Spurious wake-up: still PARKED, sleep again.
        }
    }

    /// Makes a token available, waking the owner if it sleeps.
    pub(crate) fn unpark(&self) {
        // Ordering: Release pairs with the Acquire in `park`, publishing the unparker's writes
        // (typically: "you were selected", and the message) to the woken thread.
        if self.state.swap(NOTIFIED, Ordering::Release) == PARKED {
            futex::wake_one(&self.state);
        }
    }
}
