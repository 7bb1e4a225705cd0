//! Scaling plots drawn from a result file: throughput against thread count, one plot per
//! (suite, workload, other parameters), one line per implementation.
//!
//! Throughput is millions of operations per second, `1000 / median ns per op` (higher is
//! better), where an operation is the workload's (`results/README.md`): for the contended
//! workloads it counts every thread's operations together, so a flat line means the
//! primitive does not scale and a falling one means it collapses. Workloads whose value is
//! not a time per operation ([`ResultRow::unit`](crate::result::ResultRow::unit): the idle
//! CPU and lateness workloads) are drawn as that value instead, lower is better. The
//! whiskers span the fastest and slowest samples.
//!
//! - The thread axis is logarithmic, ticked at the measured counts. Thread counts above the
//!   CPUs the run could use (`machine.available_parallelism`) are shaded and labelled
//!   *oversubscribed*.
//! - The value axis is logarithmic when a plot's medians span more than [`LOG_RATIO`]
//!   (largest over smallest), so that an implementation ten or a hundred times slower than
//!   the best does not lie flat along zero; linear from zero otherwise.
//! - A noisy point (spread above [`NOISY_SPREAD`]) is drawn hollow; a noisy bar pale.
//! - The Go twin's rows whose `gomaxprocs` equals their thread count (its `sched`, `achan`
//!   and `time` cases) form one line, `go (gomaxprocs=threads)`; rows of a fixed
//!   `gomaxprocs` form one line per value.
//!
//! A workload measured at one thread count only is drawn as bars instead, one per
//! implementation. The legend sits beside the plot, never over its data. SVG only
//! (plotters' SVG backend, text left to the browser's fonts).

use std::collections::BTreeMap;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::compare::value_text;
use crate::result::{unit, ResultFile, ResultRow, NOISY_SPREAD, SETUP_PARAMS};

/// A plot's value axis is logarithmic when its largest median is more than this many times
/// its smallest (more than a decade apart), linear otherwise.
pub const LOG_RATIO: f64 = 10.0;

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
    /// The row's spread, `(max - min) / median`.
    pub spread: f64,
}

impl Point {
    /// Whether the point's row is noisy (spread above [`NOISY_SPREAD`]).
    pub fn is_noisy(&self) -> bool {
        self.spread > NOISY_SPREAD
    }
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
    /// What the rows' values are ([`ResultRow::unit`] of the group's first row).
    pub unit: String,
    /// The CPUs the run could use (`machine.available_parallelism`, else the online CPUs):
    /// thread counts above it are oversubscribed. `None` where the file does not know.
    pub cpus: Option<usize>,
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

    /// Whether the plot shows throughput (its values are ns per op), rather than the values
    /// themselves.
    pub fn is_throughput(&self) -> bool {
        self.unit == unit::NS_PER_OP || self.unit.is_empty()
    }

    /// What a plotted value is for a time of `ns`: Mops/s for a time per op ([`mops`]), the
    /// value itself otherwise.
    pub fn value(&self, ns: f64) -> f64 {
        if self.is_throughput() {
            mops(ns)
        } else {
            ns
        }
    }

    /// The value axis's description, naming the scale when it is logarithmic.
    pub fn axis_label(&self) -> String {
        let log = if self.log_axis() { ", log scale" } else { "" };
        if self.is_throughput() {
            format!("Mops/s{log} (higher is better)")
        } else if self.unit == unit::NS_LATE {
            format!("lateness{log} (lower is better)")
        } else {
            format!("{}{log} (lower is better)", self.unit)
        }
    }

    /// A tick label of the value axis: a duration for lateness, else [`format_tick`]'s.
    fn tick(&self, y: f64) -> String {
        if self.unit == unit::NS_LATE {
            format_duration(y)
        } else {
            format_tick(y)
        }
    }

    /// Whether the value axis is logarithmic: the medians span more than [`LOG_RATIO`].
    pub fn log_axis(&self) -> bool {
        let medians = self
            .lines
            .iter()
            .flat_map(|l| &l.points)
            .map(|p| p.median_ns);
        spans_decades(medians)
    }

    /// The noisy points, as `(line label, thread count)`, in line order.
    pub fn noisy(&self) -> Vec<(String, usize)> {
        self.lines
            .iter()
            .flat_map(|l| {
                l.points
                    .iter()
                    .filter(|p| p.is_noisy())
                    .map(|p| (l.label(), p.threads))
            })
            .collect()
    }

    /// Whether some measured thread count exceeds [`Group::cpus`].
    pub fn oversubscribed(&self) -> bool {
        self.cpus
            .is_some_and(|c| self.threads().last().is_some_and(|&t| t > c))
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
/// same implementation and setup form one line. An implementation whose setup parameters
/// equal the thread count in every row of a group, at more than one count (the Go twin's
/// `gomaxprocs` = T), forms one line with setup `gomaxprocs=threads`. A repeated thread
/// count in a line keeps its first row.
pub fn groups(file: &ResultFile) -> Vec<Group> {
    let cpus = file
        .machine
        .available_parallelism
        .or((file.machine.logical_cpus > 0).then_some(file.machine.logical_cpus));
    let tracking = tracks_threads(&file.results);
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
                    unit: row.unit.clone(),
                    cpus,
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[gi];
        let setup = if tracking.contains(&line_key(row)) {
            row.params
                .extra
                .keys()
                .filter(|k| SETUP_PARAMS.contains(&k.as_str()))
                .map(|k| format!("{k}=threads"))
                .collect()
        } else {
            row.params.setup()
        };
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
                spread: row.spread,
            });
        }
    }
    for line in groups.iter_mut().flat_map(|g| g.lines.iter_mut()) {
        line.points.sort_by_key(|p| p.threads);
    }
    groups
}

/// A row's group and implementation, as one string.
fn line_key(row: &ResultRow) -> String {
    let case = serde_json::to_string(&row.params.case().extra).unwrap_or_default();
    format!(
        "{}\0{}\0{case}\0{}",
        row.suite, row.workload, row.implementation
    )
}

/// The [`line_key`]s whose rows all have setup parameters, each equal to the row's thread
/// count, at two thread counts or more.
fn tracks_threads(rows: &[ResultRow]) -> Vec<String> {
    let mut seen: BTreeMap<String, (bool, Vec<usize>)> = BTreeMap::new();
    for row in rows {
        let setup: Vec<&serde_json::Value> = row
            .params
            .extra
            .iter()
            .filter(|(k, _)| SETUP_PARAMS.contains(&k.as_str()))
            .map(|(_, v)| v)
            .collect();
        let equal = !setup.is_empty()
            && setup
                .iter()
                .all(|v| v.as_u64() == Some(row.params.threads as u64));
        let entry = seen.entry(line_key(row)).or_insert((true, Vec::new()));
        entry.0 &= equal;
        if !entry.1.contains(&row.params.threads) {
            entry.1.push(row.params.threads);
        }
    }
    seen.into_iter()
        .filter(|(_, (equal, threads))| *equal && threads.len() > 1)
        .map(|(k, _)| k)
        .collect()
}

/// Whether the positive values among `values` span more than [`LOG_RATIO`].
pub fn spans_decades(values: impl IntoIterator<Item = f64>) -> bool {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    hi > 0.0 && hi / lo > LOG_RATIO
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

/// Pixel size of every plot, legend included.
pub const SIZE: (u32, u32) = (780, 420);

/// Width of the legend column at the plot's right.
const LEGEND_WIDTH: u32 = 200;

/// The shading of the oversubscribed thread counts.
const OVERSUBSCRIBED: RGBColor = RGBColor(255, 236, 204);

/// Grey for notes drawn on the plot.
const NOTE: RGBColor = RGBColor(110, 110, 110);

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

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

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
    let axis = ValueAxis::new(group, group.log_axis());
    let keys: Vec<f64> = threads.iter().map(|&t| t.max(1) as f64).collect();

    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(group.title(), ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((x_lo..x_hi).log_scale().with_key_points(keys), axis.clone())?;

    // The oversubscribed counts: from halfway (on the log axis) between the CPUs and the
    // next measured count above them.
    let over = match group.cpus {
        Some(cpus) if group.oversubscribed() => threads
            .iter()
            .find(|&&t| t > cpus)
            .map(|&next| (cpus, ((cpus.max(1) * next) as f64).sqrt().max(x_lo))),
        _ => None,
    };
    if let Some((cpus, from)) = over {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(from, axis.lo), (x_hi, axis.hi)],
            OVERSUBSCRIBED.filled(),
        )))?;
        // In the band above the data, right-aligned so that it fits however narrow the
        // shading is.
        let style = ("sans-serif", 15)
            .into_font()
            .color(&NOTE)
            .pos(Pos::new(HPos::Right, VPos::Top));
        chart.draw_series(std::iter::once(
            EmptyElement::at((x_hi, axis.hi))
                + Text::new(
                    format!("oversubscribed: threads > {cpus} CPUs"),
                    (-6, 5),
                    style,
                ),
        ))?;
    }

    chart
        .configure_mesh()
        .x_desc("threads")
        .y_desc(group.axis_label())
        .x_label_formatter(&|x| format!("{}", x.round() as u64))
        .y_label_formatter(&|y| group.tick(*y))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    for line in &group.lines {
        let c = color(&line.implementation);
        let width = if line.implementation == crate::report::SUBJECT {
            3
        } else {
            2
        };
        let at = |p: &Point| (p.threads.max(1) as f64, group.value(p.median_ns));
        chart.draw_series(LineSeries::new(
            line.points.iter().map(at),
            c.stroke_width(width),
        ))?;
        chart.draw_series(line.points.iter().map(|p| {
            let x = p.threads.max(1) as f64;
            PathElement::new(
                vec![(x, group.value(p.max_ns)), (x, group.value(p.min_ns))],
                c.stroke_width(1),
            )
        }))?;
        chart.draw_series(
            line.points
                .iter()
                .filter(|p| !p.is_noisy())
                .map(|p| Circle::new(at(p), 3, c.filled())),
        )?;
        // Noisy points hollow: a white disc in a ring of the line's colour.
        let noisy: Vec<&Point> = line.points.iter().filter(|p| p.is_noisy()).collect();
        chart.draw_series(noisy.iter().map(|p| Circle::new(at(p), 4, WHITE.filled())))?;
        chart.draw_series(
            noisy
                .iter()
                .map(|p| Circle::new(at(p), 4, c.stroke_width(2))),
        )?;
    }
    let entries: Vec<(String, RGBColor)> = group
        .lines
        .iter()
        .map(|l| (l.label(), color(&l.implementation)))
        .collect();
    draw_legend(
        &legend_area,
        &entries,
        Marker::Line,
        !group.noisy().is_empty(),
        over.is_some(),
    )?;
    root.present()?;
    Ok(())
}

/// How the legend draws an implementation's sample.
#[derive(Clone, Copy, PartialEq)]
enum Marker {
    Line,
    Bar,
}

/// The legend column: one entry per implementation, then what the hollow points, the
/// whiskers and the shading mean (those that the plot shows).
fn draw_legend(
    area: &Area,
    entries: &[(String, RGBColor)],
    marker: Marker,
    noisy: bool,
    oversubscribed: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let text = |s: &str, y: i32, c: &RGBColor| {
        Text::new(
            s.to_owned(),
            (34, y),
            ("sans-serif", 15)
                .into_font()
                .color(c)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        )
    };
    let mut y = 52;
    for (label, c) in entries {
        match marker {
            Marker::Line => {
                area.draw(&PathElement::new(vec![(6, y), (28, y)], c.stroke_width(3)))?;
                area.draw(&Circle::new((17, y), 3, c.filled()))?;
            }
            Marker::Bar => area.draw(&Rectangle::new(
                [(9, y - 6), (25, y + 6)],
                c.mix(0.85).filled(),
            ))?,
        }
        area.draw(&text(label, y, &BLACK))?;
        y += 20;
    }
    y += 10;
    area.draw(&PathElement::new(
        vec![(17, y - 7), (17, y + 7)],
        NOTE.stroke_width(1),
    ))?;
    area.draw(&text("fastest-slowest sample", y, &NOTE))?;
    y += 20;
    if noisy {
        match marker {
            Marker::Line => {
                area.draw(&Circle::new((17, y), 4, NOTE.stroke_width(2)))?;
            }
            Marker::Bar => {
                area.draw(&Rectangle::new(
                    [(9, y - 6), (25, y + 6)],
                    NOTE.mix(0.3).filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(9, y - 6), (25, y + 6)],
                    NOTE.stroke_width(2),
                ))?;
            }
        }
        area.draw(&text(
            &format!("noisy: spread > {:.0}%", NOISY_SPREAD * 100.0),
            y,
            &NOTE,
        ))?;
        y += 20;
    }
    if oversubscribed {
        area.draw(&Rectangle::new(
            [(6, y - 7), (28, y + 7)],
            OVERSUBSCRIBED.filled(),
        ))?;
        area.draw(&text("oversubscribed", y, &NOTE))?;
    }
    Ok(())
}

/// A group measured at one thread count: a bar per implementation (the median, with the
/// whisker from the slowest to the fastest sample), named under the bar; a noisy bar pale
/// with an outline.
fn draw_bars(
    group: &Group,
    threads: usize,
    out: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let bars: Vec<(&Line, RGBColor, Point)> = group
        .lines
        .iter()
        .filter_map(|l| Some((l, color(&l.implementation), *l.points.first()?)))
        .collect();
    let axis = ValueAxis::new(group, group.log_axis());
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, legend_area) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(group.title(), ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(Slots(bars.len()), axis.clone())?;
    // Bar i spans [i, i + 1); its implementation sits under its centre (the legend has the
    // setup too).
    let label = |x: &f64| {
        bars.get(x.floor() as usize)
            .map_or(String::new(), |b| b.0.implementation.clone())
    };
    let over = match group.cpus {
        Some(cpus) if threads > cpus => format!(" (oversubscribed: > {cpus} CPUs)"),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(format!(
            "{threads} thread{}{over}",
            if threads == 1 { "" } else { "s" }
        ))
        .y_desc(group.axis_label())
        .x_label_formatter(&label)
        .y_label_formatter(&|y| group.tick(*y))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let rect = |i: usize, p: &Point| {
        let x = i as f64;
        [(x + 0.1, axis.lo), (x + 0.9, group.value(p.median_ns))]
    };
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, c, p))| {
        let fill = if p.is_noisy() {
            c.mix(0.3)
        } else {
            c.mix(0.85)
        };
        Rectangle::new(rect(i, p), fill.filled())
    }))?;
    chart.draw_series(
        bars.iter()
            .enumerate()
            .filter(|(_, (_, _, p))| p.is_noisy())
            .map(|(i, (_, c, p))| Rectangle::new(rect(i, p), c.stroke_width(2))),
    )?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, _, p))| {
        PathElement::new(
            vec![
                (i as f64 + 0.5, group.value(p.max_ns)),
                (i as f64 + 0.5, group.value(p.min_ns)),
            ],
            BLACK.stroke_width(1),
        )
    }))?;
    let entries: Vec<(String, RGBColor)> = bars.iter().map(|(l, c, _)| (l.label(), *c)).collect();
    draw_legend(
        &legend_area,
        &entries,
        Marker::Bar,
        !group.noisy().is_empty(),
        false,
    )?;
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

/// The value axis: linear from zero, or logarithmic, ticked at [`ValueAxis::ticks`].
#[derive(Debug, Clone, PartialEq)]
struct ValueAxis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
}

impl ValueAxis {
    /// An axis for every value `group` plots (medians and whiskers), with room above (and
    /// below, when logarithmic).
    fn new(group: &Group, log: bool) -> ValueAxis {
        let values: Vec<f64> = group
            .lines
            .iter()
            .flat_map(|l| &l.points)
            .flat_map(|p| [p.median_ns, p.min_ns, p.max_ns])
            .map(|ns| group.value(ns))
            .filter(|v| *v > 0.0 && v.is_finite())
            .collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        // The top HEADROOM of the axis stays above the data, for the oversubscribed label.
        const HEADROOM: f64 = 0.1;
        if log && max > 0.0 {
            let lo = min / 1.3;
            let hi = lo * (max / lo).powf(1.0 / (1.0 - HEADROOM));
            ValueAxis {
                lo,
                hi,
                log,
                ticks: log_ticks(lo, hi),
            }
        } else {
            let hi = if max > 0.0 {
                max / (1.0 - HEADROOM)
            } else {
                1.0
            };
            ValueAxis {
                lo: 0.0,
                hi,
                log: false,
                ticks: linear_ticks(hi),
            }
        }
    }

    /// Where `value` lies between the axis's ends, 0 to 1.
    fn fraction(&self, value: f64) -> f64 {
        if self.log {
            if value <= 0.0 {
                return 0.0;
            }
            (value.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (value - self.lo) / (self.hi - self.lo)
        }
    }
}

impl Ranged for ValueAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = self.fraction(*value).clamp(-0.1, 1.1);
        limit.0 + (f64::from(limit.1 - limit.0) * fraction).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Ticks for a log axis from `lo` to `hi`: 1, 2 and 5 times each power of ten, or 1 and 3
/// times, or the powers alone, or every second (third, ...) power: the densest of these
/// with at most 8 ticks.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let within = |mantissas: &[f64], every: usize| -> Vec<f64> {
        (first..=last)
            .filter(|e| e.rem_euclid(every as i32) == 0)
            .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    for mantissas in [&[1.0, 2.0, 5.0][..], &[1.0, 3.0], &[1.0]] {
        let ticks = within(mantissas, 1);
        if ticks.len() <= 8 {
            return ticks;
        }
    }
    (2..)
        .map(|every| within(&[1.0], every))
        .find(|t| t.len() <= 8)
        .expect("every far enough apart leaves one tick")
}

/// Ticks for a linear axis from 0 to `hi`: multiples of 1, 2 or 5 times a power of ten,
/// about five of them.
fn linear_ticks(hi: f64) -> Vec<f64> {
    let raw = hi / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(magnitude * 10.0);
    (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|t| *t <= hi * (1.0 + 1e-9))
        .collect()
}

/// A duration given in ns as ns, µs, ms or s, by [`format_tick`]: `500 ns`, `30 µs`,
/// `1.5 ms`.
fn format_duration(ns: f64) -> String {
    let (v, unit) = match ns.abs() {
        a if a >= 1e9 => (ns / 1e9, "s"),
        a if a >= 1e6 => (ns / 1e6, "ms"),
        a if a >= 1e3 => (ns / 1e3, "µs"),
        _ => (ns, "ns"),
    };
    if ns == 0.0 {
        "0".to_owned()
    } else {
        format!("{} {unit}", format_tick(v))
    }
}

/// Axis labels: three significant figures at most, trailing zeros dropped, thousands and
/// millions as `k` and `M`: `0.002`, `0.25`, `12.5`, `150`, `2k`, `1.5M`.
fn format_tick(y: f64) -> String {
    if y == 0.0 {
        return "0".to_owned();
    }
    let (v, suffix) = match y.abs() {
        a if a >= 1e9 => (y / 1e9, "G"),
        a if a >= 1e6 => (y / 1e6, "M"),
        a if a >= 1e3 => (y / 1e3, "k"),
        _ => (y, ""),
    };
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let mut text = format!("{v:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    text + suffix
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

    /// A plot of `rows` as [`groups`] makes it (the first group), on a machine of `cpus`.
    fn group_of(rows: Vec<ResultRow>, cpus: usize) -> Group {
        let mut f = ResultFile {
            results: rows,
            ..file()
        };
        f.machine.available_parallelism = Some(cpus);
        groups(&f).remove(0)
    }

    fn mutex_row(implementation: &str, threads: usize, ns: f64) -> ResultRow {
        ResultRow::new(
            "mutex",
            "contended",
            implementation,
            Params::threads(threads),
            100,
            vec![ns, ns * 1.1],
        )
    }

    /// Medians three decades apart: a log axis, on which the slowest implementation stands
    /// well clear of the bottom; within a decade: linear from zero.
    #[test]
    fn values_spanning_decades_get_a_log_axis() {
        let wide = group_of(
            [1, 2, 4]
                .into_iter()
                .flat_map(|t| [mutex_row("weft", t, 1.0), mutex_row("std", t, 1000.0)])
                .collect(),
            4,
        );
        assert!(wide.log_axis());
        let axis = ValueAxis::new(&wide, true);
        assert!(axis.log && axis.lo > 0.0);
        // std's 1 Mops/s on an axis whose top is above weft's 1000.
        let slowest = axis.fraction(mops(1000.0));
        assert!(slowest > 0.03, "std at {slowest} of the axis");
        assert!(
            ValueAxis::new(&wide, false).fraction(mops(1000.0)) < 0.002,
            "on a linear axis std would lie flat"
        );
        assert_eq!(axis.ticks, [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]);
        let svg = svg(&wide).unwrap();
        assert!(
            svg.contains("Mops/s, log scale (higher is better)"),
            "{svg}"
        );
        // Each label is a text element's content, on its own line.
        assert!(
            svg.contains(">\n1k\n<") && svg.contains(">\n300\n<"),
            "{svg}"
        );

        let narrow = group_of(
            vec![mutex_row("weft", 1, 10.0), mutex_row("std", 2, 95.0)],
            4,
        );
        assert!(!narrow.log_axis());
        let axis = ValueAxis::new(&narrow, false);
        assert_eq!((axis.lo, axis.ticks[0]), (0.0, 0.0));
        assert!(svg_of(&narrow).contains("Mops/s (higher is better)"));
        // Bars take the log axis too.
        let bars = group_of(
            vec![mutex_row("weft", 1, 1.0), mutex_row("std", 1, 1000.0)],
            4,
        );
        assert!(bars.log_axis());
        assert!(svg_of(&bars).contains("log scale"));
    }

    fn svg_of(g: &Group) -> String {
        svg(g).unwrap()
    }

    #[test]
    fn log_and_linear_ticks() {
        assert_eq!(log_ticks(0.8, 60.0), [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]);
        assert_eq!(log_ticks(0.5, 2e6), [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
        assert_eq!(
            log_ticks(1.0, 1e12),
            [1.0, 100.0, 1e4, 1e6, 1e8, 1e10, 1e12]
        );
        assert_eq!(linear_ticks(230.0), [0.0, 50.0, 100.0, 150.0, 200.0]);
        assert_eq!(
            linear_ticks(1.0),
            [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert!(spans_decades([1.0, 10.5]) && !spans_decades([1.0, 10.0, 0.0]));
    }

    /// Go rows whose gomaxprocs follows the thread count form one connected line; rows of
    /// a fixed gomaxprocs one line per value.
    #[test]
    fn go_is_one_line_per_gomaxprocs() {
        let go = |t: usize, gomaxprocs: usize| {
            let mut r = mutex_row("go", t, 10.0 * t as f64);
            r.params = r.params.with("gomaxprocs", gomaxprocs);
            r
        };
        let tracking = group_of(
            vec![go(1, 1), go(2, 2), go(4, 4), mutex_row("weft", 1, 5.0)],
            2,
        );
        let labels = |g: &Group| -> Vec<(String, usize)> {
            g.lines
                .iter()
                .map(|l| (l.label(), l.points.len()))
                .collect()
        };
        assert_eq!(
            labels(&tracking),
            [
                ("go (gomaxprocs=threads)".to_owned(), 3),
                ("weft".to_owned(), 1)
            ]
        );
        // Drawn as one polyline through the three points, in Go's colour.
        let svg = svg_of(&tracking);
        let go_line = svg
            .split("<polyline")
            .find(|p| p.contains("stroke=\"#17BECF\""))
            .expect("a Go polyline");
        let points = go_line
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split_whitespace().count(), 3, "{go_line}");

        let fixed = group_of(vec![go(1, 2), go(2, 2), go(4, 2), go(1, 4), go(2, 4)], 2);
        assert_eq!(
            labels(&fixed),
            [
                ("go (gomaxprocs=2)".to_owned(), 3),
                ("go (gomaxprocs=4)".to_owned(), 2)
            ]
        );
    }

    /// Thread counts above the machine's CPUs are shaded and labelled; none on a machine
    /// big enough.
    #[test]
    fn oversubscribed_counts_are_marked() {
        let rows = || {
            vec![
                mutex_row("weft", 1, 5.0),
                mutex_row("weft", 2, 6.0),
                mutex_row("weft", 4, 9.0),
            ]
        };
        let small = group_of(rows(), 2);
        assert_eq!(small.cpus, Some(2));
        assert!(small.oversubscribed());
        let svg = svg_of(&small);
        assert!(svg.contains("oversubscribed: threads &gt; 2 CPUs"), "{svg}");
        assert!(svg.contains("fill=\"#FFECCC\""), "{svg}");
        let big = group_of(rows(), 4);
        assert!(!big.oversubscribed());
        let svg = svg_of(&big);
        assert!(!svg.contains("oversubscribed") && !svg.contains("#FFECCC"));
        // A bar plot says so in its thread label.
        let bars = group_of(vec![mutex_row("weft", 8, 5.0)], 2);
        assert!(svg_of(&bars).contains("8 threads (oversubscribed: &gt; 2 CPUs)"));
    }

    /// The idle workloads plot their own value, not a throughput, and a noisy point is
    /// listed and drawn hollow.
    #[test]
    fn other_units_and_noisy_points() {
        let idle = |implementation, t, samples: Vec<f64>| {
            ResultRow::new(
                "sched",
                "idle_cpu",
                implementation,
                Params::threads(t),
                100,
                samples,
            )
        };
        let g = group_of(
            vec![
                idle("weft", 1, vec![500.0, 510.0]),
                idle("weft", 2, vec![400.0, 500.0, 900.0]),
            ],
            2,
        );
        assert_eq!(g.unit, "CPU ns per idle ms");
        assert!(!g.is_throughput());
        assert_eq!(g.value(505.0), 505.0);
        assert_eq!(g.noisy(), [("weft".to_owned(), 2)]);
        let svg = svg_of(&g);
        assert!(
            svg.contains("CPU ns per idle ms (lower is better)"),
            "{svg}"
        );
        assert!(svg.contains("noisy: spread &gt; 50%"), "{svg}");
        // One hollow marker, a ring of weft's colour (over a white disc), one filled.
        let rings = svg.matches("fill=\"none\" stroke=\"#D62728\" stroke-width=\"2\"/>");
        assert_eq!(rings.count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 5, "{svg}");
    }

    #[test]
    fn throughput_and_colours() {
        assert_eq!(mops(10.0), 100.0);
        assert_eq!(mops(0.0), 0.0);
        assert_eq!(color("weft"), RGBColor(214, 39, 40));
        assert_eq!(color("something"), color("something"));
        assert_eq!(format_tick(0.25), "0.25");
        assert_eq!(format_tick(150.4), "150");
        assert_eq!(format_tick(0.30000000000000004), "0.3");
        assert_eq!(format_tick(0.002), "0.002");
        assert_eq!(format_tick(2000.0), "2k");
        assert_eq!(format_tick(1_500_000.0), "1.5M");
        assert_eq!(format_tick(0.0), "0");
        assert_eq!(format_duration(30_000.0), "30 µs");
        assert_eq!(format_duration(1_500_000.0), "1.5 ms");
        assert_eq!(format_duration(500.0), "500 ns");
    }
}
