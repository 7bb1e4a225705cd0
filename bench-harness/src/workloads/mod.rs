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
//! - With a pinning [`Placement`](crate::placement::Placement), every thread
//!   [`run_threads_with`] spawns pins itself to its CPU before the start (thread `i` to the
//!   `i`-th CPU of the placement's order, wrapping around), whatever the implementation;
//!   [`measure`] records the map on the rows.
//! - Within a [`Session`] (which `suites::run` opens), [`measure`] ticks the session's
//!   progress bar and gives the rows of hand-off workloads their floor (see
//!   [`crate::floor`]).
//!
//! Each family's module defines its `SUITE`, a [`suite::Suite`].

pub mod achan;
pub mod chan;
pub mod deque;
pub mod mutex;
pub mod sched;
pub mod suite;
pub mod time;
pub mod wait_group;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::floor;
use crate::machine::Machine;
use crate::placement::{self, thread_cpus};
use crate::progress::Progress;
use crate::result::{Params, ResultRow};

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
    let n = contenders.len();
    let counting = COUNTING.with(|c| match c.get() {
        Some(k) => {
            c.set(Some(k + (n * (cfg.samples() + 1)) as u64));
            true
        }
        None => false,
    });
    if counting {
        return Vec::new();
    }
    let progress = SESSION.with(|s| s.borrow().progress.clone());
    let extra: String = case
        .params
        .extra
        .iter()
        .map(|(k, v)| format!(" {k}={v}"))
        .collect();
    let label = format!(
        "{}/{} threads={}{extra}",
        case.suite, case.workload, case.params.threads
    );
    if let Some(p) = &progress {
        p.set_message(label.clone());
    }
    let tick = || {
        if let Some(p) = &progress {
            p.inc(1);
        }
    };
    let _pinning = Pinning::set(placement::order_here(cfg.placement));
    for c in &mut contenders {
        (c.sample)(case.ops); // warm-up: caches, allocator, page faults, frequency
        tick();
    }
    let mut samples = vec![Vec::with_capacity(cfg.samples()); n];
    for round in 0..cfg.samples() {
        for k in 0..n {
            let i = (round + k) % n;
            let elapsed = (contenders[i].sample)(case.ops);
            samples[i].push(elapsed.as_nanos() as f64 / case.ops as f64);
            tick();
        }
    }
    let spawned = LAST_SPAWN.with(Cell::take);
    let mut rows: Vec<ResultRow> = contenders
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
    let floor = SESSION.with(|s| {
        let session = s.borrow();
        let machine = session.machine.as_ref()?;
        let c2c = machine.core_to_core.as_ref()?;
        let spawned = spawned.as_ref().filter(|s| s.threads >= 2)?;
        if !floor::is_handoff(case.suite, case.workload) {
            return None;
        }
        match &spawned.cpus {
            Some(cpus) => c2c.floor_ns(machine, cpus),
            None => Some(c2c.median_ns),
        }
    });
    for row in &mut rows {
        row.cpus = spawned.as_ref().and_then(|s| s.cpus.clone());
        if let Some(floor_ns) = floor {
            floor::annotate(row, floor_ns);
        }
    }
    if cfg.progress {
        let medians: Vec<String> = rows
            .iter()
            .map(|r| {
                let x = r.x_floor.map_or(String::new(), |x| {
                    format!(" ({})", floor::format_multiple(x))
                });
                format!("{} {:.1}{x}", r.implementation, r.median_ns_per_op)
            })
            .collect();
        let line = format!("{label}: {} ns/op", medians.join(", "));
        match &progress {
            Some(p) => p.println(&line),
            None => eprintln!("{line}"),
        }
    }
    rows
}

/// What a run sets up around its cases, on the thread that runs them: see
/// [`Session::enter`].
#[derive(Debug, Default)]
pub struct Session {
    /// The machine, with its measured floor (`core_to_core`): rows of hand-off workloads
    /// get `floor_ns` and `x_floor` from it.
    pub machine: Option<Machine>,
    /// The progress bar, ticked once per sample (warm-ups included).
    pub progress: Option<Progress>,
}

thread_local! {
    /// The session of the run on this thread.
    static SESSION: RefCell<Session> = RefCell::new(Session::default());
    /// While [`count_samples`] runs: the samples counted so far.
    static COUNTING: Cell<Option<u64>> = const { Cell::new(None) };
    /// The CPU order of the case being measured (empty: unpinned), for [`run_threads_with`].
    static PIN_ORDER: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// What the latest [`run_threads_with`] on this thread spawned.
    static LAST_SPAWN: Cell<Option<Spawned>> = const { Cell::new(None) };
}

/// The threads of one sample.
#[derive(Debug, Clone, Default)]
struct Spawned {
    threads: usize,
    /// Each thread's CPU, when every one of them was pinned.
    cpus: Option<Vec<usize>>,
}

/// The session in force until it is dropped.
#[derive(Debug)]
pub struct SessionGuard {
    previous: Option<Session>,
}

impl Session {
    /// Makes this the session of the runs on this thread (measured cases tick its progress
    /// bar, hand-off rows get their floor) until the guard is dropped, which restores the
    /// previous one.
    pub fn enter(self) -> SessionGuard {
        let previous = SESSION.with(|s| s.replace(self));
        SessionGuard {
            previous: Some(previous),
        }
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            SESSION.with(|s| s.replace(previous));
        }
    }
}

/// Runs `f` without measuring anything: every case it would measure only counts its samples
/// (warm-ups included, for the selected implementations). Returns the count, the total of a
/// run's progress bar.
pub fn count_samples(f: impl FnOnce()) -> u64 {
    let outer = COUNTING.with(|c| c.replace(Some(0)));
    f();
    COUNTING.with(|c| c.replace(outer)).unwrap_or(0)
}

/// Sets the CPU order for [`run_threads_with`] on this thread until dropped.
struct Pinning(Vec<usize>);

impl Pinning {
    fn set(order: Vec<usize>) -> Pinning {
        Pinning(PIN_ORDER.with(|o| o.replace(order)))
    }
}

impl Drop for Pinning {
    fn drop(&mut self) {
        let previous = std::mem::take(&mut self.0);
        PIN_ORDER.with(|o| o.replace(previous));
    }
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
    let threads = handles.len();
    let cpus = PIN_ORDER.with(|o| thread_cpus(&o.borrow(), threads));
    let all_pinned = AtomicBool::new(true);
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant, R)> = thread::scope(|s| {
        let threads: Vec<_> = handles
            .into_iter()
            .enumerate()
            .map(|(i, handle)| {
                let (barrier, body, all_pinned) = (&barrier, &body, &all_pinned);
                let cpu = cpus.get(i).copied();
                s.spawn(move || {
                    if let Some(cpu) = cpu {
                        if !placement::pin_current(cpu) {
                            // Read after the scope joins every thread.
                            all_pinned.store(false, Ordering::Relaxed);
                        }
                    }
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
    let pinned = !cpus.is_empty() && all_pinned.load(Ordering::Relaxed);
    LAST_SPAWN.with(|l| {
        l.set(Some(Spawned {
            threads,
            cpus: pinned.then_some(cpus),
        }))
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

    /// Each thread pins itself to its CPU (wrapping around the order) before the start, and
    /// the map is recorded.
    #[test]
    fn threads_pin_themselves_in_order() {
        let order: Vec<usize> = placement::allowed_cpus().into_iter().rev().collect();
        let threads = order.len() + 1;
        let _pinning = Pinning::set(order.clone());
        let (_, masks) = run_threads_with(vec![(); threads], |_, ()| placement::allowed_cpus());
        let want = thread_cpus(&order, threads);
        assert_eq!(masks, want.iter().map(|&c| vec![c]).collect::<Vec<_>>());
        let spawned = LAST_SPAWN.with(Cell::take).unwrap();
        assert_eq!((spawned.threads, spawned.cpus), (threads, Some(want)));
        drop(_pinning);
        run_threads(1, |_| {});
        let spawned = LAST_SPAWN.with(Cell::take).unwrap();
        assert_eq!((spawned.threads, spawned.cpus), (1, None));
    }

    #[test]
    fn divisible_ops() {
        assert_eq!(divisible(1000, 3), 999);
        assert_eq!(divisible(2, 8), 8);
        assert_eq!(divisible(1000, 1), 1000);
    }
}
