//! `weft-bench report` on the committed result file (`results/latest.json`, the run that
//! `results/index.html` draws): the checks a reader would make, on real data.
//!
//! - the contents link every plot and every link lands on an anchor of the page;
//! - a plot's value axis is logarithmic exactly where its medians span more than
//!   `plot::LOG_RATIO`, and says so;
//! - the Go twin's `sched` rows (`gomaxprocs` = threads) are one line per plot, through every
//!   thread count;
//! - thread counts above the machine's CPUs are marked oversubscribed;
//! - the count of noisy rows at the top is the file's.

use std::fs;
use std::path::{Path, PathBuf};

use weft_bench::plot;
use weft_bench::result::ResultFile;
use weft_bench::site;

fn committed() -> (PathBuf, ResultFile) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/latest.json");
    let file = ResultFile::read(&path).unwrap();
    (path, file)
}

/// The values of `attr="..."` in `html`, where the attribute is preceded by `before`.
fn values<'a>(html: &'a str, before: &str) -> Vec<&'a str> {
    html.split(before)
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect()
}

#[test]
fn the_committed_run_reads_well() {
    let (path, file) = committed();
    let dir = std::env::temp_dir().join(format!("weft-bench-page-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let written = site::write(&[(path, file.clone())], &dir).unwrap();
    let html = fs::read_to_string(&written.index).unwrap();
    let (nav, body) = html.split_once("</nav>").expect("contents");

    let groups = plot::groups(&file);
    let figures = values(body, "<figure id=\"");
    assert_eq!(figures.len(), groups.len());
    assert_eq!(written.plots.len(), groups.len());
    assert!(nav.contains(&format!("Contents ({} plots)", groups.len())));
    let links = values(nav, "href=\"#");
    for figure in &figures {
        assert!(links.contains(figure), "{figure} is not in the contents");
    }
    let anchors: Vec<&str> = [
        values(body, "<h3 id=\""),
        values(body, "<section id=\""),
        figures.clone(),
    ]
    .concat();
    for link in values(&html, "href=\"#") {
        assert!(
            link == "contents" || anchors.contains(&link),
            "#{link} leads nowhere"
        );
    }

    for (group, svg) in groups.iter().zip(&written.plots) {
        let svg = fs::read_to_string(svg).unwrap();
        let medians = group
            .lines
            .iter()
            .flat_map(|l| &l.points)
            .map(|p| p.median_ns);
        let wide = plot::spans_decades(medians);
        assert_eq!(group.log_axis(), wide, "{}", group.title());
        assert_eq!(svg.contains("log scale"), wide, "{}", group.title());
        if group.oversubscribed() {
            assert!(
                svg.contains("oversubscribed"),
                "{}: not marked",
                group.title()
            );
        }
        if group.suite == "sched" {
            let go: Vec<&plot::Line> = group
                .lines
                .iter()
                .filter(|l| l.implementation == "go")
                .collect();
            assert_eq!(go.len(), 1, "{}: Go lines {go:?}", group.title());
            assert_eq!(go[0].label(), "go (gomaxprocs=threads)");
            assert_eq!(go[0].points.len(), group.threads().len());
        }
    }

    let noisy = file.results.iter().filter(|r| r.is_noisy()).count();
    if noisy > 0 {
        let warning = format!(
            "⚠ {noisy} of {} rows are <strong>noisy</strong>",
            file.results.len()
        );
        assert!(html.contains(&warning), "no {warning:?}");
    }
    fs::remove_dir_all(dir).unwrap();
}
