//! What a suite is: the workloads of one primitive family ([`Workload`]: a name and what one
//! of its operations is), the implementations they compare, and the function that runs them
//! ([`Suite`]). Each family's module defines its `SUITE`, [`crate::suites::SUITES`] lists
//! them, and the Go twin describes its workloads with the same [`Workload`].

use crate::config::Config;
use crate::result::ResultRow;

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
    /// Names of the implementations that run the named workload (for at least one of its
    /// cases): all of them, unless a library lacks what the workload needs (a channel
    /// library without select, say).
    pub implementations_of: fn(workload: &str) -> Vec<&'static str>,
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
