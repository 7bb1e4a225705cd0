//! The parameters of a run: its size ([`Size`], [`Ops`]), thread counts, samples,
//! implementation filter, thread placement and message sizes ([`Config`]).

use crate::placement::Placement;

/// How much work a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Operation counts for ~10-50 ms samples and 15 samples: for published numbers.
    Full,
    /// Fewer operations and 5 samples: the whole default run in well under a minute.
    Quick,
    /// A handful of operations and 1 sample: checks that everything runs (tests, CI).
    Smoke,
}

/// Operations per sample at each [`Size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ops {
    /// For [`Size::Full`].
    pub full: u64,
    /// For [`Size::Quick`].
    pub quick: u64,
    /// For [`Size::Smoke`].
    pub smoke: u64,
}

/// What to run and how much of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Thread counts for the workloads that scale with threads.
    pub threads: Vec<usize>,
    /// Operation and sample counts.
    pub size: Size,
    /// Samples per implementation and case; `None` for the size's default.
    pub samples: Option<usize>,
    /// Implementations to run (by name); `None` for all.
    pub implementations: Option<Vec<String>>,
    /// Print a line per measured case on stderr (and, in `weft-bench run`, a progress bar).
    pub progress: bool,
    /// Where threads run: pinned ([`Placement::Compact`], [`Placement::Scatter`]) or not.
    pub placement: Placement,
    /// Message sizes in bytes for the channel workloads (0, 8 or 64); `None` for the size's
    /// default: all three at full size, 8 alone quick and smoke.
    pub msg_bytes: Option<Vec<usize>>,
}

impl Default for Config {
    /// Threads 1, 2, 4 and 8, full size, every implementation, no progress output, unpinned,
    /// the size's message sizes.
    fn default() -> Config {
        Config {
            threads: vec![1, 2, 4, 8],
            size: Size::Full,
            samples: None,
            implementations: None,
            progress: false,
            placement: Placement::None,
            msg_bytes: None,
        }
    }
}

/// The message sizes the channel workloads support, in bytes.
pub const MSG_BYTES: [usize; 3] = [0, 8, 64];

/// The default thread sweep on a machine where the run may use `cpus` CPUs: every count
/// from 1 to `cpus`, then `2 * cpus` and `4 * cpus` (oversubscribed on purpose: weft must
/// not collapse there).
///
/// # Examples
///
/// ```
/// assert_eq!(weft_bench::config::sweep(2), [1, 2, 4, 8]);
/// assert_eq!(weft_bench::config::sweep(3), [1, 2, 3, 6, 12]);
/// ```
pub fn sweep(cpus: usize) -> Vec<usize> {
    let cpus = cpus.max(1);
    (1..=cpus).chain([2 * cpus, 4 * cpus]).collect()
}

/// The default thread sweep of a quick run: the powers of two below `cpus`, then `cpus`,
/// `2 * cpus` and `4 * cpus`; the same as [`sweep`] up to 3 CPUs, far fewer counts on a big
/// machine (a quick run stays quick).
///
/// # Examples
///
/// ```
/// assert_eq!(weft_bench::config::quick_sweep(2), [1, 2, 4, 8]);
/// assert_eq!(weft_bench::config::quick_sweep(6), [1, 2, 4, 6, 12, 24]);
/// ```
pub fn quick_sweep(cpus: usize) -> Vec<usize> {
    let cpus = cpus.max(1);
    let powers =
        std::iter::successors(Some(1usize), |n| n.checked_mul(2)).take_while(|&n| n < cpus);
    powers.chain([cpus, 2 * cpus, 4 * cpus]).collect()
}

impl Config {
    /// Samples per implementation and case: as configured, else 15 (full), 5 (quick) or 1
    /// (smoke).
    pub fn samples(&self) -> usize {
        self.samples.unwrap_or(match self.size {
            Size::Full => 15,
            Size::Quick => 5,
            Size::Smoke => 1,
        })
    }

    /// The operation count for this run's size.
    pub fn ops(&self, ops: Ops) -> u64 {
        match self.size {
            Size::Full => ops.full,
            Size::Quick => ops.quick,
            Size::Smoke => ops.smoke,
        }
    }

    /// The channel message sizes in bytes: as configured, else 0, 8 and 64 at full size and
    /// 8 alone at the others.
    pub fn msg_bytes(&self) -> Vec<usize> {
        self.msg_bytes.clone().unwrap_or_else(|| match self.size {
            Size::Full => MSG_BYTES.to_vec(),
            Size::Quick | Size::Smoke => vec![8],
        })
    }

    /// Whether the implementation filter lets `implementation` run.
    pub fn selects(&self, implementation: &str) -> bool {
        self.implementations
            .as_ref()
            .map_or(true, |names| names.iter().any(|n| n == implementation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sweep_oversubscribes() {
        assert_eq!(sweep(1), [1, 2, 4]);
        assert_eq!(sweep(2), [1, 2, 4, 8]);
        assert_eq!(sweep(4), [1, 2, 3, 4, 8, 16]);
        assert_eq!(sweep(0), [1, 2, 4]);
        for cpus in 1..=3 {
            assert_eq!(quick_sweep(cpus), sweep(cpus));
        }
        assert_eq!(quick_sweep(64), [1, 2, 4, 8, 16, 32, 64, 128, 256]);
    }

    #[test]
    fn message_sizes_by_run_size() {
        let full = Config::default();
        assert_eq!(full.msg_bytes(), MSG_BYTES);
        let quick = Config {
            size: Size::Quick,
            ..Config::default()
        };
        assert_eq!(quick.msg_bytes(), [8]);
        let asked = Config {
            msg_bytes: Some(vec![64]),
            ..quick
        };
        assert_eq!(asked.msg_bytes(), [64]);
    }
}
