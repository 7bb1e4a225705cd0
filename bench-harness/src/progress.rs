//! The progress bar of `weft-bench run`: samples taken out of the run's total, the case being
//! measured and an ETA, on stderr; hidden when stderr is not a terminal (logs and CI get the
//! per-case lines alone).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over a run's samples (warm-ups included).
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `total` steps, `what` naming them (`"samples"`), drawn on stderr when it is a
    /// terminal.
    pub fn new(total: u64, what: &str) -> Progress {
        Progress::with_target(total, what, ProgressDrawTarget::stderr())
    }

    /// A bar that is never drawn (its lines still go to stderr).
    pub fn hidden() -> Progress {
        Progress::with_target(0, "", ProgressDrawTarget::hidden())
    }

    fn with_target(total: u64, what: &str, target: ProgressDrawTarget) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = format!(
            "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}, ETA {{eta}}  {{msg}}"
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(500));
        Progress { bar }
    }

    /// Whether the bar is drawn (stderr is a terminal).
    pub fn is_drawn(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Names what is being measured now.
    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Counts `n` steps done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Prints `line` on stderr above the bar.
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_bar_counts() {
        let p = Progress::hidden();
        p.bar.set_length(3);
        p.set_message("mutex/contended".into());
        p.inc(2);
        assert_eq!(p.bar.position(), 2);
        assert!(!p.is_drawn());
        p.finish();
    }
}
