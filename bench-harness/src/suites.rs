//! The registry of suites: each primitive family's workloads, by name.
//!
//! Adding a suite is a workloads module exporting a [`Suite`] constant (its workloads generic
//! over a peers module's adapter trait) and one line in [`SUITES`].

use crate::machine::Machine;
use crate::result::{ResultFile, ResultRow, SCHEMA_VERSION};
use crate::run_info::RunInfo;
use crate::workloads::{self, Config, Size};

/// A suite: the workloads of one primitive family, run against every implementation.
#[derive(Debug, Clone, Copy)]
pub struct Suite {
    /// Name used on the command line and in result files.
    pub name: &'static str,
    /// One line on what the suite compares.
    pub description: &'static str,
    /// Its workloads, in the order they run.
    pub workloads: &'static [Workload],
    /// Names of the implementations it compares, weft first.
    pub implementations: fn() -> Vec<&'static str>,
    /// Runs every workload for every selected implementation.
    pub run: fn(&Config) -> Vec<ResultRow>,
}

/// A workload's name and what one of its operations is.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Name used in result files.
    pub name: &'static str,
    /// What it does and what one "op" is.
    pub description: &'static str,
}

/// Every suite, in the order a full run runs them.
pub const SUITES: &[Suite] = &[workloads::mutex::SUITE, workloads::wait_group::SUITE];

/// The suite called `name`.
pub fn find(name: &str) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.name == name)
}

/// The description of `suite`'s workload `workload`, if both are registered.
pub fn describe(suite: &str, workload: &str) -> Option<&'static str> {
    find(suite)?
        .workloads
        .iter()
        .find(|w| w.name == workload)
        .map(|w| w.description)
}

/// Resolves suite names (all suites when `names` is empty) and checks that every name in the
/// config's implementation filter belongs to at least one of them.
///
/// # Errors
///
/// A message naming the unknown suite or implementation and listing the known ones.
pub fn select(names: &[String], cfg: &Config) -> Result<Vec<&'static Suite>, String> {
    let suites: Vec<&'static Suite> = if names.is_empty() {
        SUITES.iter().collect()
    } else {
        names
            .iter()
            .map(|name| {
                find(name).ok_or_else(|| {
                    let known: Vec<_> = SUITES.iter().map(|s| s.name).collect();
                    format!("unknown suite {name:?}; known: {}", known.join(", "))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if let Some(filter) = &cfg.implementations {
        let known: Vec<&str> = suites.iter().flat_map(|s| (s.implementations)()).collect();
        if let Some(unknown) = filter.iter().find(|f| !known.contains(&f.as_str())) {
            let mut known = known;
            known.sort_unstable();
            known.dedup();
            return Err(format!(
                "unknown implementation {unknown:?} for the selected suites; known: {}",
                known.join(", ")
            ));
        }
    }
    if cfg.threads.is_empty() || cfg.threads.contains(&0) {
        return Err("thread counts must be at least 1".to_owned());
    }
    if cfg.samples == Some(0) {
        return Err("at least one sample is needed".to_owned());
    }
    Ok(suites)
}

/// Runs `suites` with `cfg` and gathers the results with the run's provenance and machine.
pub fn run(suites: &[&Suite], cfg: &Config) -> ResultFile {
    let run = RunInfo::collect(cfg.size == Size::Quick);
    let machine = Machine::detect();
    let results = suites.iter().flat_map(|suite| (suite.run)(cfg)).collect();
    ResultFile {
        schema_version: SCHEMA_VERSION,
        run,
        machine,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smoke() -> Config {
        Config {
            threads: vec![1, 2],
            size: Size::Smoke,
            ..Config::default()
        }
    }

    /// Every suite runs at smoke size, and every registered workload produced a row for every
    /// implementation, with sane numbers.
    #[test]
    fn every_suite_runs_every_implementation() {
        let cfg = smoke();
        for suite in SUITES {
            let rows = (suite.run)(&cfg);
            for workload in suite.workloads {
                for implementation in (suite.implementations)() {
                    let n = rows
                        .iter()
                        .filter(|r| {
                            r.suite == suite.name
                                && r.workload == workload.name
                                && r.implementation == implementation
                        })
                        .count();
                    assert!(
                        n >= 1,
                        "{}/{} has no row for {implementation}",
                        suite.name,
                        workload.name
                    );
                }
            }
            for row in &rows {
                assert_eq!(row.samples_ns_per_op.len(), 1);
                assert!(row.ops > 0 && row.median_ns_per_op > 0.0, "{row:?}");
                assert!(
                    describe(&row.suite, &row.workload).is_some(),
                    "unregistered workload {}",
                    row.workload
                );
            }
        }
    }

    #[test]
    fn the_filter_limits_implementations() {
        let cfg = Config {
            implementations: Some(vec!["weft".into()]),
            ..smoke()
        };
        let file = run(&select(&[], &cfg).unwrap(), &cfg);
        assert!(!file.results.is_empty());
        assert!(file.results.iter().all(|r| r.implementation == "weft"));
        assert!(!file.run.quick);
    }

    #[test]
    fn selection_errors() {
        let cfg = smoke();
        assert!(select(&["nope".into()], &cfg)
            .unwrap_err()
            .contains("unknown suite"));
        let only_crossbeam = Config {
            implementations: Some(vec!["crossbeam".into()]),
            ..smoke()
        };
        assert!(select(&["mutex".into()], &only_crossbeam)
            .unwrap_err()
            .contains("unknown implementation \"crossbeam\""));
        assert!(select(&["waitgroup".into()], &only_crossbeam).is_ok());
        let zero = Config {
            threads: vec![0],
            ..smoke()
        };
        assert!(select(&[], &zero).is_err());
    }

    #[test]
    fn suite_names_are_unique() {
        for (i, s) in SUITES.iter().enumerate() {
            assert!(SUITES[..i].iter().all(|t| t.name != s.name), "{}", s.name);
        }
    }
}
