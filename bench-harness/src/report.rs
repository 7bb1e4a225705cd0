//! Markdown tables drawn from a result file: one table per suite, a row per (workload,
//! parameters), a column per implementation. Rows that differ only in an implementation's
//! setup parameters ([`crate::result::SETUP_PARAMS`], e.g. the Go twin's `gomaxprocs`) share a
//! table row; the setup is noted under the table.

use std::fmt::Write;

use crate::go_twin;
use crate::result::{self, Params, ResultFile, ResultRow, NOISY_SPREAD};
use crate::suites;

/// The name of the implementation whose ratio to the best peer the tables report.
pub const SUBJECT: &str = "weft";

/// Whether `implementation` is weft itself in another setting (`weft-tokio`: weft's channels
/// on tokio's runtime), which is not a peer: the best-peer ratio leaves it out.
pub fn is_weft(implementation: &str) -> bool {
    implementation == SUBJECT || implementation.starts_with("weft-")
}

/// Renders `file` as markdown: a header naming the machine and build, then per suite a table
/// of median ns per op with the spread, the fastest median in bold, and weft's median divided
/// by the best peer's (below 1: weft is faster), followed by what each workload measures.
/// A noisy cell (spread above [`NOISY_SPREAD`]) carries [`NOISY_MARK`].
pub fn markdown(file: &ResultFile) -> String {
    let mut out = header(file);
    for suite in suite_names(file) {
        out.push_str(&suite_markdown(file, suite));
    }
    out
}

/// Marks a noisy cell in the tables.
pub const NOISY_MARK: &str = "⚠";

/// The header of [`markdown`]: the machine, the floor and the build, one line each.
fn header(file: &ResultFile) -> String {
    let mut out = String::new();
    let run = &file.run;
    let commit = run
        .commit
        .as_deref()
        .map_or("unknown commit", |c| &c[..c.len().min(12)]);
    let dirty = if run.dirty == Some(true) {
        " (dirty)"
    } else {
        ""
    };
    let size = if run.quick { "quick" } else { "full" };
    let flags = if run.rustflags.is_empty() {
        String::new()
    } else {
        format!(", RUSTFLAGS=\"{}\"", run.rustflags)
    };
    let _ = writeln!(out, "Machine: {}  ", file.machine.summary());
    if let Some(floor) = crate::floor::summary(&file.machine) {
        let _ = writeln!(out, "{floor}  ");
    }
    let go = run
        .go
        .as_deref()
        .map_or(String::new(), |go| format!(", Go twin {go}"));
    let _ = writeln!(
        out,
        "Build: {commit}{dirty}, {}, {} ({}){flags}{go}, {size} run at {}, threads {}",
        run.rustc, run.profile, run.target, run.timestamp, run.placement
    );
    out
}

/// The suites of `file`, in order of first appearance.
pub fn suite_names(file: &ResultFile) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for row in &file.results {
        if !names.contains(&row.suite.as_str()) {
            names.push(&row.suite);
        }
    }
    names
}

/// The table of one suite of `file`, with its notes, as [`markdown`] renders it (empty for a
/// suite without rows).
pub fn suite_markdown(file: &ResultFile, suite: &str) -> String {
    let rows: Vec<&ResultRow> = file.results.iter().filter(|r| r.suite == suite).collect();
    let mut out = String::new();
    if !rows.is_empty() {
        suite_table(&mut out, suite, &rows);
    }
    out
}

/// Appends the table for one suite.
fn suite_table(out: &mut String, suite: &str, rows: &[&ResultRow]) {
    let mut implementations: Vec<&str> = Vec::new();
    // (workload, params without setup params) in order of first appearance.
    let mut cases: Vec<(&str, Params)> = Vec::new();
    // Each implementation's distinct setup parameters, e.g. ("go", "gomaxprocs=2").
    let mut setups: Vec<(&str, String)> = Vec::new();
    for row in rows {
        if !implementations.contains(&row.implementation.as_str()) {
            implementations.push(&row.implementation);
        }
        let case = row.params.case();
        if !cases.iter().any(|(w, p)| *w == row.workload && *p == case) {
            cases.push((&row.workload, case));
        }
        for setup in row.params.setup() {
            if !setups
                .iter()
                .any(|(i, s)| *i == row.implementation && *s == setup)
            {
                setups.push((&row.implementation, setup));
            }
        }
    }
    let has_extra = cases.iter().any(|(_, p)| !p.extra.is_empty());
    let has_subject = implementations.contains(&SUBJECT) && implementations.len() > 1;

    // Workloads whose values are not times per op, named in the heading.
    let mut other_units: Vec<String> = Vec::new();
    for (workload, _) in &cases {
        let unit = result::unit_of(suite, workload);
        let text = format!("`{workload}`: {unit}");
        if unit != result::unit::NS_PER_OP && !other_units.contains(&text) {
            other_units.push(text);
        }
    }
    let other_units = if other_units.is_empty() {
        String::new()
    } else {
        format!(" ({})", other_units.join(", "))
    };
    let _ = writeln!(
        out,
        "\n### {suite}: ns per op{other_units}, median ±spread (lower is better)\n"
    );
    let mut header = vec!["workload", "threads"];
    if has_extra {
        header.push("params");
    }
    header.extend(&implementations);
    let ratio_header = format!("{SUBJECT} / best peer");
    if has_subject {
        header.push(&ratio_header);
    }
    // The subject's median as a multiple of the physical floor (hand-off rows only).
    let floor_header = format!("{SUBJECT} x floor");
    let has_floor = rows
        .iter()
        .any(|r| r.implementation == SUBJECT && r.x_floor.is_some());
    if has_floor {
        header.push(&floor_header);
    }
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let align: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if i == 0 || (has_extra && i == 2) {
                "---"
            } else {
                "---:"
            }
        })
        .collect();
    let _ = writeln!(out, "|{}|", align.join("|"));

    for (workload, params) in &cases {
        let of = |implementation: &str| {
            rows.iter().find(|r| {
                r.workload == *workload
                    && r.params.case() == *params
                    && r.implementation == implementation
            })
        };
        let best = implementations
            .iter()
            .filter_map(|i| of(i))
            .map(|r| r.median_ns_per_op)
            .fold(f64::INFINITY, f64::min);
        let mut cells = vec![workload.to_string(), params.threads.to_string()];
        if has_extra {
            let extra: Vec<String> = params
                .extra
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            cells.push(extra.join(" "));
        }
        for implementation in &implementations {
            cells.push(match of(implementation) {
                Some(r) => {
                    let median = format_ns(r.median_ns_per_op);
                    let median = if r.median_ns_per_op == best {
                        format!("**{median}**")
                    } else {
                        median
                    };
                    let mark = if r.is_noisy() {
                        format!(" {NOISY_MARK}")
                    } else {
                        String::new()
                    };
                    format!("{median} ±{:.0}%{mark}", r.spread * 100.0)
                }
                None => "—".to_owned(),
            });
        }
        if has_subject {
            let subject = of(SUBJECT).map(|r| r.median_ns_per_op);
            let best_peer = implementations
                .iter()
                .filter(|i| !is_weft(i))
                .filter_map(|i| of(i))
                .map(|r| r.median_ns_per_op)
                .fold(f64::INFINITY, f64::min);
            cells.push(match subject {
                Some(s) if best_peer.is_finite() && best_peer > 0.0 => {
                    format!("{:.2}x", s / best_peer)
                }
                _ => "—".to_owned(),
            });
        }
        if has_floor {
            cells.push(
                of(SUBJECT)
                    .and_then(|r| crate::floor::multiple_cell(r))
                    .unwrap_or_else(|| "—".to_owned()),
            );
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }

    let mut notes = Vec::new();
    let mut described: Vec<&str> = Vec::new();
    for (workload, _) in &cases {
        if !described.contains(workload) {
            described.push(workload);
            if let Some(text) = suites::describe(suite, workload) {
                notes.push(format!("- `{workload}`: {text}"));
            }
            let unit = result::unit_of(suite, workload);
            if unit != result::unit::NS_PER_OP {
                notes.push(format!(
                    "- `{workload}` values are {unit}, not ns per op (lower is better)"
                ));
            }
        }
    }
    if rows.iter().any(|r| r.is_noisy()) {
        notes.push(format!(
            "- {NOISY_MARK} noisy: spread above {:.0}% (the slowest and fastest samples differ \
             by more than half the median), so differences of that size may be chance",
            NOISY_SPREAD * 100.0
        ));
    }
    for implementation in &implementations {
        let setup: Vec<&str> = setups
            .iter()
            .filter(|(i, _)| i == implementation)
            .map(|(_, s)| s.as_str())
            .collect();
        let twin = *implementation == go_twin::IMPLEMENTATION;
        if twin || !setup.is_empty() {
            let what = match (twin, implementations.len()) {
                (true, 1) => "the Go twin (bench-harness/go)",
                (true, _) => {
                    "the Go twin (bench-harness/go), run after the Rust implementations, \
                     not interleaved with them"
                }
                (false, _) => "setup",
            };
            let setup = if setup.is_empty() {
                String::new()
            } else {
                format!("; {}", setup.join(", "))
            };
            notes.push(format!("- `{implementation}`: {what}{setup}"));
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\n{}", notes.join("\n"));
    }
}

/// Three significant figures for typical values: `4.56`, `45.6`, `456`, `4560`.
pub(crate) fn format_ns(ns: f64) -> String {
    if ns < 10.0 {
        format!("{ns:.2}")
    } else if ns < 100.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::result::{Params, SCHEMA_VERSION};
    use crate::run_info::RunInfo;

    fn row(workload: &str, implementation: &str, threads: usize, ns: &[f64]) -> ResultRow {
        ResultRow::new(
            "mutex",
            workload,
            implementation,
            Params::threads(threads),
            1000,
            ns.to_vec(),
        )
    }

    #[test]
    fn table_lists_each_case_once_with_ratio_and_bold_best() {
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: vec![
                row("contended", "weft", 2, &[12.0, 10.0, 11.0]),
                row("contended", "std", 2, &[20.0]),
                row("contended", "parking_lot", 2, &[8.0]),
                row("uncontended", "weft", 1, &[4.5]),
                row("uncontended", "std", 1, &[5.0]),
            ],
        };
        let md = markdown(&file);
        assert!(
            md.contains("| workload | threads | weft | std | parking_lot | weft / best peer |"),
            "{md}"
        );
        assert!(
            md.contains("| contended | 2 | 11.0 ±18% | 20.0 ±0% | **8.00** ±0% | 1.38x |"),
            "{md}"
        );
        assert!(
            md.contains("| uncontended | 1 | **4.50** ±0% | 5.00 ±0% | — | 0.90x |"),
            "{md}"
        );
        assert!(md.contains("- `contended`: T threads"), "{md}");
    }

    /// weft in another setting (weft-tokio) gets its column but is not a peer in the ratio.
    #[test]
    fn weft_in_another_setting_is_not_a_peer() {
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: vec![
                row("contended", "weft", 2, &[10.0]),
                row("contended", "weft-tokio", 2, &[5.0]),
                row("contended", "std", 2, &[20.0]),
            ],
        };
        let md = markdown(&file);
        assert!(
            md.contains("| contended | 2 | 10.0 ±0% | **5.00** ±0% | 20.0 ±0% | 0.50x |"),
            "{md}"
        );
        assert!(is_weft("weft-tokio") && is_weft("weft") && !is_weft("tokio"));
    }

    #[test]
    fn extra_params_get_a_column() {
        let mut r = row("contended", "weft", 1, &[1.0]);
        r.params = r.params.with("capacity", 16);
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(false),
            machine: Machine::detect(),
            results: vec![r],
        };
        let md = markdown(&file);
        assert!(
            md.contains("| workload | threads | params | weft |"),
            "{md}"
        );
        assert!(
            md.contains("| contended | 1 | capacity=16 | **1.00** ±0% |"),
            "{md}"
        );
    }

    #[test]
    fn go_rows_share_the_rust_rows_and_note_their_setup() {
        let mut go = row("contended", "go", 2, &[9.0]);
        go.params = go.params.with("gomaxprocs", 2);
        let mut run = RunInfo::collect(true);
        run.go = Some("go1.19.8 linux/amd64".into());
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run,
            machine: Machine::detect(),
            results: vec![row("contended", "weft", 2, &[12.0]), go],
        };
        let md = markdown(&file);
        assert!(
            md.contains("| workload | threads | weft | go | weft / best peer |"),
            "{md}"
        );
        assert!(
            md.contains("| contended | 2 | 12.0 ±0% | **9.00** ±0% | 1.33x |"),
            "{md}"
        );
        assert!(
            md.contains("- `go`: the Go twin (bench-harness/go)"),
            "{md}"
        );
        assert!(md.contains("; gomaxprocs=2"), "{md}");
        assert!(md.contains("Go twin go1.19.8 linux/amd64"), "{md}");
    }

    #[test]
    fn a_go_only_suite_gets_a_table() {
        let mut spsc = row("spsc", "go", 1, &[100.0]);
        spsc.suite = "chan".into();
        spsc.params = spsc.params.with("capacity", 0).with("gomaxprocs", 2);
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: vec![spsc],
        };
        let md = markdown(&file);
        assert!(md.contains("### chan"), "{md}");
        assert!(md.contains("| workload | threads | params | go |"), "{md}");
        assert!(
            md.contains("| spsc | 1 | capacity=0 | **100** ±0% |"),
            "{md}"
        );
        assert!(md.contains("- `spsc`: one sender and one receiver"), "{md}");
    }

    /// A noisy cell carries the mark, and the table explains it; a calm one does not.
    #[test]
    fn noisy_cells_are_marked_and_explained() {
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: vec![
                row("contended", "weft", 2, &[10.0, 10.0, 16.0]),
                row("contended", "std", 2, &[20.0, 20.0, 22.0]),
            ],
        };
        let md = markdown(&file);
        assert!(
            md.contains("| contended | 2 | **10.0** ±60% ⚠ | 20.0 ±10% | 0.50x |"),
            "{md}"
        );
        assert!(md.contains("- ⚠ noisy: spread above 50%"), "{md}");
        let calm = ResultFile {
            results: vec![row("contended", "weft", 2, &[10.0, 10.5])],
            ..file
        };
        assert!(!markdown(&calm).contains('⚠'));
    }

    /// The heading and the notes of a suite name the workloads whose values are not ns per op.
    #[test]
    fn other_units_are_named() {
        let mut idle = row("idle_cpu", "weft", 1, &[500.0]);
        idle.suite = "sched".into();
        let file = ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: vec![idle],
        };
        let md = markdown(&file);
        assert!(
            md.contains("### sched: ns per op (`idle_cpu`: CPU ns per idle ms), median"),
            "{md}"
        );
        assert!(
            md.contains("- `idle_cpu` values are CPU ns per idle ms, not ns per op"),
            "{md}"
        );
    }

    #[test]
    fn number_format() {
        assert_eq!(format_ns(4.567), "4.57");
        assert_eq!(format_ns(45.67), "45.7");
        assert_eq!(format_ns(4567.0), "4567");
    }
}
