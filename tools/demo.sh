#!/usr/bin/env bash
# Runs the Kezekshi Edge demo: a simulated school morning on pseudo-terminals (see README).
#
#   tools/demo.sh                 set up what is missing, build, and run the demo
#   tools/demo.sh --taps 600      arguments go to `kezekshi-edge demo` (--help lists them)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash tools/setup.sh
printf '==> %s\n' "Building the agent (Release)"
dotnet build Edge.Agent/Edge.Agent.csproj -c Release --nologo -v quiet -clp:ErrorsOnly
sync_args=()
printf '==> %s\n' "Starting a local MQTT broker for the demo school's sync (tools/demo-broker.sh)"
if bash tools/demo-broker.sh; then
  sync_args=(--sync-broker "127.0.0.1:${KEZEKSHI_DEMO_BROKER_PORT:-18883}" --sync-pki .data/demo-pki)
  stop_broker() { kill "$(cat .data/demo-broker/mosquitto.pid)" 2>/dev/null || true; }
  [ "${KEZEKSHI_DEMO_KEEP_BROKER:-0}" = "1" ] || trap stop_broker EXIT
else
  echo "    continuing without sync"
fi
printf '==> %s\n' "Starting the demo"
dotnet Edge.Agent/bin/Release/net10.0/kezekshi-edge.dll demo "${sync_args[@]}" "$@"
