//! Instruction counts of a reused dynamic `Select`, weft beside crossbeam-channel.
//!
//! A separate binary from `fast_paths.rs` on purpose: compiling crossbeam's `Select` path next
//! to its `select_biased!` changes how its shared select routine is inlined, and raised the
//! macro's count there by 13%; apart, each binary measures what a program using only that form
//! pays. `ci/gungraun.sh` runs both and checks them against the same baseline file.
//!
//! - `select_dynamic`: a message is sent on the first of two bounded(16) channels, then a
//!   biased `Select`, built once over both receivers (as the wall-clock suite's `select_rx`
//!   and `select_both` workloads use it) and reused for every message, takes it. Only `x100`:
//!   building the `Select` is counted once, a small share of 100 operations.

// gungraun's macros expand to public modules, functions and constants that carry no docs.
#![allow(missing_docs)]

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};

const X100: usize = 100;

type WeftPair = (weft::chan::Sender<u64>, weft::chan::Receiver<u64>);
type CrossbeamPair = (
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
);

/// The measured body, shared by both libraries (their `Select`s have the same API): `n` times,
/// send on `a`, then take the message through a biased `$select` over `a` and `b` built once.
/// A macro rather than a generic function: the two `Select` types share no trait.
macro_rules! send_then_select {
    ($select:path, $a:ident, $b:ident, $n:ident) => {{
        let rxs = [&$a.1, &$b.1];
        let mut sel = <$select>::new_biased();
        for rx in rxs {
            sel.recv(rx);
        }
        for i in 0..$n as u64 {
            black_box(&$a.0).send(i).unwrap();
            let op = sel.select();
            let k = op.index();
            black_box(op.recv(rxs[k]).unwrap());
        }
    }};
}

fn setup_weft(n: usize) -> (WeftPair, WeftPair, usize) {
    (weft::chan::bounded(16), weft::chan::bounded(16), n)
}

fn setup_crossbeam(n: usize) -> (CrossbeamPair, CrossbeamPair, usize) {
    (
        crossbeam_channel::bounded(16),
        crossbeam_channel::bounded(16),
        n,
    )
}

#[library_benchmark]
#[bench::x100(args = (X100), setup = setup_weft)]
fn select_dynamic_weft((a, b, n): (WeftPair, WeftPair, usize)) -> (WeftPair, WeftPair) {
    send_then_select!(weft::chan::Select, a, b, n);
    (a, b)
}

#[library_benchmark]
#[bench::x100(args = (X100), setup = setup_crossbeam)]
fn select_dynamic_crossbeam(
    (a, b, n): (CrossbeamPair, CrossbeamPair, usize),
) -> (CrossbeamPair, CrossbeamPair) {
    send_then_select!(crossbeam_channel::Select, a, b, n);
    (a, b)
}

library_benchmark_group!(
    name = select_dynamic,
    benchmarks = [select_dynamic_weft, select_dynamic_crossbeam]
);

main!(library_benchmark_groups = select_dynamic);
