//! Mutexes: weft's futex mutex, `std::sync::Mutex` and `parking_lot::Mutex`.

use std::sync::PoisonError;

/// A mutual-exclusion lock protecting a `T`, as the mutex workloads use it.
pub trait MutexLike<T>: Send + Sync {
    /// The implementation's name in result files and tables.
    const NAME: &'static str;

    /// An unlocked mutex holding `value`.
    fn new(value: T) -> Self;

    /// Locks, runs `f` on the protected value, and unlocks (also if `f` panics).
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

/// weft's futex mutex.
impl<T: Send> MutexLike<T> for weft::sync::Mutex<T> {
    const NAME: &'static str = "weft";

    #[inline]
    fn new(value: T) -> Self {
        weft::sync::Mutex::new(value)
    }

    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

/// The standard library's mutex (a futex mutex on Linux). A poisoned lock is used anyway:
/// the panic that poisoned it already fails the benchmark.
impl<T: Send> MutexLike<T> for std::sync::Mutex<T> {
    const NAME: &'static str = "std";

    #[inline]
    fn new(value: T) -> Self {
        std::sync::Mutex::new(value)
    }

    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// parking_lot's word lock with a global parking table.
impl<T: Send> MutexLike<T> for parking_lot::Mutex<T> {
    const NAME: &'static str = "parking_lot";

    #[inline]
    fn new(value: T) -> Self {
        parking_lot::Mutex::new(value)
    }

    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

/// Something to do once per mutex implementation, with its type in hand.
pub trait MutexVisitor<T> {
    /// Called once for each implementation `M`, in [`visit_all`]'s order.
    fn visit<M: MutexLike<T> + 'static>(&mut self);
}

/// The mutex implementations under comparison, weft first: calls `visitor.visit::<M>()` for
/// each. This is the one list to extend when adding a peer.
pub fn visit_all<T: Send + 'static>(visitor: &mut impl MutexVisitor<T>) {
    visitor.visit::<weft::sync::Mutex<T>>();
    visitor.visit::<std::sync::Mutex<T>>();
    visitor.visit::<parking_lot::Mutex<T>>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks every implementation excludes: 4 threads x 1000 increments.
    struct Exclusion(Vec<&'static str>);

    impl MutexVisitor<u64> for Exclusion {
        fn visit<M: MutexLike<u64> + 'static>(&mut self) {
            let m = M::new(0);
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        for _ in 0..1000 {
                            m.with(|v| *v += 1);
                        }
                    });
                }
            });
            assert_eq!(m.with(|v| *v), 4000, "{}", M::NAME);
            self.0.push(M::NAME);
        }
    }

    #[test]
    fn every_mutex_excludes() {
        let mut v = Exclusion(Vec::new());
        visit_all(&mut v);
        assert_eq!(v.0, ["weft", "std", "parking_lot"]);
    }
}
