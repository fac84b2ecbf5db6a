#!/usr/bin/env bash
# The regression guard: instruction counts of nextorm's hot paths (benches/guard.rs) under
# callgrind, compared with the baseline in benches/guard-baseline.json.
#
#   benches/guard.sh              count, compare, exit 1 when a case costs more than the tolerance
#   benches/guard.sh --update     count and write the counts as the new baseline
#   GUARD_TOLERANCE=5 benches/guard.sh      the tolerance in percent (default 3)
#   benches/guard.sh lazy_walk    only the cases named
#
# Each case runs twice, with NEXTORM_BENCH_REPEAT=0 and =10; one operation is the difference
# over 10 (set-up and process start cancel out). Instruction counts do not move with the
# machine's load, so the guard can run on a busy machine; they move with the compiler and the
# dependencies' versions, so update the baseline (and say so) when those change.
set -euo pipefail

cd "$(dirname "$0")/.."
baseline=benches/guard-baseline.json
tolerance=${GUARD_TOLERANCE:-3}
update=0
cases=()
for arg in "$@"; do
    case "$arg" in
        --update) update=1 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) cases+=("$arg") ;;
    esac
done
if [ ${#cases[@]} -eq 0 ]; then
    cases=(select_render_bind decode_1000_rows session_load_1000_rows flush_100_changes lazy_walk prefetch_tree)
fi
command -v valgrind >/dev/null || { echo "guard: valgrind is not installed" >&2; exit 2; }

binary=$(cargo bench --bench guard --features sqlite,sync --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "guard" and m.get("executable"):
        print(m["executable"])
')
[ -x "$binary" ] || { echo "guard: could not build benches/guard.rs (run: cargo bench --bench guard --features sqlite,sync --no-run)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The instructions one run of `$1` with `$2` repeats executes.
count() {
    local out="$work/$1.$2.out"
    NEXTORM_BENCH_GUARD=$1 NEXTORM_BENCH_REPEAT=$2 \
        valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" >/dev/null 2>"$work/$1.$2.log" ||
        { cat "$work/$1.$2.log" >&2; echo "guard: $1 failed" >&2; exit 2; }
    sed -n 's/^summary: \([0-9]*\).*/\1/p' "$out"
}

: >"$work/counts"
for c in "${cases[@]}"; do
    zero=$(count "$c" 0)
    ten=$(count "$c" 10)
    echo "$c $(((ten - zero) / 10))" >>"$work/counts"
    echo "guard: $c: $(((ten - zero) / 10)) instructions per operation" >&2
done

python3 - "$baseline" "$work/counts" "$update" "$tolerance" <<'EOF'
import json, os, sys

path, counts_file, update, tolerance = sys.argv[1], sys.argv[2], sys.argv[3] == "1", float(sys.argv[4])
counts = dict((name, int(n)) for name, n in (line.split() for line in open(counts_file)))
old = json.load(open(path)) if os.path.exists(path) else {}
if update:
    merged = {**old, **counts}
    with open(path, "w") as f:
        json.dump(dict(sorted(merged.items())), f, indent=2)
        f.write("\n")
    print(f"guard: wrote {path}")
    sys.exit(0)
failed = False
for name, now in counts.items():
    before = old.get(name)
    if before is None:
        print(f"{name:20} {now:>14,}  (no baseline: run with --update)")
        failed = True
        continue
    change = (now - before) / before * 100
    verdict = "ok" if change <= tolerance else f"REGRESSION (over {tolerance}%)"
    failed |= change > tolerance
    print(f"{name:20} {now:>14,}  baseline {before:>14,}  {change:+6.2f}%  {verdict}")
sys.exit(1 if failed else 0)
EOF
