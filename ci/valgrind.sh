#!/usr/bin/env bash
# The user-fault tests (tests/faults.rs: early exits and panics in select send values,
# given-back selected operations, panicking message drops) under valgrind's memcheck: a
# double free, an invalid read of a slot or a leak of a block fails the step. Miri runs the
# same file with every other test (ci/miri.sh); this is the native build, optimised as users
# run it. Installs valgrind if missing (idempotent).
set -euxo pipefail
cd "$(dirname "$0")"/..

command -v valgrind >/dev/null || { apt-get update && apt-get install -y valgrind; }

CARGO_TARGET_DIR=target/valgrind cargo test -p weft-go --release --test faults --no-run
bin=$(ls -t target/valgrind/release/deps/faults-* | grep -v '\.d$' | head -n 1)
# One test thread: valgrind serialises threads anyway; the watchdogs allow for its slowness.
WEFT_SLOW_FACTOR=20 timeout 1200 valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    "$bin" --test-threads=1
