//! Panics of user code (a `Drop`, a waker) that weft catches where unwinding would do harm.
//!
//! Two policies, one per situation:
//!
//! - A **drop loop** (a container dropping what it still holds) drops every element, even
//!   after one of them panicked, and then resumes the first panic, as `Vec` does: the caller
//!   that dropped the container sees the panic, and nothing is leaked. [`FirstPanic`] collects
//!   it; unlike `Vec`, a second panicking element does not abort the process.
//! - Where no caller is left to hand a panic to (a detached task's output dropped on a worker,
//!   a waker called by a worker), the panic is **reported and absorbed**: the panic hook has
//!   already printed it, as std reports a thread's panic ("thread '...' panicked at ..."), and
//!   [`absorb`] only makes sure the thread goes on.
//!
//! With `panic = "abort"` none of this runs: the process ends at the panic.

use core::any::Any;
use core::mem;
use core::panic::AssertUnwindSafe;
use std::panic;

/// What a caught panic carries.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// Drops the payload of a panic that was caught and already reported by the panic hook. Never
/// unwinds: a payload whose own `Drop` panics is leaked, and so is that second payload.
pub(crate) fn discard(payload: Payload) {
    if let Err(nested) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        mem::forget(nested);
    }
}

/// Runs `f`, absorbing a panic from it (reported by the panic hook, then discarded). For user
/// code whose panic has nobody to go to.
// The model build runs task.rs without the code that calls it.
#[cfg_attr(weft_loom, allow(dead_code))]
pub(crate) fn absorb(f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        discard(payload);
    }
}

/// The first panic of a drop loop: every step runs through [`run`](Self::run), and
/// [`resume`](Self::resume) re-raises the first panic once the loop is done.
#[derive(Default)]
pub(crate) struct FirstPanic(Option<Payload>);

impl FirstPanic {
    /// Runs one step (typically one element's drop), keeping its panic if it is the first.
    pub(crate) fn run(&mut self, step: impl FnOnce()) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(step)) {
            match self.0 {
                None => self.0 = Some(payload),
                Some(_) => discard(payload), // reported by the hook; the first one wins
            }
        }
    }

    /// Resumes the first panic, if a step panicked.
    pub(crate) fn resume(self) {
        if let Some(payload) = self.0 {
            panic::resume_unwind(payload);
        }
    }
}
