//! A result file in the formats that existing benchmark dashboards read.
//!
//! - [`bmf`]: Bencher Metric Format JSON, one benchmark per row with the built-in `latency`
//!   measure (nanoseconds): `{"<name>": {"latency": {"value": median, "lower_value": min,
//!   "upper_value": max}}}`.
//! - [`github_action_benchmark`]: github-action-benchmark's `customSmallerIsBetter` input, an
//!   array of `{"name", "unit", "value", "range", "extra"}` with the median ns per op as the
//!   value.
//!
//! Both name a row with [`benchmark_names`]: `suite/workload/params/implementation`, e.g.
//! `chan/spsc/threads=1,capacity=1024/weft`, stable across runs and machines so that a
//! dashboard keeps one history per case.

use serde_json::{json, Map, Value};

use crate::compare::params_text;
use crate::result::{ResultFile, ResultRow};

/// The formats [`export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Bencher Metric Format.
    Bmf,
    /// github-action-benchmark's `customSmallerIsBetter`.
    GithubActionBenchmark,
}

impl Format {
    /// The format called `name` (`bmf` or `github-action-benchmark`).
    ///
    /// # Errors
    ///
    /// If the name is neither.
    pub fn parse(name: &str) -> Result<Format, String> {
        match name {
            "bmf" => Ok(Format::Bmf),
            "github-action-benchmark" => Ok(Format::GithubActionBenchmark),
            _ => Err(format!(
                "unknown format {name:?}; known: bmf, github-action-benchmark"
            )),
        }
    }
}

/// `file` in `format`.
pub fn export(file: &ResultFile, format: Format) -> Value {
    match format {
        Format::Bmf => bmf(file),
        Format::GithubActionBenchmark => github_action_benchmark(file),
    }
}

/// Each row's benchmark name, in the file's order: `suite/workload/params/implementation`,
/// where params is `threads=T` and then the workload's other parameters in key order
/// (`threads=2,capacity=1024`). An implementation's setup parameters (the Go twin's
/// `gomaxprocs`) are left out, so that the name does not change with the machine, unless two
/// rows would otherwise share a name; then both get them appended in brackets.
pub fn benchmark_names(file: &ResultFile) -> Vec<String> {
    let base = |row: &ResultRow| {
        format!(
            "{}/{}/{}/{}",
            row.suite,
            row.workload,
            params_text(&row.params.case(), ","),
            row.implementation
        )
    };
    let names: Vec<String> = file.results.iter().map(base).collect();
    names
        .iter()
        .zip(&file.results)
        .map(|(name, row)| {
            let shared = names.iter().filter(|n| *n == name).count() > 1;
            let setup = row.params.setup();
            if shared && !setup.is_empty() {
                format!("{name} [{}]", setup.join(","))
            } else {
                name.clone()
            }
        })
        .collect()
}

/// Bencher Metric Format: an object with a key per benchmark name, each holding the
/// `latency` measure in nanoseconds per op: the median as `value`, the fastest and slowest
/// samples as `lower_value` and `upper_value`.
pub fn bmf(file: &ResultFile) -> Value {
    let mut out = Map::new();
    for (name, row) in benchmark_names(file).into_iter().zip(&file.results) {
        out.insert(
            name,
            json!({
                "latency": {
                    "value": row.median_ns_per_op,
                    "lower_value": row.min_ns_per_op,
                    "upper_value": row.max_ns_per_op,
                }
            }),
        );
    }
    Value::Object(out)
}

/// github-action-benchmark's `customSmallerIsBetter` array: per row the benchmark name, unit
/// `ns/op`, the median as `value`, `range` as `± half the (max - min) span`, and `extra`
/// with the extremes, sample count, operations per sample, setup parameters and the run's
/// commit.
pub fn github_action_benchmark(file: &ResultFile) -> Value {
    let commit = file
        .run
        .commit
        .as_deref()
        .map_or("unknown", |c| &c[..c.len().min(12)]);
    let entries: Vec<Value> = benchmark_names(file)
        .into_iter()
        .zip(&file.results)
        .map(|(name, row)| {
            let unit = export_unit(row);
            let mut extra = format!(
                "min {} max {} {unit}, {} samples of {} ops, commit {commit}",
                row.min_ns_per_op,
                row.max_ns_per_op,
                row.samples_ns_per_op.len(),
                row.ops
            );
            for setup in row.params.setup() {
                extra.push_str(", ");
                extra.push_str(&setup);
            }
            json!({
                "name": name,
                "unit": unit,
                "value": row.median_ns_per_op,
                "range": format!("± {}", half_span(row)),
                "extra": extra,
            })
        })
        .collect();
    Value::Array(entries)
}

/// The dashboard's unit for `row`: `ns/op` for time per operation (what
/// github-action-benchmark's `customSmallerIsBetter` users expect), else the row's own unit
/// (`CPU ns per idle ms`, `ns of lateness`), so that those rows are not read as times.
fn export_unit(row: &ResultRow) -> &str {
    match row.unit.as_str() {
        "" | "ns per op" => "ns/op",
        other => other,
    }
}

/// Half of `max - min`, rounded to 4 significant digits.
fn half_span(row: &ResultRow) -> String {
    let half = (row.max_ns_per_op - row.min_ns_per_op) / 2.0;
    if half == 0.0 {
        return "0".to_owned();
    }
    let digits = (3 - half.abs().log10().floor() as i32).max(0) as usize;
    format!("{half:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::result::{Params, SCHEMA_VERSION};
    use crate::run_info::RunInfo;

    fn file() -> ResultFile {
        let go = ResultRow::new(
            "chan",
            "spsc",
            "go",
            Params::threads(1)
                .with("capacity", 1024)
                .with("gomaxprocs", 2),
            5000,
            vec![30.0, 34.0, 32.0],
        );
        ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: vec![
                ResultRow::new(
                    "mutex",
                    "contended",
                    "weft",
                    Params::threads(2),
                    1000,
                    vec![12.0, 10.0, 11.0],
                ),
                ResultRow::new(
                    "chan",
                    "spsc",
                    "weft",
                    Params::threads(1).with("capacity", "unbounded"),
                    5000,
                    vec![20.0, 21.0],
                ),
                go,
            ],
        }
    }

    #[test]
    fn names_are_suite_workload_params_implementation() {
        assert_eq!(
            benchmark_names(&file()),
            [
                "mutex/contended/threads=2/weft",
                "chan/spsc/threads=1,capacity=unbounded/weft",
                "chan/spsc/threads=1,capacity=1024/go",
            ]
        );
    }

    #[test]
    fn setup_params_join_a_name_only_to_tell_rows_apart() {
        let mut f = file();
        let mut other = f.results[2].clone();
        other.params = Params::threads(1)
            .with("capacity", 1024)
            .with("gomaxprocs", 8);
        f.results.push(other);
        let names = benchmark_names(&f);
        assert_eq!(
            names[2],
            "chan/spsc/threads=1,capacity=1024/go [gomaxprocs=2]"
        );
        assert_eq!(
            names[3],
            "chan/spsc/threads=1,capacity=1024/go [gomaxprocs=8]"
        );
    }

    #[test]
    fn bmf_shape() {
        let v = bmf(&file());
        let text = serde_json::to_string(&v).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        let obj = back.as_object().unwrap();
        assert_eq!(obj.len(), 3);
        assert_eq!(
            obj["mutex/contended/threads=2/weft"],
            json!({"latency": {"value": 11.0, "lower_value": 10.0, "upper_value": 12.0}})
        );
        for (_, benchmark) in obj {
            let measures = benchmark.as_object().unwrap();
            assert_eq!(measures.keys().collect::<Vec<_>>(), ["latency"]);
            let m = measures["latency"].as_object().unwrap();
            assert!(m["value"].is_f64() && m["lower_value"].is_f64() && m["upper_value"].is_f64());
            assert!(m["lower_value"].as_f64() <= m["value"].as_f64());
            assert!(m["value"].as_f64() <= m["upper_value"].as_f64());
        }
    }

    #[test]
    fn rows_that_are_not_times_keep_their_unit() {
        let mut f = file();
        f.results.push(ResultRow::new(
            "sched",
            "idle_cpu",
            "weft",
            Params::threads(4),
            1,
            vec![600.0, 650.0],
        ));
        let v = github_action_benchmark(&f);
        let last = v.as_array().unwrap().last().unwrap();
        assert_eq!(last["name"], "sched/idle_cpu/threads=4/weft");
        assert_eq!(last["unit"], "CPU ns per idle ms");
        assert!(last["extra"]
            .as_str()
            .unwrap()
            .contains("CPU ns per idle ms"));
    }

    #[test]
    fn github_action_benchmark_shape() {
        let v = github_action_benchmark(&file());
        let entries = v.as_array().unwrap();
        assert_eq!(entries.len(), 3);
        for e in entries {
            let mut keys: Vec<&String> = e.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["extra", "name", "range", "unit", "value"]);
            assert!(e["name"].is_string() && e["range"].is_string() && e["extra"].is_string());
            assert_eq!(e["unit"], "ns/op");
            assert!(e["value"].is_number());
        }
        assert_eq!(entries[0]["name"], "mutex/contended/threads=2/weft");
        assert_eq!(entries[0]["value"], 11.0);
        assert_eq!(entries[0]["range"], "± 1.000");
        let extra = entries[2]["extra"].as_str().unwrap();
        assert!(
            extra.starts_with("min 30 max 34 ns/op, 3 samples of 5000 ops, commit "),
            "{extra}"
        );
        assert!(extra.ends_with(", gomaxprocs=2"), "{extra}");
    }

    #[test]
    fn formats_by_name() {
        assert_eq!(Format::parse("bmf"), Ok(Format::Bmf));
        assert_eq!(
            Format::parse("github-action-benchmark"),
            Ok(Format::GithubActionBenchmark)
        );
        assert!(Format::parse("csv").is_err());
        assert!(export(&file(), Format::Bmf).is_object());
        assert!(export(&file(), Format::GithubActionBenchmark).is_array());
    }
}
