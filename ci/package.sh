#!/usr/bin/env bash
# The library as crates.io would get it: docs without a warning (broken intra-doc links
# included), `cargo publish --dry-run` (packages and builds the .crate on its own), the
# packaged crate's own tests and doctests run from an unpacked copy outside the workspace,
# and the library's MSRV (rust-version in Cargo.toml) with that toolchain, installed here.
set -euxo pipefail
cd "$(dirname "$0")"/..

pkg=weft-go
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml)

RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings" cargo doc -p "$pkg" --no-deps --all-features

# --allow-dirty: a local run may have uncommitted work; CI runs on a clean clone anyway.
# `package` builds the .crate on its own (verify); `publish --dry-run` checks what the
# registry would check, without building it a second time.
cargo package -p "$pkg" --allow-dirty
cargo publish -p "$pkg" --dry-run --allow-dirty --no-verify

# The .crate unpacked outside the workspace: its README, doctests and tests must stand alone.
# Its lockfile is resolved afresh, preferring versions whose rust-version the MSRV meets
# (the workspace's lockfile also holds the bench harness's newer dependencies).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "target/package/$pkg-$version.crate" -C "$work"
rustup toolchain list | grep -q "^$msrv" || rustup toolchain install "$msrv" --profile minimal
root=$PWD
(
    cd "$work/$pkg-$version"
    CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile
    export CARGO_TARGET_DIR="$root/target/package-check"
    cargo test --doc
    cargo test --no-default-features --lib
    # The MSRV: the library and its doctests with that toolchain.
    CARGO_TARGET_DIR="$root/target/msrv" cargo "+$msrv" test --lib
    CARGO_TARGET_DIR="$root/target/msrv" cargo "+$msrv" test --doc
)
