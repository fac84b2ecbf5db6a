#!/usr/bin/env bash
# Runs the peer bench once and regenerates BENCHMARKS.md at the repository root.
#
#   benches/peers/run.sh                     all three databases
#   benches/peers/run.sh sqlite              only those named
#   PEERS_ROUNDS=201 benches/peers/run.sh    more rounds (default 101), PEERS_SAMPLE_MS per sample (3)
#   PEERS_WORKLOADS=one_user_by_pk PEERS_LIBRARIES=sqlx,nextorm ...   only those (names as printed)
#   PEERS_NOTE='...' benches/peers/run.sh    a sentence on the run, printed under the title
#
# PostgreSQL and MariaDB are reached at NEXTORM_BENCH_PG_URL and NEXTORM_BENCH_MARIADB_URL
# (defaults postgres://postgres@127.0.0.1:5432/test and mysql://root@127.0.0.1:3306/test), in a
# scratch schema or database dropped at the end. Diesel's PostgreSQL backend needs libpq
# (Debian: libpq-dev).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
cargo build --release
results=$(mktemp)
trap 'rm -f "$results"' EXIT
./target/release/nextorm-peers "$@" | tee "$results"
python3 "$here/report.py" "$results" "$here/Cargo.lock" >"$root/BENCHMARKS.md"
echo "wrote $root/BENCHMARKS.md" >&2
