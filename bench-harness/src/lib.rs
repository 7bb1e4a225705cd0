//! weft-bench: weft's benchmark suite, every primitive measured beside its peers in the same
//! run, with results written as machine-readable JSON (schema in `results/README.md`).
//!
//! - [`config`]: a run's parameters: size, thread counts, samples, implementation filter,
//!   placement, message sizes.
//! - [`peers`]: one adapter trait per primitive kind and one impl per implementation
//!   (weft, std, parking_lot, crossbeam, ...).
//! - [`workloads`]: the standard workloads, generic over those traits, each family's
//!   [`Suite`](workloads::suite::Suite), and the engine that samples every implementation
//!   interleaved and checks results.
//! - [`suites`]: the registry mapping a suite name to its workloads.
//! - [`result`], [`machine`], [`run_info`], [`stats`]: the result file, the machine (its
//!   topology and core-to-core round trips) and build it records, and the summary statistics.
//! - [`report`]: markdown tables from a result file.
//! - [`compare`], [`export`], [`plot`], [`site`]: reading results: two runs compared case by
//!   case from their samples, exports for dashboards (Bencher, github-action-benchmark), and
//!   SVG plots with a static HTML page.
//! - [`go_twin`]: builds and runs the Go twin (`bench-harness/go`), the same workloads on Go's
//!   primitives, whose rows join the run's as implementation `go`.
//! - [`placement`]: pinning threads to CPUs (`--placement compact|scatter`) by the topology.
//! - [`floor`]: measuring the core-to-core cache-line round trip, the floor under every
//!   hand-off, and each hand-off row's time as a multiple of it.
//! - [`progress`]: the run's progress bar.
//!
//! The `weft-bench` binary (`run`, `table`, `list`) is a thin CLI over these.
//!
//! # Example
//!
//! ```
//! use weft_bench::config::{Config, Size};
//! use weft_bench::suites;
//!
//! let cfg = Config { threads: vec![2], size: Size::Smoke, ..Config::default() };
//! let file = suites::run(&suites::select(&["mutex".to_owned()], &cfg).unwrap(), &cfg);
//! assert!(file.results.iter().any(|r| r.implementation == "weft"));
//! println!("{}", weft_bench::report::markdown(&file));
//! ```
//!
//! # Adding a suite
//!
//! Add `peers/<kind>.rs` (the adapter trait, its impls and a `visit_all` listing them), add
//! `workloads/<kind>.rs` (workloads generic over the trait and a `SUITE` constant), and list
//! that constant in [`suites::SUITES`].

pub mod compare;
pub mod config;
pub mod export;
pub mod floor;
pub mod go_twin;
pub mod machine;
pub mod peers;
pub mod placement;
pub mod plot;
pub mod progress;
pub mod report;
pub mod result;
pub mod run_info;
pub mod site;
pub mod stats;
pub mod suites;
pub mod workloads;

/// The repository README's Rust example (a copy of the crate README's, which the library
/// doctests itself) runs as a doctest here: this crate depends on weft and is not published.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct RepositoryReadmeDoctests;
