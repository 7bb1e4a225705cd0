#!/usr/bin/env bash
# Instruction-count regression check for the uncontended fast paths.
#
# Runs bench-harness/benches/fast_paths.rs and select_dynamic.rs under gungraun (Callgrind),
# reads the Callgrind "Instructions" (Ir) of every benchmark from gungraun's summary.json
# files, prints weft beside its peers, and fails when any benchmark needs more than
# GUNGRAUN_TOLERANCE_PCT (default 2) percent more instructions than
# results/instructions/baseline.json records.
#
#   ci/gungraun.sh                  check against the committed baseline
#   ci/gungraun.sh --save-baseline  (re)write the baseline from this run; commit it
#
# Counts are exact but depend on rustc, the peers' versions and valgrind, so refresh the
# baseline (on purpose, in its own commit) when the toolchain or Cargo.lock changes.
set -euxo pipefail
cd "$(dirname "$0")"/..

mode=check
case "${1:-}" in
    "") ;;
    --save-baseline) mode=save ;;
    *)
        echo "usage: $0 [--save-baseline]" >&2
        exit 2
        ;;
esac

baseline=results/instructions/baseline.json
tolerance=${GUNGRAUN_TOLERANCE_PCT:-2}

scripts/install-gungraun-runner.sh

target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
# Every gungraun bench binary of weft-bench writes under here, one folder per binary.
summaries="$target_dir/gungraun/weft-bench"

# gungraun rewrites each benchmark's summary.json on every run; dropping the old ones first
# means a benchmark that no longer runs cannot pass on a stale file. The previous Callgrind
# outputs stay, so gungraun's own "old|new" columns still work.
if [[ -d "$summaries" ]]; then
    find "$summaries" -name summary.json -delete
fi

for bench in fast_paths select_dynamic; do
    cargo bench -p weft-bench --bench "$bench" -- --save-summary=json
done

meta_rustc=$(rustc -V)
meta_valgrind=$(valgrind --version)
meta_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
meta_cores=$(nproc)
meta_commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- primitives/src bench-harness/benches Cargo.lock || echo "-dirty")

python3 - "$mode" "$summaries" "$baseline" "$tolerance" \
    "$meta_rustc" "$meta_valgrind" "$meta_cpu" "$meta_cores" "$meta_commit" <<'PY'
import json
import os
import re
import sys

mode, root, baseline_path, tolerance = sys.argv[1:5]
rustc, valgrind, cpu, cores, commit = sys.argv[5:10]
tolerance = float(tolerance)

# bench id -> (group, function, id, instructions)
runs = {}
for dirpath, _, files in os.walk(root):
    if "summary.json" not in files:
        continue
    with open(os.path.join(dirpath, "summary.json")) as f:
        s = json.load(f)
    callgrind = [p for p in s["profiles"] if p["tool"] == "Callgrind"]
    if len(callgrind) != 1:
        sys.exit(f"error: {dirpath}: expected one Callgrind profile, found {len(callgrind)}")
    ir = callgrind[0]["data"]["total"]["metrics"]["Ir"]["values"]["new"]
    key = f'{s["group"]}/{s["function_name"]}/{s["id"]}'
    runs[key] = (s["group"], s["function_name"], s["id"], int(ir))
if not runs:
    sys.exit(f"error: no summary.json under {root}")
current = {k: v[3] for k, v in sorted(runs.items())}


def ops(bench_id):
    """Operations per benchmark: `x100` -> 100, `single` -> 1."""
    m = re.fullmatch(r"x(\d+)", bench_id)
    return int(m.group(1)) if m else 1


# Table: one row per (group, id); one column per implementation. Functions in a group are
# named `<operation>_<implementation>`, so the implementation is what follows the group's
# common prefix.
print()
print("Callgrind instructions per operation (lower is better)")
groups = {}
for group, function, bench_id, ir in runs.values():
    groups.setdefault(group, {}).setdefault(bench_id, {})[function] = ir
for group in sorted(groups):
    functions = sorted({f for ids in groups[group].values() for f in ids})
    prefix = os.path.commonprefix(functions)
    prefix = prefix[: prefix.rfind("_") + 1]
    impls = [f[len(prefix):] for f in functions]
    impls.sort(key=lambda i: (i != "weft", i))
    op = prefix.rstrip("_") or group
    header = [f"{group}: {op}", "ops"] + impls + ["weft / best peer"]
    rows = []
    for bench_id in sorted(groups[group], key=ops):
        n = ops(bench_id)
        by_impl = {f[len(prefix):]: ir / n for f, ir in groups[group][bench_id].items()}
        row = [bench_id, str(n)]
        row += [f"{by_impl[i]:.2f}" if i in by_impl else "-" for i in impls]
        peers = [v for i, v in by_impl.items() if i != "weft"]
        if "weft" in by_impl and peers:
            row.append(f"{by_impl['weft'] / min(peers):.2f}")
        else:
            row.append("-")
        rows.append(row)
    widths = [max(len(r[c]) for r in [header] + rows) for c in range(len(header))]
    print()
    for r in [header] + rows:
        print("  ".join(cell.rjust(w) if c else cell.ljust(w)
                        for c, (cell, w) in enumerate(zip(r, widths))))

meta = {
    "tool": "gungraun/Callgrind, metric Ir (instructions executed in the benchmark function)",
    "bench": "bench-harness/benches/fast_paths.rs, bench-harness/benches/select_dynamic.rs",
    "rustc": rustc,
    "valgrind": valgrind,
    "cpu": cpu,
    "cores": int(cores),
    "commit": commit,
}

if mode == "save":
    os.makedirs(os.path.dirname(baseline_path), exist_ok=True)
    with open(baseline_path, "w") as f:
        json.dump({"meta": meta, "instructions": current}, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"\nwrote {baseline_path} ({len(current)} benchmarks)")
    sys.exit(0)

if not os.path.exists(baseline_path):
    sys.exit(f"error: {baseline_path} missing; create it with ci/gungraun.sh --save-baseline")
with open(baseline_path) as f:
    base = json.load(f)
old = base["instructions"]
if base.get("meta", {}).get("rustc") != rustc:
    print(f"\nwarning: baseline was taken with {base.get('meta', {}).get('rustc')}, "
          f"this run uses {rustc}; counts may move for that reason alone")

print(f"\nAgainst {baseline_path} (fail above +{tolerance:g}%)")
failed = []
width = max(len(k) for k in set(current) | set(old))
for key in sorted(set(current) | set(old)):
    if key not in current:
        print(f"  {key:<{width}}  {old[key]:>8}  {'-':>8}  MISSING (no longer run)")
        failed.append(key)
        continue
    if key not in old:
        print(f"  {key:<{width}}  {'-':>8}  {current[key]:>8}  new (not in baseline)")
        continue
    pct = 100.0 * (current[key] - old[key]) / old[key]
    verdict = "ok"
    if pct > tolerance:
        verdict = "REGRESSED"
        failed.append(key)
    elif pct < -tolerance:
        verdict = "improved (refresh the baseline)"
    print(f"  {key:<{width}}  {old[key]:>8}  {current[key]:>8}  {pct:+7.2f}%  {verdict}")

if failed:
    print(f"\nFAIL: {len(failed)} benchmark(s) regressed or missing: {', '.join(failed)}")
    print("If the change is intended, run ci/gungraun.sh --save-baseline and commit the file.")
    sys.exit(1)
print(f"\nOK: {len(current)} benchmarks within +{tolerance:g}% of the baseline")
PY
