//! The `weft-bench` command: runs suites (and the Go twin beside them) and writes result
//! files, or prints a result file's table. All the logic lives in the `weft_bench` library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_bench::config::{self, Config, Size};
use weft_bench::floor::{self, Effort};
use weft_bench::go_twin::{self, Availability, Twin};
use weft_bench::machine::Machine;
use weft_bench::placement::{self, Placement};
use weft_bench::progress::Progress;
use weft_bench::result::ResultFile;
use weft_bench::{compare, export, site};
use weft_bench::{report, suites};

/// weft's benchmark suite: every primitive beside its peers, as machine-readable results.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run suites, print a markdown table, and write a JSON result file.
    ///
    /// When `go` is installed, the Go twin (bench-harness/go) runs the suites it covers after
    /// the Rust implementations, and its rows join the results as implementation `go`.
    Run {
        /// Suites to run, comma separated (default: all; see `list`).
        #[arg(long, value_delimiter = ',')]
        suite: Vec<String>,
        /// Thread counts for the workloads that scale, comma separated (default: every count
        /// from 1 to the CPUs this process may use, then 2x and 4x that: 1,2,4,8 on 2 CPUs;
        /// with --quick, the powers of two below the CPUs instead of every count).
        #[arg(long, value_delimiter = ',')]
        threads: Option<Vec<usize>>,
        /// Thread placement: none (the OS places threads), compact (pinned: SMT siblings,
        /// one L3, one NUMA node first) or scatter (pinned: one per package, L3 and core
        /// first). Oversubscribed threads wrap around the CPUs.
        #[arg(long, default_value = "none")]
        placement: Placement,
        /// Channel message sizes in bytes, comma separated, among 0, 8 and 64 (default: all
        /// three; 8 alone with --quick).
        #[arg(long, value_delimiter = ',')]
        msg_bytes: Option<Vec<usize>>,
        /// Fewer operations and 5 samples: the default run in well under a minute.
        #[arg(long)]
        quick: bool,
        /// Samples per implementation and case (default: 15, or 5 with --quick).
        #[arg(long)]
        samples: Option<usize>,
        /// Only these implementations, comma separated (e.g. weft,std).
        #[arg(long, value_delimiter = ',')]
        implementations: Option<Vec<String>>,
        /// Where to write the JSON result file (parent directories are created).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Do not build or run the Go twin.
        #[arg(long)]
        no_go: bool,
    },
    /// Print the machine's topology (packages, cores, SMT siblings, L3 groups, NUMA nodes
    /// and distances) and the core-to-core round trip of one cache line between every pair
    /// of CPUs this process may use: the floor under any cross-thread hand-off.
    Topology {
        /// Print JSON instead: {"machine": ..., "matrix": {"cpus": [...], "ns": [[...]]}}.
        #[arg(long)]
        json: bool,
        /// Measure at most this many pairs; beyond it, pairs are sampled evenly per relation
        /// (SMT siblings, one L3, one NUMA node, one package, across packages).
        #[arg(long, default_value_t = 2016)]
        max_pairs: usize,
        /// Round trips per sample.
        #[arg(long, default_value_t = 2000)]
        rounds: u64,
        /// Samples per pair (after a warm-up); a pair's value is their median.
        #[arg(long, default_value_t = 7)]
        samples: usize,
    },
    /// Print the markdown table of a result file.
    Table {
        /// The JSON result file.
        file: PathBuf,
    },
    /// Compare two result files: for each case measured in both, a verdict (regression,
    /// improvement, within noise) judged from the samples, not one number: the medians must
    /// differ by more than the threshold and a Mann-Whitney U test on the samples must give
    /// p < alpha (results/README.md). Prints a table; exits 1 if any case regressed, 2 on an
    /// error, 0 otherwise, so it can gate CI.
    Compare {
        /// The reference result file.
        base: PathBuf,
        /// The result file judged against it.
        new: PathBuf,
        /// The smallest change that counts, in percent (e.g. 5%).
        #[arg(long, default_value = "5%", value_parser = compare::parse_threshold)]
        threshold: f64,
        /// Significance level of the test on the samples (0 < alpha <= 1).
        #[arg(long, default_value_t = 0.01)]
        alpha: f64,
        /// Only these implementations, comma separated (e.g. weft); default: all.
        #[arg(long, alias = "implementation", value_delimiter = ',')]
        implementations: Option<Vec<String>>,
        /// Judge each implementation's samples divided, round by round, by this peer's
        /// samples of the same case (e.g. std): drift of the machine between the runs
        /// cancels. Default: absolute ns per op.
        #[arg(long)]
        relative_to: Option<String>,
        /// List only the cases judged a regression or an improvement.
        #[arg(long)]
        changes_only: bool,
    },
    /// Convert a result file for a dashboard: `bmf` (Bencher Metric Format, latency in ns) or
    /// `github-action-benchmark` (its customSmallerIsBetter array, ns/op). Names are
    /// suite/workload/params/implementation.
    Export {
        /// bmf or github-action-benchmark.
        #[arg(long, value_parser = export::Format::parse)]
        format: export::Format,
        /// The JSON result file.
        file: PathBuf,
        /// Write here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Draw result files as a static page: SVG plots of throughput against threads under
    /// <OUT_DIR>/plots/<file name>/ and <OUT_DIR>/index.html with each run's machine, plots
    /// and tables, one section per file.
    Report {
        /// The JSON result files, in the order the page shows them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where index.html and plots/ go.
        #[arg(long, default_value = "results")]
        out_dir: PathBuf,
    },
    /// List the suites, their workloads and implementations.
    List,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            suite,
            threads,
            quick,
            samples,
            implementations,
            out,
            no_go,
            placement,
            msg_bytes,
        } => {
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            let cfg = Config {
                threads: threads.unwrap_or_else(|| {
                    if quick {
                        config::quick_sweep(cpus)
                    } else {
                        config::sweep(cpus)
                    }
                }),
                size: if quick { Size::Quick } else { Size::Full },
                samples,
                implementations,
                progress: true,
                placement,
                msg_bytes,
            };
            return run(&suite, &cfg, no_go, out);
        }
        Command::Topology {
            json,
            max_pairs,
            rounds,
            samples,
        } => {
            let effort = Effort {
                rounds,
                samples,
                max_pairs,
            };
            return topology(json, effort);
        }
        Command::Table { file } => match ResultFile::read(&file) {
            Ok(file) => print!("{}", report::markdown(&file)),
            Err(e) => return fail(&e.to_string()),
        },
        Command::Compare {
            base,
            new,
            threshold,
            alpha,
            implementations,
            relative_to,
            changes_only,
        } => {
            let options = compare::Options {
                threshold,
                alpha,
                implementations,
                relative_to,
            };
            return compare_files(&base, &new, &options, changes_only);
        }
        Command::Export { format, file, out } => return export_file(&file, format, out),
        Command::Report { files, out_dir } => return report_files(&files, &out_dir),
        Command::List => {
            for suite in suites::SUITES {
                println!("{}: {}", suite.name, suite.description);
                let mut implementations = (suite.implementations)();
                if go_twin::covers(suite.name) {
                    implementations.push("go (the Go twin)");
                }
                println!("  implementations: {}", implementations.join(", "));
                let all = (suite.implementations)();
                for workload in suite.workloads {
                    let only = (suite.implementations_of)(workload.name);
                    let only = if only == all {
                        String::new()
                    } else {
                        format!(" [only {}]", only.join(", "))
                    };
                    println!("  {}: {}{only}", workload.name, workload.description);
                }
            }
            for suite in go_twin::SUITES {
                if suites::find(suite.name).is_none() {
                    println!("{}: {} (Go twin only)", suite.name, suite.description);
                    println!("  implementations: go (the Go twin)");
                    for workload in suite.workloads {
                        println!("  {}: {}", workload.name, workload.description);
                    }
                }
            }
        }
    }
    ExitCode::SUCCESS
}

/// `weft-bench run`: the Rust suites, then the Go twin, then the table and the file.
fn run(names: &[String], cfg: &Config, no_go: bool, out: Option<PathBuf>) -> ExitCode {
    let go = if no_go {
        Availability::Off("--no-go".to_owned())
    } else {
        Availability::detect()
    };
    let plan = match suites::plan(names, cfg, &go) {
        Ok(plan) => plan,
        Err(e) => return fail(&e),
    };
    if let Availability::Off(why) = &go {
        if !no_go {
            eprintln!("Go twin skipped: {why}; {}", go_twin::INSTALL_HINT);
        }
    }
    for note in &plan.notes {
        eprintln!("{note}");
    }
    // Built before anything is measured, so a broken toolchain costs no benchmark time.
    let twin = match &go {
        Availability::Ready(version) if !plan.twin.is_empty() => match Twin::build(version) {
            Ok(twin) => Some(twin),
            Err(e) => return fail(&format!("{e}\n(--no-go runs without the Go twin)")),
        },
        _ => None,
    };

    let mut file = suites::run(&plan.rust, cfg);
    let mut twin_failed = None;
    if let Some(twin) = &twin {
        eprintln!("Go twin ({}): {}", twin.version(), plan.twin.join(", "));
        match twin.run(&plan.twin, cfg) {
            Ok(mut rows) => {
                floor::annotate_unpinned(&file.machine, &file.results, &mut rows);
                file.results.extend(rows);
                file.run.go = Some(twin.version().to_owned());
            }
            Err(e) => twin_failed = Some(e),
        }
    }

    print!("{}", report::markdown(&file));
    if let Some(out) = out {
        if let Err(e) = file.write(&out) {
            return fail(&format!("writing {}: {e}", out.display()));
        }
        eprintln!("wrote {}", out.display());
    }
    match twin_failed {
        Some(e) => fail(&format!("{e}\n(the results above have no Go rows)")),
        None => ExitCode::SUCCESS,
    }
}

/// `weft-bench topology`: the machine, then the round trips among the CPUs this process may
/// use, as text or JSON.
fn topology(json: bool, effort: Effort) -> ExitCode {
    if effort.rounds == 0 || effort.samples == 0 || effort.max_pairs == 0 {
        return fail("--rounds, --samples and --max-pairs must be at least 1");
    }
    let mut machine = Machine::detect();
    let cpus = placement::allowed_cpus();
    let (pairs, _) = floor::choose_pairs(&machine, &cpus, effort.max_pairs);
    let progress = Progress::new(pairs.len() as u64, "pairs");
    progress.set_message("core-to-core round trips".to_owned());
    machine.core_to_core = floor::measure(&machine, &cpus, effort, || progress.inc(1));
    progress.finish();
    if json {
        /// The `--json` output, fields in this order.
        #[derive(serde::Serialize)]
        struct Topology<'a> {
            machine: &'a Machine,
            matrix: Option<Matrix<'a>>,
        }
        /// Round trips in ns, `ns[i][j]` between `cpus[i]` and `cpus[j]`.
        #[derive(serde::Serialize)]
        struct Matrix<'a> {
            cpus: &'a [usize],
            ns: Vec<Vec<Option<f64>>>,
        }
        let matrix = machine.core_to_core.as_ref().map(|c2c| Matrix {
            cpus: &c2c.cpus,
            ns: c2c.matrix(&machine),
        });
        let value = Topology {
            machine: &machine,
            matrix,
        };
        match serde_json::to_string_pretty(&value) {
            Ok(text) => println!("{text}"),
            Err(e) => return fail(&e.to_string()),
        }
    } else {
        print!("{}", floor::topology_text(&machine));
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("weft-bench: {message}");
    ExitCode::FAILURE
}

/// `weft-bench compare`: exit status 1 on a regression, 2 on an error.
fn compare_files(
    base: &Path,
    new: &Path,
    options: &compare::Options,
    changes_only: bool,
) -> ExitCode {
    let error = |message: &str| {
        eprintln!("weft-bench: {message}");
        ExitCode::from(2)
    };
    if !(options.alpha > 0.0 && options.alpha <= 1.0) {
        return error(&format!("--alpha {}: must be in (0, 1]", options.alpha));
    }
    let (base, new) = match (ResultFile::read(base), ResultFile::read(new)) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) | (_, Err(e)) => return error(&e.to_string()),
    };
    let comparison = compare::compare(&base, &new, options);
    if comparison.rows.is_empty()
        && comparison.only_base.is_empty()
        && comparison.only_new.is_empty()
        && comparison.no_reference.is_empty()
    {
        return error("no cases to compare (check --implementations and --relative-to)");
    }
    print!("{}", comparison.markdown(changes_only));
    if comparison.has_regression() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `weft-bench export`.
fn export_file(file: &Path, format: export::Format, out: Option<PathBuf>) -> ExitCode {
    let file = match ResultFile::read(file) {
        Ok(file) => file,
        Err(e) => return fail(&e.to_string()),
    };
    let mut json = serde_json::to_string_pretty(&export::export(&file, format))
        .expect("JSON values serialise");
    json.push('\n');
    match out {
        Some(out) => {
            if let Err(e) = std::fs::write(&out, json) {
                return fail(&format!("writing {}: {e}", out.display()));
            }
            eprintln!("wrote {}", out.display());
        }
        None => print!("{json}"),
    }
    ExitCode::SUCCESS
}

/// `weft-bench report`.
fn report_files(paths: &[PathBuf], out_dir: &Path) -> ExitCode {
    let mut files = Vec::new();
    for path in paths {
        match ResultFile::read(path) {
            Ok(file) => files.push((path.clone(), file)),
            Err(e) => return fail(&e.to_string()),
        }
    }
    match site::write(&files, out_dir) {
        Ok(written) => {
            eprintln!(
                "wrote {} and {} plots under {}",
                written.index.display(),
                written.plots.len(),
                out_dir.join("plots").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("report into {}: {e}", out_dir.display())),
    }
}
