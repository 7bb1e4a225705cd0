//! Scaling plots drawn from a result file: throughput against thread count, one plot per
//! (suite, workload, other parameters), one line per implementation.
//!
//! Throughput is millions of operations per second, `1000 / median ns per op` (higher is
//! better), where an operation is the workload's (`results/README.md`): for the contended
//! workloads it counts every thread's operations together, so a flat line means the
//! primitive does not scale and a falling one means it collapses. The whiskers span the
//! fastest and slowest samples. The thread axis is logarithmic, ticked at the measured
//! counts. A workload measured at one thread count only is drawn as bars instead, one per
//! implementation. SVG only (plotters' SVG backend, text left to the browser's fonts).

use std::collections::BTreeMap;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

use crate::compare::value_text;
use crate::result::ResultFile;

/// One implementation's measurements of a [`Group`], by thread count.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The implementation, e.g. `"weft"`.
    pub implementation: String,
    /// Its setup parameters (`gomaxprocs=2` for the Go twin), empty for most.
    pub setup: Vec<String>,
    /// The points, by increasing thread count.
    pub points: Vec<Point>,
}

impl Line {
    /// The legend's text: the implementation, and its setup in parentheses if any.
    pub fn label(&self) -> String {
        if self.setup.is_empty() {
            self.implementation.clone()
        } else {
            format!("{} ({})", self.implementation, self.setup.join(", "))
        }
    }
}

/// One measured thread count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// `params.threads`.
    pub threads: usize,
    /// Median ns per op.
    pub median_ns: f64,
    /// Fastest sample, ns per op.
    pub min_ns: f64,
    /// Slowest sample, ns per op.
    pub max_ns: f64,
}

/// What one plot shows: a workload with all its parameters but `threads` fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The suite.
    pub suite: String,
    /// The workload.
    pub workload: String,
    /// The workload's parameters other than `threads` (setup parameters excluded).
    pub params: BTreeMap<String, serde_json::Value>,
    /// One line per implementation (and setup), in order of first appearance in the file.
    pub lines: Vec<Line>,
}

impl Group {
    /// `chan/spsc capacity=1024`.
    pub fn title(&self) -> String {
        let mut title = format!("{}/{}", self.suite, self.workload);
        for (k, v) in &self.params {
            title.push_str(&format!(" {k}={}", value_text(v)));
        }
        title
    }

    /// A file name for the plot: the title with every character other than ASCII letters,
    /// digits, `-` and `_` turned into `-`, plus `.svg`.
    pub fn file_name(&self) -> String {
        let slug: String = self
            .title()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{slug}.svg")
    }

    /// The thread counts measured by any line, ascending.
    pub fn threads(&self) -> Vec<usize> {
        let mut t: Vec<usize> = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.threads))
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }
}

/// The plots of `file`, in order of first appearance: rows group by suite, workload and
/// parameters other than `threads` and the setup parameters; within a group, rows of the
/// same implementation and setup form one line. A repeated thread count in a line keeps its
/// first row.
pub fn groups(file: &ResultFile) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for row in &file.results {
        let params = row.params.case().extra;
        let gi = match groups
            .iter()
            .position(|g| g.suite == row.suite && g.workload == row.workload && g.params == params)
        {
            Some(i) => i,
            None => {
                groups.push(Group {
                    suite: row.suite.clone(),
                    workload: row.workload.clone(),
                    params,
                    lines: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[gi];
        let setup = row.params.setup();
        let li = match group
            .lines
            .iter()
            .position(|l| l.implementation == row.implementation && l.setup == setup)
        {
            Some(i) => i,
            None => {
                group.lines.push(Line {
                    implementation: row.implementation.clone(),
                    setup,
                    points: Vec::new(),
                });
                group.lines.len() - 1
            }
        };
        let line = &mut group.lines[li];
        if line.points.iter().all(|p| p.threads != row.params.threads) {
            line.points.push(Point {
                threads: row.params.threads,
                median_ns: row.median_ns_per_op,
                min_ns: row.min_ns_per_op,
                max_ns: row.max_ns_per_op,
            });
        }
    }
    for line in groups.iter_mut().flat_map(|g| g.lines.iter_mut()) {
        line.points.sort_by_key(|p| p.threads);
    }
    groups
}

/// Millions of operations per second at `ns` per op (0 for a non-positive time).
pub fn mops(ns: f64) -> f64 {
    if ns > 0.0 {
        1e3 / ns
    } else {
        0.0
    }
}

/// The colour of an implementation: fixed for the known ones (weft always red), so a name
/// keeps its colour in every plot and every report.
pub fn color(implementation: &str) -> RGBColor {
    const KNOWN: &[(&str, RGBColor)] = &[
        ("weft", RGBColor(214, 39, 40)),
        ("std", RGBColor(31, 119, 180)),
        ("parking_lot", RGBColor(44, 160, 44)),
        ("crossbeam", RGBColor(255, 127, 14)),
        ("flume", RGBColor(148, 103, 189)),
        ("kanal", RGBColor(140, 86, 75)),
        ("go", RGBColor(23, 190, 207)),
        ("st3", RGBColor(188, 189, 34)),
        ("rayon", RGBColor(227, 119, 194)),
        ("tokio", RGBColor(127, 127, 127)),
    ];
    if let Some((_, c)) = KNOWN.iter().find(|(n, _)| *n == implementation) {
        return *c;
    }
    // Others: a stable colour from the name.
    let h = implementation.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    RGBColor(
        (h >> 16) as u8 / 2 + 40,
        (h >> 8) as u8 / 2 + 40,
        h as u8 / 2 + 40,
    )
}

/// Pixel size of every plot.
pub const SIZE: (u32, u32) = (720, 420);

/// Draws `group` as an SVG document.
///
/// # Errors
///
/// If plotters fails to draw (a message naming the plot).
pub fn svg(group: &Group) -> Result<String, String> {
    let mut out = String::new();
    draw(group, &mut out).map_err(|e| format!("plotting {}: {e}", group.title()))?;
    Ok(out)
}

fn draw(group: &Group, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let threads = group.threads();
    if threads.len() == 1 {
        return draw_bars(group, threads[0], out);
    }
    let (lo, hi) = match (threads.first(), threads.last()) {
        (Some(&lo), Some(&hi)) => (lo.max(1) as f64, hi.max(1) as f64),
        _ => (1.0, 1.0),
    };
    // Room around the outermost points (a factor on the log axis).
    let (x_lo, x_hi) = if lo == hi {
        (lo / 2.0, hi * 2.0)
    } else {
        (lo / 1.25, hi * 1.25)
    };
    let y_max = group
        .lines
        .iter()
        .flat_map(|l| &l.points)
        .map(|p| mops(p.min_ns))
        .fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let keys: Vec<f64> = threads.iter().map(|&t| t.max(1) as f64).collect();

    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(group.title(), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((x_lo..x_hi).log_scale().with_key_points(keys), 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("threads")
        .y_desc("Mops/s (higher is better)")
        .x_label_formatter(&|x| format!("{}", x.round() as u64))
        .y_label_formatter(&|y| format_mops(*y))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    for line in &group.lines {
        let c = color(&line.implementation);
        let width = if line.implementation == crate::report::SUBJECT {
            3
        } else {
            2
        };
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|p| (p.threads.max(1) as f64, mops(p.median_ns)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(width)))?
            .label(line.label())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        chart.draw_series(line.points.iter().map(|p| {
            let x = p.threads.max(1) as f64;
            PathElement::new(
                vec![(x, mops(p.max_ns)), (x, mops(p.min_ns))],
                c.stroke_width(1),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    root.present()?;
    Ok(())
}

/// A group measured at one thread count: a bar per implementation (the median, with the
/// whisker from the slowest to the fastest sample), named under the bar.
fn draw_bars(
    group: &Group,
    threads: usize,
    out: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let bars: Vec<(String, RGBColor, Point)> = group
        .lines
        .iter()
        .filter_map(|l| {
            let p = *l.points.first()?;
            Some((l.label(), color(&l.implementation), p))
        })
        .collect();
    let y_max = bars.iter().map(|b| mops(b.2.min_ns)).fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(group.title(), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(Slots(bars.len()), 0.0..y_max)?;
    // Bar i spans [i, i + 1); its name sits under its centre.
    let label = |x: &f64| {
        bars.get(x.floor() as usize)
            .map_or(String::new(), |b| b.0.clone())
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(format!(
            "{threads} thread{}",
            if threads == 1 { "" } else { "s" }
        ))
        .y_desc("Mops/s (higher is better)")
        .x_label_formatter(&label)
        .y_label_formatter(&|y| format_mops(*y))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, c, p))| {
        let x = i as f64;
        Rectangle::new(
            [(x + 0.1, 0.0), (x + 0.9, mops(p.median_ns))],
            c.mix(0.85).filled(),
        )
    }))?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, _, p))| {
        PathElement::new(
            vec![
                (i as f64 + 0.5, mops(p.max_ns)),
                (i as f64 + 0.5, mops(p.min_ns)),
            ],
            BLACK.stroke_width(1),
        )
    }))?;
    root.present()?;
    Ok(())
}

/// An x axis of `n` equal slots, `[i, i + 1)` for bar `i`, ticked at their centres.
struct Slots(usize);

impl Ranged for Slots {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = value / self.0.max(1) as f64;
        limit.0 + (f64::from(limit.1 - limit.0) * fraction).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0 as f64
    }
}

/// Axis labels: `0.5`, `12`, `150`.
fn format_mops(y: f64) -> String {
    if y == 0.0 {
        "0".to_owned()
    } else if y < 1.0 {
        format!("{y:.2}")
    } else if y < 10.0 {
        format!("{y:.1}")
    } else {
        format!("{y:.0}")
    }
}

/// The groups' titles by file name, for tests and callers that want unique names: a name
/// that two groups would share gets `-2`, `-3`, ... before `.svg` for the later ones.
pub fn file_names(groups: &[Group]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    groups
        .iter()
        .map(|g| {
            let name = g.file_name();
            let n = seen.entry(name.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                name
            } else {
                format!("{}-{n}.svg", name.trim_end_matches(".svg"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;
    use crate::result::{Params, ResultRow, SCHEMA_VERSION};
    use crate::run_info::RunInfo;

    fn row(workload: &str, implementation: &str, params: Params, ns: f64) -> ResultRow {
        ResultRow::new(
            "chan",
            workload,
            implementation,
            params,
            100,
            vec![ns, ns * 1.1],
        )
    }

    fn file() -> ResultFile {
        let cap = |t: usize, c: u64| Params::threads(t).with("capacity", c);
        ResultFile {
            schema_version: SCHEMA_VERSION,
            run: RunInfo::collect(true),
            machine: Machine::detect(),
            results: vec![
                row("mpsc", "weft", cap(4, 1), 40.0),
                row("mpsc", "crossbeam", cap(4, 1), 50.0),
                row("mpsc", "weft", cap(1, 1), 10.0),
                row("mpsc", "weft", cap(1, 0), 100.0),
                row("mpsc", "crossbeam", cap(1, 1), 12.0),
                row("mpsc", "weft", cap(2, 1), 20.0),
                row("mpsc", "go", cap(2, 1).with("gomaxprocs", 2), 25.0),
                row("spsc", "weft", cap(1, 1), 5.0),
                // A repeated thread count keeps the first row.
                row("mpsc", "weft", cap(2, 1), 999.0),
            ],
        }
    }

    #[test]
    fn rows_group_by_workload_and_params_lines_by_implementation() {
        let groups = groups(&file());
        type Lines = Vec<(String, Vec<usize>)>;
        let summary: Vec<(String, Lines)> = groups
            .iter()
            .map(|g| {
                (
                    g.title(),
                    g.lines
                        .iter()
                        .map(|l| (l.label(), l.points.iter().map(|p| p.threads).collect()))
                        .collect(),
                )
            })
            .collect();
        let s = |x: &str| x.to_owned();
        assert_eq!(
            summary,
            [
                (
                    s("chan/mpsc capacity=1"),
                    vec![
                        (s("weft"), vec![1, 2, 4]),
                        (s("crossbeam"), vec![1, 4]),
                        (s("go (gomaxprocs=2)"), vec![2]),
                    ]
                ),
                (s("chan/mpsc capacity=0"), vec![(s("weft"), vec![1])]),
                (s("chan/spsc capacity=1"), vec![(s("weft"), vec![1])]),
            ]
        );
        assert_eq!(groups[0].threads(), [1, 2, 4]);
        assert_eq!(groups[0].lines[0].points[1].median_ns, 21.0);
        assert_eq!(groups[0].file_name(), "chan-mpsc-capacity-1.svg");
    }

    #[test]
    fn titles_without_extra_params() {
        let f = ResultFile {
            results: vec![ResultRow::new(
                "mutex",
                "contended",
                "weft",
                Params::threads(2),
                10,
                vec![1.0],
            )],
            ..file()
        };
        let g = groups(&f);
        assert_eq!(g[0].title(), "mutex/contended");
        assert_eq!(g[0].file_name(), "mutex-contended.svg");
    }

    #[test]
    fn colliding_file_names_are_numbered() {
        let mut g = groups(&file());
        g.truncate(1);
        g.push(g[0].clone());
        assert_eq!(
            file_names(&g),
            ["chan-mpsc-capacity-1.svg", "chan-mpsc-capacity-1-2.svg"]
        );
    }

    #[test]
    fn svg_has_a_line_and_legend_per_implementation() {
        let g = &groups(&file())[0];
        let svg = svg(g).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        assert!(svg.contains("chan/mpsc capacity=1"));
        for label in [
            "weft",
            "crossbeam",
            "go (gomaxprocs=2)",
            "threads",
            "Mops/s",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        // One polyline per series (weft's has three points).
        assert!(svg.matches("<polyline").count() >= 3);
        // A single-thread group draws too.
        assert!(svg_is_ok(&groups(&file())[2]));
    }

    fn svg_is_ok(g: &Group) -> bool {
        svg(g).is_ok_and(|s| s.contains("</svg>"))
    }

    #[test]
    fn throughput_and_colours() {
        assert_eq!(mops(10.0), 100.0);
        assert_eq!(mops(0.0), 0.0);
        assert_eq!(color("weft"), RGBColor(214, 39, 40));
        assert_eq!(color("something"), color("something"));
        assert_eq!(format_mops(0.25), "0.25");
        assert_eq!(format_mops(150.4), "150");
    }
}
