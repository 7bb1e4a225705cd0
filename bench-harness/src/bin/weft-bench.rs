//! The `weft-bench` command: runs suites and writes result files, or prints a result file's
//! table. All the logic lives in the `weft_bench` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_bench::result::ResultFile;
use weft_bench::workloads::{Config, Size};
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
    Run {
        /// Suites to run, comma separated (default: all; see `list`).
        #[arg(long, value_delimiter = ',')]
        suite: Vec<String>,
        /// Thread counts for the workloads that scale, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
        threads: Vec<usize>,
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
    },
    /// Print the markdown table of a result file.
    Table {
        /// The JSON result file.
        file: PathBuf,
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
        } => {
            let cfg = Config {
                threads,
                size: if quick { Size::Quick } else { Size::Full },
                samples,
                implementations,
                progress: true,
            };
            let selected = match suites::select(&suite, &cfg) {
                Ok(selected) => selected,
                Err(e) => return fail(&e),
            };
            let file = suites::run(&selected, &cfg);
            print!("{}", report::markdown(&file));
            if let Some(out) = out {
                if let Err(e) = file.write(&out) {
                    return fail(&format!("writing {}: {e}", out.display()));
                }
                eprintln!("wrote {}", out.display());
            }
        }
        Command::Table { file } => match ResultFile::read(&file) {
            Ok(file) => print!("{}", report::markdown(&file)),
            Err(e) => return fail(&e.to_string()),
        },
        Command::List => {
            for suite in suites::SUITES {
                println!("{}: {}", suite.name, suite.description);
                println!(
                    "  implementations: {}",
                    (suite.implementations)().join(", ")
                );
                for workload in suite.workloads {
                    println!("  {}: {}", workload.name, workload.description);
                }
            }
        }
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("weft-bench: {message}");
    ExitCode::FAILURE
}
