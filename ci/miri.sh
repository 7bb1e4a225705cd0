#!/usr/bin/env bash
# Miri on weft's unit and integration tests: undefined behaviour, data races and leaks, with
# weak-memory emulation (on by default) and preemption, over several scheduler seeds.
# No suppressions. Installs its own toolchain components (idempotent).
#
# Every (test binary, seed) pair is its own Miri process, run MIRI_JOBS at a time (default:
# one per CPU) from one pool, longest first, each writing to its own log, printed whole when
# it ends: the output of parallel runs never interleaves (Miri's own -Zmiri-many-seeds runs a
# binary's seeds in parallel threads that share stdout), and no CPU idles while one binary's
# last seed runs alone. Arguments go to every `cargo miri test` (e.g. `-- some_test_name`).
set -euo pipefail
cd "$(dirname "$0")"/..

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add --toolchain nightly miri rust-src
cargo +nightly miri setup

export CARGO_TARGET_DIR=target/miri
# Seeds 0..MIRI_SEEDS-1 reschedule threads and weak-memory outcomes differently each run.
seeds=${MIRI_SEEDS:-5}
jobs=${MIRI_JOBS:-$(nproc)}
export MIRI_EXTRA_ARGS="$*"

# Build every binary once, so the runs below only interpret.
# shellcheck disable=SC2086
cargo +nightly miri test -p weft-go --lib --tests --no-run $MIRI_EXTRA_ARGS

# The binaries, slowest first (measured on 2026-12-07, ci/test.sh's log: seconds per seed),
# then any not listed; `lib` is the crate's unit tests.
order=(select_async chan_model lib select sched select_go chan_owned time chan_list select_alloc
    chan_array chan_async faults deque chan_zero faults_sched mutex wait_group tls_destructor
    soak)
targets=()
for t in "${order[@]}"; do
    if [ "$t" = lib ] || [ -f "primitives/tests/$t.rs" ]; then targets+=("$t"); fi
done
for f in primitives/tests/*.rs; do
    name=$(basename "$f" .rs)
    [[ " ${targets[*]} " == *" $name "* ]] || targets+=("$name")
done

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export logs

run_one() {
    local target=$1 seed=$2 flags="-Zmiri-seed=$2" sel=(--test "$1") t0=$SECONDS status=ok
    [ "$target" = lib ] && sel=(--lib)
    # tests/time.rs and tests/select_alloc.rs use the global timer queue, whose driver thread
    # lives as long as the process; Miri reports a thread still alive at exit as a leak, so
    # those binaries alone run with leaks ignored (memory is still checked for UB and races).
    case $target in time | select_alloc) flags+=" -Zmiri-ignore-leaks" ;; esac
    local log="$logs/$target.$seed"
    # shellcheck disable=SC2086
    MIRIFLAGS="${MIRIFLAGS:-} $flags" cargo +nightly miri test -q -p weft-go "${sel[@]}" \
        $MIRI_EXTRA_ARGS >"$log" 2>&1 || status=FAILED
    {
        flock 9
        printf '\n---- miri %s, seed %s: %s in %ds\n' "$target" "$seed" "$status" $((SECONDS - t0))
        cat "$log"
    } 9>>"$logs/print.lock"
    [ "$status" = ok ]
}
export -f run_one

# Pairs by target, then seed: the slow binaries' seeds all start early.
for t in "${targets[@]}"; do
    for ((s = 0; s < seeds; s++)); do printf '%s %s\n' "$t" "$s"; done
done | xargs -P "$jobs" -n 2 bash -c 'run_one "$@"' _ || {
    echo "ci/miri.sh: a Miri run failed (its log is above, marked FAILED)" >&2
    exit 1
}
echo "ci/miri.sh: ${#targets[@]} binaries x $seeds seeds passed"
