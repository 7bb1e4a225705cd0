//! The result file: serde types for schema version 1, documented in `results/README.md`.
//!
//! Field names are a contract with the dashboards and scripts that read these files: add
//! fields if needed, but never rename or repurpose one without bumping [`SCHEMA_VERSION`].

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::machine::Machine;
use crate::run_info::RunInfo;
use crate::stats;

/// The version of the result-file format this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One run of the suite: provenance, machine and one row per measured combination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// What was run and how it was built.
    pub run: RunInfo,
    /// Where it ran.
    pub machine: Machine,
    /// One row per (suite, workload, params, implementation).
    pub results: Vec<ResultRow>,
}

/// The measurements of one implementation on one workload with one set of parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// The suite (primitive family), e.g. `"mutex"`.
    pub suite: String,
    /// The workload within the suite, e.g. `"contended"`.
    pub workload: String,
    /// The implementation measured, e.g. `"weft"` or `"parking_lot"`.
    pub implementation: String,
    /// The workload's parameters.
    pub params: Params,
    /// Operations timed per sample (what an operation is depends on the workload; see
    /// `results/README.md`).
    pub ops: u64,
    /// What `samples_ns_per_op` and the summary fields hold, one of the constants in [`unit`](mod@unit):
    /// [`unit::NS_PER_OP`] for nearly every workload, but the idle workloads record CPU time
    /// per idle millisecond and `sleep_lateness` a lateness (see [`unit_of`]). The field names
    /// keep `ns_per_op` for the dashboards that read them. Files written before this field
    /// existed read as empty here and [`ResultFile::read`] fills it in from the workload.
    #[serde(default)]
    pub unit: String,
    /// Each sample's elapsed time divided by `ops`, in the order they were taken (in
    /// [`unit`](ResultRow::unit)).
    pub samples_ns_per_op: Vec<f64>,
    /// Median of `samples_ns_per_op`.
    pub median_ns_per_op: f64,
    /// Fastest sample.
    pub min_ns_per_op: f64,
    /// Slowest sample.
    pub max_ns_per_op: f64,
    /// `(max - min) / median`.
    pub spread: f64,
    /// The CPU each of the sample's threads was pinned to, in the workload's thread order
    /// (see `results/README.md`); absent when the threads were not pinned (`--placement
    /// none`, the Go twin, files written before placement existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Vec<usize>>,
    /// For hand-off workloads: the cache-line round trip among the CPUs the row ran on (see
    /// [`crate::floor`]), ns: with pinning, the median over the pairs of distinct CPUs in
    /// `cpus`; unpinned, the median over the machine's pairs. Absent for other workloads,
    /// for threads all on one CPU, and where no floor was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_ns: Option<f64>,
    /// `median_ns_per_op / floor_ns`: how many cache-line round trips one operation costs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_floor: Option<f64>,
}

/// The values of [`ResultRow::unit`].
pub mod unit {
    /// Nanoseconds per operation (an operation as each workload defines it): lower is better.
    pub const NS_PER_OP: &str = "ns per op";
    /// CPU nanoseconds the whole process used per millisecond of idle wall time (`sched`
    /// `idle_cpu`, `time` `idle_timers`; `ops` counts the idle milliseconds): lower is better.
    pub const CPU_NS_PER_IDLE_MS: &str = "CPU ns per idle ms";
    /// Nanoseconds a sleeper woke after its deadline, one quantile of a sample (`time`
    /// `sleep_lateness`, `ops` = 1): lower is better.
    pub const NS_LATE: &str = "ns of lateness";
}

/// The unit of a workload's values: [`unit::NS_PER_OP`] but for the workloads whose value is
/// not a time per operation. The one list of them, for the Rust suites and the Go twin alike.
pub fn unit_of(suite: &str, workload: &str) -> &'static str {
    match (suite, workload) {
        ("sched", "idle_cpu") | ("time", "idle_timers") => unit::CPU_NS_PER_IDLE_MS,
        ("time", "sleep_lateness") => unit::NS_LATE,
        _ => unit::NS_PER_OP,
    }
}

/// Rows whose [`ResultRow::spread`] exceeds this are noisy: the slowest sample and the
/// fastest differ by more than half the median, so the median is uncertain by a similar
/// share and a difference smaller than that between two implementations may be chance. The
/// report marks them.
pub const NOISY_SPREAD: f64 = 0.5;

/// Parameter keys that describe how an implementation was set up rather than the workload:
/// the Go twin's `gomaxprocs`. Rows whose parameters differ only in these keys measure the
/// same case, and tables put them in one row (see [`Params::case`]).
pub const SETUP_PARAMS: &[&str] = &["gomaxprocs"];

/// A workload's parameters: a thread count plus workload-specific values (e.g. `capacity`),
/// and possibly an implementation's [`SETUP_PARAMS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Threads doing the workload's operations (each workload says which threads it counts).
    pub threads: usize,
    /// Further parameters, serialised beside `threads` in the same object.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Params {
    /// Parameters with only a thread count.
    pub fn threads(threads: usize) -> Params {
        Params {
            threads,
            extra: BTreeMap::new(),
        }
    }

    /// Adds a workload-specific parameter.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Params {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// The parameters that identify the case: these without the [`SETUP_PARAMS`].
    pub fn case(&self) -> Params {
        let mut case = self.clone();
        case.extra
            .retain(|k, _| !SETUP_PARAMS.contains(&k.as_str()));
        case
    }

    /// The [`SETUP_PARAMS`] among these, as `key=value` strings.
    pub fn setup(&self) -> Vec<String> {
        self.extra
            .iter()
            .filter(|(k, _)| SETUP_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }
}

impl ResultRow {
    /// A row from its samples, with the summary fields computed.
    ///
    /// # Panics
    ///
    /// If `samples_ns_per_op` is empty or holds a NaN.
    pub fn new(
        suite: &str,
        workload: &str,
        implementation: &str,
        params: Params,
        ops: u64,
        samples_ns_per_op: Vec<f64>,
    ) -> ResultRow {
        let summary = stats::summarize(&samples_ns_per_op).expect("a result needs samples");
        ResultRow {
            suite: suite.to_owned(),
            workload: workload.to_owned(),
            implementation: implementation.to_owned(),
            params,
            ops,
            unit: unit_of(suite, workload).to_owned(),
            samples_ns_per_op,
            median_ns_per_op: summary.median,
            min_ns_per_op: summary.min,
            max_ns_per_op: summary.max,
            spread: summary.spread,
            cpus: None,
            floor_ns: None,
            x_floor: None,
        }
    }

    /// Whether the row's samples disagree enough to distrust its median: its spread exceeds
    /// [`NOISY_SPREAD`].
    pub fn is_noisy(&self) -> bool {
        self.spread > NOISY_SPREAD
    }
}

impl ResultFile {
    /// Reads a result file. Rows of suite `chan` written before `params.msg_bytes` existed
    /// get `msg_bytes` 8, the word they sent, so that they line up with the 8-byte rows of
    /// newer files (in `compare`, say); rows written before `unit` existed get their
    /// workload's ([`unit_of`]).
    ///
    /// # Errors
    ///
    /// If the file cannot be read, is not JSON, has a `schema_version` other than
    /// [`SCHEMA_VERSION`], or does not match the schema.
    pub fn read(path: &Path) -> io::Result<ResultFile> {
        let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidData, e);
        let text = fs::read_to_string(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            other => {
                return Err(invalid(format!(
                    "{}: schema_version {other:?}, this weft-bench reads {SCHEMA_VERSION}",
                    path.display()
                )))
            }
        }
        let mut file: ResultFile = serde_json::from_value(value)
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        for row in file.results.iter_mut().filter(|r| r.suite == "chan") {
            row.params
                .extra
                .entry("msg_bytes".to_owned())
                .or_insert_with(|| 8.into());
        }
        for row in file.results.iter_mut().filter(|r| r.unit.is_empty()) {
            row.unit = unit_of(&row.suite, &row.workload).to_owned();
        }
        Ok(file)
    }

    /// Writes the file as pretty-printed JSON, creating missing parent directories.
    ///
    /// # Errors
    ///
    /// If a directory or the file cannot be created or written.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        let mut json = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        json.push('\n');
        fs::write(path, json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_flatten_beside_threads() {
        let p = Params::threads(4).with("capacity", 1024);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json, serde_json::json!({"threads": 4, "capacity": 1024}));
        assert_eq!(serde_json::from_value::<Params>(json).unwrap(), p);
    }

    #[test]
    fn setup_params_are_not_part_of_the_case() {
        let go = Params::threads(2).with("capacity", 1).with("gomaxprocs", 8);
        assert_eq!(go.case(), Params::threads(2).with("capacity", 1));
        assert_eq!(go.setup(), ["gomaxprocs=8"]);
        assert!(Params::threads(2).setup().is_empty());
    }

    #[test]
    fn row_summarises_its_samples() {
        let row = ResultRow::new("s", "w", "i", Params::threads(1), 10, vec![3.0, 1.0, 2.0]);
        assert_eq!(
            (row.median_ns_per_op, row.min_ns_per_op, row.max_ns_per_op),
            (2.0, 1.0, 3.0)
        );
        assert_eq!(row.spread, 1.0);
        assert_eq!(row.unit, "ns per op");
        assert!(row.is_noisy());
        let calm = ResultRow::new("s", "w", "i", Params::threads(1), 10, vec![2.0, 2.5, 2.0]);
        assert!(!calm.is_noisy(), "spread {}", calm.spread);
    }

    #[test]
    fn idle_and_lateness_rows_carry_their_unit() {
        let row = |suite, workload| {
            ResultRow::new(
                suite,
                workload,
                "weft",
                Params::threads(1),
                100,
                vec![500.0],
            )
            .unit
        };
        assert_eq!(row("sched", "idle_cpu"), "CPU ns per idle ms");
        assert_eq!(row("time", "idle_timers"), "CPU ns per idle ms");
        assert_eq!(row("time", "sleep_lateness"), "ns of lateness");
        assert_eq!(row("time", "sleep_many"), "ns per op");
        assert_eq!(row("sched", "spawn_many"), "ns per op");
        let json = serde_json::to_value(ResultRow::new(
            "sched",
            "idle_cpu",
            "go",
            Params::threads(1),
            100,
            vec![1.0],
        ))
        .unwrap();
        assert_eq!(json["unit"], "CPU ns per idle ms");
    }

    /// A file written before `unit` existed still loads, each row with its workload's unit.
    #[test]
    fn a_file_without_units_loads_with_them_filled_in() {
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(false),
            machine: Machine::detect(),
            results: vec![
                ResultRow::new(
                    "sched",
                    "idle_cpu",
                    "weft",
                    Params::threads(2),
                    100,
                    vec![5e2],
                ),
                ResultRow::new(
                    "mutex",
                    "contended",
                    "std",
                    Params::threads(2),
                    10,
                    vec![1.0],
                ),
            ],
        };
        let mut json = serde_json::to_value(&file).unwrap();
        for row in json["results"].as_array_mut().unwrap() {
            assert!(row.as_object_mut().unwrap().remove("unit").is_some());
        }
        let dir = std::env::temp_dir().join(format!("weft-bench-units-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.json");
        fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
        let read = ResultFile::read(&path).unwrap();
        assert_eq!(read, file);
        assert_eq!(read.results[0].unit, "CPU ns per idle ms");
        assert_eq!(read.results[1].unit, "ns per op");
        // Plain serde (no fill-in) takes the default.
        let row: ResultRow = serde_json::from_value(json["results"][1].clone()).unwrap();
        assert_eq!(row.unit, "");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn round_trips_through_a_file_and_checks_the_version() {
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(false),
            machine: Machine::detect(),
            results: vec![ResultRow::new(
                "mutex",
                "contended",
                "weft",
                Params::threads(2),
                100,
                vec![1.5, 2.5],
            )],
        };
        let dir = std::env::temp_dir().join(format!("weft-bench-result-{}", std::process::id()));
        let path = dir.join("nested/out.json");
        file.write(&path).unwrap();
        assert_eq!(ResultFile::read(&path).unwrap(), file);

        let text = fs::read_to_string(&path).unwrap();
        fs::write(
            &path,
            text.replace("\"schema_version\": 1", "\"schema_version\": 99"),
        )
        .unwrap();
        let err = ResultFile::read(&path).unwrap_err().to_string();
        assert!(err.contains("schema_version Some(99)"), "{err}");

        // An older chan row, without msg_bytes, reads as the 8-byte case.
        let mut old = file.clone();
        old.results[0].suite = "chan".to_owned();
        old.write(&path).unwrap();
        let read = ResultFile::read(&path).unwrap();
        assert_eq!(read.results[0].params.extra["msg_bytes"], 8);
        fs::remove_dir_all(dir).unwrap();
    }
}
