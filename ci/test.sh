#!/usr/bin/env bash
# The whole test pipeline, as the README gives it and CI runs it: lint, unit/integration/doc
# tests of the workspace, examples, the packaged crate on its own, loom models, Miri,
# ThreadSanitizer, valgrind and the instruction-count gate.
# Every step installs what it needs itself, so this passes on a fresh machine. Each step
# prints a banner and its time; the last line names every step that passed.
set -euo pipefail
cd "$(dirname "$0")"/..

passed=()
start=$SECONDS
step() {
    local name=$1
    shift
    local t0=$SECONDS
    printf '\n==== ci/test.sh: %s (%s)\n' "$name" "$*" >&2
    "$@"
    printf '==== ci/test.sh: %s passed in %ds\n' "$name" $((SECONDS - t0)) >&2
    passed+=("$name $((SECONDS - t0))s")
}
failed() {
    printf '\n==== ci/test.sh FAILED after %ds; passed before it: %s\n' \
        $((SECONDS - start)) "${passed[*]:-none}" >&2
}
trap failed ERR

step components rustup component add rustfmt clippy
step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
step test cargo test --workspace
step examples ci/examples.sh
step package ci/package.sh
step loom ci/loom.sh
step miri ci/miri.sh
step tsan ci/tsan.sh
step valgrind ci/valgrind.sh
step gungraun ci/gungraun.sh

trap - ERR
printf '\n==== ci/test.sh: all passed in %ds: %s\n' $((SECONDS - start)) "$(IFS=,; echo "${passed[*]}")" >&2
