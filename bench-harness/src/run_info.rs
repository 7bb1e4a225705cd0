//! What was run, from which source, built how, and when.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::machine::parse_cpu_list;

/// Provenance of one run of the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// `git rev-parse HEAD` of the weft checkout, or `None` outside a git checkout.
    pub commit: Option<String>,
    /// Whether tracked files differed from `commit` (`git status --porcelain
    /// --untracked-files=no` was non-empty). Untracked files are ignored so that earlier,
    /// uncommitted result files do not mark a run dirty.
    pub dirty: Option<bool>,
    /// `rustc -V` of the compiler that built this binary (captured by `build.rs`).
    pub rustc: String,
    /// The target triple this binary was built for.
    pub target: String,
    /// Extra flags the build passed to rustc (`RUSTFLAGS`), space separated; usually empty.
    pub rustflags: String,
    /// `"release"` or `"debug"` (whether debug assertions were on).
    pub profile: String,
    /// The command line, arguments separated by spaces (quoted where they contain spaces).
    pub command: String,
    /// When the run started, UTC, RFC 3339 (`2026-05-01T12:34:56Z`).
    pub timestamp: String,
    /// Whether this was a `--quick` run (fewer operations and samples).
    pub quick: bool,
    /// Thread placement: `"compact"` or `"scatter"` when `--placement` pinned each thread
    /// (the order is `cpu_order`, each row's map its `cpus`); otherwise `"unpinned"` (threads
    /// are left to the OS scheduler, on every online CPU), or `"confined to CPUs <list>"`
    /// when the process's affinity mask (`taskset`, a cpuset) allowed fewer CPUs than were
    /// online: its threads float among those.
    pub placement: String,
    /// With pinning, the order in which threads were given CPUs: a sample's thread `i` ran
    /// on `cpu_order[i % cpu_order.len()]`. `None` unpinned, and in files written before
    /// placement existed.
    #[serde(default)]
    pub cpu_order: Option<Vec<usize>>,
    /// The Go that built and ran the Go twin (`"go1.19.8 linux/amd64"`), or `None` when the
    /// run has no `go` rows. Absent in files written before the twin existed.
    #[serde(default)]
    pub go: Option<String>,
    /// The versions of weft's package and of the peer crates this binary was built with, as
    /// resolved in Cargo.lock (`{"tokio": "1.48.0", ...}`). Absent in files written before
    /// they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crates: Option<std::collections::BTreeMap<String, String>>,
}

impl RunInfo {
    /// Describes the current run. `quick` is recorded as given.
    pub fn collect(quick: bool) -> RunInfo {
        // The checkout this binary was built from, wherever it is run from.
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let commit = git(repo, &["rev-parse", "HEAD"]);
        let dirty = commit
            .as_ref()
            .and_then(|_| git(repo, &["status", "--porcelain", "--untracked-files=no"]))
            .map(|status| !status.is_empty());
        RunInfo {
            commit,
            dirty,
            rustc: env!("WEFT_BENCH_RUSTC").to_owned(),
            target: env!("WEFT_BENCH_TARGET").to_owned(),
            rustflags: env!("WEFT_BENCH_RUSTFLAGS").to_owned(),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
            command: command_line(std::env::args()),
            timestamp: rfc3339_utc(SystemTime::now()),
            quick,
            placement: placement(
                fs::read_to_string("/proc/self/status").ok().as_deref(),
                fs::read_to_string("/sys/devices/system/cpu/online")
                    .ok()
                    .as_deref(),
            ),
            cpu_order: None,
            go: None,
            crates: Some(crate_versions(env!("WEFT_BENCH_PEERS"))),
        }
    }
}

/// Parses `build.rs`'s `name=version;name=version` list.
fn crate_versions(list: &str) -> std::collections::BTreeMap<String, String> {
    list.split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The placement from this process's `/proc/self/status` (its `Cpus_allowed_list`) and the
/// online CPU list (`/sys/devices/system/cpu/online`): `"confined to CPUs <list>"` when some
/// online CPU is outside the mask, else (also when either is unknown) `"unpinned"`.
fn placement(status: Option<&str>, online: Option<&str>) -> String {
    let allowed = status.and_then(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .map(str::trim)
    });
    let (Some(allowed), Some(online)) = (allowed, online) else {
        return "unpinned".to_owned();
    };
    match (parse_cpu_list(allowed), parse_cpu_list(online)) {
        (Some(mask), Some(online)) if online.iter().any(|cpu| !mask.contains(cpu)) => {
            format!("confined to CPUs {allowed}")
        }
        _ => "unpinned".to_owned(),
    }
}

/// Runs `git args` in `dir`; its trimmed stdout, or `None` if git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Joins arguments with spaces, single-quoting any that are empty or contain whitespace or
/// quotes, so the line can be pasted back into a shell.
fn command_line(args: impl IntoIterator<Item = String>) -> String {
    args.into_iter()
        .map(|arg| {
            if !arg.is_empty()
                && !arg
                    .chars()
                    .any(|c| c.is_whitespace() || "'\"\\$`".contains(c))
            {
                arg
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Formats `time` as an RFC 3339 UTC timestamp with whole seconds. Times before 1970 are
/// clamped to the epoch.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(951_827_696);
/// assert_eq!(weft_bench::run_info::rfc3339_utc(t), "2000-02-29T12:34:56Z");
/// ```
pub fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html#civil_from_days>), for
/// non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097; // 400-year eras
    let doe = z % 146_097; // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn timestamps() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(86_399), "1970-01-01T23:59:59Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(951_868_800), "2000-03-01T00:00:00Z");
        assert_eq!(at(1_234_567_890), "2009-02-13T23:31:30Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z"); // 2100 is not a leap year
        assert_eq!(at(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn before_epoch_clamps() {
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn day_by_day_matches_a_naive_calendar() {
        let (mut y, mut m, mut d) = (1970, 1, 1);
        for days in 0..200_000 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let len = [
                31,
                28 + u64::from(leap),
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            d += 1;
            if d > len[m as usize - 1] {
                (d, m) = (1, m + 1);
                if m > 12 {
                    (m, y) = (1, y + 1);
                }
            }
        }
    }

    #[test]
    fn command_lines_quote_what_a_shell_would_split() {
        let args = ["weft-bench", "run", "--out", "my results.json", "", "it's"];
        assert_eq!(
            command_line(args.map(String::from)),
            r"weft-bench run --out 'my results.json' '' 'it'\''s'"
        );
    }

    #[test]
    fn placement_names_a_confining_affinity_mask() {
        let status = |list: &str| format!("Name:\tweft-bench\nCpus_allowed_list:\t{list}\n");
        assert_eq!(placement(Some(&status("0-1")), Some("0-1\n")), "unpinned");
        assert_eq!(
            placement(Some(&status("0")), Some("0-1\n")),
            "confined to CPUs 0"
        );
        assert_eq!(
            placement(Some(&status("0,2-3")), Some("0-3")),
            "confined to CPUs 0,2-3"
        );
        assert_eq!(placement(Some(&status("0")), None), "unpinned");
        assert_eq!(placement(None, Some("0-1")), "unpinned");
        assert_eq!(placement(Some("Name: x\n"), Some("0-1")), "unpinned");
    }

    #[test]
    fn collects() {
        let info = RunInfo::collect(true);
        assert!(info.rustc.starts_with("rustc "), "{}", info.rustc);
        assert!(info.quick);
        assert_eq!(info.timestamp.len(), "1970-01-01T00:00:00Z".len());
        let crates = info.crates.expect("crate versions recorded");
        for name in [
            "weft-go",
            "tokio",
            "crossbeam-channel",
            "kanal",
            "parking_lot",
        ] {
            let v = crates
                .get(name)
                .unwrap_or_else(|| panic!("{name} in {crates:?}"));
            assert!(v.split('.').count() == 3, "{name} {v}");
        }
        // The manifest asks for parking_lot 0.13 (tokio's tree may lock 0.12 beside it).
        assert!(crates["parking_lot"].starts_with("0.13."), "{crates:?}");
    }
}
