#!/usr/bin/env bash
# Runs every example in primitives/examples/ (Go idioms written with weft). Each one checks its
# own result with asserts and exits non-zero on a mismatch; `timeout` turns a hang into a failure.
set -euxo pipefail
cd "$(dirname "$0")"/..

for example in fan_in_tasks jobs_done_tasks worker_pool pipeline prime_sieve timeout bounded_parallelism echo_server \
    timeout_tasks ticker_worker rate_limit tokio_echo; do
    timeout 120 cargo run --release -p weft-go --example "$example"
done
