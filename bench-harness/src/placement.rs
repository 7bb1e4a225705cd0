//! Thread placement (`weft-bench run --placement`): which CPU each thread of a sample runs on.
//!
//! - [`Placement::None`]: threads are left to the OS scheduler.
//! - [`Placement::Compact`]: threads fill the machine from one corner: both hardware threads
//!   of a core, then the other cores of its L3, then the rest of its NUMA node and package,
//!   before the next. Threads share as much cache as they can: the cheapest hand-offs.
//! - [`Placement::Scatter`]: threads spread out: one per package first, then one per NUMA
//!   node, per L3 and per core, and only then a second hardware thread of a core. Threads
//!   share as little as they can: the most cache and bandwidth, the dearest hand-offs.
//!
//! The order comes from the topology in [`Machine`] (packages, NUMA nodes, L3 groups, SMT
//! groups) restricted to the CPUs this process may use; a level the machine does not report
//! is treated as one group (for packages, NUMA nodes and L3s) or as one core per CPU (for
//! SMT), so an unknown topology degrades to CPU-number order. Thread `i` of a sample runs on
//! `order[i % order.len()]`: oversubscribed threads wrap around the list ([`thread_cpus`]).
//! The pinning itself happens in each workload thread, in
//! [`crate::workloads::run_threads_with`], for every implementation alike.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::machine::Machine;

/// How a run places its threads on CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Not pinned: the OS scheduler places threads (and may move them).
    #[default]
    None,
    /// Pinned, nearest CPUs first (SMT siblings, then one L3, one NUMA node, one package).
    Compact,
    /// Pinned, farthest CPUs first (packages, then NUMA nodes, L3s, cores, SMT siblings).
    Scatter,
}

impl Placement {
    /// Every placement, in `--placement`'s order.
    pub const ALL: [Placement; 3] = [Placement::None, Placement::Compact, Placement::Scatter];

    /// The name on the command line and in `run.placement`: `none`, `compact`, `scatter`.
    pub fn name(self) -> &'static str {
        match self {
            Placement::None => "none",
            Placement::Compact => "compact",
            Placement::Scatter => "scatter",
        }
    }

    /// Whether threads are pinned.
    pub fn pins(self) -> bool {
        self != Placement::None
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Placement {
    type Err = String;

    fn from_str(s: &str) -> Result<Placement, String> {
        Placement::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown placement {s:?}; known: none, compact, scatter"))
    }
}

/// Where one CPU sits: the index of its package, NUMA node, L3 and core among the machine's
/// groups, and its rank among its core's hardware threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Seat {
    /// Package, NUMA node, L3, core: outermost first.
    levels: [usize; 4],
    /// Position among the core's hardware threads (0 for the first).
    smt_rank: usize,
}

impl Seat {
    /// `cpu`'s seat on `machine`, whose NUMA nodes' CPU lists are `nodes`.
    fn of(machine: &Machine, nodes: &[Vec<usize>], cpu: usize) -> Seat {
        // Unknown package, node or L3: one shared group (index MAX, after the known ones).
        let group = |groups: &[Vec<usize>]| -> usize {
            groups
                .iter()
                .position(|g| g.contains(&cpu))
                .unwrap_or(usize::MAX)
        };
        // Unknown core: a core of its own.
        let core = machine.smt_groups.iter().position(|g| g.contains(&cpu));
        let smt_rank = core.map_or(0, |c| {
            let group = &machine.smt_groups[c];
            group.iter().position(|&x| x == cpu).unwrap_or(0)
        });
        Seat {
            levels: [
                group(&machine.package_groups),
                group(nodes),
                group(&machine.l3_groups),
                core.unwrap_or(machine.smt_groups.len() + cpu),
            ],
            smt_rank,
        }
    }
}

/// The order in which `placement` hands out `allowed` CPUs on `machine` (empty for
/// [`Placement::None`]). CPUs the machine's topology does not mention are still placed (see
/// the module docs); duplicates in `allowed` are dropped.
///
/// # Examples
///
/// ```
/// use weft_bench::machine::Machine;
/// use weft_bench::placement::{cpu_order, Placement};
///
/// // Whatever this machine is, both pinned orders use every allowed CPU once.
/// let machine = Machine::detect();
/// let mut order = cpu_order(&machine, &[1, 0], Placement::Scatter);
/// order.sort_unstable();
/// assert_eq!(order, [0, 1]);
/// assert!(cpu_order(&machine, &[0, 1], Placement::None).is_empty());
/// ```
pub fn cpu_order(machine: &Machine, allowed: &[usize], placement: Placement) -> Vec<usize> {
    let nodes: Vec<Vec<usize>> = machine.numa_nodes.iter().map(|n| n.cpus.clone()).collect();
    let mut seats: Vec<(Seat, usize)> = allowed
        .iter()
        .map(|&cpu| (Seat::of(machine, &nodes, cpu), cpu))
        .collect();
    seats.sort_unstable();
    seats.dedup_by_key(|&mut (_, cpu)| cpu);
    match placement {
        Placement::None => Vec::new(),
        // Sorted by (package, node, L3, core, SMT rank): each group is filled before the next.
        Placement::Compact => seats.into_iter().map(|(_, cpu)| cpu).collect(),
        Placement::Scatter => scatter(seats, 0),
    }
}

/// Spreads `seats` (sorted) over the groups at `level` and below: each group's own order,
/// recursively, then the groups interleaved round-robin (the first CPU of every group, then
/// the second of every group, ...). Below the core level, hardware threads go by SMT rank.
fn scatter(seats: Vec<(Seat, usize)>, level: usize) -> Vec<usize> {
    if level == 4 {
        return seats.into_iter().map(|(_, cpu)| cpu).collect();
    }
    let mut groups: BTreeMap<usize, Vec<(Seat, usize)>> = BTreeMap::new();
    for seat in seats {
        groups.entry(seat.0.levels[level]).or_default().push(seat);
    }
    let orders: Vec<Vec<usize>> = groups
        .into_values()
        .map(|group| scatter(group, level + 1))
        .collect();
    let longest = orders.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| orders.iter().filter_map(move |o| o.get(i).copied()))
        .collect()
}

/// The CPU of each of `threads` threads: thread `i` gets `order[i % order.len()]`, so threads
/// beyond the CPUs wrap around. Empty when `order` is.
///
/// # Examples
///
/// ```
/// assert_eq!(weft_bench::placement::thread_cpus(&[0, 2, 1], 5), [0, 2, 1, 0, 2]);
/// ```
pub fn thread_cpus(order: &[usize], threads: usize) -> Vec<usize> {
    if order.is_empty() {
        return Vec::new();
    }
    (0..threads).map(|i| order[i % order.len()]).collect()
}

/// The CPUs the calling thread may run on (its affinity mask, which threads it spawns
/// inherit), in increasing order; `0..available_parallelism` where the mask cannot be read.
pub fn allowed_cpus() -> Vec<usize> {
    match core_affinity::get_core_ids() {
        Some(ids) if !ids.is_empty() => {
            let mut cpus: Vec<usize> = ids.into_iter().map(|id| id.id).collect();
            cpus.sort_unstable();
            cpus
        }
        _ => (0..std::thread::available_parallelism().map_or(1, usize::from)).collect(),
    }
}

/// Pins the calling thread to `cpu`. Returns whether the OS accepted it.
pub fn pin_current(cpu: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu })
}

/// This machine, detected once per process (placement needs its topology for every case).
pub fn this_machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(Machine::detect)
}

/// The order `placement` hands out the CPUs this thread may use on this machine (empty for
/// [`Placement::None`]).
pub fn order_here(placement: Placement) -> Vec<usize> {
    if !placement.pins() {
        return Vec::new();
    }
    cpu_order(this_machine(), &allowed_cpus(), placement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::tests::two_sockets_with_smt;

    #[test]
    fn names_round_trip() {
        for p in Placement::ALL {
            assert_eq!(p.name().parse::<Placement>(), Ok(p));
        }
        assert!("spread"
            .parse::<Placement>()
            .unwrap_err()
            .contains("compact"));
        assert!(!Placement::None.pins() && Placement::Scatter.pins());
    }

    /// 2 packages x 2 cores x 2 threads, CPU n and n+4 SMT siblings, package 0 = 0,1,4,5.
    #[test]
    fn compact_fills_a_core_then_an_l3_then_a_package() {
        let m = two_sockets_with_smt();
        let all: Vec<usize> = (0..8).collect();
        assert_eq!(
            cpu_order(&m, &all, Placement::Compact),
            [0, 4, 1, 5, 2, 6, 3, 7]
        );
    }

    #[test]
    fn scatter_spreads_over_packages_then_cores_then_siblings() {
        let m = two_sockets_with_smt();
        let all: Vec<usize> = (0..8).rev().collect();
        assert_eq!(
            cpu_order(&m, &all, Placement::Scatter),
            [0, 2, 1, 3, 4, 6, 5, 7]
        );
    }

    #[test]
    fn orders_keep_to_the_allowed_cpus() {
        let m = two_sockets_with_smt();
        assert_eq!(
            cpu_order(&m, &[7, 4, 2, 0, 0], Placement::Compact),
            [0, 4, 2, 7]
        );
        assert_eq!(
            cpu_order(&m, &[7, 4, 2, 0], Placement::Scatter),
            [0, 2, 4, 7]
        );
        assert!(cpu_order(&m, &[0, 1], Placement::None).is_empty());
    }

    #[test]
    fn unknown_topology_is_cpu_order() {
        let mut m = two_sockets_with_smt();
        m.package_groups.clear();
        m.numa_nodes.clear();
        m.l3_groups.clear();
        m.smt_groups.clear();
        for p in [Placement::Compact, Placement::Scatter] {
            assert_eq!(cpu_order(&m, &[3, 1, 2, 0], p), [0, 1, 2, 3], "{p}");
        }
    }

    #[test]
    fn oversubscribed_threads_wrap_around() {
        assert_eq!(thread_cpus(&[1, 0], 5), [1, 0, 1, 0, 1]);
        assert!(thread_cpus(&[], 3).is_empty());
    }

    #[test]
    fn this_process_may_use_some_cpu() {
        let allowed = allowed_cpus();
        assert!(!allowed.is_empty());
        assert_eq!(order_here(Placement::Compact).len(), allowed.len());
    }
}
