//! The Go twin: `bench-harness/go`, the same workloads on Go's channels, `select`,
//! `sync.Mutex`, `sync.WaitGroup` and goroutines, emitting this crate's result rows with
//! `"implementation": "go"`.
//!
//! The runner builds the twin with the `go` on the `PATH` (`go build`, offline: it uses only
//! Go's standard library) into the cargo target directory, runs it once per run with the run's
//! suites, thread counts, size and sample count, after the Rust implementations, and appends
//! its rows, so every table gets a `go` column. When `go` is not installed the runner says so
//! and runs the Rust side alone.
//!
//! The twin may cover suites that no Rust workloads module registers yet (see [`SUITES`]);
//! [`crate::suites::plan`] hands those to the twin alone. Nothing here names the Rust suites:
//! once a Rust suite of the same name is registered, both sides run it, side by side.

use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Config, Size};
use crate::result::{self, ResultRow};
use crate::stats;
use crate::workloads::suite::Workload;

/// The implementation name the twin's rows carry.
pub const IMPLEMENTATION: &str = "go";

/// What to tell a user whose machine has no Go.
pub const INSTALL_HINT: &str = "scripts/install-go.sh installs it";

/// The Go module's directory (the checkout this binary was built from).
pub const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/go");

/// A suite the twin runs, with its workloads as the twin names and describes them.
#[derive(Debug, Clone, Copy)]
pub struct TwinSuite {
    /// The suite's name, the same as the Rust suite's where both exist.
    pub name: &'static str,
    /// What Go primitive it measures.
    pub description: &'static str,
    /// Its workloads, in the order the twin runs them.
    pub workloads: &'static [Workload],
}

/// Every suite the twin runs, as `weft-bench-go -list` prints them (a test checks that the
/// two agree). The workloads of suites Rust also registers mirror the Rust workloads: same
/// names, parameters, operation counts and definition of an op.
pub const SUITES: &[TwinSuite] = &[
    TwinSuite {
        name: "mutex",
        description: "sync.Mutex",
        workloads: &[
            Workload {
                name: "contended",
                description: "T goroutines each lock, increment a shared counter and unlock, \
                              ops/T times; op = one lock-increment-unlock (all goroutines \
                              together)",
            },
            Workload {
                name: "uncontended",
                description: "one goroutine locks and unlocks in a tight loop; \
                              op = one lock-unlock",
            },
        ],
    },
    TwinSuite {
        name: "waitgroup",
        description: "sync.WaitGroup",
        workloads: &[
            Workload {
                name: "fan_in",
                description: "T persistent workers and one waiter (T+1 goroutines); per round \
                              the waiter calls Add(T), releases the workers, each worker calls \
                              Done, the waiter Waits; op = one round",
            },
            Workload {
                name: "uncontended",
                description: "one goroutine calls Add(1), Done, then Wait; \
                              op = one add-done-wait",
            },
        ],
    },
    TwinSuite {
        name: "chan",
        description: "Go channels: make(chan uintptr, capacity)",
        workloads: &[
            Workload {
                name: "seq",
                description: "one goroutine sends n messages into a channel with capacity n, \
                              then receives them; op = one message",
            },
            Workload {
                name: "spsc",
                description: "one sender and one receiver; op = one message",
            },
            Workload {
                name: "mpsc",
                description: "T senders share n messages, one receiver takes them all; \
                              op = one message",
            },
            Workload {
                name: "mpmc",
                description: "T senders and T receivers share n messages; op = one message",
            },
            Workload {
                name: "select_rx",
                description: "T channels with one sender each, one receiver selecting over \
                              all T; op = one message",
            },
            Workload {
                name: "select_both",
                description: "T channels; T senders each select-send over all T, T receivers \
                              each select-receive over all T; op = one message",
            },
            Workload {
                name: "ping_pong",
                description: "two goroutines, two channels: one sends, the other answers on \
                              the second channel; op = one round trip",
            },
        ],
    },
    TwinSuite {
        name: "achan",
        description: "Go channels between goroutines, GOMAXPROCS = T",
        workloads: &[
            Workload {
                name: "spsc",
                description: "one sender and one receiver goroutine under GOMAXPROCS = T; \
                              op = one message",
            },
            Workload {
                name: "mpsc",
                description: "T sender goroutines share n messages, one receiver takes them \
                              all, under GOMAXPROCS = T; op = one message",
            },
            Workload {
                name: "mpmc",
                description: "T sender and T receiver goroutines share n messages under \
                              GOMAXPROCS = T; op = one message",
            },
            Workload {
                name: "ping_pong",
                description: "two goroutines under GOMAXPROCS = T, two channels: one sends, \
                              the other answers on the second channel; op = one round trip",
            },
            Workload {
                name: "select_rx",
                description: "T channels with one sender goroutine each, one receiver \
                              goroutine selecting over all T, under GOMAXPROCS = T (T <= 8); \
                              op = one message",
            },
            Workload {
                name: "select_both",
                description: "T channels; T sender goroutines each select-send over all T, T \
                              receiver goroutines each select-receive over all T, under \
                              GOMAXPROCS = T (T <= 8); op = one message",
            },
        ],
    },
    TwinSuite {
        name: "spawn",
        description: "goroutines: go f() and a result channel as the join handle",
        workloads: &[Workload {
            name: "spawn_join",
            description: "one goroutine spawns a tiny task (add one to a number) and waits for \
                          its result, n times; op = one spawn and join",
        }],
    },
    TwinSuite {
        name: "sched",
        description: "the Go scheduler: goroutines with GOMAXPROCS = T",
        workloads: &[
            Workload {
                name: "spawn_many",
                description: "one goroutine spawns n tiny goroutines (each writes its index \
                              plus one into its result slot), then waits for all on a \
                              sync.WaitGroup; op = one goroutine spawned and completed",
            },
            Workload {
                name: "chained_spawn",
                description: "each goroutine spawns the next, n deep; the last signals \
                              completion on a channel; op = one spawn",
            },
            Workload {
                name: "yield_many",
                description: "4*T goroutines each call runtime.Gosched() n/(4*T) times; \
                              op = one yield",
            },
            Workload {
                name: "ping_pong",
                description: "two goroutines exchange a number over two unbuffered channels; \
                              op = one round trip",
            },
            Workload {
                name: "skynet",
                description: "a 10-ary tree of goroutines (depth 6; quick 5), each leaf sends \
                              its number on its parent's channel, parents sum their children's; \
                              op = one leaf goroutine",
            },
            Workload {
                name: "fib",
                description: "fork-join fib(n) (n = 25; quick 22): each call with n >= 2 runs \
                              fib(n-1) on a new goroutine and fib(n-2) itself, then joins on a \
                              sync.WaitGroup; op = one call",
            },
            Workload {
                name: "idle_cpu",
                description: "T goroutines run and finish under GOMAXPROCS = T, then the \
                              process sits idle: after 20 ms, its CPU time (getrusage) over \
                              100 ms of wall time; op = one idle ms, value = CPU ns used per \
                              idle ms (not a latency)",
            },
        ],
    },
    TwinSuite {
        name: "time",
        description: "Go's time package: timers, time.After in a select, time.Sleep",
        workloads: &[
            Workload {
                name: "timer_start_stop",
                description: "one goroutine starts a timer due in 1 s (time.NewTimer) and stops \
                              it (Stop), n times; op = one start and stop",
            },
            Workload {
                name: "select_timeout",
                description: "a sender goroutine sends n messages, a receiver takes each in a \
                              select with case <-time.After(1 s), GOMAXPROCS = 1; op = one \
                              message",
            },
            Workload {
                name: "timeout",
                description: "the select_timeout code (Go has no timeout wrapper apart from a \
                              select with time.After), GOMAXPROCS = 1; op = one message",
            },
            Workload {
                name: "select_timeout_threads",
                description: "as select_timeout under GOMAXPROCS = 2, so that the two \
                              goroutines may run in parallel as the Rust side's two threads do; \
                              op = one message",
            },
            Workload {
                name: "sleep_many",
                description: "n goroutines under GOMAXPROCS = T each time.Sleep until its \
                              deadline, spread evenly over 50 ms from n us after the start, and \
                              are waited for; op = one goroutine, value = wall time / n",
            },
            Workload {
                name: "sleep_lateness",
                description: "in a sleep_many sample, the given quantile of how late the \
                              goroutines woke after their deadlines; ops = 1, value = lateness \
                              in ns (not a time per op)",
            },
            Workload {
                name: "idle_timers",
                description: "10,000 timers due in an hour are pending while the process \
                              (GOMAXPROCS = 1) sits idle: after 20 ms, its CPU time (getrusage) \
                              over 100 ms of wall time; op = one idle ms, value = CPU ns used \
                              per idle ms (not a latency)",
            },
        ],
    },
];

/// The twin's suite called `name`.
pub fn find(name: &str) -> Option<&'static TwinSuite> {
    SUITES.iter().find(|s| s.name == name)
}

/// Whether the twin runs the suite called `name`.
pub fn covers(name: &str) -> bool {
    find(name).is_some()
}

/// The twin's description of `suite`'s workload `workload`.
pub fn describe(suite: &str, workload: &str) -> Option<&'static str> {
    find(suite)?
        .workloads
        .iter()
        .find(|w| w.name == workload)
        .map(|w| w.description)
}

/// Whether the twin can run on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// `go` runs; its version, e.g. `"go1.19.8 linux/amd64"`.
    Ready(String),
    /// Why it cannot run, e.g. "`go` not installed".
    Off(String),
}

impl Availability {
    /// Asks the `go` on the `PATH` for its version.
    pub fn detect() -> Availability {
        match Command::new("go").arg("version").output() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Availability::Off("`go` not installed".to_owned())
            }
            Err(e) => Availability::Off(format!("`go version` failed: {e}")),
            Ok(out) if !out.status.success() => Availability::Off(format!(
                "`go version` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Ok(out) => {
                let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                let version = version.strip_prefix("go version ").unwrap_or(&version);
                Availability::Ready(version.to_owned())
            }
        }
    }

    /// Whether the twin can run.
    pub fn is_ready(&self) -> bool {
        matches!(self, Availability::Ready(_))
    }
}

/// The built twin.
#[derive(Debug, Clone)]
pub struct Twin {
    binary: PathBuf,
    version: String,
}

impl Twin {
    /// Builds the twin with `go build` from [`SOURCE_DIR`] into `weft-bench-go` under the
    /// cargo target directory this crate was built in; `version` is what
    /// [`Availability::detect`] found. Works offline: the module has no dependencies, and
    /// `GOPROXY=off` makes sure nothing is fetched.
    ///
    /// # Errors
    ///
    /// If `go build` cannot be started or fails (its output is in the message).
    pub fn build(version: &str) -> Result<Twin, String> {
        Twin::build_into(&default_dir(), version)
    }

    /// [`Twin::build`] into `dir` (created if missing), with `GOCACHE` under `dir` unless the
    /// environment sets one.
    ///
    /// # Errors
    ///
    /// If `dir` cannot be created, or `go build` cannot be started or fails.
    pub fn build_into(dir: &Path, version: &str) -> Result<Twin, String> {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let binary = dir.join("weft-bench-go");
        // Built under a unique name and renamed over the old binary, so concurrent runs never
        // execute a half-written file.
        static BUILDS: AtomicU64 = AtomicU64::new(0);
        let partial = dir.join(format!(
            "weft-bench-go.{}.{}.partial",
            std::process::id(),
            BUILDS.fetch_add(1, Ordering::Relaxed)
        ));
        let mut go = Command::new("go");
        go.args(["build", "-o"])
            .arg(&partial)
            .arg(".")
            .current_dir(SOURCE_DIR)
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOWORK", "off")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0");
        if env::var_os("GOCACHE").is_none() {
            go.env("GOCACHE", dir.join("cache"));
        }
        let out = go
            .output()
            .map_err(|e| format!("starting `go build` in {SOURCE_DIR}: {e}"))?;
        if !out.status.success() {
            let _ = fs::remove_file(&partial);
            return Err(format!(
                "`go build` in {SOURCE_DIR} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        fs::rename(&partial, &binary).map_err(|e| {
            format!(
                "renaming {} to {}: {e}",
                partial.display(),
                binary.display()
            )
        })?;
        Ok(Twin {
            binary,
            version: version.to_owned(),
        })
    }

    /// The built binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The Go version that built it, e.g. `"go1.19.8 linux/amd64"`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Runs `suites` (names the twin [`covers`]) with `cfg`'s threads, size and samples, and
    /// returns its rows. With `cfg.progress` the twin's progress lines go to stderr as they
    /// come.
    ///
    /// # Errors
    ///
    /// If the twin cannot be started, exits unsuccessfully (a workload found a wrong result),
    /// or prints a row that [`parse_rows`] rejects or that belongs to another suite.
    pub fn run(&self, suites: &[&str], cfg: &Config) -> Result<Vec<ResultRow>, String> {
        let out = Command::new(&self.binary)
            .args(args(suites, cfg))
            .stdin(Stdio::null())
            .stderr(if cfg.progress {
                Stdio::inherit()
            } else {
                Stdio::piped()
            })
            .output()
            .map_err(|e| format!("starting {}: {e}", self.binary.display()))?;
        if !out.status.success() {
            return Err(format!(
                "the Go twin failed ({}){}",
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr))
            ));
        }
        let mut rows = parse_rows(&String::from_utf8_lossy(&out.stdout))?;
        // The twin's channels carry uintptr, a word: the Rust side's 8-byte case.
        for row in rows.iter_mut().filter(|r| r.suite == "chan") {
            row.params
                .extra
                .entry("msg_bytes".to_owned())
                .or_insert_with(|| std::mem::size_of::<usize>().into());
        }
        if let Some(row) = rows.iter().find(|r| !suites.contains(&r.suite.as_str())) {
            return Err(format!(
                "the Go twin returned a row of suite {:?}, which was not asked for",
                row.suite
            ));
        }
        Ok(rows)
    }

    /// The twin's own list of its suites and workloads (`weft-bench-go -list`): a JSON array
    /// of `{"suite", "description", "workloads": [{"name", "description", "ops"}]}`.
    ///
    /// # Errors
    ///
    /// If the twin cannot be run or its output is not JSON.
    pub fn list(&self) -> Result<serde_json::Value, String> {
        let out = Command::new(&self.binary)
            .arg("-list")
            .output()
            .map_err(|e| format!("starting {}: {e}", self.binary.display()))?;
        if !out.status.success() {
            return Err(format!("`weft-bench-go -list` failed ({})", out.status));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("`weft-bench-go -list`: {e}"))
    }
}

/// Where [`Twin::build`] puts the twin: `go-twin/` in the directory of this build's binaries
/// (`target/release`, `target/debug`), so `cargo clean` removes it and checkouts with their
/// own target directories never share it.
fn default_dir() -> PathBuf {
    Path::new(env!("WEFT_BENCH_PROFILE_DIR")).join("go-twin")
}

/// The twin's command line for `suites` under `cfg`, mirroring `weft-bench run`'s flags.
pub fn args(suites: &[&str], cfg: &Config) -> Vec<String> {
    let threads: Vec<String> = cfg.threads.iter().map(usize::to_string).collect();
    let mut args = vec![
        "-suite".to_owned(),
        suites.join(","),
        "-threads".to_owned(),
        threads.join(","),
    ];
    match cfg.size {
        Size::Full => {}
        Size::Quick => args.push("-quick".to_owned()),
        Size::Smoke => args.push("-smoke".to_owned()),
    }
    if let Some(samples) = cfg.samples {
        args.extend(["-samples".to_owned(), samples.to_string()]);
    }
    if cfg.progress {
        args.push("-progress".to_owned());
    }
    args
}

/// Parses the twin's stdout: one result row per line, as JSON.
///
/// Every row must be a `go` row with samples whose summary matches its `median`, `min`,
/// `max` and `spread` fields (the twin computes those itself), so a drift between the twin
/// and this schema fails loudly instead of filling a table with wrong numbers.
///
/// # Errors
///
/// A message naming the first offending line.
pub fn parse_rows(stdout: &str) -> Result<Vec<ResultRow>, String> {
    let mut rows = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |e: String| format!("Go twin output line {}: {e}", i + 1);
        let mut row: ResultRow = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        // The twin prints no unit: its workloads' are this crate's.
        let unit = result::unit_of(&row.suite, &row.workload);
        if row.unit.is_empty() {
            row.unit = unit.to_owned();
        } else if row.unit != unit {
            return Err(at(format!("unit {:?}, expected {unit:?}", row.unit)));
        }
        if row.implementation != IMPLEMENTATION {
            return Err(at(format!(
                "implementation {:?}, expected {IMPLEMENTATION:?}",
                row.implementation
            )));
        }
        if row.ops == 0 {
            return Err(at("ops is 0".to_owned()));
        }
        let Some(s) = stats::summarize(&row.samples_ns_per_op) else {
            return Err(at("no samples".to_owned()));
        };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        if !(close(s.median, row.median_ns_per_op)
            && close(s.min, row.min_ns_per_op)
            && close(s.max, row.max_ns_per_op)
            && close(s.spread, row.spread))
        {
            return Err(at(format!(
                "summary fields do not match the samples (median {} vs {})",
                row.median_ns_per_op, s.median
            )));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The last lines of a failed twin's stderr, indented, for an error message.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.len().saturating_sub(20);
    lines[start..]
        .iter()
        .map(|l| format!("\n    {l}"))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::config::Ops;
    use crate::result::Params;
    use crate::workloads::{achan, chan, mutex, sched, time, wait_group};

    /// Two rows as the twin prints them.
    const SAMPLE: &str = r#"{"suite":"mutex","workload":"contended","implementation":"go","params":{"threads":2,"gomaxprocs":2},"ops":500000,"samples_ns_per_op":[37.9,35.1,41.2,36.0,38.3],"median_ns_per_op":37.9,"min_ns_per_op":35.1,"max_ns_per_op":41.2,"spread":0.1609498680738788}

{"suite":"chan","workload":"spsc","implementation":"go","params":{"threads":1,"capacity":0,"gomaxprocs":2},"ops":50000,"samples_ns_per_op":[293.1,280.5],"median_ns_per_op":286.8,"min_ns_per_op":280.5,"max_ns_per_op":293.1,"spread":0.04393305439330542}
"#;

    #[test]
    fn parses_the_twins_rows() {
        let rows = parse_rows(SAMPLE).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].suite.as_str(), rows[0].workload.as_str()),
            ("mutex", "contended")
        );
        assert_eq!(rows[0].implementation, "go");
        assert_eq!(rows[0].params, Params::threads(2).with("gomaxprocs", 2));
        assert_eq!(rows[0].ops, 500_000);
        assert_eq!(rows[0].samples_ns_per_op.len(), 5);
        assert_eq!(rows[0].median_ns_per_op, 37.9);
        assert_eq!(rows[0].unit, "ns per op");
        let idle = SAMPLE.lines().next().unwrap().replace(
            r#""suite":"mutex","workload":"contended""#,
            r#""suite":"sched","workload":"idle_cpu""#,
        );
        assert_eq!(parse_rows(&idle).unwrap()[0].unit, "CPU ns per idle ms");
        assert_eq!(
            rows[1].params,
            Params::threads(1).with("capacity", 0).with("gomaxprocs", 2)
        );
        // The row means the same case as a Rust row without the Go runtime's setting.
        assert_eq!(
            rows[1].params.case(),
            Params::threads(1).with("capacity", 0)
        );
    }

    #[test]
    fn rejects_rows_that_do_not_fit_the_schema() {
        let line = SAMPLE.lines().next().unwrap();
        let err = |text: &str| parse_rows(text).unwrap_err();
        assert!(err("not json").contains("line 1"));
        assert!(err(&line.replace("\"go\"", "\"weft\"")).contains("implementation \"weft\""));
        assert!(
            err(&line.replace("\"median_ns_per_op\":37.9", "\"median_ns_per_op\":3"))
                .contains("do not match")
        );
        assert!(err(&line.replace("\"ops\":500000", "\"ops\":0")).contains("ops is 0"));
        assert!(err(&line.replace("\"ops\":500000,", "")).contains("missing field `ops`"));
        assert!(err(&format!("{line}\n{{}}")).contains("line 2"));
        assert!(err(&line.replace("\"ops\":", "\"unit\":\"ms\",\"ops\":"))
            .contains("unit \"ms\", expected \"ns per op\""));
    }

    #[test]
    fn command_line_mirrors_the_config() {
        let cfg = Config {
            threads: vec![1, 4],
            size: Size::Quick,
            samples: Some(3),
            ..Config::default()
        };
        assert_eq!(
            args(&["mutex", "chan"], &cfg).join(" "),
            "-suite mutex,chan -threads 1,4 -quick -samples 3"
        );
        let full = Config::default();
        assert_eq!(
            args(&["spawn"], &full).join(" "),
            "-suite spawn -threads 1,2,4,8"
        );
    }

    #[test]
    fn twin_suites_and_workloads_are_unique() {
        for (i, s) in SUITES.iter().enumerate() {
            assert!(SUITES[..i].iter().all(|t| t.name != s.name), "{}", s.name);
            for (j, w) in s.workloads.iter().enumerate() {
                assert!(
                    s.workloads[..j].iter().all(|v| v.name != w.name),
                    "{}",
                    w.name
                );
            }
        }
    }

    /// The twin, built once per test process; `None` (with a notice) when Go is missing.
    pub(crate) fn twin() -> Option<&'static Twin> {
        static TWIN: OnceLock<Option<Twin>> = OnceLock::new();
        TWIN.get_or_init(|| match Availability::detect() {
            Availability::Ready(version) => Some(Twin::build(&version).unwrap()),
            Availability::Off(why) => {
                eprintln!("Go twin tests skipped: {why}; {INSTALL_HINT}");
                None
            }
        })
        .as_ref()
    }

    fn smoke() -> Config {
        Config {
            threads: vec![1, 3],
            size: Size::Smoke,
            ..Config::default()
        }
    }

    /// At smoke size the twin produces sane rows for every workload of every suite it covers.
    #[test]
    fn the_twin_runs_every_workload() {
        let Some(twin) = twin() else { return };
        let names: Vec<&str> = SUITES.iter().map(|s| s.name).collect();
        let rows = twin.run(&names, &smoke()).unwrap();
        for suite in SUITES {
            for workload in suite.workloads {
                assert!(
                    rows.iter()
                        .any(|r| r.suite == suite.name && r.workload == workload.name),
                    "no Go row for {}/{}",
                    suite.name,
                    workload.name
                );
            }
        }
        for row in &rows {
            assert_eq!(row.samples_ns_per_op.len(), 1, "{row:?}");
            assert!(row.median_ns_per_op > 0.0, "{row:?}");
            assert!(
                row.params.extra["gomaxprocs"].as_u64() >= Some(1),
                "{row:?}"
            );
            assert!(describe(&row.suite, &row.workload).is_some(), "{row:?}");
            if row.suite == "sched" || row.suite == "achan" {
                // Each sched and achan case runs under GOMAXPROCS = T.
                assert_eq!(
                    row.params.extra["gomaxprocs"].as_u64(),
                    Some(row.params.threads as u64),
                    "{row:?}"
                );
            }
        }
        for capacity in [0, 1, 1024] {
            for threads in [1, 3] {
                // The twin's chan rows carry words: msg_bytes 8 (see `Twin::run`).
                let case = Params::threads(threads)
                    .with("capacity", capacity)
                    .with("msg_bytes", 8);
                for workload in ["mpsc", "mpmc", "select_rx", "select_both"] {
                    assert!(
                        rows.iter()
                            .any(|r| r.workload == workload && r.params.case() == case),
                        "no {workload} row for {case:?}"
                    );
                }
            }
        }
    }

    /// [`SUITES`] is what the twin says it runs, and the twin's operation counts at every
    /// size are the Rust workloads' where both exist.
    #[test]
    fn the_twins_list_matches() {
        let Some(twin) = twin() else { return };
        let list = twin.list().unwrap();
        let listed = list.as_array().unwrap();
        assert_eq!(listed.len(), SUITES.len());
        // (suite, workload, ops, ops on capacities 0 and 1 where they differ)
        let rust_ops: &[(&str, &str, Ops, Option<Ops>)] = &[
            ("mutex", "contended", mutex::CONTENDED_OPS, None),
            ("mutex", "uncontended", mutex::UNCONTENDED_OPS, None),
            ("waitgroup", "fan_in", wait_group::FAN_IN_ROUNDS, None),
            (
                "waitgroup",
                "uncontended",
                wait_group::UNCONTENDED_OPS,
                None,
            ),
            ("chan", "seq", chan::MESSAGES, None),
            (
                "chan",
                "spsc",
                chan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            (
                "chan",
                "mpsc",
                chan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            (
                "chan",
                "mpmc",
                chan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            (
                "chan",
                "select_rx",
                chan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            (
                "chan",
                "select_both",
                chan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            ("chan", "ping_pong", chan::PING_PONG_ROUNDS, None),
            (
                "achan",
                "spsc",
                achan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            (
                "achan",
                "mpsc",
                achan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            (
                "achan",
                "mpmc",
                achan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            ("achan", "ping_pong", chan::PING_PONG_ROUNDS, None),
            (
                "achan",
                "select_rx",
                achan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            (
                "achan",
                "select_both",
                achan::MESSAGES,
                Some(chan::BLOCKING_MESSAGES),
            ),
            ("sched", "idle_cpu", sched::IDLE_MILLIS, None),
            ("time", "timer_start_stop", time::TIMERS, None),
            ("time", "select_timeout", time::TIMED_MESSAGES, None),
            ("time", "timeout", time::TIMED_MESSAGES, None),
            ("time", "select_timeout_threads", time::TIMED_MESSAGES, None),
            ("time", "sleep_many", time::SLEEPERS, None),
            ("time", "idle_timers", time::IDLE_MILLIS, None),
        ];
        for (suite, go) in SUITES.iter().zip(listed) {
            assert_eq!(go["suite"], suite.name);
            assert_eq!(go["description"], suite.description, "{}", suite.name);
            let workloads = go["workloads"].as_array().unwrap();
            assert_eq!(workloads.len(), suite.workloads.len(), "{}", suite.name);
            for (w, go) in suite.workloads.iter().zip(workloads) {
                assert_eq!(go["name"], w.name);
                assert_eq!(
                    go["description"], w.description,
                    "{}/{}",
                    suite.name, w.name
                );
                if let Some((_, _, ops, blocking)) = rust_ops
                    .iter()
                    .find(|(s, name, ..)| *s == suite.name && *name == w.name)
                {
                    let json = |ops: &Ops| {
                        serde_json::json!({
                            "full": ops.full, "quick": ops.quick, "smoke": ops.smoke
                        })
                    };
                    assert_eq!(go["ops"], json(ops), "{}/{}", suite.name, w.name);
                    let blocking = blocking.as_ref().map_or(serde_json::Value::Null, json);
                    assert_eq!(
                        go.get("blocking_ops").unwrap_or(&serde_json::Value::Null),
                        &blocking,
                        "{}/{} blocking_ops",
                        suite.name,
                        w.name
                    );
                }
            }
        }
    }
}
