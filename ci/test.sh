#!/usr/bin/env bash
# The whole test pipeline, as the README gives it and CI runs it: lint, unit/integration/doc
# tests of the workspace, loom models, Miri, ThreadSanitizer, and the instruction-count gate.
# Every step installs what it needs itself, so this passes on a fresh machine.
set -euxo pipefail
cd "$(dirname "$0")"/..

rustup component add rustfmt clippy
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace

ci/examples.sh
ci/loom.sh
ci/miri.sh
ci/tsan.sh
ci/valgrind.sh
ci/gungraun.sh
