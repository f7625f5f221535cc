#!/usr/bin/env bash
# Starts the centre for the demo: a PostgreSQL cluster of its own in .data/centre-pg (port 55432, loopback only), the
# demo broker (tools/demo-broker.sh), and the centre sync service (HTTP on 127.0.0.1:5080) registered for the demo
# school. Run it in a second terminal, then run tools/demo.sh: the demo school's outbox arrives at the centre.
#   tools/centre.sh            Ctrl+C stops the centre; PostgreSQL and the broker keep running (stop: tools/centre.sh stop)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
pgdata="$repo/.data/centre-pg"
pgport="${KEZEKSHI_CENTRE_PG_PORT:-55432}"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = "stop" ]; then
  [ -d "$pgdata" ] && as_postgres "$pgbin/pg_ctl" -D "$pgdata" -m fast stop || true
  [ -f .data/demo-broker/mosquitto.pid ] && kill "$(cat .data/demo-broker/mosquitto.pid)" 2>/dev/null || true
  exit 0
fi

bash tools/setup.sh
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin): install postgresql (tools/setup.sh does)." >&2
  exit 1
fi
printf '==> %s\n' "PostgreSQL for the centre in $pgdata on 127.0.0.1:$pgport"
if [ ! -f "$pgdata/PG_VERSION" ]; then
  mkdir -p "$pgdata"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pgdata"
  as_postgres "$pgbin/initdb" -D "$pgdata" -U kezekshi --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_postgres "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  as_postgres "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$pgport -c unix_socket_directories=$pgdata" start >/dev/null
fi
as_postgres "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U kezekshi -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kezekshi_sync'" | grep -q 1 \
  || as_postgres "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U kezekshi kezekshi_sync

printf '==> %s\n' "The demo broker"
bash tools/demo-broker.sh

printf '==> %s\n' "Building and starting the centre (http://127.0.0.1:5080/health)"
dotnet build Server.Sync/Server.Sync.csproj -c Release --nologo -v quiet -clp:ErrorsOnly
export ConnectionStrings__Centre="Host=127.0.0.1;Port=$pgport;Username=kezekshi;Database=kezekshi_sync"
export Centre__Mqtt__Brokers__0="127.0.0.1:${KEZEKSHI_DEMO_BROKER_PORT:-18883}"
export Centre__Mqtt__ClientId=centre-1
export Centre__Mqtt__CaFile="$repo/.data/demo-pki/ca.crt"
export Centre__Mqtt__CertFile="$repo/.data/demo-pki/centre-1.crt"
export Centre__Mqtt__KeyFile="$repo/.data/demo-pki/centre-1.key"
export Centre__Schools__0__Id=demo-school Centre__Schools__0__Region=almaty Centre__Schools__0__Name="Demo School No. 1"
exec dotnet Server.Sync/bin/Release/net10.0/kezekshi-centre-sync.dll "$@"
