#!/usr/bin/env bash
# Builds Kezekshi Edge in Release and runs every test, then prints one line of counts.
#
#   tools/test.sh                            everything
#   tools/test.sh --filter "Category=Unit"   arguments are passed on to dotnet test
#
# The results (one .trx per test project) go to artifacts/test-results/. The last line printed is
# always "N passed, N failed" (", N skipped" is added when tests were skipped). The exit code is
# non-zero if the build failed, a test failed, the test run broke, or no test ran.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
results="$repo/artifacts/test-results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step() { printf '==> %s\n' "$*"; }

build_flags=()
# In CI, leave no MSBuild node or compiler server behind holding the job's output open.
if [ "${CI:-}" = "true" ]; then build_flags+=(--disable-build-servers); fi

# Sums the <Counters .../> of every .trx in $results and prints the count line.
# Prints "passed failed skipped" to stdout; awk only, so python is not needed.
count() {
  local files=("$results"/*.trx)
  [ -e "${files[0]}" ] || { echo "0 0 0"; return; }
  cat "${files[@]}" | awk '
    function attr(line, name) {
      if (match(line, " " name "=\"[0-9]+\"")) return substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 4) + 0
      return 0
    }
    # Skipped (NUnit Ignore, Inconclusive) tests are in total but in none of the other counters
    # (notExecuted stays 0), so skipped = total - passed - failed.
    /<Counters / {
      p = attr($0, "passed")
      f = attr($0, "failed") + attr($0, "error") + attr($0, "timeout") + attr($0, "aborted")
      s = attr($0, "total") - p - f
      passed += p; failed += f; if (s > 0) skipped += s
    }
    END { printf "%d %d %d\n", passed, failed, skipped }'
}

finish() { # finish <exit code> [reason]
  local passed failed skipped code="$1"
  read -r passed failed skipped < <(count)
  if [ "$failed" -gt 0 ]; then code=1; fi
  if [ $((passed + failed)) -eq 0 ] && [ "$code" -eq 0 ]; then code=1; set -- "$code" "no tests ran"; fi
  if [ -n "${2:-}" ]; then echo "FAILED: $2"; fi
  local line="${passed} passed, ${failed} failed"
  if [ "$skipped" -gt 0 ]; then line+=", ${skipped} skipped"; fi
  echo "$line"
  exit "$code"
}

rm -rf "$results"
mkdir -p "$results"

step "Setting up (tools/setup.sh)"
bash "$repo/tools/setup.sh" || finish 1 "tools/setup.sh failed (see above)"

step "Building (dotnet build Kezekshi.sln -c Release)"
dotnet build Kezekshi.sln -c Release --no-restore "${build_flags[@]}" || finish 1 "the build failed (see the errors above)"

step "Testing (dotnet test Kezekshi.sln -c Release${*:+ $*})"
# A hung test is killed after 10 minutes and reported as aborted, well inside CI's time limit.
dotnet test Kezekshi.sln -c Release --no-build \
  --logger "trx;LogFilePrefix=results" --results-directory "$results" \
  --blame-hang-timeout 10m --blame-hang-dump-type none \
  "$@"
status=$?

if [ "$status" -ne 0 ]; then
  read -r _ failed _ < <(count)
  if [ "$failed" -eq 0 ]; then finish "$status" "dotnet test exited with $status but no test failed: the run broke (see above)"; fi
fi
finish "$status"
