#!/usr/bin/env bash
# Makes sure `go` is installed, for the Go twin of the benchmarks (bench-harness/go). Idempotent:
# does nothing when `go` is on the PATH. Otherwise, as root on Debian or Ubuntu, installs Debian's
# golang-go (Go 1.19 on bookworm; any Go >= 1.19 builds the twin). Otherwise, or if that fails,
# prints a hint and exits 0: benchmarks without Go still run, without the `go` column.
#
#   scripts/install-go.sh
set -euo pipefail

if command -v go >/dev/null 2>&1; then
    exit 0
fi

hint="Go is not installed, so the benchmarks will run without the Go twin. To add it, install \
Go 1.19 or newer (Debian/Ubuntu: sudo apt-get install golang-go; elsewhere: https://go.dev/dl/)."

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "install-go: installing golang-go with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Output goes to stderr so that scripts/bench's stdout stays the table.
    if apt-get install -y -q golang-go >&2 \
        || { apt-get update -q >&2 && apt-get install -y -q golang-go >&2; }; then
        if command -v go >/dev/null 2>&1; then
            echo "install-go: $(go version)" >&2
            exit 0
        fi
    fi
    echo "install-go: apt-get could not install golang-go." >&2
fi
echo "install-go: $hint" >&2
exit 0
