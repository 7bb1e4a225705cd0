#!/usr/bin/env bash
# loom models of every primitive: exhaustive interleavings (bounded preemption) of the code
# compiled with `--cfg weft_loom`, where atomics, cells, threads and the futex layer are loom's.
# The models live beside the code (cfg(all(test, weft_loom))); each sets its own preemption bound.
set -euxo pipefail
cd "$(dirname "$0")"/..

# A separate target dir: the cfg changes every artefact, so sharing would rebuild both ways.
RUSTFLAGS="${RUSTFLAGS:-} --cfg weft_loom" \
CARGO_TARGET_DIR=target/loom \
    cargo test -p weft-go --lib --release -- loom_tests "$@"
