#!/usr/bin/env bash
# Miri on weft's unit and integration tests: undefined behaviour, data races and leaks, with
# weak-memory emulation (on by default) and preemption, over several scheduler seeds.
# No suppressions. Installs its own toolchain components (idempotent).
set -euxo pipefail
cd "$(dirname "$0")"/..

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add --toolchain nightly miri rust-src
cargo +nightly miri setup

# Seeds 0..4 reschedule threads and weak-memory outcomes differently each run.
# tests/time.rs uses the global timer queue, whose driver thread lives as long as the
# process; Miri reports a thread still alive at exit as a leak, so that binary alone runs
# with leaks ignored (its memory is still checked for UB and races). Every other binary runs
# with the full leak check.
tests=()
for f in primitives/tests/*.rs; do
    name=$(basename "$f" .rs)
    [ "$name" = time ] || tests+=(--test "$name")
done
MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-many-seeds=0..4" \
CARGO_TARGET_DIR=target/miri \
    cargo +nightly miri test -p weft-go --lib "${tests[@]}" "$@"
MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-many-seeds=0..4 -Zmiri-ignore-leaks" \
CARGO_TARGET_DIR=target/miri \
    cargo +nightly miri test -p weft-go --test time "$@"
