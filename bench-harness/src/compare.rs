//! Comparing two result files: for each case measured in both, a verdict (regression,
//! improvement, or within noise) judged from the two sets of samples, not from one number.
//!
//! # The rule
//!
//! Let `ratio` be the new median divided by the base median (ns per op, so above 1 is slower)
//! and `p` the two-sided p-value of a Mann-Whitney U test (Wilcoxon rank-sum) on the two sets
//! of samples. A row is a
//!
//! - **regression** when `ratio > 1 + threshold` and `p < alpha`, and the new samples rank
//!   above the base ones (the test's shift has the same direction as the ratio);
//! - **improvement** when `ratio < 1 / (1 + threshold)` and `p < alpha`, shifted downwards;
//! - **within noise** otherwise.
//!
//! So a change counts only if it is large (the threshold is the minimum effect worth a
//! verdict, 5% by default) *and* the samples say it is real: the test asks how often two sets
//! of samples drawn from one distribution would be ordered as unevenly as these, which a
//! shifted median alone cannot show when the samples overlap. The test uses only the samples'
//! order, so one descheduled sample cannot make or hide a change.
//!
//! The p-value is exact (the distribution of U over every arrangement of the pooled samples)
//! when no base sample equals a new one and there are at most [`EXACT_LIMIT`] samples in all;
//! otherwise it is the normal approximation with the correction for ties and continuity.
//!
//! Few samples limit what can be shown: with 5 and 5 (a `--quick` run) the smallest reachable
//! two-sided p is 2/252 ≈ 0.008, reached only when every new sample is slower than every base
//! sample, so at the default `alpha` of 0.01 a quick run flags a change only if the samples
//! separate completely; with 1 sample a side nothing can be shown, and such rows are marked.
//! Each row is tested on its own (no correction for testing many rows), and samples taken in
//! two runs at different times also differ by whatever changed on the machine in between:
//! compare runs from the same machine, and read an isolated verdict with that in mind.
//!
//! # Relative to a peer
//!
//! A run samples its implementations interleaved, round by round (`workloads::measure`), so
//! sample `k` of weft and sample `k` of std were taken moments apart, under the same machine
//! state. With [`Options::relative_to`] set to a peer, each implementation's samples are first
//! divided, round by round, by that peer's samples of the same case in the same file, and the
//! rule above is applied to those ratios: a machine that got slower between the two runs
//! slows both alike and cancels out, while a change in one implementation does not. Rows
//! whose file has no sample-for-sample matching row of the peer (a case the peer does not
//! run, the Go twin's rows, which are not interleaved with the Rust ones) are listed as not
//! compared; the peer's own rows are left out.

use std::fmt::Write;

use crate::result::{Params, ResultFile, ResultRow};
use crate::stats::{self, Summary};

/// Sample counts (base plus new) up to which the p-value is computed exactly.
pub const EXACT_LIMIT: usize = 60;

/// What a comparison considers significant.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The smallest relative change that counts, as a fraction: 0.05 for 5%.
    pub threshold: f64,
    /// The significance level of the Mann-Whitney U test.
    pub alpha: f64,
    /// Only compare these implementations (by name); `None` for all.
    pub implementations: Option<Vec<String>>,
    /// Judge each implementation relative to this one instead of in absolute time: see
    /// [Relative to a peer](self#relative-to-a-peer). `None`: absolute ns per op.
    pub relative_to: Option<String>,
}

impl Default for Options {
    /// A 5% threshold, `alpha` 0.01, every implementation.
    fn default() -> Options {
        Options {
            threshold: 0.05,
            alpha: 0.01,
            implementations: None,
            relative_to: None,
        }
    }
}

/// Parses a threshold given in percent, with or without the sign: `"5%"` and `"5"` are both
/// 0.05.
///
/// # Errors
///
/// If the text is not a finite, non-negative number.
///
/// # Examples
///
/// ```
/// use weft_bench::compare::parse_threshold;
/// assert_eq!(parse_threshold("5%"), Ok(0.05));
/// assert_eq!(parse_threshold("12.5"), Ok(0.125));
/// assert!(parse_threshold("-1%").is_err());
/// ```
pub fn parse_threshold(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(percent) if percent.is_finite() && percent >= 0.0 => Ok(percent / 100.0),
        _ => Err(format!(
            "threshold {text:?}: expected a percentage such as 5%"
        )),
    }
}

/// The outcome for one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Slower by more than the threshold, and the samples show it.
    Regression,
    /// Faster by more than the threshold, and the samples show it.
    Improvement,
    /// Neither.
    WithinNoise,
}

impl Verdict {
    /// The word the table uses.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::WithinNoise => "within noise",
        }
    }
}

/// A Mann-Whitney U test of two sets of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// Pairs `(x, y)` with `y > x`, plus half the pairs with `y == x`: from 0 (every `y` below
    /// every `x`) to `x.len() * y.len()`.
    pub u: f64,
    /// Two-sided p-value: how likely an ordering at least this uneven is when both sets come
    /// from one distribution.
    pub p: f64,
    /// The smallest p-value these sample counts can give at all (both sets fully separated,
    /// no ties).
    pub min_p: f64,
    /// Whether `p` is exact rather than the normal approximation.
    pub exact: bool,
}

impl MannWhitney {
    /// Whether the `y` samples tend to lie above the `x` samples.
    pub fn y_above(&self, nx: usize, ny: usize) -> bool {
        self.u > (nx * ny) as f64 / 2.0
    }
}

/// Runs the two-sided Mann-Whitney U test on `x` and `y`.
///
/// # Panics
///
/// If either set is empty or holds a NaN.
///
/// # Examples
///
/// ```
/// use weft_bench::compare::mann_whitney;
/// let t = mann_whitney(&[10.0, 11.0, 12.0, 13.0, 14.0], &[20.0, 21.0, 22.0, 23.0, 24.0]);
/// assert_eq!(t.u, 25.0);
/// assert!((t.p - 2.0 / 252.0).abs() < 1e-12);
/// ```
pub fn mann_whitney(x: &[f64], y: &[f64]) -> MannWhitney {
    assert!(!x.is_empty() && !y.is_empty(), "both sides need samples");
    assert!(
        x.iter().chain(y).all(|v| !v.is_nan()),
        "NaN sample in a comparison"
    );
    let (n, m) = (x.len(), y.len());
    let mut u = 0.0;
    let mut cross_ties = false;
    for &a in x {
        for &b in y {
            if b > a {
                u += 1.0;
            } else if b == a {
                u += 0.5;
                cross_ties = true;
            }
        }
    }
    let counts = (n + m <= EXACT_LIMIT).then(|| u_distribution(n, m));
    let min_p = match &counts {
        Some(c) => (2.0 * c[0] / c.iter().sum::<f64>()).min(1.0),
        None => normal_p((n * m) as f64, n, m, 0.0),
    };
    let (p, exact) = match &counts {
        Some(c) if !cross_ties => {
            let total: f64 = c.iter().sum();
            // u is a whole number here: no pair is tied.
            let k = u as usize;
            let below: f64 = c[..=k].iter().sum();
            let above: f64 = c[k..].iter().sum();
            ((2.0 * below.min(above) / total).min(1.0), true)
        }
        _ => {
            let mut pooled: Vec<f64> = x.iter().chain(y).copied().collect();
            pooled.sort_by(f64::total_cmp);
            let mut tie_term = 0.0;
            let mut i = 0;
            while i < pooled.len() {
                let j = pooled[i..].iter().take_while(|v| **v == pooled[i]).count();
                let t = j as f64;
                tie_term += t * t * t - t;
                i += j;
            }
            (normal_p(u, n, m, tie_term), false)
        }
    };
    MannWhitney { u, p, min_p, exact }
}

/// The number of arrangements of `n` x-samples and `m` y-samples (all distinct) giving each
/// value of U, indexed by U.
fn u_distribution(n: usize, m: usize) -> Vec<f64> {
    // counts[j] is the distribution for (i, j) while row i is built; the largest of the
    // pooled samples is either a y (then it is above all i x-samples: U grows by i) or an x
    // (it adds nothing).
    let mut prev: Vec<Vec<f64>> = (0..=m).map(|_| vec![1.0]).collect(); // i = 0
    for i in 1..=n {
        let mut row: Vec<Vec<f64>> = Vec::with_capacity(m + 1);
        row.push(vec![1.0]); // j = 0
        for j in 1..=m {
            let mut c = vec![0.0; i * j + 1];
            for (k, v) in row[j - 1].iter().enumerate() {
                c[k + i] += v;
            }
            for (k, v) in prev[j].iter().enumerate() {
                c[k] += v;
            }
            row.push(c);
        }
        prev = row;
    }
    prev.pop().expect("m + 1 entries")
}

/// The two-sided p-value of `u` under the normal approximation, with `tie_term` the sum of
/// `t^3 - t` over the groups of `t` equal pooled samples.
fn normal_p(u: f64, n: usize, m: usize, tie_term: f64) -> f64 {
    let (nf, mf) = (n as f64, m as f64);
    let total = nf + mf;
    let mean = nf * mf / 2.0;
    let variance = if total > 1.0 {
        nf * mf / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)))
    } else {
        0.0
    };
    if variance <= 0.0 {
        return 1.0;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / variance.sqrt();
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

/// The complementary error function, to a relative error below 1.2e-7 (the Chebyshev fit of
/// Numerical Recipes, section 6.2), which is plenty for a p-value.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The judgement of one pair of sample sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// New median / base median (above 1: the new run is slower).
    pub ratio: f64,
    /// The test on the samples.
    pub test: MannWhitney,
    /// The outcome.
    pub verdict: Verdict,
}

impl Judgement {
    /// Whether the sample counts could not have shown any change at `alpha`.
    pub fn too_few_samples(&self, alpha: f64) -> bool {
        self.test.min_p >= alpha
    }
}

/// Judges `new` against `base` (ns per op samples) by the rule in the [module docs](self).
///
/// # Panics
///
/// If either set is empty or holds a NaN.
pub fn judge(base: &[f64], new: &[f64], threshold: f64, alpha: f64) -> Judgement {
    let test = mann_whitney(base, new);
    let b = stats::summarize(base).expect("samples").median;
    let n = stats::summarize(new).expect("samples").median;
    let ratio = if b > 0.0 {
        n / b
    } else if n > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let significant = test.p < alpha;
    let above = test.y_above(base.len(), new.len());
    let below = test.u < (base.len() * new.len()) as f64 / 2.0;
    let verdict = if significant && above && ratio > 1.0 + threshold {
        Verdict::Regression
    } else if significant && below && ratio < 1.0 / (1.0 + threshold) {
        Verdict::Improvement
    } else {
        Verdict::WithinNoise
    };
    Judgement {
        ratio,
        test,
        verdict,
    }
}

/// What identifies a row across files.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The suite.
    pub suite: String,
    /// The workload.
    pub workload: String,
    /// The parameters, setup parameters included.
    pub params: Params,
    /// The implementation.
    pub implementation: String,
}

impl Key {
    /// The key of `row`.
    pub fn of(row: &ResultRow) -> Key {
        Key {
            suite: row.suite.clone(),
            workload: row.workload.clone(),
            params: row.params.clone(),
            implementation: row.implementation.clone(),
        }
    }

    /// `suite/workload threads=2 capacity=1 implementation`.
    pub fn describe(&self) -> String {
        format!(
            "{}/{} {} {}",
            self.suite,
            self.workload,
            params_text(&self.params, " "),
            self.implementation
        )
    }
}

/// The parameters as `threads=2<sep>capacity=1024`: `threads` first, then the others in key
/// order, strings without quotes.
pub fn params_text(params: &Params, sep: &str) -> String {
    let mut parts = vec![format!("threads={}", params.threads)];
    for (k, v) in &params.extra {
        parts.push(format!("{k}={}", value_text(v)));
    }
    parts.join(sep)
}

/// A parameter's value as text: strings without their quotes, anything else as JSON.
pub fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One case measured in both files.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// Which case.
    pub key: Key,
    /// The base file's samples, summarised.
    pub base: Summary,
    /// The new file's samples, summarised.
    pub new: Summary,
    /// Sample counts (base, new).
    pub samples: (usize, usize),
    /// The judgement.
    pub judgement: Judgement,
}

/// The comparison of two files.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The options it was made with.
    pub options: Options,
    /// The cases in both files, in the base file's order.
    pub rows: Vec<Compared>,
    /// Cases only the base file has (not failures: a case may have been added or removed).
    pub only_base: Vec<Key>,
    /// Cases only the new file has.
    pub only_new: Vec<Key>,
    /// Cases in both files that could not be put relative to [`Options::relative_to`]: a
    /// file has no row of that implementation for the case with as many samples.
    pub no_reference: Vec<Key>,
    /// Differences between the two runs' setups worth knowing (machine, size, placement).
    pub notes: Vec<String>,
}

/// `row`'s samples divided, round by round, by those of `reference`'s row for the same case
/// (parameters compared without setup parameters) in `file`; `None` if there is no such row,
/// it has a different number of samples, or a sample of it is not positive.
pub fn relative_samples(file: &ResultFile, row: &ResultRow, reference: &str) -> Option<Vec<f64>> {
    let case = row.params.case();
    let r = file.results.iter().find(|r| {
        r.implementation == reference
            && r.suite == row.suite
            && r.workload == row.workload
            && r.params.case() == case
    })?;
    if r.samples_ns_per_op.len() != row.samples_ns_per_op.len()
        || r.samples_ns_per_op.iter().any(|s| *s <= 0.0)
    {
        return None;
    }
    Some(
        row.samples_ns_per_op
            .iter()
            .zip(&r.samples_ns_per_op)
            .map(|(s, r)| s / r)
            .collect(),
    )
}

/// Compares `new` against `base` under `options`.
pub fn compare(base: &ResultFile, new: &ResultFile, options: &Options) -> Comparison {
    let reference = options.relative_to.as_deref();
    let selected = |row: &&ResultRow| {
        Some(row.implementation.as_str()) != reference
            && options
                .implementations
                .as_ref()
                .map_or(true, |names| names.contains(&row.implementation))
    };
    let base_rows: Vec<&ResultRow> = base.results.iter().filter(selected).collect();
    let new_rows: Vec<&ResultRow> = new.results.iter().filter(selected).collect();
    let mut notes = setup_notes(base, new);
    let mut rows = Vec::new();
    let mut only_base = Vec::new();
    let mut no_reference = Vec::new();
    let mut matched = vec![false; new_rows.len()];
    let mut seen: Vec<Key> = Vec::new();
    for b in &base_rows {
        let key = Key::of(b);
        if seen.contains(&key) {
            notes.push(format!(
                "the base file has {} twice; only the first is compared",
                key.describe()
            ));
            continue;
        }
        seen.push(key.clone());
        let Some(i) = new_rows
            .iter()
            .enumerate()
            .position(|(i, n)| !matched[i] && Key::of(n) == key)
        else {
            only_base.push(key);
            continue;
        };
        matched[i] = true;
        let n = new_rows[i];
        if b.samples_ns_per_op.is_empty() || n.samples_ns_per_op.is_empty() {
            notes.push(format!("{} has no samples; skipped", key.describe()));
            continue;
        }
        let (bs, ns) = match reference {
            None => (b.samples_ns_per_op.clone(), n.samples_ns_per_op.clone()),
            Some(r) => match (relative_samples(base, b, r), relative_samples(new, n, r)) {
                (Some(bs), Some(ns)) => (bs, ns),
                _ => {
                    no_reference.push(key);
                    continue;
                }
            },
        };
        let judgement = judge(&bs, &ns, options.threshold, options.alpha);
        rows.push(Compared {
            key,
            base: stats::summarize(&bs).expect("samples"),
            new: stats::summarize(&ns).expect("samples"),
            samples: (bs.len(), ns.len()),
            judgement,
        });
    }
    let only_new = new_rows
        .iter()
        .zip(&matched)
        .filter(|(row, m)| !**m && !seen.contains(&Key::of(row)))
        .map(|(row, _)| Key::of(row))
        .collect();
    Comparison {
        options: options.clone(),
        rows,
        only_base,
        only_new,
        no_reference,
        notes,
    }
}

/// Notes on what differs between the runs' machines and setups.
fn setup_notes(base: &ResultFile, new: &ResultFile) -> Vec<String> {
    let mut notes = Vec::new();
    let (bm, nm) = (&base.machine, &new.machine);
    if bm.cpu_model != nm.cpu_model || bm.logical_cpus != nm.logical_cpus {
        notes.push(format!(
            "different machines: base {}, new {}; absolute times do not compare",
            bm.summary(),
            nm.summary()
        ));
    }
    if base.run.quick != new.run.quick {
        let size = |quick| if quick { "quick" } else { "full" };
        notes.push(format!(
            "different sizes: base {}, new {} (operations per sample differ)",
            size(base.run.quick),
            size(new.run.quick)
        ));
    }
    if base.run.placement != new.run.placement {
        notes.push(format!(
            "different placement: base {:?}, new {:?}",
            base.run.placement, new.run.placement
        ));
    }
    if base.run.profile != new.run.profile {
        notes.push(format!(
            "different profiles: base {}, new {}",
            base.run.profile, new.run.profile
        ));
    }
    notes
}

impl Comparison {
    /// The rows judged `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows
            .iter()
            .filter(|r| r.judgement.verdict == verdict)
            .count()
    }

    /// Whether any row is a regression: the CI gate's answer.
    pub fn has_regression(&self) -> bool {
        self.count(Verdict::Regression) > 0
    }

    /// The comparison as markdown: notes, a table of every compared case (or only the changed
    /// ones when `changes_only`), the cases found on one side only, and a summary line.
    pub fn markdown(&self, changes_only: bool) -> String {
        let mut out = String::new();
        let o = &self.options;
        let _ = writeln!(
            out,
            "Rule: a change counts when new/base median is beyond {:.1}% and a two-sided \
             Mann-Whitney U test on the samples gives p < {}.",
            o.threshold * 100.0,
            o.alpha
        );
        let unit = match &o.relative_to {
            Some(r) => {
                let _ = writeln!(
                    out,
                    "Relative to {r}: each sample is divided by {r}'s sample of the same case \
                     and round, so drift common to both cancels."
                );
                format!("× {r}")
            }
            None => "ns/op".to_owned(),
        };
        for note in &self.notes {
            let _ = writeln!(out, "Note: {note}");
        }
        let shown: Vec<&Compared> = self
            .rows
            .iter()
            .filter(|r| !changes_only || r.judgement.verdict != Verdict::WithinNoise)
            .collect();
        if !shown.is_empty() {
            let _ = writeln!(
                out,
                "\n| suite | workload | params | implementation | base {unit} | new {unit} | \
                 new/base | p | verdict |"
            );
            let _ = writeln!(out, "|---|---|---|---|---:|---:|---:|---:|---|");
        }
        let mut too_few = false;
        let relative = o.relative_to.is_some();
        for r in shown {
            let j = &r.judgement;
            let mut verdict = j.verdict.label().to_owned();
            if j.verdict == Verdict::WithinNoise && j.too_few_samples(o.alpha) {
                verdict.push_str(" (too few samples)");
                too_few = true;
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.3} | {} | {} |",
                r.key.suite,
                r.key.workload,
                params_text(&r.key.params, " "),
                r.key.implementation,
                range_text(&r.base, r.samples.0, relative),
                range_text(&r.new, r.samples.1, relative),
                j.ratio,
                p_text(j.test.p),
                verdict
            );
        }
        if too_few {
            let _ = writeln!(
                out,
                "\n(too few samples): these sample counts cannot reach p < {} even when the \
                 samples separate completely; run with more samples.",
                o.alpha
            );
        }
        let reference = o.relative_to.as_deref().unwrap_or("");
        for (title, keys) in [
            ("Only in the base file".to_owned(), &self.only_base),
            ("Only in the new file".to_owned(), &self.only_new),
            (
                format!("Not compared, no interleaved {reference} row to divide by"),
                &self.no_reference,
            ),
        ] {
            if !keys.is_empty() {
                let _ = writeln!(out, "\n{title} ({}):", keys.len());
                for key in keys {
                    let _ = writeln!(out, "- {}", key.describe());
                }
            }
        }
        let _ = writeln!(
            out,
            "\n{} compared: {} regressions, {} improvements, {} within noise; {} only in \
             base, {} only in new.",
            self.rows.len(),
            self.count(Verdict::Regression),
            self.count(Verdict::Improvement),
            self.count(Verdict::WithinNoise),
            self.only_base.len(),
            self.only_new.len()
        );
        out
    }
}

/// `23.4 (23.1–24.0, n=5)`, or with three decimals for ratios: `0.812 (0.801–0.830, n=5)`.
fn range_text(s: &Summary, n: usize, ratio: bool) -> String {
    let f = |v: f64| {
        if ratio {
            format!("{v:.3}")
        } else {
            crate::report::format_ns(v)
        }
    };
    format!("{} ({}–{}, n={n})", f(s.median), f(s.min), f(s.max))
}

fn p_text(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::result::{ResultRow, SCHEMA_VERSION};
    use crate::run_info::RunInfo;

    /// `n` samples around `center`, spread evenly over `center * (1 ± jitter)`, in a scrambled
    /// order.
    fn around(center: f64, jitter: f64, n: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..n)
            .map(|i| {
                let f = if n == 1 {
                    0.0
                } else {
                    i as f64 / (n - 1) as f64 * 2.0 - 1.0
                };
                center * (1.0 + jitter * f)
            })
            .collect();
        v.reverse();
        v.swap(0, n / 2);
        v
    }

    #[test]
    fn exact_distribution_matches_small_cases() {
        // n = 1, m = 2: U is 0, 1 or 2, one arrangement each.
        assert_eq!(u_distribution(1, 2), [1.0, 1.0, 1.0]);
        // n = m = 2: 6 arrangements, U = 0,1,2,2,3,4.
        assert_eq!(u_distribution(2, 2), [1.0, 1.0, 2.0, 1.0, 1.0]);
        let c = u_distribution(5, 5);
        assert_eq!(c.iter().sum::<f64>(), 252.0);
        assert_eq!(c.len(), 26);
        // Symmetric.
        assert!(c.iter().zip(c.iter().rev()).all(|(a, b)| a == b));
    }

    #[test]
    fn mann_whitney_textbook_values() {
        // Fully separated 5 vs 5: p = 2/252 exactly.
        let t = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(t.u, 25.0);
        assert!(t.exact);
        assert!((t.p - 2.0 / 252.0).abs() < 1e-12, "{t:?}");
        assert!((t.min_p - 2.0 / 252.0).abs() < 1e-12);
        // Perfectly interleaved: p = 1 (U at its mean).
        let t = mann_whitney(&[1.0, 3.0, 5.0, 7.0], &[2.0, 4.0, 6.0, 8.0]);
        assert_eq!(t.u, 10.0);
        assert!(t.p > 0.6, "{t:?}");
        // One sample a side can show nothing.
        let t = mann_whitney(&[1.0], &[100.0]);
        assert_eq!((t.p, t.min_p), (1.0, 1.0));
    }

    #[test]
    fn normal_approximation_agrees_with_the_exact_p() {
        let x = around(100.0, 0.05, 15);
        let y: Vec<f64> = around(103.0, 0.05, 15).iter().map(|v| v + 0.001).collect();
        let exact = mann_whitney(&x, &y);
        assert!(exact.exact);
        let approx = normal_p(exact.u, 15, 15, 0.0);
        assert!(
            (exact.p - approx).abs() < 0.01,
            "exact {} approx {approx}",
            exact.p
        );
    }

    #[test]
    fn ties_across_sides_use_the_corrected_normal_approximation() {
        let t = mann_whitney(&[1.0, 1.0, 2.0, 2.0], &[2.0, 2.0, 3.0, 3.0]);
        assert!(!t.exact);
        assert_eq!(t.u, 14.0);
        assert!(t.p > 0.01 && t.p < 0.2, "{t:?}");
        // Identical samples: nothing to see.
        let t = mann_whitney(&[5.0; 6], &[5.0; 6]);
        assert_eq!(t.p, 1.0);
    }

    #[test]
    fn erfc_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        assert!(erfc(6.0) < 1e-15);
    }

    #[test]
    fn noise_within_the_threshold_is_within_noise() {
        // 2% slower, clearly separated samples: real, but below the 5% threshold.
        let j = judge(
            &around(100.0, 0.005, 15),
            &around(102.0, 0.005, 15),
            0.05,
            0.01,
        );
        assert!(j.test.p < 0.01);
        assert_eq!(j.verdict, Verdict::WithinNoise);
        // Same centre, noisy.
        let j = judge(
            &around(100.0, 0.04, 15),
            &around(100.5, 0.04, 15),
            0.05,
            0.01,
        );
        assert_eq!(j.verdict, Verdict::WithinNoise);
    }

    #[test]
    fn a_clear_twenty_percent_slowdown_is_a_regression() {
        let j = judge(&around(100.0, 0.03, 5), &around(120.0, 0.03, 5), 0.05, 0.01);
        assert!((j.ratio - 1.2).abs() < 1e-9);
        assert_eq!(j.verdict, Verdict::Regression);
        // The other way round it is an improvement.
        let j = judge(&around(120.0, 0.03, 5), &around(100.0, 0.03, 5), 0.05, 0.01);
        assert_eq!(j.verdict, Verdict::Improvement);
    }

    #[test]
    fn overlapping_noisy_samples_with_a_shifted_median_are_within_noise() {
        // Median 8% up, but the samples overlap heavily (±30% noise).
        let base = [70.0, 85.0, 100.0, 118.0, 130.0];
        let new = [78.0, 95.0, 108.0, 121.0, 128.0];
        let j = judge(&base, &new, 0.05, 0.01);
        assert!(j.ratio > 1.05, "{j:?}");
        assert!(j.test.p > 0.3, "{j:?}");
        assert_eq!(j.verdict, Verdict::WithinNoise);
    }

    #[test]
    fn one_outlier_does_not_make_a_regression() {
        // One sample ten times slower moves the median by one rank, not by 10x.
        let base = around(100.0, 0.02, 7);
        let mut new = around(100.0, 0.02, 7);
        new[3] = 1000.0;
        assert_eq!(judge(&base, &new, 0.05, 0.01).verdict, Verdict::WithinNoise);
    }

    #[test]
    fn single_samples_are_marked_too_few() {
        let j = judge(&[100.0], &[200.0], 0.05, 0.01);
        assert_eq!(j.verdict, Verdict::WithinNoise);
        assert!(j.too_few_samples(0.01));
        // 5 vs 5 can reach 0.01 but not 0.001.
        let j = judge(&around(100.0, 0.01, 5), &around(100.0, 0.01, 5), 0.05, 0.01);
        assert!(!j.too_few_samples(0.01) && j.too_few_samples(0.001));
    }

    fn file(rows: Vec<ResultRow>) -> ResultFile {
        ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: rows,
        }
    }

    fn row(workload: &str, implementation: &str, threads: usize, samples: Vec<f64>) -> ResultRow {
        ResultRow::new(
            "mutex",
            workload,
            implementation,
            Params::threads(threads),
            1000,
            samples,
        )
    }

    #[test]
    fn files_are_matched_by_case_and_implementation() {
        let base = file(vec![
            row("contended", "weft", 2, around(50.0, 0.02, 5)),
            row("contended", "std", 2, around(80.0, 0.02, 5)),
            row("contended", "weft", 4, around(90.0, 0.02, 5)),
            row("uncontended", "weft", 1, around(10.0, 0.02, 5)),
        ]);
        let new = file(vec![
            row("uncontended", "weft", 1, around(8.0, 0.02, 5)),
            row("contended", "std", 2, around(80.0, 0.02, 5)),
            row("contended", "weft", 2, around(65.0, 0.02, 5)),
            row("contended", "weft", 8, around(90.0, 0.02, 5)),
        ]);
        let c = compare(&base, &new, &Options::default());
        let verdicts: Vec<(String, usize, &str, Verdict)> = c
            .rows
            .iter()
            .map(|r| {
                (
                    r.key.workload.clone(),
                    r.key.params.threads,
                    r.key.implementation.as_str(),
                    r.judgement.verdict,
                )
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                ("contended".into(), 2, "weft", Verdict::Regression),
                ("contended".into(), 2, "std", Verdict::WithinNoise),
                ("uncontended".into(), 1, "weft", Verdict::Improvement),
            ]
        );
        assert_eq!(c.only_base.len(), 1);
        assert_eq!(c.only_base[0].params.threads, 4);
        assert_eq!(c.only_new.len(), 1);
        assert_eq!(c.only_new[0].params.threads, 8);
        assert!(c.has_regression());

        let md = c.markdown(false);
        assert!(
            md.contains("| mutex | contended | threads=2 | weft | 50.0 (49.0–51.0, n=5) | 65.0 (63.7–66.3, n=5) | 1.300 | 0.008 | REGRESSION |"),
            "{md}"
        );
        assert!(md.contains("Only in the base file (1):\n- mutex/contended threads=4 weft"));
        assert!(md.contains("3 compared: 1 regressions, 1 improvements, 1 within noise; 1 only in base, 1 only in new."), "{md}");
        assert!(!c.markdown(true).contains("| std |"));

        // Gating weft alone ignores std; gating std alone finds nothing wrong.
        let std_only = Options {
            implementations: Some(vec!["std".into()]),
            ..Options::default()
        };
        let c = compare(&base, &new, &std_only);
        assert_eq!(c.rows.len(), 1);
        assert!(!c.has_regression());
        assert!(c.only_base.is_empty() && c.only_new.is_empty());
    }

    #[test]
    fn relative_to_a_peer_cancels_drift_common_to_both() {
        // The second run's machine is 30% slower for everyone: absolute times regress,
        // weft relative to std does not.
        let drift = |v: Vec<f64>| v.iter().map(|x| x * 1.3).collect::<Vec<f64>>();
        let base = file(vec![
            row("contended", "weft", 2, around(50.0, 0.02, 7)),
            row("contended", "std", 2, around(80.0, 0.02, 7)),
            row("uncontended", "weft", 1, around(10.0, 0.02, 7)),
            row("uncontended", "std", 1, around(12.0, 0.02, 7)),
            row("contended", "weft", 4, around(90.0, 0.02, 7)),
        ]);
        let mut slow_weft = drift(around(10.0, 0.02, 7));
        slow_weft.iter_mut().for_each(|x| *x *= 1.5);
        let new = file(vec![
            row("contended", "weft", 2, drift(around(50.0, 0.02, 7))),
            row("contended", "std", 2, drift(around(80.0, 0.02, 7))),
            // weft itself got slower too: 1.5x beyond the drift.
            row("uncontended", "weft", 1, slow_weft),
            row("uncontended", "std", 1, drift(around(12.0, 0.02, 7))),
            row("contended", "weft", 4, around(90.0, 0.02, 7)),
        ]);
        let absolute = compare(&base, &new, &Options::default());
        assert_eq!(absolute.count(Verdict::Regression), 4);

        let relative = Options {
            relative_to: Some("std".into()),
            ..Options::default()
        };
        let c = compare(&base, &new, &relative);
        let verdicts: Vec<(&str, usize, Verdict)> = c
            .rows
            .iter()
            .map(|r| {
                (
                    r.key.workload.as_str(),
                    r.key.params.threads,
                    r.judgement.verdict,
                )
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                ("contended", 2, Verdict::WithinNoise),
                ("uncontended", 1, Verdict::Regression),
            ]
        );
        assert!(
            (c.rows[1].judgement.ratio - 1.5).abs() < 0.01,
            "{:?}",
            c.rows[1]
        );
        // std's own rows are not compared; weft at 4 threads has no std to divide by.
        assert!(c.rows.iter().all(|r| r.key.implementation == "weft"));
        assert_eq!(c.no_reference.len(), 1);
        let md = c.markdown(false);
        assert!(md.contains("| base × std | new × std |"), "{md}");
        assert!(
            md.contains("Not compared, no interleaved std row to divide by (1):\n- mutex/contended threads=4 weft"),
            "{md}"
        );
    }

    #[test]
    fn relative_samples_pair_rounds() {
        let f = file(vec![
            row("contended", "weft", 2, vec![10.0, 20.0, 30.0]),
            row("contended", "std", 2, vec![5.0, 10.0, 10.0]),
            row("contended", "kanal", 2, vec![5.0, 10.0]),
        ]);
        assert_eq!(
            relative_samples(&f, &f.results[0], "std"),
            Some(vec![2.0, 2.0, 3.0])
        );
        assert_eq!(relative_samples(&f, &f.results[0], "kanal"), None);
        assert_eq!(relative_samples(&f, &f.results[0], "flume"), None);
    }

    #[test]
    fn params_text_is_stable() {
        let p = Params::threads(2)
            .with("capacity", "unbounded")
            .with("bytes", 64);
        assert_eq!(
            params_text(&p, ","),
            "threads=2,bytes=64,capacity=unbounded"
        );
    }

    #[test]
    fn thresholds_parse_as_percent() {
        assert_eq!(parse_threshold("5%"), Ok(0.05));
        assert_eq!(parse_threshold(" 10 % "), Ok(0.1));
        assert_eq!(parse_threshold("0"), Ok(0.0));
        assert!(parse_threshold("five").is_err());
        assert!(parse_threshold("inf").is_err());
    }
}
