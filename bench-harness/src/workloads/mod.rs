//! The standard workloads, one module per primitive family, and the engine they share.
//!
//! Every workload follows the same rules:
//!
//! - It is generic over its kind's adapter trait (see [`crate::peers`]), so all
//!   implementations run exactly the same code around the primitive.
//! - A sample runs a fixed number of operations on fresh threads that a
//!   [`std::sync::Barrier`] releases together; it is timed from the first thread's start to the
//!   last thread's finish ([`run_threads`]), so spawning and joining are not counted.
//! - Implementations are interleaved ([`measure`]): one warm-up sample of each, then sample 1
//!   of every implementation, sample 2 of every implementation, and so on (the starting
//!   implementation rotates each time), so that drift in the machine's state (frequency,
//!   noisy neighbours) hits all of them alike.
//! - It checks its result (a final count, a wait that returned too early) and panics if it is
//!   wrong: a fast wrong answer is a failure, not a result.

pub mod chan;
pub mod deque;
pub mod mutex;
pub mod wait_group;

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use crate::result::{Params, ResultRow};

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
    /// Print a line per measured case on stderr.
    pub progress: bool,
}

impl Default for Config {
    /// Threads 1, 2, 4 and 8, full size, every implementation, no progress output.
    fn default() -> Config {
        Config {
            threads: vec![1, 2, 4, 8],
            size: Size::Full,
            samples: None,
            implementations: None,
            progress: false,
        }
    }
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

    /// Whether the implementation filter lets `implementation` run.
    pub fn selects(&self, implementation: &str) -> bool {
        self.implementations
            .as_ref()
            .map_or(true, |names| names.iter().any(|n| n == implementation))
    }
}

/// One measured combination, shared by all implementations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The suite's name.
    pub suite: &'static str,
    /// The workload's name.
    pub workload: &'static str,
    /// The workload's parameters.
    pub params: Params,
    /// Operations per sample.
    pub ops: u64,
}

/// One implementation's way of taking a sample of a [`Case`].
pub struct Contender<'a> {
    implementation: &'static str,
    sample: Box<dyn FnMut(u64) -> Duration + 'a>,
}

impl<'a> Contender<'a> {
    /// `sample(ops)` must perform exactly `ops` operations and return the time they took.
    pub fn new(implementation: &'static str, sample: impl FnMut(u64) -> Duration + 'a) -> Self {
        Contender {
            implementation,
            sample: Box::new(sample),
        }
    }
}

/// Measures `case` for every contender the config selects, interleaving their samples; one
/// row per contender, in the contenders' order.
///
/// # Panics
///
/// If `case.ops` is 0, or a sample panics (a workload found a wrong result).
pub fn measure(cfg: &Config, case: &Case, contenders: Vec<Contender<'_>>) -> Vec<ResultRow> {
    assert!(case.ops > 0, "a sample needs at least one operation");
    let mut contenders: Vec<_> = contenders
        .into_iter()
        .filter(|c| cfg.selects(c.implementation))
        .collect();
    if contenders.is_empty() {
        return Vec::new();
    }
    for c in &mut contenders {
        (c.sample)(case.ops); // warm-up: caches, allocator, page faults, frequency
    }
    let n = contenders.len();
    let mut samples = vec![Vec::with_capacity(cfg.samples()); n];
    for round in 0..cfg.samples() {
        for k in 0..n {
            let i = (round + k) % n;
            let elapsed = (contenders[i].sample)(case.ops);
            samples[i].push(elapsed.as_nanos() as f64 / case.ops as f64);
        }
    }
    let rows: Vec<ResultRow> = contenders
        .iter()
        .zip(samples)
        .map(|(c, s)| {
            ResultRow::new(
                case.suite,
                case.workload,
                c.implementation,
                case.params.clone(),
                case.ops,
                s,
            )
        })
        .collect();
    if cfg.progress {
        let medians: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {:.1}", r.implementation, r.median_ns_per_op))
            .collect();
        let extra: String = case
            .params
            .extra
            .iter()
            .map(|(k, v)| format!(" {k}={v}"))
            .collect();
        eprintln!(
            "{}/{} threads={}{extra}: {} ns/op",
            case.suite,
            case.workload,
            case.params.threads,
            medians.join(", ")
        );
    }
    rows
}

/// A suite's run over its implementations: [`SuiteRun::case`] measures one case for every
/// entry (an implementation's workloads, monomorphised, named by `name`) and keeps the rows.
pub struct SuiteRun<'a, E> {
    cfg: &'a Config,
    suite: &'static str,
    entries: &'a [E],
    name: fn(&E) -> &'static str,
    rows: Vec<ResultRow>,
}

impl<'a, E> SuiteRun<'a, E> {
    /// A run of `suite` under `cfg` over `entries`, each named by `name`.
    pub fn new(
        cfg: &'a Config,
        suite: &'static str,
        entries: &'a [E],
        name: fn(&E) -> &'static str,
    ) -> Self {
        SuiteRun {
            cfg,
            suite,
            entries,
            name,
            rows: Vec::new(),
        }
    }

    /// Measures `workload` with `params` and `ops` operations per sample for every entry (that
    /// the config selects), each taking its samples with `sample(entry, ops)`: see [`measure`].
    pub fn case(
        &mut self,
        workload: &'static str,
        params: Params,
        ops: u64,
        sample: impl Fn(&E, u64) -> Duration,
    ) {
        let case = Case {
            suite: self.suite,
            workload,
            params,
            ops,
        };
        let sample = &sample;
        let contenders = self
            .entries
            .iter()
            .map(|e| Contender::new((self.name)(e), move |ops| sample(e, ops)))
            .collect();
        self.rows.extend(measure(self.cfg, &case, contenders));
    }

    /// The rows measured so far, in the order of the cases.
    pub fn into_rows(self) -> Vec<ResultRow> {
        self.rows
    }
}

/// Runs `body(i)` for `i` in `0..threads`, each on its own fresh thread, released together by a
/// barrier. Returns the time from the earliest start to the latest finish.
///
/// # Panics
///
/// If `threads` is 0, or re-raises a panic from `body`.
pub fn run_threads<F: Fn(usize) + Sync>(threads: usize, body: F) -> Duration {
    run_threads_with((0..threads).map(|_| ()).collect(), |i, ()| body(i)).0
}

/// Runs `body(i, handle)` for each `(i, handle)` of `handles`, each on its own fresh thread
/// that owns its handle (moved there before the start), released together by a barrier.
/// Returns the time from the earliest start to the latest finish, and each thread's result
/// in index order. Handles (channel ends, say) are dropped inside the timed span when `body`
/// drops them or returns.
///
/// # Panics
///
/// If `handles` is empty, or re-raises a panic from `body`.
pub fn run_threads_with<H, R, F>(handles: Vec<H>, body: F) -> (Duration, Vec<R>)
where
    H: Send,
    R: Send,
    F: Fn(usize, H) -> R + Sync,
{
    assert!(!handles.is_empty(), "a workload needs at least one thread");
    let barrier = Barrier::new(handles.len());
    let spans: Vec<(Instant, Instant, R)> = thread::scope(|s| {
        let threads: Vec<_> = handles
            .into_iter()
            .enumerate()
            .map(|(i, handle)| {
                let (barrier, body) = (&barrier, &body);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let result = body(i, handle);
                    (start, Instant::now(), result)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let start = spans.iter().map(|s| s.0).min().expect("threads > 0");
    let end = spans.iter().map(|s| s.1).max().expect("threads > 0");
    (end - start, spans.into_iter().map(|s| s.2).collect())
}

/// `ops` rounded down to a multiple of `threads` (at least `threads`), so that every thread
/// gets the same share.
pub fn divisible(ops: u64, threads: usize) -> u64 {
    let threads = threads as u64;
    (ops / threads).max(1) * threads
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn run_threads_runs_each_index_once() {
        let seen = [(); 5].map(|_| AtomicUsize::new(0));
        let elapsed = run_threads(5, |i| {
            seen[i].fetch_add(1, Ordering::Relaxed);
            thread::sleep(Duration::from_millis(2));
        });
        assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == 1));
        assert!(elapsed >= Duration::from_millis(2));
    }

    #[test]
    #[should_panic(expected = "wrong answer")]
    fn run_threads_propagates_panics() {
        run_threads(2, |i| assert!(i != 1, "wrong answer"));
    }

    #[test]
    fn measure_interleaves_and_filters() {
        let order = std::cell::RefCell::new(Vec::new());
        let cfg = Config {
            samples: Some(3),
            implementations: Some(vec!["a".into(), "c".into()]),
            ..Config::default()
        };
        let case = Case {
            suite: "s",
            workload: "w",
            params: Params::threads(1),
            ops: 10,
        };
        let contender = |name| {
            let order = &order;
            Contender::new(name, move |ops| {
                assert_eq!(ops, 10);
                order.borrow_mut().push(name);
                Duration::from_nanos(20)
            })
        };
        let rows = measure(
            &cfg,
            &case,
            vec![contender("a"), contender("b"), contender("c")],
        );
        // Warm-up a c, then rounds rotating the starting implementation.
        assert_eq!(*order.borrow(), ["a", "c", "a", "c", "c", "a", "a", "c"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].implementation, "c");
        assert_eq!(rows[1].samples_ns_per_op, [2.0, 2.0, 2.0]);
    }

    #[test]
    fn divisible_ops() {
        assert_eq!(divisible(1000, 3), 999);
        assert_eq!(divisible(2, 8), 8);
        assert_eq!(divisible(1000, 1), 1000);
    }
}
