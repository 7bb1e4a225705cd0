//! The registry of suites: each primitive family's workloads, by name.
//!
//! Adding a suite is a workloads module exporting a [`Suite`] constant (its workloads generic
//! over a peers module's adapter trait) and one line in [`SUITES`].
//!
//! The Go twin ([`crate::go_twin`]) runs suites of the same names; [`plan`] decides, for each
//! suite of a run, whether the Rust side, the twin, or both run it.

use crate::config::{Config, Size, MSG_BYTES};
use crate::floor::{self, Effort};
use crate::go_twin::{self, Availability};
use crate::machine::Machine;
use crate::placement;
use crate::progress::Progress;
use crate::result::{ResultFile, SCHEMA_VERSION};
use crate::run_info::RunInfo;
use crate::workloads::suite::Suite;
use crate::workloads::{self, Session};

/// Every suite, in the order a full run runs them.
pub const SUITES: &[Suite] = &[
    workloads::mutex::SUITE,
    workloads::wait_group::SUITE,
    workloads::chan::SUITE,
    workloads::achan::SUITE,
    workloads::deque::SUITE,
    workloads::sched::SUITE,
    workloads::time::SUITE,
];

/// The suite called `name`.
pub fn find(name: &str) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.name == name)
}

/// The description of `suite`'s workload `workload`: the Rust workload's where it is
/// registered, else the Go twin's.
pub fn describe(suite: &str, workload: &str) -> Option<&'static str> {
    find(suite)
        .and_then(|s| s.workloads.iter().find(|w| w.name == workload))
        .map(|w| w.description)
        .or_else(|| go_twin::describe(suite, workload))
}

/// Resolves names of registered (Rust) suites (all of them when `names` is empty) and checks
/// that every name in the config's implementation filter belongs to at least one of them.
/// [`plan`] does the same for a run that includes the Go twin.
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
    let known: Vec<&str> = suites.iter().flat_map(|s| (s.implementations)()).collect();
    check_filter(&known, cfg)?;
    check_counts(cfg)?;
    Ok(suites)
}

/// What one run runs.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The registered (Rust) suites, in the order asked for.
    pub rust: Vec<&'static Suite>,
    /// The suites handed to the Go twin; empty when it does not run.
    pub twin: Vec<&'static str>,
    /// What the user should know: suites only the twin runs, suites left out.
    pub notes: Vec<String>,
}

/// Decides what a run runs. `names` are suite names (every suite when empty); a name may
/// belong to a registered suite, to the Go twin's suites, or to both. The twin runs the
/// suites it covers when `go` is [`Availability::Ready`] and the config's implementation
/// filter lets `go` run; a suite only the twin covers runs on the Go side alone (with a
/// note), or, when the twin cannot run, is left out with a note if it was selected by
/// default, and is an error if it was asked for by name.
///
/// # Errors
///
/// A message naming an unknown suite or implementation, a twin-only suite asked for while the
/// twin cannot run, a zero thread count or a zero sample count.
pub fn plan(names: &[String], cfg: &Config, go: &Availability) -> Result<Plan, String> {
    let explicit = !names.is_empty();
    let names: Vec<&str> = if explicit {
        names.iter().map(String::as_str).collect()
    } else {
        let twin_only = go_twin::SUITES.iter().map(|s| s.name);
        SUITES
            .iter()
            .map(|s| s.name)
            .chain(twin_only.filter(|n| find(n).is_none()))
            .collect()
    };
    let twin_runs = go.is_ready() && cfg.selects(go_twin::IMPLEMENTATION);
    let mut plan = Plan::default();
    let mut implementations: Vec<&str> = Vec::new();
    for name in names {
        let rust = find(name);
        let covered = go_twin::covers(name);
        if covered {
            implementations.push(go_twin::IMPLEMENTATION);
        }
        match rust {
            Some(suite) => {
                plan.rust.push(suite);
                implementations.extend((suite.implementations)());
            }
            None if !covered => {
                let mut known: Vec<&str> = SUITES.iter().map(|s| s.name).collect();
                let twin_only = go_twin::SUITES.iter().map(|s| s.name);
                known.extend(twin_only.filter(|n| find(n).is_none()));
                return Err(format!(
                    "unknown suite {name:?}; known: {}",
                    known.join(", ")
                ));
            }
            None if twin_runs => plan.notes.push(format!(
                "{name}: no Rust suite yet; only the Go twin runs it"
            )),
            None if explicit => {
                return Err(format!(
                    "suite {name:?} is run only by the Go twin, which is not running \
                     (`go` missing, --no-go, or --implementations without go)"
                ))
            }
            None => plan.notes.push(format!(
                "{name}: skipped (only the Go twin runs it, and it is not running)"
            )),
        }
        if covered && twin_runs {
            plan.twin.push(go_twin::find(name).expect("covered").name);
        }
    }
    check_filter(&implementations, cfg)?;
    check_counts(cfg)?;
    Ok(plan)
}

/// Checks that every name in the config's implementation filter is among `known`.
fn check_filter(known: &[&str], cfg: &Config) -> Result<(), String> {
    if let Some(filter) = &cfg.implementations {
        if let Some(unknown) = filter.iter().find(|f| !known.contains(&f.as_str())) {
            let mut known = known.to_vec();
            known.sort_unstable();
            known.dedup();
            return Err(format!(
                "unknown implementation {unknown:?} for the selected suites; known: {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Checks the thread and sample counts and the message sizes.
fn check_counts(cfg: &Config) -> Result<(), String> {
    if cfg.threads.is_empty() || cfg.threads.contains(&0) {
        return Err("thread counts must be at least 1".to_owned());
    }
    if cfg.samples == Some(0) {
        return Err("at least one sample is needed".to_owned());
    }
    if let Some(sizes) = &cfg.msg_bytes {
        if sizes.is_empty() {
            return Err("at least one message size is needed".to_owned());
        }
        if let Some(bad) = sizes.iter().find(|b| !MSG_BYTES.contains(b)) {
            return Err(format!(
                "message size {bad} bytes is not one of {MSG_BYTES:?}"
            ));
        }
    }
    Ok(())
}

/// Runs `suites` with `cfg` and gathers the results with the run's provenance and machine.
///
/// First it measures the machine's floor (the core-to-core round trips among the CPUs the
/// run may use, [`floor::measure`], with [`Effort::for_size`]) into
/// `machine.core_to_core`; then it runs the suites in a [`Session`] that gives hand-off rows
/// their floor and, with `cfg.progress`, draws a progress bar over every sample.
pub fn run(suites: &[&Suite], cfg: &Config) -> ResultFile {
    let mut run = RunInfo::collect(cfg.size == Size::Quick);
    let mut machine = Machine::detect();
    let allowed = placement::allowed_cpus();
    let effort = Effort::for_size(cfg.size);
    if cfg.progress {
        eprintln!(
            "measuring the floor: core-to-core round trips among CPUs {}",
            crate::machine::format_cpu_list(&allowed)
        );
    }
    machine.core_to_core = floor::measure(&machine, &allowed, effort, || {});
    if cfg.progress {
        if let Some(line) = floor::summary(&machine) {
            eprintln!("{line}");
        }
    }
    if cfg.placement.pins() {
        run.placement = cfg.placement.name().to_owned();
        run.cpu_order = Some(placement::cpu_order(&machine, &allowed, cfg.placement));
    }
    let progress = cfg.progress.then(|| {
        let total = workloads::count_samples(|| {
            for suite in suites {
                (suite.run)(cfg);
            }
        });
        Progress::new(total, "samples")
    });
    let session = Session {
        machine: Some(machine.clone()),
        progress: progress.clone(),
    }
    .enter();
    let results = suites.iter().flat_map(|suite| (suite.run)(cfg)).collect();
    drop(session);
    if let Some(p) = progress {
        p.finish();
    }
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
    use crate::result::ResultRow;
    use crate::workloads::suite::Workload;

    fn smoke() -> Config {
        Config {
            threads: vec![1, 2],
            size: Size::Smoke,
            ..Config::default()
        }
    }

    /// Every suite runs at smoke size, and every registered workload produced rows for exactly
    /// the implementations that run it (every implementation, where it is capable), with sane
    /// numbers.
    #[test]
    fn every_suite_runs_every_implementation() {
        let cfg = smoke();
        for suite in SUITES {
            let rows = (suite.run)(&cfg);
            let all = (suite.implementations)();
            let mut seen: Vec<&str> = Vec::new();
            for workload in suite.workloads {
                let capable = (suite.implementations_of)(workload.name);
                assert!(!capable.is_empty(), "{}/{}", suite.name, workload.name);
                for implementation in &all {
                    let n = rows
                        .iter()
                        .filter(|r| {
                            r.suite == suite.name
                                && r.workload == workload.name
                                && r.implementation == *implementation
                        })
                        .count();
                    assert_eq!(
                        n >= 1,
                        capable.contains(implementation),
                        "{}/{}: {n} rows for {implementation}",
                        suite.name,
                        workload.name
                    );
                }
                seen.extend(&capable);
            }
            for implementation in &all {
                assert!(
                    seen.contains(implementation),
                    "{implementation} runs nothing"
                );
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

    /// A pinned run records the placement, the order, and each row's thread-to-CPU map; with
    /// two CPUs or more, the floor and the hand-off rows' multiples of it.
    #[test]
    fn a_pinned_run_records_its_cpus_and_floor() {
        let cfg = Config {
            threads: vec![1, 3],
            placement: crate::placement::Placement::Compact,
            ..smoke()
        };
        let file = run(&select(&["mutex".into()], &cfg).unwrap(), &cfg);
        let allowed = placement::allowed_cpus();
        let order = file.run.cpu_order.clone().unwrap();
        assert_eq!(file.run.placement, "compact");
        assert_eq!(order.len(), allowed.len());
        for row in &file.results {
            let cpus = row.cpus.as_ref().expect("pinned rows carry their CPUs");
            assert_eq!(*cpus, placement::thread_cpus(&order, cpus.len()), "{row:?}");
        }
        let three = file
            .results
            .iter()
            .find(|r| r.workload == "contended" && r.params.threads == 3)
            .unwrap();
        assert_eq!(three.cpus.as_ref().unwrap().len(), 3);
        let dir = std::env::temp_dir().join(format!("weft-bench-pinned-{}", std::process::id()));
        let path = dir.join("run.json");
        file.write(&path).unwrap();
        let back = ResultFile::read(&path).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(back.results[0].cpus, file.results[0].cpus);
        if allowed.len() >= 2 {
            let floor = file.machine.core_to_core.as_ref().expect("a floor");
            assert!(floor.median_ns > 0.0);
            assert!(
                three.floor_ns.is_some() && three.x_floor.is_some(),
                "{three:?}"
            );
        }
        let one = file
            .results
            .iter()
            .find(|r| r.workload == "uncontended")
            .unwrap();
        assert_eq!((one.floor_ns, one.x_floor), (None, None));
    }

    #[test]
    fn unpinned_rows_have_no_cpus() {
        let cfg = Config {
            threads: vec![2],
            ..smoke()
        };
        let file = run(&select(&["waitgroup".into()], &cfg).unwrap(), &cfg);
        assert!(file.results.iter().all(|r| r.cpus.is_none()));
        assert_ne!(file.run.placement, "compact");
        assert_eq!(file.run.cpu_order, None);
        if placement::allowed_cpus().len() >= 2 {
            let median = file.machine.core_to_core.as_ref().unwrap().median_ns;
            let fan_in = file
                .results
                .iter()
                .find(|r| r.workload == "fan_in")
                .unwrap();
            assert_eq!(fan_in.floor_ns, Some(median));
        }
    }

    /// The progress bar's total is every sample the run takes.
    #[test]
    fn counting_matches_the_samples_taken() {
        let cfg = Config {
            threads: vec![1, 2],
            samples: Some(2),
            ..smoke()
        };
        let suite = find("deque").unwrap();
        let counted = workloads::count_samples(|| {
            assert!((suite.run)(&cfg).is_empty());
        });
        let taken: usize = (suite.run)(&cfg)
            .iter()
            .map(|r| r.samples_ns_per_op.len() + 1)
            .sum();
        assert_eq!(counted, taken as u64);
    }

    #[test]
    fn message_sizes_are_checked() {
        for (sizes, ok) in [(vec![0, 8, 64], true), (vec![16], false), (vec![], false)] {
            let cfg = Config {
                msg_bytes: Some(sizes.clone()),
                ..smoke()
            };
            assert_eq!(select(&[], &cfg).is_ok(), ok, "{sizes:?}");
        }
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

    /// The suites only the Go twin runs, in its order.
    fn twin_only_suites() -> impl Iterator<Item = &'static str> {
        go_twin::SUITES
            .iter()
            .map(|s| s.name)
            .filter(|n| find(n).is_none())
    }

    /// A suite only the Go twin runs, while there is one.
    fn twin_only() -> Option<&'static str> {
        twin_only_suites().next()
    }

    fn ready() -> Availability {
        Availability::Ready("go1.19.8 linux/amd64".into())
    }

    #[test]
    fn the_plan_hands_covered_suites_to_the_twin() {
        let cfg = smoke();
        let plan = plan(&[], &cfg, &ready()).unwrap();
        assert_eq!(plan.rust.len(), SUITES.len());
        // The plan's order: the registered suites the twin covers, then the twin-only ones.
        let covered: Vec<&str> = SUITES
            .iter()
            .map(|s| s.name)
            .filter(|n| go_twin::covers(n))
            .chain(twin_only_suites())
            .collect();
        assert_eq!(plan.twin, covered);
        if let Some(only) = twin_only() {
            assert!(
                plan.notes
                    .iter()
                    .any(|n| n.starts_with(only) && n.contains("only the Go twin")),
                "{:?}",
                plan.notes
            );
            let plan = super::plan(&[only.into()], &cfg, &ready()).unwrap();
            assert!(plan.rust.is_empty());
            assert_eq!(plan.twin, [only]);
        }
    }

    #[test]
    fn without_go_the_plan_runs_rust_alone() {
        let cfg = smoke();
        let off = Availability::Off("`go` not installed".into());
        let plan = plan(&[], &cfg, &off).unwrap();
        assert_eq!(plan.rust.len(), SUITES.len());
        assert!(plan.twin.is_empty());
        if let Some(only) = twin_only() {
            assert!(plan
                .notes
                .iter()
                .any(|n| n.starts_with(only) && n.contains("skipped")));
            let err = super::plan(&[only.into()], &cfg, &off).unwrap_err();
            assert!(err.contains("run only by the Go twin"), "{err}");
        }
        // The filter can turn the twin off too, and can ask for it alone.
        let weft = Config {
            implementations: Some(vec!["weft".into()]),
            ..smoke()
        };
        assert!(super::plan(&[], &weft, &ready()).unwrap().twin.is_empty());
        let go = Config {
            implementations: Some(vec!["go".into()]),
            ..smoke()
        };
        let plan = super::plan(&["mutex".into()], &go, &ready()).unwrap();
        assert_eq!((plan.rust.len(), plan.twin.as_slice()), (1, &["mutex"][..]));
    }

    #[test]
    fn plan_errors_name_every_known_suite() {
        let err = plan(&["nope".into()], &smoke(), &ready()).unwrap_err();
        // Whole names: "chan" is also a part of "achan".
        let known: Vec<&str> = err.split_once("known: ").unwrap().1.split(", ").collect();
        for suite in go_twin::SUITES
            .iter()
            .map(|s| s.name)
            .chain(SUITES.iter().map(|s| s.name))
        {
            let n = known.iter().filter(|&&k| k == suite).count();
            assert_eq!(n, 1, "{err}");
        }
        let zero = Config {
            samples: Some(0),
            ..smoke()
        };
        assert!(plan(&[], &zero, &ready()).is_err());
    }

    #[test]
    fn suite_names_are_unique() {
        for (i, s) in SUITES.iter().enumerate() {
            assert!(SUITES[..i].iter().all(|t| t.name != s.name), "{}", s.name);
        }
    }

    /// Where both sides run a suite, they name the same workloads in the same order.
    #[test]
    fn shared_suites_name_the_same_workloads() {
        for twin in go_twin::SUITES {
            let Some(rust) = find(twin.name) else {
                continue;
            };
            let names = |w: &[Workload]| w.iter().map(|w| w.name).collect::<Vec<_>>();
            assert_eq!(
                names(rust.workloads),
                names(twin.workloads),
                "{}",
                twin.name
            );
        }
    }

    /// Where the Rust side registers a suite the twin also runs, every Go case lines up with
    /// a Rust case (same workload and parameters, so the table puts them in one row) with the
    /// same operation count. (Rust may have cases Go cannot run, e.g. unbounded channels.)
    #[test]
    fn the_twin_mirrors_the_rust_cases() {
        let Some(twin) = go_twin::tests::twin() else {
            return;
        };
        // The Go twin's smoke run (threads 1 and 3).
        let cfg = Config {
            threads: vec![1, 3],
            ..smoke()
        };
        let shared: Vec<&str> = go_twin::SUITES
            .iter()
            .map(|s| s.name)
            .filter(|name| find(name).is_some())
            .collect();
        for name in ["mutex", "waitgroup", "chan", "achan", "sched", "time"] {
            assert!(shared.contains(&name), "{name} is not shared");
        }
        let go_rows = twin.run(&shared, &cfg).unwrap();
        let rust_rows: Vec<ResultRow> = shared
            .iter()
            .flat_map(|name| (find(name).unwrap().run)(&cfg))
            .collect();
        for name in &shared {
            assert!(
                go_rows.iter().any(|g| g.suite == *name),
                "no Go rows for {name}"
            );
        }
        for go in &go_rows {
            let rust = rust_rows.iter().find(|r| {
                r.suite == go.suite && r.workload == go.workload && r.params == go.params.case()
            });
            let Some(rust) = rust else {
                panic!(
                    "Go case {}/{} {:?} has no Rust counterpart",
                    go.suite, go.workload, go.params
                )
            };
            assert_eq!(
                go.ops, rust.ops,
                "{}/{} {:?}",
                go.suite, go.workload, go.params
            );
        }
    }
}
