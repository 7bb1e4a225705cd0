//! The one facade for everything the model checker must see: atomics, fences, `UnsafeCell`,
//! thread yield and spin hints.
//!
//! Normally these are `core`/`std`'s own items (zero cost: the wrappers below are
//! `#[inline(always)]` newtypes). Under `--cfg weft_loom` they are loom's, so every
//! interleaving loom explores goes through the same call sites the real build runs. The cfg is
//! crate-specific on purpose: a downstream crate building with `--cfg loom` for its own models
//! does not flip weft's internals.
//!
//! No other module in the crate imports `core::sync::atomic` or `std::thread` directly.

#[cfg(not(weft_loom))]
pub(crate) mod sync {
    #[allow(unused_imports)]
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        // The full set the crate's primitives draw on; not every build uses every item.
        #[allow(unused_imports)]
        pub(crate) use core::sync::atomic::{
            fence, AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }
}

#[cfg(weft_loom)]
pub(crate) mod sync {
    #[allow(unused_imports)]
    pub(crate) use loom::sync::Arc;

    pub(crate) mod atomic {
        #[allow(unused_imports)]
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        };
    }
}

/// Thread operations used by the waiting paths.
pub(crate) mod thread {
    #[cfg(not(weft_loom))]
    pub(crate) use std::thread::yield_now;

    #[cfg(weft_loom)]
    pub(crate) use loom::thread::yield_now;
}

/// Processor hints used by the spinning paths.
pub(crate) mod hint {
    #[cfg(not(weft_loom))]
    pub(crate) use core::hint::spin_loop;

    /// Under loom a spin is a yield, so the model checker schedules the thread we wait for.
    #[cfg(weft_loom)]
    pub(crate) use loom::hint::spin_loop;
}

pub(crate) mod cell {
    /// `UnsafeCell` with tokio's closure API, identical in the std and loom builds, so call
    /// sites never change between the two. Under loom every access is checked for causality
    /// against the other thread's accesses.
    #[cfg(not(weft_loom))]
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

    #[cfg(not(weft_loom))]
    impl<T> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[cfg(not(weft_loom))]
    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with an exclusive pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        /// Mutable access through `&mut self`: no synchronisation is needed.
        #[inline(always)]
        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.0.get_mut()
        }
    }

    #[cfg(weft_loom)]
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T: ?Sized>(loom::cell::UnsafeCell<T>);

    #[cfg(weft_loom)]
    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::cell::UnsafeCell::new(value))
        }

        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[cfg(weft_loom)]
    impl<T: ?Sized> UnsafeCell<T> {
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            self.0.with(f)
        }

        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }

        pub(crate) fn get_mut(&mut self) -> &mut T {
            // SAFETY: `&mut self` proves no other reference to the contents exists; loom's
            // `with_mut` records the access, and the pointer is valid for the borrow of self.
            self.0.with_mut(|p| unsafe { &mut *p })
        }
    }
}

/// Declares a function that is `const` in the real build and plain under loom (loom's atomics
/// and cells cannot be built in a const context). One body, two signatures.
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[cfg(not(weft_loom))]
        $vis const fn $name($($arg: $ty),*) -> $ret $body

        $(#[$attr])*
        #[cfg(weft_loom)]
        $vis fn $name($($arg: $ty),*) -> $ret $body
    };
}
pub(crate) use const_fn_unless_loom;
