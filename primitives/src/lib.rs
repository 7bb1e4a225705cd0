//! Go-style concurrency primitives for Rust, built lock-free where that pays and on futexes
//! where threads must sleep, each model-checked with loom.
//!
//! - [`sync::Mutex`]: a 4-byte futex mutex with Go's starvation hand-off.
//! - [`sync::WaitGroup`]: Go's `sync.WaitGroup` on one futex word.
//! - [`chan`]: channels with Go's close semantics, blocking and async: a lock-free ring buffer
//!   (`bounded(n)`), a rendezvous channel (`bounded(0)`) and a lock-free list of blocks
//!   (`unbounded()`); [`select!`] and [`chan::Select`] wait on several of them at once, with
//!   Go's `select` semantics.
//! - [`sched`]: a thin Go-like scheduler built from the above: [`go`], [`sched::Scheduler`],
//!   `JoinHandle`s that are futures, `block_on`; tasks waiting on channels or a
//!   [`sync::WaitGroup::wait_async`] free their worker.
//! - [`deque`]: a Chase-Lev work-stealing deque (growable, LIFO or FIFO owner, single and
//!   batch steals) whose thieves never read a slot speculatively, so it has no data race at all.
//!
//! Every blocking operation spins briefly, then yields, then sleeps on a futex: fast when a
//! hand-off is a few hundred nanoseconds away, and no collapse when threads outnumber cores.
//!
//! # Example
//!
//! A worker pool that sums into a shared counter, then waits for every worker:
//!
//! ```
//! use weft::sync::{Mutex, WaitGroup};
//!
//! let total = Mutex::new(0u64);
//! let wg = WaitGroup::new();
//! std::thread::scope(|s| {
//!     for worker in 0..4u64 {
//!         wg.add(1);
//!         let (total, wg) = (&total, &wg);
//!         s.spawn(move || {
//!             for i in 0..1000 {
//!                 *total.lock() += worker * 1000 + i;
//!             }
//!             wg.done();
//!         });
//!     }
//!     wg.wait();
//!     assert_eq!(*total.lock(), (0..4000).sum::<u64>());
//! });
//! ```
//!
//! # Model checking
//!
//! Build with `RUSTFLAGS="--cfg weft_loom"` to swap every atomic, cell, thread and futex
//! operation for loom's (see `ci/loom.sh`). The cfg is weft's own, so a downstream `--cfg loom`
//! leaves weft untouched.
#![deny(missing_docs, unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod backoff;
mod futex;
mod parker;
mod primitive;
mod timers;
mod unwind;

pub mod chan;
pub mod deque;
pub mod sched;
pub mod sync;
pub mod time;

#[cfg(not(weft_loom))]
pub use sched::go;

/// The crate README's Rust examples run as doctests, so the first screen never goes stale.
/// (The repository's README repeats its example; bench-harness doctests that copy.)
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
