//! Scheduler workloads: spawning many tasks, a chain of spawns, yields, a two-task ping-pong
//! over channels, the skynet task tree, fork-join fib, and the CPU an idle runtime burns.
//!
//! Unlike the other suites, a sample's threads are the runtime's workers, not threads the
//! harness spawns: each sample starts a fresh runtime with T workers (untimed), runs the
//! workload's body as a task on it ([`AsyncSched::run`], [`ForkJoinSched::run`]), and times
//! the body from inside, from its first poll to its return, so that starting, injecting the
//! root task, and stopping the runtime are not counted. The workers are not pinned (each
//! runtime starts its own threads), so the rows carry no `cpus`.
//!
//! `idle_cpu` is the exception: its value is not a time per operation but the CPU time the
//! whole process used per millisecond of idle wall time (see [`idle_cpu`]).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::suite::{Suite, Workload};
use super::{divisible, measure, Case, Contender};
use crate::config::{Config, Ops, Size};
use crate::peers::sched::{visit_all, AsyncSched, ForkJoinSched, SchedVisitor};
use crate::result::{Params, ResultRow};

/// The `sched` suite.
pub const SUITE: Suite = Suite {
    name: "sched",
    description: "weft::sched::Scheduler beside tokio's multi-thread runtime and a rayon pool",
    workloads: &[
        Workload {
            name: "spawn_many",
            description: "a task spawns n tiny tasks (each returns its index + 1), then awaits \
                          them all; op = one task spawned and completed",
        },
        Workload {
            name: "chained_spawn",
            description: "each task spawns the next, n deep; the last one signals the root \
                          through a one-shot channel; op = one spawn",
        },
        Workload {
            name: "yield_many",
            description: "4T tasks each yield ops/4T times; op = one yield",
        },
        Workload {
            name: "ping_pong",
            description: "two tasks pass a number back and forth over two channels (weft: \
                          bounded(0); tokio: mpsc::channel(1)); op = one round trip",
        },
        Workload {
            name: "skynet",
            description: "the 10-ary task tree whose leaves return their numbers and whose \
                          parents await and sum their children (depth 6: 10^6 leaves); \
                          op = one leaf task",
        },
        Workload {
            name: "fib",
            description: "naive fib(n), each call with n >= 2 spawning a task for fib(n-1) and \
                          computing fib(n-2) itself; op = one call",
        },
        Workload {
            name: "idle_cpu",
            description: "a runtime of T workers runs T tiny tasks, then sits idle: after 20 ms, \
                          the process's CPU time (getrusage) over 100 ms of wall time; op = one \
                          idle ms, value = CPU ns used per idle ms (not a latency)",
        },
    ],
    implementations,
    implementations_of,
    run,
};

/// Tasks spawned per `spawn_many` sample.
pub const SPAWNS: Ops = Ops {
    full: 100_000,
    quick: 20_000,
    smoke: 200,
};

/// Links per `chained_spawn` sample.
pub const CHAIN: Ops = Ops {
    full: 10_000,
    quick: 2_000,
    smoke: 100,
};

/// Yields per `yield_many` sample, shared among the 4T tasks.
pub const YIELDS: Ops = Ops {
    full: 200_000,
    quick: 50_000,
    smoke: 200,
};

/// Round trips per `ping_pong` sample.
pub const ROUND_TRIPS: Ops = Ops {
    full: 20_000,
    quick: 5_000,
    smoke: 100,
};

/// Milliseconds of idle wall time over which `idle_cpu` measures the process's CPU time.
pub const IDLE_MILLIS: Ops = Ops {
    full: 100,
    quick: 100,
    smoke: 10,
};

/// How long `idle_cpu` lets the runtime settle after its tasks before it starts measuring.
pub const IDLE_SETTLE: Duration = Duration::from_millis(20);

/// Tasks per worker in `yield_many`.
pub const YIELDERS_PER_WORKER: usize = 4;

/// The depth of the `skynet` tree at each size: 10^depth leaves.
pub fn skynet_depth(size: Size) -> u32 {
    match size {
        Size::Full => 6,
        Size::Quick => 5,
        Size::Smoke => 3,
    }
}

/// The `n` of `fib` at each size.
pub fn fib_n(size: Size) -> u32 {
    match size {
        Size::Full => 25,
        Size::Quick => 22,
        Size::Smoke => 10,
    }
}

/// The number of calls naive `fib(n)` makes: `2 * fib(n + 1) - 1`.
pub fn fib_calls(n: u32) -> u64 {
    2 * fib_closed(n + 1) - 1
}

/// `fib(n)` by iteration, to check the workload's answer.
pub fn fib_closed(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// Runs `body` as a root task on a fresh `S` with `workers` workers and returns the time the
/// body took, measured from inside (the runtime's start and stop are not counted).
pub(super) fn timed<S: AsyncSched, F>(workers: usize, body: F) -> Duration
where
    F: Future<Output = ()> + Send + 'static,
{
    let rt = S::new(workers);
    let elapsed = rt.run(async move {
        let start = Instant::now();
        body.await;
        start.elapsed()
    });
    drop(rt);
    elapsed
}

/// As [`timed`], on a fork-join pool.
fn timed_fork_join<S: ForkJoinSched>(workers: usize, body: impl FnOnce() + Send) -> Duration {
    let pool = S::new(workers);
    let elapsed = pool.run(|| {
        let start = Instant::now();
        body();
        start.elapsed()
    });
    drop(pool);
    elapsed
}

/// The check of `spawn_many`: the sum of `1..=n`.
fn spawn_many_check(name: &str, n: u64, sum: u64) {
    assert_eq!(
        sum,
        n * (n + 1) / 2,
        "{name}: spawn_many lost or repeated tasks"
    );
}

/// A root task on `workers` workers spawns `n` tasks, each returning its index + 1, and then
/// awaits them in order and sums their outputs.
///
/// # Panics
///
/// If the sum is not `n (n + 1) / 2`.
pub fn spawn_many<S: AsyncSched>(workers: usize, n: u64) -> Duration {
    timed::<S, _>(workers, async move {
        let handles: Vec<_> = (0..n).map(|i| S::spawn(async move { i + 1 })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        spawn_many_check(S::NAME, n, sum);
    })
}

/// `spawn_many` on a fork-join pool: one scope spawning `n` jobs, each writing its index + 1
/// into its slot.
pub fn spawn_many_fork_join<S: ForkJoinSched>(workers: usize, n: u64) -> Duration {
    timed_fork_join::<S>(workers, || {
        let mut slots = vec![0u64; n as usize];
        S::scope_each(&mut slots, |i, s| *s = i as u64 + 1);
        spawn_many_check(S::NAME, n, slots.iter().sum());
    })
}

/// One link of `chained_spawn`: spawns the next link, or, as the last, notifies the root with
/// the number of links that ran. A hand-written future rather than an `async fn`, whose type
/// could not contain the spawn of itself without boxing.
struct Link<S: AsyncSched> {
    /// Links after this one.
    left: u64,
    /// Links before this one, this one included.
    ran: u64,
    done: Option<S::Notify>,
}

impl<S: AsyncSched> Unpin for Link<S> {}

impl<S: AsyncSched> Future for Link<S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let done = self.done.take().expect("a link runs once");
        if self.left == 0 {
            S::notify(done, self.ran);
        } else {
            // Detached: the chain is followed through the one-shot, not the handles.
            drop(S::spawn(Link::<S> {
                left: self.left - 1,
                ran: self.ran + 1,
                done: Some(done),
            }));
        }
        Poll::Ready(())
    }
}

/// A root task spawns the first of `n` links, each spawning the next; the last sends the count
/// of links to the root over a one-shot.
///
/// # Panics
///
/// If the count is not `n`.
pub fn chained_spawn<S: AsyncSched>(workers: usize, n: u64) -> Duration {
    timed::<S, _>(workers, async move {
        let (done, wait) = S::oneshot();
        drop(S::spawn(Link::<S> {
            left: n - 1,
            ran: 1,
            done: Some(done),
        }));
        let ran = S::wait(wait).await;
        assert_eq!(ran, n, "{}: chained_spawn broke the chain", S::NAME);
    })
}

/// `4 * workers` tasks each yield `ops / (4 * workers)` times; the root awaits them all.
///
/// # Panics
///
/// If `ops` is not a multiple of `4 * workers`, or the yields counted are not `ops`.
pub fn yield_many<S: AsyncSched>(workers: usize, ops: u64) -> Duration {
    let tasks = (YIELDERS_PER_WORKER * workers) as u64;
    assert_eq!(ops % tasks, 0, "ops must divide among the tasks");
    let per_task = ops / tasks;
    timed::<S, _>(workers, async move {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                S::spawn(async move {
                    let mut yielded = 0;
                    for _ in 0..black_box(per_task) {
                        S::yield_now().await;
                        yielded += 1;
                    }
                    yielded
                })
            })
            .collect();
        let mut total = 0;
        for h in handles {
            total += h.await;
        }
        assert_eq!(total, ops, "{}: yield_many lost yields", S::NAME);
    })
}

/// The root task sends a number to an echo task, which answers with the number + 1, `rounds`
/// times, over the runtime's least-buffered channels.
///
/// # Panics
///
/// If the final number is not `rounds`, or the echo task did not answer `rounds` times.
pub fn ping_pong<S: AsyncSched>(workers: usize, rounds: u64) -> Duration {
    timed::<S, _>(workers, async move {
        let (ping_tx, mut ping_rx) = S::channel::<u64>();
        let (pong_tx, mut pong_rx) = S::channel::<u64>();
        let echo = S::spawn(async move {
            let mut answered = 0u64;
            while let Some(n) = S::recv(&mut ping_rx).await {
                S::send(&pong_tx, n + 1).await;
                answered += 1;
            }
            answered
        });
        let mut n = 0;
        for _ in 0..rounds {
            S::send(&ping_tx, n).await;
            n = S::recv(&mut pong_rx)
                .await
                .expect("ping_pong: the echo task is gone");
        }
        drop(ping_tx);
        let answered = echo.await;
        assert_eq!(
            (n, answered),
            (rounds, rounds),
            "{}: ping_pong lost a message",
            S::NAME
        );
    })
}

/// The sum of skynet's leaf numbers: `leaves (leaves - 1) / 2`.
pub fn skynet_sum(leaves: u64) -> u64 {
    leaves * (leaves - 1) / 2
}

/// A skynet node: the leaf numbered `num`, or the parent of ten subtrees of `size / 10`
/// leaves each, spawned as tasks and awaited. Not an `async fn`: spawning itself needs the
/// future's `Send` bound declared, not inferred from the body being defined.
#[allow(clippy::manual_async_fn)]
fn skynet_node<S: AsyncSched>(num: u64, size: u64) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if size == 1 {
            return num;
        }
        let sub = size / 10;
        let handles: [S::Handle<u64>; 10] =
            std::array::from_fn(|i| S::spawn(skynet_node::<S>(num + i as u64 * sub, sub)));
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    }
}

/// The skynet tree of `leaves` leaves (a power of 10): every node a task, leaves returning
/// their numbers, parents awaiting and summing their ten children.
///
/// # Panics
///
/// If the sum is not [`skynet_sum`].
pub fn skynet<S: AsyncSched>(workers: usize, leaves: u64) -> Duration {
    timed::<S, _>(workers, async move {
        let sum = skynet_node::<S>(0, leaves).await;
        assert_eq!(sum, skynet_sum(leaves), "{}: skynet summed wrong", S::NAME);
    })
}

/// A skynet node on a fork-join pool: a scope spawning ten jobs, each writing its subtree's
/// sum into its slot (at the last level, its leaf number).
fn skynet_fork_join_node<S: ForkJoinSched>(num: u64, size: u64) -> u64 {
    let sub = size / 10;
    let mut sums = [0u64; 10];
    S::scope_each(&mut sums, |i, s| {
        let num = num + i as u64 * sub;
        *s = if sub == 1 {
            num
        } else {
            skynet_fork_join_node::<S>(num, sub)
        };
    });
    sums.iter().sum()
}

/// `skynet` on a fork-join pool: each node a `scope` with ten `spawn`s, so that every leaf is
/// a job as in the async form.
pub fn skynet_fork_join<S: ForkJoinSched>(workers: usize, leaves: u64) -> Duration {
    timed_fork_join::<S>(workers, || {
        let sum = if leaves == 1 {
            0
        } else {
            skynet_fork_join_node::<S>(0, leaves)
        };
        assert_eq!(sum, skynet_sum(leaves), "{}: skynet summed wrong", S::NAME);
    })
}

/// Naive fib(n) as tasks: fib(n-1) spawned, fib(n-2) computed by the caller. Returns fib(n)
/// and the number of calls it took, so that the check needs no shared counter. The caller's
/// own call is boxed (a future cannot hold a future of its own type inline): one allocation
/// per inline call, for every runtime alike. Not an `async fn`, as [`skynet_node`].
#[allow(clippy::manual_async_fn)]
fn fib_task<S: AsyncSched>(n: u32) -> impl Future<Output = (u64, u64)> + Send + 'static {
    async move {
        if n < 2 {
            return (u64::from(n), 1);
        }
        let first = S::spawn(fib_task::<S>(n - 1));
        let (b, b_calls) = Box::pin(fib_task::<S>(n - 2)).await;
        let (a, a_calls) = first.await;
        (a + b, a_calls + b_calls + 1)
    }
}

/// The check of `fib`: its value and its number of calls.
fn fib_check(name: &str, n: u32, (got, calls): (u64, u64)) {
    assert_eq!(
        (got, calls),
        (fib_closed(n), fib_calls(n)),
        "{name}: fib({n}) wrong"
    );
}

/// Naive fork-join fib(`n`) with a task for one branch of every call.
///
/// # Panics
///
/// If the value or the number of calls is wrong.
pub fn fib<S: AsyncSched>(workers: usize, n: u32) -> Duration {
    timed::<S, _>(workers, async move {
        fib_check(S::NAME, n, fib_task::<S>(n).await);
    })
}

/// Naive fib on a fork-join pool: `join(fib(n-1), fib(n-2))`, with the calls counted.
fn fib_fork_join_call<S: ForkJoinSched>(n: u32) -> (u64, u64) {
    if n < 2 {
        return (u64::from(n), 1);
    }
    let ((a, a_calls), (b, b_calls)) = S::join(
        || fib_fork_join_call::<S>(n - 1),
        || fib_fork_join_call::<S>(n - 2),
    );
    (a + b, a_calls + b_calls + 1)
}

/// `fib` on a fork-join pool, with `join` at every call.
pub fn fib_fork_join<S: ForkJoinSched>(workers: usize, n: u32) -> Duration {
    timed_fork_join::<S>(workers, || {
        fib_check(S::NAME, n, fib_fork_join_call::<S>(n));
    })
}

/// The CPU time the whole process has used so far (user + system, all threads), from
/// `getrusage(RUSAGE_SELF)` (microsecond resolution).
///
/// # Panics
///
/// If `getrusage` fails (it cannot, with a valid pointer and `RUSAGE_SELF`).
pub fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `usage` points to writable memory the size of a `rusage`, which `getrusage`
    // fills completely when it returns 0; it is read only then.
    let usage = unsafe {
        let rc = libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        assert_eq!(rc, 0, "getrusage failed");
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Sleeps [`IDLE_SETTLE`], then returns the CPU time the process uses while the calling
/// thread sleeps `millis` ms.
///
/// # Panics
///
/// If the sleep ended before `millis` ms of wall time.
pub(crate) fn idle_window(millis: u64) -> Duration {
    std::thread::sleep(IDLE_SETTLE);
    let window = Duration::from_millis(millis);
    let (start, before) = (Instant::now(), process_cpu_time());
    std::thread::sleep(window);
    let (used, elapsed) = (process_cpu_time() - before, start.elapsed());
    assert!(elapsed >= window, "idle_cpu: the idle window ended early");
    used
}

/// `idle_cpu`: starts `S` with `workers` workers, runs a root task that spawns `workers` tiny
/// tasks and awaits them (so that every worker has woken), waits [`IDLE_SETTLE`], and returns
/// the CPU time the whole process used over the next `millis` ms of wall time, in which
/// nothing is asked of the runtime. Divided by `millis` (the op count) it is CPU ns per idle
/// ms: what the runtime's idle workers (spinning, timers, polling) cost, not a latency. The
/// sleeping caller and whatever else the process runs (the progress bar's redraw, twice a
/// second) count too, alike for every implementation.
///
/// # Panics
///
/// If the tasks' results are wrong, or the idle window ended early.
pub fn idle_cpu<S: AsyncSched>(workers: usize, millis: u64) -> Duration {
    let rt = S::new(workers);
    let woken = rt.run(async move {
        let handles: Vec<_> = (0..workers as u64)
            .map(|i| S::spawn(async move { i + 1 }))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    });
    let n = workers as u64;
    assert_eq!(woken, n * (n + 1) / 2, "{}: idle_cpu lost a task", S::NAME);
    let used = idle_window(millis);
    drop(rt);
    used
}

/// `idle_cpu` on a fork-join pool: `workers` tiny jobs in one scope, then the idle window.
pub fn idle_cpu_fork_join<S: ForkJoinSched>(workers: usize, millis: u64) -> Duration {
    let pool = S::new(workers);
    let woken: u64 = pool.run(|| {
        let mut slots = vec![0u64; workers];
        S::scope_each(&mut slots, |i, s| *s = i as u64 + 1);
        slots.iter().sum()
    });
    let n = workers as u64;
    assert_eq!(woken, n * (n + 1) / 2, "{}: idle_cpu lost a job", S::NAME);
    let used = idle_window(millis);
    drop(pool);
    used
}

/// A workload's sample on `workers` workers with `ops` operations (for `skynet` the leaves,
/// for `fib` the `n`).
type Sample = fn(usize, u64) -> Duration;

/// One implementation's workloads, monomorphised; `None` where it has no form of one.
struct Entry {
    name: &'static str,
    spawn_many: Option<Sample>,
    chained_spawn: Option<Sample>,
    yield_many: Option<Sample>,
    ping_pong: Option<Sample>,
    skynet: Option<Sample>,
    fib: Option<Sample>,
    idle_cpu: Option<Sample>,
}

impl Entry {
    fn workload(&self, workload: &str) -> Option<Sample> {
        match workload {
            "spawn_many" => self.spawn_many,
            "chained_spawn" => self.chained_spawn,
            "yield_many" => self.yield_many,
            "ping_pong" => self.ping_pong,
            "skynet" => self.skynet,
            "fib" => self.fib,
            "idle_cpu" => self.idle_cpu,
            _ => None,
        }
    }
}

impl SchedVisitor for Vec<Entry> {
    fn visit_async<S: AsyncSched>(&mut self) {
        self.push(Entry {
            name: S::NAME,
            spawn_many: Some(spawn_many::<S>),
            chained_spawn: Some(chained_spawn::<S>),
            yield_many: Some(yield_many::<S>),
            ping_pong: Some(ping_pong::<S>),
            skynet: Some(skynet::<S>),
            fib: Some(|w, n| fib::<S>(w, n as u32)),
            idle_cpu: Some(idle_cpu::<S>),
        });
    }

    fn visit_fork_join<S: ForkJoinSched>(&mut self) {
        self.push(Entry {
            name: S::NAME,
            spawn_many: Some(spawn_many_fork_join::<S>),
            chained_spawn: None,
            yield_many: None,
            ping_pong: None,
            skynet: Some(skynet_fork_join::<S>),
            fib: Some(|w, n| fib_fork_join::<S>(w, n as u32)),
            idle_cpu: Some(idle_cpu_fork_join::<S>),
        });
    }
}

fn entries() -> Vec<Entry> {
    let mut entries = Vec::new();
    visit_all(&mut entries);
    entries
}

fn implementations() -> Vec<&'static str> {
    entries().iter().map(|e| e.name).collect()
}

fn implementations_of(workload: &str) -> Vec<&'static str> {
    entries()
        .iter()
        .filter(|e| e.workload(workload).is_some())
        .map(|e| e.name)
        .collect()
}

fn run(cfg: &Config) -> Vec<ResultRow> {
    let entries = entries();
    let mut rows = Vec::new();
    // Measures one case for every implementation with a form of the workload; `arg` is what
    // the sample function takes (the op count, skynet's leaves, fib's n).
    let mut case = |workload: &'static str, threads: usize, ops: u64, arg: u64| {
        let case = Case {
            suite: SUITE.name,
            workload,
            params: Params::threads(threads),
            ops,
        };
        let contenders = entries
            .iter()
            .filter_map(|e| {
                let sample = e.workload(workload)?;
                Some(Contender::new(e.name, move |_| sample(threads, arg)))
            })
            .collect();
        rows.extend(measure(cfg, &case, contenders));
    };
    let leaves = 10u64.pow(skynet_depth(cfg.size));
    let n = fib_n(cfg.size);
    for &t in &cfg.threads {
        let spawns = cfg.ops(SPAWNS);
        case("spawn_many", t, spawns, spawns);
        let chain = cfg.ops(CHAIN);
        case("chained_spawn", t, chain, chain);
        let yields = divisible(cfg.ops(YIELDS), YIELDERS_PER_WORKER * t);
        case("yield_many", t, yields, yields);
        let rounds = cfg.ops(ROUND_TRIPS);
        case("ping_pong", t, rounds, rounds);
        case("skynet", t, leaves, leaves);
        case("fib", t, fib_calls(n), u64::from(n));
        let millis = cfg.ops(IDLE_MILLIS);
        case("idle_cpu", t, millis, millis);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft::sched::Scheduler;

    #[test]
    fn closed_forms() {
        assert_eq!(fib_closed(10), 55);
        assert_eq!(fib_calls(1), 1);
        assert_eq!(fib_calls(2), 3);
        assert_eq!(fib_calls(10), 177);
        assert_eq!(fib_calls(25), 242_785);
        assert_eq!(skynet_sum(1_000_000), 499_999_500_000);
    }

    #[test]
    fn every_workload_checks_out_on_weft() {
        spawn_many::<Scheduler>(2, 1000);
        chained_spawn::<Scheduler>(2, 500);
        yield_many::<Scheduler>(2, 800);
        ping_pong::<Scheduler>(2, 200);
        skynet::<Scheduler>(2, 1000);
        fib::<Scheduler>(2, 12);
    }

    /// The idle window measures the whole process's CPU time: a busy thread beside it shows
    /// up. (No upper bound is checked: other tests run in this process at the same time.)
    #[test]
    fn idle_cpu_counts_the_whole_process() {
        idle_cpu::<Scheduler>(2, 5);
        idle_cpu::<tokio::runtime::Runtime>(1, 5);
        idle_cpu_fork_join::<rayon::ThreadPool>(2, 5);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            let busy = idle_window(50);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(busy >= Duration::from_millis(10), "{busy:?}");
        });
    }

    #[test]
    fn rayon_forms_check_out() {
        spawn_many_fork_join::<rayon::ThreadPool>(2, 1000);
        skynet_fork_join::<rayon::ThreadPool>(2, 1000);
        fib_fork_join::<rayon::ThreadPool>(2, 12);
    }

    #[test]
    fn rayon_runs_only_the_fork_join_workloads() {
        assert_eq!(implementations_of("spawn_many"), ["weft", "tokio", "rayon"]);
        assert_eq!(implementations_of("fib"), ["weft", "tokio", "rayon"]);
        assert_eq!(implementations_of("skynet"), ["weft", "tokio", "rayon"]);
        assert_eq!(implementations_of("idle_cpu"), ["weft", "tokio", "rayon"]);
        for w in ["chained_spawn", "yield_many", "ping_pong"] {
            assert_eq!(implementations_of(w), ["weft", "tokio"], "{w}");
        }
    }

    /// A runtime whose one-shot delivers a wrong value: chained_spawn must notice.
    struct OffByOne(Scheduler);

    impl AsyncSched for OffByOne {
        const NAME: &'static str = "off_by_one";
        type Handle<T: Send + 'static> = <Scheduler as AsyncSched>::Handle<T>;
        type Tx<T: Send + 'static> = <Scheduler as AsyncSched>::Tx<T>;
        type Rx<T: Send + 'static> = <Scheduler as AsyncSched>::Rx<T>;
        type Notify = <Scheduler as AsyncSched>::Notify;
        type Wait = <Scheduler as AsyncSched>::Wait;

        fn new(workers: usize) -> Self {
            OffByOne(Scheduler::new(workers))
        }
        fn run<F>(&self, body: F) -> F::Output
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            self.0.run(body)
        }
        fn spawn<F>(future: F) -> Self::Handle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            <Scheduler as AsyncSched>::spawn(future)
        }
        fn yield_now() -> impl Future<Output = ()> + Send {
            <Scheduler as AsyncSched>::yield_now()
        }
        fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
            <Scheduler as AsyncSched>::channel()
        }
        fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = ()> + Send {
            <Scheduler as AsyncSched>::send(tx, value)
        }
        fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
            <Scheduler as AsyncSched>::recv(rx)
        }
        fn oneshot() -> (Self::Notify, Self::Wait) {
            <Scheduler as AsyncSched>::oneshot()
        }
        fn notify(notify: Self::Notify, value: u64) {
            <Scheduler as AsyncSched>::notify(notify, value + 1)
        }
        fn wait(wait: Self::Wait) -> impl Future<Output = u64> + Send {
            <Scheduler as AsyncSched>::wait(wait)
        }
    }

    #[test]
    #[should_panic(expected = "broke the chain")]
    fn a_wrong_count_fails_chained_spawn() {
        chained_spawn::<OffByOne>(2, 100);
    }
}
