//! Timer workloads (issue #10): starting and stopping timers, a select with a timeout arm
//! per message, many sleeping tasks with staggered deadlines (wall time and how late they
//! fire), and the CPU an idle runtime with pending timers burns.
//!
//! `sleep_lateness` and `idle_timers` are not times per operation: `sleep_lateness` is one
//! quantile of how late the tasks of one `sleep_many` sample woke (ops = 1, the value in
//! ns), `idle_timers` the CPU time the process used per millisecond of idle wall time, as
//! the sched suite's `idle_cpu` (see results/README.md).

use std::pin::pin;
use std::time::{Duration, Instant};

use super::measure;
use super::sched::idle_window;
use super::suite::{Suite, Workload};
use super::{run_threads, Case, Contender};
use crate::config::{Config, Ops};
use crate::peers::time::{BlockingTimed, Crossbeam, TimeRt, Timed, Weft};
use crate::result::{Params, ResultRow};

/// The `time` suite.
pub const SUITE: Suite = Suite {
    name: "time",
    description: "weft's timers (weft::time, chan::after) beside tokio's time driver, \
                  crossbeam-channel's after and Go's time package",
    workloads: &[
        Workload {
            name: "timer_start_stop",
            description: "one task starts a timer due in 1 s and stops it before it fires, n \
                          times (weft::time::sleep and tokio::time::sleep polled once, which \
                          registers them, then dropped); op = one start and stop",
        },
        Workload {
            name: "select_timeout",
            description: "a sender task sends n messages, a receiver task takes each in a \
                          select with a fresh 1 s timer arm (weft: select_async! over the \
                          channel and chan::after; tokio: select! over mpsc recv and \
                          time::sleep), one worker; op = one message",
        },
        Workload {
            name: "timeout",
            description: "as select_timeout, each receive wrapped in a 1 s timeout instead \
                          (weft::time::timeout around recv_async, tokio::time::timeout around \
                          mpsc recv); op = one message",
        },
        Workload {
            name: "select_timeout_threads",
            description: "as select_timeout on two threads with a blocking select and a timer \
                          channel per message (weft's and crossbeam's select! with \
                          recv(after(1 s))); op = one message",
        },
        Workload {
            name: "sleep_many",
            description: "n tasks on T workers each sleep until its deadline, spread evenly \
                          over 50 ms from n us after the start (time to spawn them all), and \
                          are joined; op = one task, value = wall time / n",
        },
        Workload {
            name: "sleep_lateness",
            description: "in a sleep_many sample, the given quantile of how late the tasks \
                          woke after their deadlines; ops = 1, value = lateness in ns (not a \
                          time per op)",
        },
        Workload {
            name: "idle_timers",
            description: "one task holds 10,000 registered sleeps due in an hour while the \
                          runtime (one worker) sits idle: after 20 ms, the process's CPU time \
                          (getrusage) over 100 ms of wall time; op = one idle ms, value = CPU \
                          ns used per idle ms (not a latency)",
        },
    ],
    implementations,
    implementations_of,
    run,
};

/// Timers started and stopped per `timer_start_stop` sample.
pub const TIMERS: Ops = Ops {
    full: 1_000_000,
    quick: 200_000,
    smoke: 100,
};

/// Messages per `select_timeout` and `select_timeout_threads` sample.
pub const TIMED_MESSAGES: Ops = Ops {
    full: 200_000,
    quick: 50_000,
    smoke: 100,
};

/// Sleeping tasks per `sleep_many` and `sleep_lateness` sample.
pub const SLEEPERS: Ops = Ops {
    full: 100_000,
    quick: 20_000,
    smoke: 100,
};

/// Milliseconds of idle wall time in `idle_timers` (one op per ms).
pub const IDLE_MILLIS: Ops = super::sched::IDLE_MILLIS;

/// Pending timers in `idle_timers`.
pub const IDLE_TIMERS: usize = 10_000;

/// The capacities of `select_timeout` and `select_timeout_threads`.
pub const CAPACITIES: [usize; 3] = [0, 1, 1024];

/// The quantiles `sleep_lateness` reports, in percent.
pub const QUANTILES: [u64; 2] = [50, 99];

/// The timeout of every `select_timeout` receive: never reached in a healthy run.
const TIMEOUT: Duration = Duration::from_secs(1);

/// The span over which `sleep_many`'s deadlines are spread.
const SPREAD: Duration = Duration::from_millis(50);

/// `timer_start_stop`: in one task on a one-worker runtime, `n` times: a sleep due in 1 s,
/// polled once (so that it is registered with the runtime's timers) and dropped (which
/// cancels it). Returns the time the loop took.
///
/// # Panics
///
/// If a sleep of 1 s is ready at its first poll.
pub fn timer_start_stop<R: TimeRt>(n: u64) -> Duration {
    let rt = R::with_timers(1);
    rt.run(async move {
        let start = Instant::now();
        for _ in 0..n {
            let mut sleep = pin!(R::sleep(TIMEOUT));
            assert!(
                futures::poll!(sleep.as_mut()).is_pending(),
                "{}: a sleep of 1 s was ready at once",
                R::NAME
            );
        }
        start.elapsed()
    })
}

/// `select_timeout` (`select` true: [`TimeRt::select_recv_or_timer`]) and `timeout`
/// ([`TimeRt::timeout_recv`]): on a one-worker runtime, a sender task sends `0..n` on a
/// channel of `capacity`, a receiver task takes each with a fresh [`TIMEOUT`]. Returns the
/// time from the sender's spawn to the last message.
///
/// # Panics
///
/// If a receive times out, or a message is lost or duplicated.
pub fn select_timeout<R: TimeRt>(select: bool, capacity: usize, n: u64) -> Duration {
    let rt = R::with_timers(1);
    let (elapsed, count, sum) = rt.run(async move {
        let (tx, mut rx) = R::timed_channel(capacity);
        let start = Instant::now();
        let sender = R::spawn(async move {
            for k in 0..n {
                R::send_timed(&tx, k).await;
            }
        });
        let (mut count, mut sum) = (0u64, 0u64);
        loop {
            let got = if select {
                R::select_recv_or_timer(&mut rx, TIMEOUT).await
            } else {
                R::timeout_recv(&mut rx, TIMEOUT).await
            };
            match got {
                Timed::Msg(v) => {
                    count += 1;
                    sum += v;
                }
                Timed::Closed => break,
                Timed::TimedOut => panic!("{}: select_timeout timed out after 1 s", R::NAME),
            }
        }
        let elapsed = start.elapsed();
        sender.await;
        (elapsed, count, sum)
    });
    let workload = if select { "select_timeout" } else { "timeout" };
    check(R::NAME, workload, n, count, sum);
    elapsed
}

/// `select_timeout_threads`: one thread sends `0..n` on a channel of `capacity`, another
/// takes each with a blocking select over the channel and a fresh timer channel.
///
/// # Panics
///
/// If a receive times out, or a message is lost or duplicated.
pub fn select_timeout_threads<B: BlockingTimed>(capacity: usize, n: u64) -> Duration {
    let (tx, rx) = B::channel(capacity);
    let totals = std::sync::Mutex::new((0u64, 0u64));
    let elapsed = run_threads(2, |i| {
        if i == 0 {
            for k in 0..n {
                B::send(&tx, k);
            }
            return;
        }
        let (mut count, mut sum) = (0u64, 0u64);
        while count < n {
            match B::recv_or_after(&rx, TIMEOUT) {
                Timed::Msg(v) => {
                    count += 1;
                    sum += v;
                }
                Timed::Closed => unreachable!("the sender outlives the receives"),
                Timed::TimedOut => panic!("{}: select_timeout_threads timed out", B::NAME),
            }
        }
        *totals.lock().unwrap() = (count, sum);
    });
    let (count, sum) = *totals.lock().unwrap();
    check(B::NAME, "select_timeout_threads", n, count, sum);
    elapsed
}

fn check(name: &str, workload: &str, n: u64, count: u64, sum: u64) {
    assert_eq!(
        count, n,
        "{name}: {workload} received {count} of {n} messages"
    );
    assert_eq!(
        sum,
        n * n.saturating_sub(1) / 2,
        "{name}: {workload} received wrong messages"
    );
}

/// `sleep_many`: on `workers` workers, one task spawns `n` tasks, task `i` sleeping until
/// `start + n us + SPREAD * i / n`, and joins them (the first deadline is after the spawns on
/// every peer: tokio spawns at about 0.5 us a task here, so lateness is the timers', not
/// the spawning's). Returns the wall time and each task's
/// lateness (how long after its deadline it woke), in spawn order.
///
/// # Panics
///
/// If a task woke before its deadline.
pub fn sleep_many<R: TimeRt>(workers: usize, n: u64) -> (Duration, Vec<Duration>) {
    let rt = R::with_timers(workers);
    rt.run(async move {
        let start = Instant::now();
        let base = start + Duration::from_micros(n);
        let n32 = u32::try_from(n).expect("at most u32::MAX sleepers");
        let handles: Vec<_> = (0..n32)
            .map(|i| {
                let deadline = base + SPREAD * i / n32;
                R::spawn(async move {
                    R::sleep_until(deadline).await;
                    let now = Instant::now();
                    assert!(now >= deadline, "{}: a sleep woke early", R::NAME);
                    now - deadline
                })
            })
            .collect();
        let mut late = Vec::with_capacity(handles.len());
        for h in handles {
            late.push(h.await);
        }
        (start.elapsed(), late)
    })
}

/// The `q`-th percentile of `values` (nearest rank; `values` non-empty).
pub fn quantile(mut values: Vec<Duration>, q: u64) -> Duration {
    assert!(!values.is_empty() && q <= 100, "a quantile of something");
    values.sort_unstable();
    let rank = ((q as usize * values.len()).div_ceil(100)).max(1);
    values[rank - 1]
}

/// `idle_timers`: a one-worker runtime whose one task registers [`IDLE_TIMERS`] sleeps due in
/// an hour (each polled once) and waits; meanwhile the calling thread measures the CPU time
/// the process uses over `millis` ms (see the sched suite's `idle_cpu`). Then the task is told
/// to stop and drops its sleeps.
pub fn idle_timers<R: TimeRt>(millis: u64) -> Duration {
    let rt = R::with_timers(1);
    let (ready_tx, ready_rx) = R::oneshot();
    let (quit_tx, quit_rx) = R::oneshot();
    // The holder is spawned from a root task and its handle returned, to be awaited later.
    #[allow(clippy::async_yields_async)]
    let holder = rt.run(async move {
        R::spawn(async move {
            let mut sleeps: Vec<_> = (0..IDLE_TIMERS)
                .map(|_| Box::pin(R::sleep(Duration::from_secs(3600))))
                .collect();
            for s in &mut sleeps {
                assert!(futures::poll!(s.as_mut()).is_pending(), "an hour passed");
            }
            R::notify(ready_tx, sleeps.len() as u64);
            R::wait(quit_rx).await;
            sleeps.len()
        })
    });
    let held = rt.run(R::wait(ready_rx));
    assert_eq!(held, IDLE_TIMERS as u64);
    let used = idle_window(millis);
    R::notify(quit_tx, 0);
    assert_eq!(rt.run(holder), IDLE_TIMERS);
    used
}

/// A chosen implementation's sample of one case, ready to run.
type Picked = Option<Box<dyn Fn() -> Duration>>;

/// A sample of one implementation for a thread count and an op count.
type Sample = fn(usize, u64) -> Duration;

/// One implementation's workloads, monomorphised; `None` where it has no form of one.
struct Entry {
    name: &'static str,
    timer_start_stop: Option<Sample>,
    /// With a select (true) or a timeout wrapper, by capacity.
    select_timeout: Option<fn(bool, usize, u64) -> Duration>,
    rendezvous: bool,
    select_timeout_threads: Option<fn(usize, u64) -> Duration>,
    sleep_many: Option<Sample>,
    sleep_lateness: Option<fn(usize, u64, u64) -> Duration>,
    idle_timers: Option<Sample>,
}

fn runtime_entry<R: TimeRt>() -> Entry {
    Entry {
        name: R::NAME,
        timer_start_stop: Some(|_, n| timer_start_stop::<R>(n)),
        select_timeout: Some(select_timeout::<R>),
        rendezvous: R::RENDEZVOUS,
        select_timeout_threads: None,
        sleep_many: Some(|workers, n| sleep_many::<R>(workers, n).0),
        sleep_lateness: Some(|workers, n, q| quantile(sleep_many::<R>(workers, n).1, q)),
        idle_timers: Some(|_, millis| idle_timers::<R>(millis)),
    }
}

fn entries() -> Vec<Entry> {
    let mut weft = runtime_entry::<weft::sched::Scheduler>();
    weft.select_timeout_threads = Some(select_timeout_threads::<Weft>);
    let tokio = runtime_entry::<tokio::runtime::Runtime>();
    let crossbeam = Entry {
        name: Crossbeam::NAME,
        timer_start_stop: None,
        select_timeout: None,
        rendezvous: true,
        select_timeout_threads: Some(select_timeout_threads::<Crossbeam>),
        sleep_many: None,
        sleep_lateness: None,
        idle_timers: None,
    };
    vec![weft, tokio, crossbeam]
}

fn implementations() -> Vec<&'static str> {
    entries().iter().map(|e| e.name).collect()
}

fn implementations_of(workload: &str) -> Vec<&'static str> {
    entries()
        .into_iter()
        .filter(|e| match workload {
            "timer_start_stop" => e.timer_start_stop.is_some(),
            "select_timeout" | "timeout" => e.select_timeout.is_some(),
            "select_timeout_threads" => e.select_timeout_threads.is_some(),
            "sleep_many" => e.sleep_many.is_some(),
            "sleep_lateness" => e.sleep_lateness.is_some(),
            "idle_timers" => e.idle_timers.is_some(),
            _ => false,
        })
        .map(|e| e.name)
        .collect()
}

fn run(cfg: &Config) -> Vec<ResultRow> {
    let entries = entries();
    let mut rows = Vec::new();
    let mut case =
        |workload: &'static str, params: Params, ops: u64, pick: &dyn Fn(&Entry) -> Picked| {
            let case = Case {
                suite: SUITE.name,
                workload,
                params,
                ops,
            };
            let contenders = entries
                .iter()
                .filter_map(|e| {
                    let sample = pick(e)?;
                    Some(Contender::new(e.name, move |_| sample()))
                })
                .collect();
            rows.extend(measure(cfg, &case, contenders));
        };

    let n = cfg.ops(TIMERS);
    case("timer_start_stop", Params::threads(1), n, &|e| {
        let f = e.timer_start_stop?;
        Some(Box::new(move || f(1, n)))
    });
    let n = cfg.ops(TIMED_MESSAGES);
    for capacity in CAPACITIES {
        let params = Params::threads(1).with("capacity", capacity);
        for (workload, select) in [("select_timeout", true), ("timeout", false)] {
            case(workload, params.clone(), n, &|e| {
                let f = e.select_timeout.filter(|_| capacity > 0 || e.rendezvous)?;
                Some(Box::new(move || f(select, capacity, n)))
            });
        }
        case("select_timeout_threads", params, n, &|e| {
            let f = e.select_timeout_threads?;
            Some(Box::new(move || f(capacity, n)))
        });
    }
    let n = cfg.ops(SLEEPERS);
    for &t in &cfg.threads {
        case("sleep_many", Params::threads(t), n, &|e| {
            let f = e.sleep_many?;
            Some(Box::new(move || f(t, n)))
        });
        for q in QUANTILES {
            case(
                "sleep_lateness",
                Params::threads(t).with("quantile", q),
                1,
                &|e| {
                    let f = e.sleep_lateness?;
                    Some(Box::new(move || f(t, n, q)))
                },
            );
        }
    }
    let millis = cfg.ops(IDLE_MILLIS);
    case("idle_timers", Params::threads(1), millis, &|e| {
        let f = e.idle_timers?;
        Some(Box::new(move || f(1, millis)))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        assert_eq!(quantile(ms(&[5, 1, 3, 2, 4]), 50), Duration::from_millis(3));
        assert_eq!(quantile(ms(&[5, 1, 3, 2, 4]), 99), Duration::from_millis(5));
        assert_eq!(quantile(ms(&[7]), 1), Duration::from_millis(7));
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(ms(&hundred), 99), Duration::from_millis(99));
    }

    #[test]
    fn every_workload_runs_small() {
        type Sched = weft::sched::Scheduler;
        type Tokio = tokio::runtime::Runtime;
        timer_start_stop::<Sched>(50);
        timer_start_stop::<Tokio>(50);
        for capacity in CAPACITIES {
            select_timeout::<Sched>(true, capacity, 50);
            select_timeout::<Sched>(false, capacity, 50);
            select_timeout_threads::<Weft>(capacity, 50);
            select_timeout_threads::<Crossbeam>(capacity, 50);
        }
        select_timeout::<Tokio>(true, 1, 50);
        select_timeout::<Tokio>(false, 1, 50);
        let (wall, late) = sleep_many::<Sched>(2, 200);
        assert_eq!(late.len(), 200);
        assert!(
            wall >= SPREAD * 199 / 200,
            "the last deadline is near the spread's end"
        );
        let (_, late) = sleep_many::<Tokio>(1, 50);
        assert_eq!(late.len(), 50);
        idle_timers::<Sched>(5);
        idle_timers::<Tokio>(5);
    }

    /// A receive with a timeout that loses every tenth message: the workload must notice.
    #[test]
    #[should_panic(expected = "received")]
    fn a_lost_message_fails_select_timeout_threads() {
        struct Lossy;
        impl BlockingTimed for Lossy {
            const NAME: &'static str = "lossy";
            type Tx = crossbeam_channel::Sender<u64>;
            type Rx = crossbeam_channel::Receiver<u64>;
            fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
                crossbeam_channel::bounded(capacity)
            }
            fn send(tx: &Self::Tx, value: u64) {
                if value % 10 != 3 {
                    tx.send(value).unwrap();
                } else {
                    tx.send(value + 1).unwrap(); // a wrong message instead
                }
            }
            fn recv_or_after(rx: &Self::Rx, timeout: Duration) -> Timed {
                Crossbeam::recv_or_after(rx, timeout)
            }
        }
        select_timeout_threads::<Lossy>(1, 100);
    }
}
