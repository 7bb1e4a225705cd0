//! Adapters: one trait per primitive kind, one implementation of it per library.
//!
//! A workload is written once, generic over the kind's trait, and every implementation runs
//! it side by side. Each kind's module also holds the one list of its implementations (a
//! visitor such as [`mutex::visit_all`]), so adding a peer is one `impl` plus one line there,
//! and every workload of that kind picks it up.
//!
//! Adapters do what is natural for their library, not the lowest common denominator: for
//! example a crossbeam `WaitGroup` is cloned per participant and consumed by `wait`, while
//! weft's is shared by reference and reused; the [`wait_group::WaitGroupLike`] trait is shaped
//! around a round so that both are used as their authors intend.

pub mod achan;
pub mod chan;
pub mod deque;
pub mod mutex;
pub mod sched;
pub mod time;
pub mod wait_group;

pub use achan::AsyncChan;
pub use chan::ChanLike;
pub use deque::DequeLike;
pub use mutex::MutexLike;
pub use sched::{AsyncSched, ForkJoinSched};
pub use time::{BlockingTimed, TimeRt};
pub use wait_group::WaitGroupLike;
