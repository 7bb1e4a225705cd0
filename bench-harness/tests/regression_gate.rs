//! `weft-bench compare` as a CI gate, shown on a deliberately slowed build.
//!
//! Two result files come from a tiny real run of the mutex `uncontended` workload, measured
//! by the suite's own engine (`workloads::measure`, interleaved samples, one warm-up) with
//! weft beside std. In the first, `weft` is weft's mutex; in the second, `weft` is weft's
//! mutex with a deliberate ~1 µs busy wait inside every critical section: what a build that
//! broke the fast path would produce. std is the same in both. `compare` must call weft's row
//! a regression and exit 1, and call it an improvement (exit 0) the other way round; if it
//! stopped detecting regressions, this test fails.
//!
//! The slowed implementation lives here, in the test, so normal runs are not touched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use weft_bench::compare::{self, Verdict};
use weft_bench::config::{Config, Size};
use weft_bench::machine::Machine;
use weft_bench::peers::MutexLike;
use weft_bench::result::{Params, ResultFile, SCHEMA_VERSION};
use weft_bench::run_info::RunInfo;
use weft_bench::workloads::{self, mutex, Case, Contender};

/// The extra time the slowed build spends in every lock-unlock.
const SLOWDOWN: Duration = Duration::from_micros(1);

/// weft's mutex, slowed: it holds the lock ~[`SLOWDOWN`] longer on every use. It reports
/// itself as `weft`, because in the second file it stands for weft's (slowed) build.
struct SlowedWeft(weft::sync::Mutex<u64>);

impl MutexLike<u64> for SlowedWeft {
    const NAME: &'static str = "weft";

    fn new(value: u64) -> Self {
        SlowedWeft(weft::sync::Mutex::new(value))
    }

    fn with<R>(&self, f: impl FnOnce(&mut u64) -> R) -> R {
        self.0.with(|v| {
            let start = Instant::now();
            while start.elapsed() < SLOWDOWN {
                std::hint::spin_loop();
            }
            f(v)
        })
    }
}

/// Operations per sample: a few milliseconds per sample for the normal build.
const OPS: u64 = 20_000;

/// One result file of the `uncontended` case: `weft` measured with `M`, std beside it.
fn run<M: MutexLike<u64>>() -> ResultFile {
    let cfg = Config {
        threads: vec![1],
        size: Size::Quick,
        samples: Some(9),
        ..Config::default()
    };
    let case = Case {
        suite: "mutex",
        workload: "uncontended",
        params: Params::threads(1),
        ops: OPS,
    };
    let contenders = vec![
        Contender::new("weft", mutex::uncontended::<M>),
        Contender::new("std", mutex::uncontended::<std::sync::Mutex<u64>>),
    ];
    let results = workloads::measure(&cfg, &case, contenders);
    assert_eq!(results.len(), 2);
    ResultFile {
        schema_version: SCHEMA_VERSION,
        run: RunInfo::collect(true),
        machine: Machine::detect(),
        results,
    }
}

/// The two files, measured once for all the tests here: (normal, slowed).
fn files() -> &'static (PathBuf, PathBuf) {
    static FILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("regression_gate");
        let _ = std::fs::remove_dir_all(&dir);
        let normal = dir.join("normal.json");
        let slowed = dir.join("slowed.json");
        run::<weft::sync::Mutex<u64>>().write(&normal).unwrap();
        run::<SlowedWeft>().write(&slowed).unwrap();
        (normal, slowed)
    })
}

fn weft_bench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weft-bench"))
        .args(args)
        .output()
        .expect("weft-bench runs");
    (
        out.status.code().expect("exited"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn compare_flags_the_slowed_build_and_exits_1() {
    let (normal, slowed) = files();
    let base = ResultFile::read(normal).unwrap();
    let new = ResultFile::read(slowed).unwrap();

    let c = compare::compare(&base, &new, &compare::Options::default());
    let weft = c
        .rows
        .iter()
        .find(|r| r.key.implementation == "weft")
        .unwrap();
    assert_eq!(
        weft.judgement.verdict,
        Verdict::Regression,
        "{}",
        c.markdown(false)
    );
    assert!(weft.judgement.ratio > 2.0, "{:?}", weft.judgement);

    // The binary, gating weft alone (std's row is the same code in both runs).
    let (code, stdout, stderr) = weft_bench(&[
        "compare",
        path(normal),
        path(slowed),
        "--threshold",
        "5%",
        "--implementations",
        "weft",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("| mutex | uncontended | threads=1 | weft |"),
        "{stdout}"
    );
    assert!(stdout.contains("REGRESSION"), "{stdout}");
    assert!(!stdout.contains("| std |"), "{stdout}");

    // Relative to std, measured in the same rounds: still a regression.
    let (code, stdout, stderr) = weft_bench(&[
        "compare",
        path(normal),
        path(slowed),
        "--relative-to",
        "std",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("| base × std | new × std |"), "{stdout}");
    assert!(stdout.contains("REGRESSION"), "{stdout}");

    // The other way round the slowed build is the base: an improvement, and the gate passes.
    let (code, stdout, stderr) = weft_bench(&[
        "compare",
        path(slowed),
        path(normal),
        "--implementation",
        "weft",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("improvement"), "{stdout}");

    // A file compared with itself: nothing changed.
    let (code, stdout, _) = weft_bench(&["compare", path(normal), path(normal)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("0 regressions, 0 improvements, 2 within noise"),
        "{stdout}"
    );
}

/// The gate on identical code: the normal build measured a second time, minutes or moments
/// after the first, must pass (exit 0) the way a CI gate runs it, weft alone and relative to
/// std sampled in the same rounds, so that drift of the machine between the runs cancels.
/// Under the null hypothesis a row is flagged only if its samples rank slower at p < 0.01
/// (two-sided, 9 samples a side) and its median moved by more than the 5% threshold, so this
/// fails by chance at most once in two hundred runs, and every time if the gate fires on
/// noise.
#[test]
fn the_same_build_measured_twice_passes_the_gate() {
    let (normal, _) = files();
    let again = normal.with_file_name("normal-again.json");
    run::<weft::sync::Mutex<u64>>().write(&again).unwrap();
    let (code, stdout, stderr) = weft_bench(&[
        "compare",
        path(normal),
        path(&again),
        "--implementations",
        "weft",
        "--relative-to",
        "std",
    ]);
    assert_eq!(code, 0, "identical code failed the gate:\n{stdout}{stderr}");
    assert!(stdout.contains("0 regressions"), "{stdout}");
}

#[test]
fn compare_errors_exit_2() {
    let (normal, _) = files();
    let (code, _, stderr) = weft_bench(&["compare", path(normal), "/nonexistent/new.json"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = weft_bench(&[
        "compare",
        path(normal),
        path(normal),
        "--implementations",
        "nobody",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no cases to compare"), "{stderr}");
}

#[test]
fn export_writes_both_dashboard_formats() {
    let (normal, _) = files();
    let (code, stdout, stderr) = weft_bench(&["export", "--format", "bmf", path(normal)]);
    assert_eq!(code, 0, "{stderr}");
    let bmf: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let latency = &bmf["mutex/uncontended/threads=1/weft"]["latency"];
    assert!(latency["value"].as_f64().unwrap() > 0.0, "{bmf}");
    assert!(latency["lower_value"].as_f64() <= latency["value"].as_f64());
    assert!(bmf.get("mutex/uncontended/threads=1/std").is_some());

    let (code, stdout, stderr) = weft_bench(&[
        "export",
        "--format",
        "github-action-benchmark",
        path(normal),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let gab: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let entries = gab.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["unit"], "ns/op");
    assert!(entries[0]["name"]
        .as_str()
        .unwrap()
        .starts_with("mutex/uncontended/threads=1/"));

    let (code, _, stderr) = weft_bench(&["export", "--format", "csv", path(normal)]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn report_draws_both_runs() {
    let (normal, slowed) = files();
    let out = normal.parent().unwrap().join("site");
    let (code, _, stderr) = weft_bench(&[
        "report",
        path(normal),
        path(slowed),
        "--out-dir",
        path(&out),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<section id=\"normal\">") && html.contains("<section id=\"slowed\">"));
    assert!(out.join("plots/normal/mutex-uncontended.svg").is_file());
    assert!(out.join("plots/slowed/mutex-uncontended.svg").is_file());
}
