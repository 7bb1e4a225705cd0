//! The floor: what one cache line costs to go from one CPU to another and back.
//!
//! Every cross-thread hand-off (a message through a channel, a lock passed on, a stolen task)
//! moves at least one cache line from the CPU that wrote it to the CPU that reads it, and
//! usually another one back. Two threads pinned to CPUs `a` and `b` that ping-pong one
//! `AtomicU64` measure that cost alone, with nothing else around it: the round-trip latency
//! between `a` and `b` ([`round_trip_ns`]), the physical floor under any hand-off between
//! them. `weft-bench topology` prints the matrix for every pair; `weft-bench run` measures it
//! at its start ([`measure`], bounded for big machines by sampling pairs per [`Relation`]),
//! stores it in the result file (`machine.core_to_core`, a [`CoreToCore`]) and gives each
//! hand-off row its floor and its time as a multiple of it (`floor_ns`, `x_floor`; see
//! [`annotate`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::config::Size;
use crate::machine::{format_cpu_list, CoreToCore, Groups, Machine, PairLatency, Relation};
use crate::placement::pin_current;
use crate::result::ResultRow;
use crate::stats;

/// How hard [`measure`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effort {
    /// Round trips per sample.
    pub rounds: u64,
    /// Samples per pair.
    pub samples: usize,
    /// At most this many pairs; beyond it pairs are sampled per relation.
    pub max_pairs: usize,
}

impl Effort {
    /// What a run of `size` spends on the floor: a few ms per pair, at most 256 pairs (full),
    /// 64 (quick) or 4 (smoke).
    pub fn for_size(size: Size) -> Effort {
        match size {
            Size::Full => Effort {
                rounds: 2_000,
                samples: 7,
                max_pairs: 256,
            },
            Size::Quick => Effort {
                rounds: 1_000,
                samples: 5,
                max_pairs: 64,
            },
            Size::Smoke => Effort {
                rounds: 100,
                samples: 3,
                max_pairs: 4,
            },
        }
    }
}

/// Two threads pinned to `a` and `b` pass one cache line back and forth: `a` writes an odd
/// number and waits for the next even one, `b` answers each odd number with the next even
/// one. One warm-up sample, then `samples` samples of `rounds` round trips, timed on `a`.
/// Returns the median ns per round trip, or `None` if either thread could not be pinned (or
/// `a == b`, `rounds == 0`, `samples == 0`). The waits are bare reloads, without a spin-loop
/// hint, which would add its own delay (a `pause` is over 100 cycles on some CPUs) to what
/// is measured.
pub fn round_trip_ns(a: usize, b: usize, rounds: u64, samples: usize) -> Option<f64> {
    if a == b || rounds == 0 || samples == 0 {
        return None;
    }
    let line = CachePadded::new(AtomicU64::new(0));
    let pinned = [AtomicBool::new(false), AtomicBool::new(false)];
    let barrier = Barrier::new(2);
    let total = rounds * (samples as u64 + 1);
    let both_pinned = || {
        barrier.wait(); // after both pin attempts (the barrier orders the flags)
        pinned.iter().all(|p| p.load(Ordering::Relaxed))
    };
    let times = thread::scope(|s| {
        s.spawn(|| {
            pinned[1].store(pin_current(b), Ordering::Relaxed);
            if !both_pinned() {
                return;
            }
            for i in 0..total {
                // Ordering: Acquire pairs with the initiator's Release store of 2i + 1.
                while line.load(Ordering::Acquire) != 2 * i + 1 {}
                // Ordering: Release pairs with the initiator's Acquire load waiting for it.
                line.store(2 * i + 2, Ordering::Release);
            }
        });
        // The initiator runs on a thread of its own too: the caller stays unpinned.
        let initiator = s.spawn(|| {
            pinned[0].store(pin_current(a), Ordering::Relaxed);
            if !both_pinned() {
                return None;
            }
            let mut times = Vec::with_capacity(samples);
            for sample in 0..=samples as u64 {
                let start = Instant::now();
                for i in sample * rounds..(sample + 1) * rounds {
                    // Ordering: Release pairs with the responder's Acquire load waiting for it.
                    line.store(2 * i + 1, Ordering::Release);
                    // Ordering: Acquire pairs with the responder's Release store of 2i + 2.
                    while line.load(Ordering::Acquire) != 2 * i + 2 {}
                }
                if sample > 0 {
                    times.push(start.elapsed().as_nanos() as f64 / rounds as f64);
                }
            }
            Some(times)
        });
        initiator.join().expect("the initiator does not panic")
    })?;
    stats::summarize(&times).map(|s| s.median)
}

/// The pairs of `cpus` (lower CPU first) to measure: all of them when there are at most
/// `max_pairs`, else up to `max_pairs / relations` of each relation, spread evenly over
/// that relation's pairs. The flag says whether every pair is included.
pub fn choose_pairs(
    machine: &Machine,
    cpus: &[usize],
    max_pairs: usize,
) -> (Vec<[usize; 2]>, bool) {
    let groups = Groups::of(machine);
    let mut by_relation: BTreeMap<Relation, Vec<[usize; 2]>> = BTreeMap::new();
    for (i, &a) in cpus.iter().enumerate() {
        for &b in &cpus[i + 1..] {
            let pair = [a.min(b), a.max(b)];
            by_relation
                .entry(groups.relation(a, b))
                .or_default()
                .push(pair);
        }
    }
    let all: usize = by_relation.values().map(Vec::len).sum();
    if all <= max_pairs {
        return (by_relation.into_values().flatten().collect(), true);
    }
    let quota = (max_pairs / by_relation.len()).max(1);
    let chosen = by_relation
        .into_values()
        .flat_map(|pairs| {
            let take = quota.min(pairs.len());
            (0..take)
                .map(|k| pairs[k * pairs.len() / take])
                .collect::<Vec<_>>()
        })
        .collect();
    (chosen, false)
}

/// Measures the round trips among `cpus` on `machine` with `effort` (see [`choose_pairs`]),
/// calling `tick` after each pair. `None` with fewer than two CPUs or when no pair could be
/// pinned.
pub fn measure(
    machine: &Machine,
    cpus: &[usize],
    effort: Effort,
    mut tick: impl FnMut(),
) -> Option<CoreToCore> {
    let mut cpus = cpus.to_vec();
    cpus.sort_unstable();
    cpus.dedup();
    let groups = Groups::of(machine);
    let (chosen, complete) = choose_pairs(machine, &cpus, effort.max_pairs);
    let mut pairs = Vec::with_capacity(chosen.len());
    let mut lost = false;
    for [a, b] in chosen {
        match round_trip_ns(a, b, effort.rounds, effort.samples) {
            Some(ns) => pairs.push(PairLatency {
                cpus: [a, b],
                relation: groups.relation(a, b),
                ns,
            }),
            None => lost = true,
        }
        tick();
    }
    if pairs.is_empty() {
        return None;
    }
    let mut by_relation: BTreeMap<Relation, Vec<f64>> = BTreeMap::new();
    for p in &pairs {
        by_relation.entry(p.relation).or_default().push(p.ns);
    }
    let relations = by_relation
        .into_iter()
        .map(|(r, ns)| (r, stats::summarize(&ns).expect("nonempty").median))
        .collect();
    let mut floor = CoreToCore {
        cpus,
        rounds: effort.rounds,
        samples: effort.samples,
        complete: complete && !lost,
        pairs,
        relations,
        median_ns: 0.0,
    };
    floor.median_ns = floor
        .floor_ns(machine, &floor.cpus.clone())
        .expect("two CPUs, one pair measured");
    Some(floor)
}

/// Whether `suite`'s `workload` is a cross-thread hand-off, whose rows get a floor: every
/// `chan` workload but `seq`, mutex `contended`, waitgroup `fan_in`, deque `steal` and
/// `steal_batch`.
pub fn is_handoff(suite: &str, workload: &str) -> bool {
    matches!(
        (suite, workload),
        ("chan", w) if w != "seq"
    ) || matches!(
        (suite, workload),
        ("mutex", "contended") | ("waitgroup", "fan_in") | ("deque", "steal" | "steal_batch")
    )
}

/// Sets `row.floor_ns` to `floor_ns` and `row.x_floor` to the row's median over it.
pub fn annotate(row: &mut ResultRow, floor_ns: f64) {
    if floor_ns > 0.0 {
        row.floor_ns = Some(floor_ns);
        row.x_floor = Some(row.median_ns_per_op / floor_ns);
    }
}

/// Gives rows of threads that were never pinned (the Go twin's) the machine's median floor
/// where a row of `measured` for the same case (suite, workload, [`Params::case`]) has a
/// floor: the case is a hand-off among two or more threads.
///
/// [`Params::case`]: crate::result::Params::case
pub fn annotate_unpinned(machine: &Machine, measured: &[ResultRow], rows: &mut [ResultRow]) {
    let Some(c2c) = &machine.core_to_core else {
        return;
    };
    for row in rows.iter_mut().filter(|r| r.cpus.is_none()) {
        let case = row.params.case();
        let handoff = measured.iter().any(|m| {
            m.floor_ns.is_some()
                && m.suite == row.suite
                && m.workload == row.workload
                && m.params.case() == case
        });
        if handoff {
            annotate(row, c2c.median_ns);
        }
    }
}

/// A multiple of the floor for tables: `"0.52x"`, `"3.4x"`, `"27x"` (two significant
/// digits, at least one decimal below 10).
///
/// # Examples
///
/// ```
/// use weft_bench::floor::format_multiple;
/// assert_eq!(format_multiple(0.516), "0.52x");
/// assert_eq!(format_multiple(3.44), "3.4x");
/// assert_eq!(format_multiple(27.2), "27x");
/// ```
pub fn format_multiple(x: f64) -> String {
    if x < 1.0 {
        format!("{x:.2}x")
    } else if x < 10.0 {
        format!("{x:.1}x")
    } else {
        format!("{x:.0}x")
    }
}

/// For tables: the row's median as a multiple of its floor (`"3.4x"`, see
/// [`format_multiple`]), or `None` for rows without one (not a hand-off, one CPU, files
/// written before the floor existed).
pub fn multiple_cell(row: &ResultRow) -> Option<String> {
    row.x_floor.map(format_multiple)
}

/// For report headers: one line on the floor of the machine, e.g. `"Floor (cache-line round
/// trip between two CPUs): median 331 ns over 1 pair of 2 CPUs; l3 331 ns"`, or `None` when
/// the file has none.
pub fn summary(machine: &Machine) -> Option<String> {
    let floor = machine.core_to_core.as_ref()?;
    let relations: Vec<String> = floor
        .relations
        .iter()
        .map(|(r, ns)| format!("{} {ns:.0} ns", r.name()))
        .collect();
    let n = floor.pairs.len();
    Some(format!(
        "Floor (cache-line round trip between two CPUs): median {:.0} ns over {n} {} of {} \
         CPUs{}; {}",
        floor.median_ns,
        if n == 1 { "pair" } else { "pairs" },
        floor.cpus.len(),
        if floor.complete { "" } else { " (sampled)" },
        relations.join(", ")
    ))
}

/// The matrix of round trips among `floor.cpus` as text: measured values in ns, `~` before
/// estimated ones (an unmeasured pair at its relation's median), `-` on the diagonal.
pub fn matrix_text(machine: &Machine, floor: &CoreToCore) -> String {
    let cells: Vec<Vec<String>> = floor
        .cpus
        .iter()
        .zip(floor.matrix(machine))
        .map(|(&a, row)| {
            floor
                .cpus
                .iter()
                .zip(row)
                .map(|(&b, ns)| {
                    let measured = floor.pairs.iter().any(|p| p.cpus == [a.min(b), a.max(b)]);
                    match ns {
                        None => "-".to_owned(),
                        Some(ns) if measured => format!("{ns:.0}"),
                        Some(ns) => format!("~{ns:.0}"),
                    }
                })
                .collect()
        })
        .collect();
    let width = cells
        .iter()
        .flatten()
        .map(String::len)
        .chain(floor.cpus.iter().map(|c| c.to_string().len()))
        .max()
        .unwrap_or(1);
    let mut out = format!("{:>width$}", "");
    for cpu in &floor.cpus {
        let _ = write!(out, " {cpu:>width$}");
    }
    out.push('\n');
    for (cpu, row) in floor.cpus.iter().zip(cells) {
        let _ = write!(out, "{cpu:>width$}");
        for cell in row {
            let _ = write!(out, " {cell:>width$}");
        }
        out.push('\n');
    }
    out
}

/// The `weft-bench topology` report: the machine's packages, cores, SMT siblings, L3 groups,
/// NUMA nodes and distances, then the round-trip matrix (for up to 64 CPUs; the medians per
/// relation above that).
pub fn topology_text(machine: &Machine) -> String {
    let mut out = String::new();
    let lists = |groups: &[Vec<usize>]| -> String {
        if groups.is_empty() {
            return "unknown".to_owned();
        }
        groups
            .iter()
            .map(|g| format!("[{}]", format_cpu_list(g)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let count = |n: Option<usize>| n.map_or("unknown".to_owned(), |n| n.to_string());
    let _ = writeln!(out, "Machine: {}", machine.summary());
    let _ = writeln!(
        out,
        "Packages: {}  {}",
        count(machine.packages),
        lists(&machine.package_groups)
    );
    let _ = writeln!(out, "Cores: {}", count(machine.cores));
    let _ = writeln!(out, "SMT siblings: {}", lists(&machine.smt_groups));
    let _ = writeln!(out, "L3 groups: {}", lists(&machine.l3_groups));
    if machine.numa_nodes.is_empty() {
        let _ = writeln!(out, "NUMA nodes: unknown");
    }
    for node in &machine.numa_nodes {
        let distances: Vec<String> = node.distances.iter().map(u32::to_string).collect();
        let _ = writeln!(
            out,
            "NUMA node {}: CPUs [{}], distances {}",
            node.id,
            format_cpu_list(&node.cpus),
            if distances.is_empty() {
                "unknown".to_owned()
            } else {
                distances.join(" ")
            }
        );
    }
    match &machine.core_to_core {
        None => {
            let _ = writeln!(
                out,
                "\nCore-to-core round trip: not measured (fewer than two CPUs could be pinned)"
            );
        }
        Some(floor) => {
            let _ = writeln!(
                out,
                "\nCore-to-core round trip of one cache line, ns (median of {} samples of {} \
                 round trips{}):",
                floor.samples,
                floor.rounds,
                if floor.complete {
                    ""
                } else {
                    "; pairs sampled, ~ = relation median"
                }
            );
            if floor.cpus.len() <= 64 {
                out += &matrix_text(machine, floor);
            }
            let _ = writeln!(out, "{}", summary(machine).expect("measured"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::relation;
    use crate::machine::tests::two_sockets_with_smt;
    use crate::result::Params;

    #[test]
    fn pairs_are_sampled_per_relation_beyond_the_budget() {
        let m = two_sockets_with_smt();
        let cpus: Vec<usize> = (0..8).collect();
        let (all, complete) = choose_pairs(&m, &cpus, 100);
        assert!(complete);
        assert_eq!(all.len(), 28);
        let (some, complete) = choose_pairs(&m, &cpus, 6);
        assert!(!complete);
        // smt (4 pairs), l3 (8), machine (16): two of each.
        assert_eq!(some.len(), 6);
        let relations: Vec<Relation> = some.iter().map(|p| relation(&m, p[0], p[1])).collect();
        for r in [Relation::Smt, Relation::L3, Relation::Machine] {
            assert_eq!(relations.iter().filter(|&&x| x == r).count(), 2, "{r:?}");
        }
    }

    fn synthetic() -> (Machine, CoreToCore) {
        let m = two_sockets_with_smt();
        let pair = |a: usize, b: usize, ns| PairLatency {
            cpus: [a, b],
            relation: relation(&m, a, b),
            ns,
        };
        let floor = CoreToCore {
            cpus: (0..8).collect(),
            rounds: 10,
            samples: 1,
            complete: false,
            pairs: vec![pair(0, 4, 20.0), pair(0, 1, 100.0), pair(0, 2, 300.0)],
            relations: [
                (Relation::Smt, 20.0),
                (Relation::L3, 100.0),
                (Relation::Machine, 300.0),
            ]
            .into(),
            median_ns: 300.0,
        };
        (m, floor)
    }

    #[test]
    fn floors_of_cpu_sets() {
        let (m, floor) = synthetic();
        assert_eq!(floor.pair_ns(&m, 1, 5), Some(20.0)); // estimated: smt
        assert_eq!(floor.pair_ns(&m, 3, 3), None);
        assert_eq!(floor.floor_ns(&m, &[0, 4, 0]), Some(20.0));
        assert_eq!(floor.floor_ns(&m, &[0, 1, 4]), Some(100.0)); // 20, 100, 100
        assert_eq!(floor.floor_ns(&m, &[0, 2]), Some(300.0));
        assert_eq!(floor.floor_ns(&m, &[5, 5]), None);
        let text = matrix_text(&m, &floor);
        assert!(text.contains(" 20 ") && text.contains("~300"), "{text}");
    }

    #[test]
    fn rows_get_their_multiple() {
        let mut row = ResultRow::new("chan", "spsc", "weft", Params::threads(1), 1, vec![660.0]);
        annotate(&mut row, 330.0);
        assert_eq!((row.floor_ns, row.x_floor), (Some(330.0), Some(2.0)));
        assert_eq!(multiple_cell(&row).as_deref(), Some("2.0x"));
        assert!(is_handoff("chan", "ping_pong") && !is_handoff("chan", "seq"));
        assert!(is_handoff("deque", "steal") && !is_handoff("mutex", "uncontended"));
    }

    #[test]
    fn unpinned_rows_follow_their_case() {
        let (mut m, floor) = synthetic();
        m.core_to_core = Some(floor);
        let mut rust = ResultRow::new(
            "mutex",
            "contended",
            "weft",
            Params::threads(2),
            1,
            vec![600.0],
        );
        annotate(&mut rust, 100.0);
        let go = |threads| {
            ResultRow::new(
                "mutex",
                "contended",
                "go",
                Params::threads(threads).with("gomaxprocs", 2),
                1,
                vec![900.0],
            )
        };
        let mut rows = vec![go(2), go(1)];
        annotate_unpinned(&m, &[rust], &mut rows);
        assert_eq!(rows[0].x_floor, Some(3.0)); // 900 / the median, 300
        assert_eq!(rows[1].x_floor, None);
        assert_eq!(
            m.core_to_core.unwrap().matrix(&two_sockets_with_smt())[0][4],
            Some(20.0)
        );
    }

    #[test]
    fn summary_and_topology_text() {
        let (mut m, floor) = synthetic();
        m.core_to_core = Some(floor);
        let line = summary(&m).unwrap();
        assert!(
            line.contains("median 300 ns over 3 pairs of 8 CPUs (sampled)"),
            "{line}"
        );
        let text = topology_text(&m);
        assert!(text.contains("Packages: 2  [0-1,4-5] [2-3,6-7]"), "{text}");
        assert!(
            text.contains("NUMA node 1: CPUs [2-3,6-7], distances 21 10"),
            "{text}"
        );
    }

    /// The real thing, on this machine: two CPUs ping-pong a line in well under 100 us.
    #[test]
    fn measures_this_machine() {
        let cpus = crate::placement::allowed_cpus();
        if cpus.len() < 2 {
            return;
        }
        let ns = round_trip_ns(cpus[0], cpus[1], 50, 1).expect("pinned");
        assert!(ns > 0.0 && ns < 100_000.0, "{ns}");
        assert_eq!(round_trip_ns(cpus[0], cpus[0], 10, 1), None);
    }
}
