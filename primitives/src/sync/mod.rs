//! Blocking synchronisation: a futex [`Mutex`] with Go's starvation hand-off and Go's
//! [`WaitGroup`].

mod mutex;
mod wait_group;

pub use mutex::{Mutex, MutexGuard, STARVATION_THRESHOLD};
pub use wait_group::{WaitAsync, WaitGroup};

#[cfg(all(test, weft_loom))]
mod loom_tests;
