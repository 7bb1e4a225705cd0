//! The machine a run happened on: its topology, read from Linux's `/proc` and `/sys`, and the
//! core-to-core round trips measured on it.
//!
//! Scaling results mean little without the topology behind them: 8 threads on 8 cores of one
//! L3 behave nothing like 8 threads on 4 SMT pairs or across two sockets. Everything here is
//! best effort: a file that is missing or unreadable (another OS, a container hiding `/sys`)
//! leaves its field `None` or its list empty rather than failing the run. An empty group list
//! therefore means "unknown", never "none".
//!
//! [`CoreToCore`] holds the round trips as result files store them (`machine.core_to_core`),
//! with the [`Relation`] of each pair of CPUs and the lookups by pair and by set of CPUs;
//! [`crate::floor`] measures them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::stats;

/// CPU, topology and kernel of the machine that produced a result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`, e.g. `"AMD EPYC 7B13"`.
    pub cpu_model: Option<String>,
    /// Online logical CPUs (hardware threads): `/sys/devices/system/cpu/online`, else the
    /// `processor` lines of `/proc/cpuinfo`, else what the OS lets this process use.
    pub logical_cpus: usize,
    /// CPUs this process may run on (affinity mask, cgroup quota), from
    /// `std::thread::available_parallelism`. Below `logical_cpus` when the run was confined.
    pub available_parallelism: Option<usize>,
    /// Distinct `physical_package_id`s (sockets).
    pub packages: Option<usize>,
    /// Distinct physical cores: `(physical_package_id, die_id, core_id)` triples.
    pub cores: Option<usize>,
    /// The CPUs of each package (`physical_package_id`), one list per package. Absent in
    /// files written before it existed.
    #[serde(default)]
    pub package_groups: Vec<Vec<usize>>,
    /// Hardware threads sharing a core (`thread_siblings_list`), one list per core.
    pub smt_groups: Vec<Vec<usize>>,
    /// CPUs sharing a last-level (L3) cache (`cache/index*/shared_cpu_list` where
    /// `level` is 3), one list per L3.
    pub l3_groups: Vec<Vec<usize>>,
    /// NUMA nodes from `/sys/devices/system/node/node*`.
    pub numa_nodes: Vec<NumaNode>,
    /// Kernel release (`uname -r`), from `/proc/sys/kernel/osrelease`.
    pub kernel: Option<String>,
    /// Host name, from `/proc/sys/kernel/hostname`.
    pub hostname: Option<String>,
    /// The cache-line round-trip latency between pairs of CPUs, the floor of any
    /// cross-thread hand-off: measured by `weft-bench run` at its start (see
    /// [`crate::floor`]); `None` from [`Machine::detect`], in files written before it
    /// existed, and where fewer than two CPUs could be used.
    #[serde(default)]
    pub core_to_core: Option<CoreToCore>,
}

/// One NUMA node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumaNode {
    /// The node number (`N` in `nodeN`).
    pub id: usize,
    /// CPUs on this node; empty for a memory-only node.
    pub cpus: Vec<usize>,
    /// The node's row of the SLIT distance table (10 = local), indexed by node id.
    pub distances: Vec<u32>,
}

impl Machine {
    /// Describes the machine this process runs on.
    pub fn detect() -> Machine {
        Machine::from_root(Path::new("/"))
    }

    /// Describes the machine whose `proc/` and `sys/` trees lie under `root` (`/` for this
    /// one; a fixture directory in tests).
    pub fn from_root(root: &Path) -> Machine {
        let cpuinfo = read(root.join("proc/cpuinfo"));
        let cpu_model = cpuinfo.as_deref().and_then(|info| {
            info.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(key, _)| key.trim() == "model name")
                .map(|(_, value)| value.trim().to_owned())
        });
        let cpu_root = root.join("sys/devices/system/cpu");
        let online = read(cpu_root.join("online"))
            .and_then(|list| parse_cpu_list(&list))
            .filter(|cpus| !cpus.is_empty())
            .unwrap_or_else(|| numbered_entries(&cpu_root, "cpu").into_keys().collect());
        let available_parallelism = std::thread::available_parallelism().ok().map(usize::from);
        let logical_cpus = if !online.is_empty() {
            online.len()
        } else {
            cpuinfo
                .as_deref()
                .map(|info| {
                    info.lines()
                        .filter(|line| line.split(':').next().map(str::trim) == Some("processor"))
                        .count()
                })
                .filter(|&n| n > 0)
                .or(available_parallelism)
                .unwrap_or(1)
        };

        let mut package_ids = BTreeSet::new();
        let mut package_cpus: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        let mut core_ids = BTreeSet::new();
        let mut topology_complete = !online.is_empty();
        let mut smt_groups = BTreeSet::new();
        let mut l3_groups = BTreeSet::new();
        for &cpu in &online {
            let dir = cpu_root.join(format!("cpu{cpu}"));
            let topo = dir.join("topology");
            let package = read_number::<u64>(topo.join("physical_package_id"));
            let core = read_number::<u64>(topo.join("core_id"));
            let die = read_number::<u64>(topo.join("die_id")).unwrap_or(0);
            match (package, core) {
                (Some(package), Some(core)) => {
                    package_ids.insert(package);
                    package_cpus.entry(package).or_default().push(cpu);
                    core_ids.insert((package, die, core));
                }
                _ => topology_complete = false,
            }
            if let Some(siblings) = read(topo.join("thread_siblings_list"))
                .or_else(|| read(topo.join("core_cpus_list")))
                .and_then(|list| parse_cpu_list(&list))
            {
                smt_groups.insert(siblings);
            }
            for (_, index) in numbered_entries(&dir.join("cache"), "index") {
                if read(index.join("level")).as_deref().map(str::trim) == Some("3") {
                    if let Some(shared) =
                        read(index.join("shared_cpu_list")).and_then(|l| parse_cpu_list(&l))
                    {
                        l3_groups.insert(shared);
                    }
                }
            }
        }

        let numa_nodes = numbered_entries(&root.join("sys/devices/system/node"), "node")
            .into_iter()
            .map(|(id, dir)| NumaNode {
                id,
                cpus: read(dir.join("cpulist"))
                    .and_then(|list| parse_cpu_list(&list))
                    .unwrap_or_default(),
                distances: read(dir.join("distance"))
                    .and_then(|row| row.split_whitespace().map(|d| d.parse().ok()).collect())
                    .unwrap_or_default(),
            })
            .collect();

        Machine {
            cpu_model,
            logical_cpus,
            available_parallelism,
            packages: topology_complete.then_some(package_ids.len()),
            cores: topology_complete.then_some(core_ids.len()),
            package_groups: if topology_complete {
                package_cpus.into_values().collect()
            } else {
                Vec::new()
            },
            smt_groups: smt_groups.into_iter().collect(),
            l3_groups: l3_groups.into_iter().collect(),
            numa_nodes,
            kernel: read_trimmed(root.join("proc/sys/kernel/osrelease")),
            hostname: read_trimmed(root.join("proc/sys/kernel/hostname")),
            core_to_core: None,
        }
    }

    /// A one-line description for report headers, e.g.
    /// `"AMD EPYC 7B13, 2 logical CPUs (1 package, 2 cores, 1 L3, 1 NUMA node), Linux 6.1.0"`.
    pub fn summary(&self) -> String {
        let mut topology = Vec::new();
        let mut count = |n: Option<usize>, what: &str| {
            if let Some(n) = n {
                topology.push(format!("{n} {what}{}", if n == 1 { "" } else { "s" }));
            }
        };
        count(self.packages, "package");
        count(self.cores, "core");
        let nonempty = |n: usize| (n > 0).then_some(n);
        count(nonempty(self.l3_groups.len()), "L3");
        count(nonempty(self.numa_nodes.len()), "NUMA node");
        let mut line = format!(
            "{}, {} logical CPUs",
            self.cpu_model.as_deref().unwrap_or("unknown CPU"),
            self.logical_cpus
        );
        if !topology.is_empty() {
            line += &format!(" ({})", topology.join(", "));
        }
        if let Some(n) = self
            .available_parallelism
            .filter(|&n| n < self.logical_cpus)
        {
            line += &format!(", {n} usable by the run");
        }
        if let Some(kernel) = &self.kernel {
            line += &format!(", Linux {kernel}");
        }
        line
    }
}

/// The innermost part of the machine that two CPUs share, as far as the topology tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    /// Hardware threads of one core (SMT siblings).
    Smt,
    /// Different cores sharing an L3.
    L3,
    /// One NUMA node, different L3s.
    Numa,
    /// One package, different NUMA nodes.
    Package,
    /// Nothing shared that the topology reports (different packages, or topology unknown).
    Machine,
}

impl Relation {
    /// The name in result files: `smt`, `l3`, `numa`, `package`, `machine`.
    pub fn name(self) -> &'static str {
        match self {
            Relation::Smt => "smt",
            Relation::L3 => "l3",
            Relation::Numa => "numa",
            Relation::Package => "package",
            Relation::Machine => "machine",
        }
    }
}

/// Each CPU's group at each level (SMT core, L3, NUMA node, package), for [`Relation`]s.
pub(crate) struct Groups(HashMap<usize, [Option<usize>; 4]>);

impl Groups {
    pub(crate) fn of(machine: &Machine) -> Groups {
        let nodes: Vec<Vec<usize>> = machine.numa_nodes.iter().map(|n| n.cpus.clone()).collect();
        let levels: [&[Vec<usize>]; 4] = [
            &machine.smt_groups,
            &machine.l3_groups,
            &nodes,
            &machine.package_groups,
        ];
        let mut map: HashMap<usize, [Option<usize>; 4]> = HashMap::new();
        for (level, groups) in levels.iter().enumerate() {
            for (g, cpus) in groups.iter().enumerate() {
                for &cpu in cpus {
                    map.entry(cpu).or_default()[level] = Some(g);
                }
            }
        }
        Groups(map)
    }

    pub(crate) fn relation(&self, a: usize, b: usize) -> Relation {
        const RELATIONS: [Relation; 4] = [
            Relation::Smt,
            Relation::L3,
            Relation::Numa,
            Relation::Package,
        ];
        let (Some(ga), Some(gb)) = (self.0.get(&a), self.0.get(&b)) else {
            return Relation::Machine;
        };
        (0..4)
            .find(|&level| ga[level].is_some() && ga[level] == gb[level])
            .map_or(Relation::Machine, |level| RELATIONS[level])
    }
}

/// The relation between CPUs `a` and `b` on `machine`.
pub fn relation(machine: &Machine, a: usize, b: usize) -> Relation {
    Groups::of(machine).relation(a, b)
}

/// One measured pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairLatency {
    /// The two CPUs, lower first.
    pub cpus: [usize; 2],
    /// What they share.
    pub relation: Relation,
    /// Median round trip, ns.
    pub ns: f64,
}

/// The core-to-core round-trip latencies of a machine (`machine.core_to_core` in result
/// files): what was measured, how, and the medians per [`Relation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreToCore {
    /// The CPUs measured among (those the process could use).
    pub cpus: Vec<usize>,
    /// Round trips per sample.
    pub rounds: u64,
    /// Samples per pair (after one warm-up); a pair's value is their median.
    pub samples: usize,
    /// Whether every pair of `cpus` was measured; when `false`, `pairs` is a sample spread
    /// evenly over each relation, and an unmeasured pair counts as its relation's median.
    pub complete: bool,
    /// The measured pairs.
    pub pairs: Vec<PairLatency>,
    /// Median of the measured pairs of each relation, ns.
    pub relations: BTreeMap<Relation, f64>,
    /// Median over every pair of `cpus` (unmeasured pairs at their relation's median), ns:
    /// the floor of threads the OS places anywhere.
    pub median_ns: f64,
}

impl CoreToCore {
    /// The round trip between `a` and `b`: measured, else the median of their relation's
    /// measured pairs, else the median of all measured pairs. `None` when `a == b`.
    pub fn pair_ns(&self, machine: &Machine, a: usize, b: usize) -> Option<f64> {
        self.pair_ns_in(&Groups::of(machine), a, b)
    }

    fn pair_ns_in(&self, groups: &Groups, a: usize, b: usize) -> Option<f64> {
        if a == b {
            return None;
        }
        let key = [a.min(b), a.max(b)];
        if let Some(p) = self.pairs.iter().find(|p| p.cpus == key) {
            return Some(p.ns);
        }
        let relation = groups.relation(a, b);
        self.relations.get(&relation).copied().or_else(|| {
            let all: Vec<f64> = self.pairs.iter().map(|p| p.ns).collect();
            stats::summarize(&all).map(|s| s.median)
        })
    }

    /// The round trips among [`CoreToCore::cpus`], row by row: `None` on the diagonal,
    /// unmeasured pairs at their relation's median (see [`CoreToCore::pair_ns`]).
    pub fn matrix(&self, machine: &Machine) -> Vec<Vec<Option<f64>>> {
        let groups = Groups::of(machine);
        self.cpus
            .iter()
            .map(|&a| {
                self.cpus
                    .iter()
                    .map(|&b| self.pair_ns_in(&groups, a, b))
                    .collect()
            })
            .collect()
    }

    /// The floor of threads pinned to `cpus`: the median round trip over every pair of
    /// distinct CPUs among them (see [`CoreToCore::pair_ns`]). `None` when they are fewer
    /// than two distinct CPUs (hand-offs on one CPU are context switches, not cache-line
    /// transfers).
    pub fn floor_ns(&self, machine: &Machine, cpus: &[usize]) -> Option<f64> {
        let groups = Groups::of(machine);
        let mut cpus = cpus.to_vec();
        cpus.sort_unstable();
        cpus.dedup();
        let mut ns = Vec::new();
        for (i, &a) in cpus.iter().enumerate() {
            for &b in &cpus[i + 1..] {
                ns.extend(self.pair_ns_in(&groups, a, b));
            }
        }
        stats::summarize(&ns).map(|s| s.median)
    }
}

/// Parses a Linux CPU list such as `"0-3,8,10-11"` into sorted, deduplicated CPU numbers.
///
/// Surrounding whitespace is ignored and an empty list (a CPU-less NUMA node) gives an empty
/// vector. Returns `None` for anything malformed, including a descending range.
///
/// # Examples
///
/// ```
/// use weft_bench::machine::parse_cpu_list;
/// assert_eq!(parse_cpu_list("0-3,8,10-11\n"), Some(vec![0, 1, 2, 3, 8, 10, 11]));
/// assert_eq!(parse_cpu_list("3-1"), None);
/// ```
pub fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let list = list.trim();
    let mut cpus = BTreeSet::new();
    if list.is_empty() {
        return Some(Vec::new());
    }
    for part in list.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last): (usize, usize) =
                    (first.trim().parse().ok()?, last.trim().parse().ok()?);
                if first > last {
                    return None;
                }
                cpus.extend(first..=last);
            }
            None => {
                cpus.insert(part.parse().ok()?);
            }
        }
    }
    Some(cpus.into_iter().collect())
}

/// Formats CPU numbers as a Linux CPU list, runs of consecutive numbers as ranges: the
/// inverse of [`parse_cpu_list`] (for sorted, deduplicated input).
///
/// # Examples
///
/// ```
/// use weft_bench::machine::format_cpu_list;
/// assert_eq!(format_cpu_list(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
/// assert_eq!(format_cpu_list(&[]), "");
/// ```
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

fn read(path: PathBuf) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn read_trimmed(path: PathBuf) -> Option<String> {
    read(path)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn read_number<N: std::str::FromStr>(path: PathBuf) -> Option<N> {
    read(path)?.trim().parse().ok()
}

/// Entries `dir/{prefix}N` (N a number), by N.
fn numbered_entries(dir: &Path, prefix: &str) -> BTreeMap<usize, PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let n = name.to_str()?.strip_prefix(prefix)?.parse().ok()?;
            Some((n, entry.path()))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("5"), Some(vec![5]));
        assert_eq!(parse_cpu_list(" 0-1 \n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("4,0-1,1"), Some(vec![0, 1, 4]));
        assert_eq!(parse_cpu_list("\n"), Some(vec![]));
        assert_eq!(parse_cpu_list("7-7"), Some(vec![7]));
    }

    #[test]
    fn malformed_cpu_lists() {
        for bad in ["3-1", "a", "0-", "-2", "1,,2", "0-3,x", "1-2-3"] {
            assert_eq!(parse_cpu_list(bad), None, "{bad:?}");
        }
    }

    /// A scratch directory removed on drop.
    struct Fixture(PathBuf);

    impl Fixture {
        fn new(name: &str) -> Fixture {
            let dir = std::env::temp_dir()
                .join(format!("weft-bench-machine-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Fixture(dir)
        }

        fn write(&self, path: &str, contents: &str) {
            let path = self.0.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, contents).unwrap();
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A machine read from a fake tree: 2 packages x 2 cores x 2 threads; CPU n and n+4 are
    /// SMT siblings; one L3 and one NUMA node per package (CPUs 0, 1, 4, 5 and 2, 3, 6, 7).
    pub(crate) fn two_sockets_with_smt() -> Machine {
        let f = Fixture::new(&format!("smt-{:?}", std::thread::current().id()));
        f.write(
            "proc/cpuinfo",
            "processor\t: 0\nmodel name\t: Test CPU 9000\n\nprocessor\t: 1\nmodel name\t: Test CPU 9000\n",
        );
        f.write("proc/sys/kernel/osrelease", "6.1.0-test\n");
        f.write("sys/devices/system/cpu/online", "0-7\n");
        for cpu in 0..8 {
            let base = format!("sys/devices/system/cpu/cpu{cpu}");
            let package = (cpu % 4) / 2;
            let sibling = (cpu + 4) % 8;
            let (lo, hi) = (cpu.min(sibling), cpu.max(sibling));
            f.write(
                &format!("{base}/topology/physical_package_id"),
                &format!("{package}\n"),
            );
            f.write(
                &format!("{base}/topology/core_id"),
                &format!("{}\n", cpu % 2),
            );
            f.write(
                &format!("{base}/topology/thread_siblings_list"),
                &format!("{lo},{hi}\n"),
            );
            f.write(&format!("{base}/cache/index0/level"), "1\n");
            f.write(
                &format!("{base}/cache/index0/shared_cpu_list"),
                &format!("{lo},{hi}\n"),
            );
            f.write(&format!("{base}/cache/index3/level"), "3\n");
            let l3 = if package == 0 { "0-1,4-5" } else { "2-3,6-7" };
            f.write(&format!("{base}/cache/index3/shared_cpu_list"), l3);
        }
        f.write("sys/devices/system/node/node0/cpulist", "0-1,4-5\n");
        f.write("sys/devices/system/node/node0/distance", "10 21\n");
        f.write("sys/devices/system/node/node1/cpulist", "2-3,6-7\n");
        f.write("sys/devices/system/node/node1/distance", "21 10\n");
        Machine::from_root(&f.0)
    }

    #[test]
    fn relations_on_two_sockets() {
        let m = two_sockets_with_smt();
        assert_eq!(relation(&m, 0, 4), Relation::Smt);
        assert_eq!(relation(&m, 0, 1), Relation::L3);
        assert_eq!(relation(&m, 0, 2), Relation::Machine);
        let mut flat = m.clone();
        flat.l3_groups.clear();
        assert_eq!(relation(&flat, 0, 1), Relation::Numa);
        flat.numa_nodes.clear();
        assert_eq!(relation(&flat, 0, 1), Relation::Package);
        assert_eq!(relation(&flat, 0, 99), Relation::Machine);
    }

    #[test]
    fn reads_two_sockets_with_smt() {
        let m = two_sockets_with_smt();
        assert_eq!(m.cpu_model.as_deref(), Some("Test CPU 9000"));
        assert_eq!(m.logical_cpus, 8);
        assert_eq!(m.packages, Some(2));
        assert_eq!(m.cores, Some(4));
        assert_eq!(m.package_groups, vec![vec![0, 1, 4, 5], vec![2, 3, 6, 7]]);
        assert_eq!(
            m.smt_groups,
            vec![vec![0, 4], vec![1, 5], vec![2, 6], vec![3, 7]]
        );
        assert_eq!(m.l3_groups, vec![vec![0, 1, 4, 5], vec![2, 3, 6, 7]]);
        assert_eq!(
            m.numa_nodes,
            vec![
                NumaNode {
                    id: 0,
                    cpus: vec![0, 1, 4, 5],
                    distances: vec![10, 21]
                },
                NumaNode {
                    id: 1,
                    cpus: vec![2, 3, 6, 7],
                    distances: vec![21, 10]
                },
            ]
        );
        assert_eq!(m.kernel.as_deref(), Some("6.1.0-test"));
        assert_eq!(m.hostname, None);
        assert!(m.summary().starts_with(
            "Test CPU 9000, 8 logical CPUs (2 packages, 4 cores, 2 L3s, 2 NUMA nodes)"
        ));
    }

    #[test]
    fn missing_files_degrade_to_unknown() {
        let f = Fixture::new("empty");
        let m = Machine::from_root(&f.0);
        assert_eq!(m.cpu_model, None);
        assert!(m.logical_cpus >= 1);
        assert_eq!((m.packages, m.cores), (None, None));
        assert!(m.package_groups.is_empty());
        assert!(m.smt_groups.is_empty() && m.l3_groups.is_empty() && m.numa_nodes.is_empty());
        assert_eq!((m.kernel, m.hostname), (None, None));
    }

    #[test]
    fn cpuinfo_only() {
        let f = Fixture::new("cpuinfo");
        f.write(
            "proc/cpuinfo",
            "processor : 0\nprocessor : 1\nprocessor : 2\n",
        );
        let m = Machine::from_root(&f.0);
        assert_eq!(m.logical_cpus, 3);
        assert_eq!(m.cpu_model, None);
    }

    #[test]
    fn detects_this_machine() {
        let m = Machine::detect();
        assert!(m.logical_cpus >= 1);
    }
}
