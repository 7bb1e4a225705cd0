#!/usr/bin/env bash
# Installs what gungraun benchmarks need, idempotently:
#   - gungraun-runner at exactly the version that bench-harness/Cargo.toml pins for the
#     `gungraun` crate (the library and the runner must match);
#   - valgrind (via apt-get when missing and running as root).
# Safe to run on every CI job: does nothing when both are already there.
set -euo pipefail
cd "$(dirname "$0")"/..

manifest=bench-harness/Cargo.toml

# Accepts `gungraun = "=0.20.0"` and `gungraun = { version = "=0.20.0", ... }`.
version=$(sed -nE 's/^[[:space:]]*gungraun[[:space:]]*=[[:space:]]*(\{[^}]*version[[:space:]]*=[[:space:]]*)?"=?([0-9][0-9A-Za-z.+-]*)".*/\2/p' "$manifest" | head -n1)
if [[ -z "$version" ]]; then
    echo "error: no gungraun version pin found in $manifest" >&2
    exit 1
fi

installed=""
if command -v gungraun-runner >/dev/null 2>&1; then
    # Prints e.g. `gungraun-runner 0.20.0`.
    installed=$(gungraun-runner --version 2>/dev/null | awk '{print $2}' || true)
fi
if [[ "$installed" == "$version" ]]; then
    echo "gungraun-runner $version already installed"
else
    echo "installing gungraun-runner $version (found: ${installed:-none})"
    cargo install --locked gungraun-runner --version "$version"
fi

if command -v valgrind >/dev/null 2>&1; then
    echo "valgrind present: $(valgrind --version)"
elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing valgrind"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get -y install valgrind
else
    echo "error: valgrind is missing; install it (e.g. sudo apt-get install valgrind)" >&2
    exit 1
fi
