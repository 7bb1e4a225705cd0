#!/usr/bin/env bash
# ThreadSanitizer on weft's unit and integration tests, with the standard library rebuilt
# instrumented (-Zbuild-std) so its atomics are seen too. No suppressions.
set -euxo pipefail
cd "$(dirname "$0")"/..

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add --toolchain nightly rust-src

target=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="${RUSTFLAGS:-} -Zsanitizer=thread" \
RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -Zsanitizer=thread" \
TSAN_OPTIONS="${TSAN_OPTIONS:-} halt_on_error=1 second_deadlock_stack=1" \
CARGO_TARGET_DIR=target/tsan \
    cargo +nightly test -Zbuild-std --target "$target" -p weft-go --lib --tests "$@"
