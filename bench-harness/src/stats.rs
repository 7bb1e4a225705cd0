//! Summary statistics over repeated samples.
//!
//! A benchmark never reports a single run: each (workload, implementation) pair is sampled
//! several times and summarised by its median (robust to the odd descheduled sample) and its
//! spread, `(max - min) / median`, which says how far the samples disagreed.

/// Median, extremes and relative spread of a set of samples (ns per operation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The middle sample; the mean of the two middle samples for an even count.
    pub median: f64,
    /// The fastest sample.
    pub min: f64,
    /// The slowest sample.
    pub max: f64,
    /// `(max - min) / median`: 0.1 means the samples span 10% of the median. 0 when the
    /// median is 0.
    pub spread: f64,
}

/// Summarises `samples`, or returns `None` when there are none.
///
/// # Panics
///
/// If a sample is NaN.
///
/// # Examples
///
/// ```
/// let s = weft_bench::stats::summarize(&[3.0, 1.0, 2.0, 10.0]).unwrap();
/// assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
/// assert_eq!(s.spread, 9.0 / 2.5);
/// ```
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    assert!(samples.iter().all(|s| !s.is_nan()), "NaN sample");
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    };
    let spread = if median > 0.0 {
        (max - min) / median
    } else {
        0.0
    };
    Some(Summary {
        median,
        min,
        max,
        spread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_has_no_summary() {
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn single_sample() {
        let s = summarize(&[4.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.spread), (4.0, 4.0, 4.0, 0.0));
    }

    #[test]
    fn odd_count_takes_middle_regardless_of_order() {
        let s = summarize(&[9.0, 1.0, 5.0, 7.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (5.0, 1.0, 9.0));
        assert_eq!(s.spread, 8.0 / 5.0);
    }

    #[test]
    fn even_count_averages_middle_pair() {
        let s = summarize(&[4.0, 2.0, 8.0, 6.0]).unwrap();
        assert_eq!(s.median, 5.0);
    }

    #[test]
    fn zero_median_has_zero_spread() {
        let s = summarize(&[0.0, 0.0, 1.0]).unwrap();
        assert_eq!((s.median, s.spread), (0.0, 0.0));
    }

    #[test]
    #[should_panic(expected = "NaN")]
    fn nan_is_rejected() {
        summarize(&[1.0, f64::NAN]);
    }
}
