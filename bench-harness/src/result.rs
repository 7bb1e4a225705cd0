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
    /// Each sample's elapsed time divided by `ops`, in the order they were taken.
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
}

impl ResultFile {
    /// Reads a result file. Rows of suite `chan` written before `params.msg_bytes` existed
    /// get `msg_bytes` 8, the word they sent, so that they line up with the 8-byte rows of
    /// newer files (in `compare`, say).
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
