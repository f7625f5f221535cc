#!/usr/bin/env bash
# Sync catch-up benchmark (issue 4 §9): starts the demo broker (TLS, per-school certificates) and a throwaway
# PostgreSQL cluster with default durability (fsync on) on a free port, then runs
#   dotnet run -c Release --project benchmarks/Edge.Benchmarks -- sync --events N
# which prints the raw mosquitto_pub -> mosquitto_sub rate and ours side by side, and single-passage latency.
#   tools/bench-sync.sh [--events 72000] [--singles 200]
# The morning peak (many schools, one passage per message; centre ingest with one transaction per message vs
# multi-school groups, side by side):
#   tools/bench-sync.sh --schools 200 --events-per-school 50
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
pgdir="$(mktemp -d /tmp/kz-bench-pg.XXXXXX)"
pgport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_postgres "$pgbin/pg_ctl" -D "$pgdir" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
  if [ "${KEZEKSHI_DEMO_KEEP_BROKER:-0}" != "1" ]; then
    # Stop the broker and wait for it to be gone, so a run started right after starts its own.
    broker_pid="$(cat .data/demo-broker/mosquitto.pid 2>/dev/null || true)"
    if [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] && chown postgres: "$pgdir"
as_postgres "$pgbin/initdb" -D "$pgdir" -U kezekshi --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir" -l "$pgdir/server.log" -w -o "-c listen_addresses=127.0.0.1 -c port=$pgport -c unix_socket_directories=$pgdir" start >/dev/null
as_postgres "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U kezekshi kezekshi_bench
bash tools/demo-broker.sh
dotnet run -c Release --project benchmarks/Edge.Benchmarks -- sync --broker "127.0.0.1:${KEZEKSHI_DEMO_BROKER_PORT:-18883}" --pki .data/demo-pki \
  --pg "Host=127.0.0.1;Port=$pgport;Username=kezekshi;Database=kezekshi_bench" "$@"
