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
printf '==> %s\n' "Starting the demo"
exec dotnet Edge.Agent/bin/Release/net10.0/kezekshi-edge.dll demo "$@"
