//! weft-bench: the benchmark suite.
