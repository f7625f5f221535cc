#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine to build and test Kezekshi Edge. Safe to run again:
# it installs only what is missing and says what it does at each step.
#
#   tools/setup.sh                      check dotnet, install missing apt packages, restore NuGet packages
#   KEZEKSHI_SKIP_APT=1 tools/setup.sh  the same without touching apt (no root needed)
set -euo pipefail

# Debian/Ubuntu packages the tests use (socat: pseudo-terminal pairs; sqlite3: inspecting test
# databases; openssl, mosquitto, libmosquitto1: the MQTT sync and its TLS test certificates; postgresql: the
# centre). Later tiers add here: ffmpeg.
APT_PACKAGES="socat sqlite3 ca-certificates openssl mosquitto mosquitto-clients libmosquitto1 postgresql"

# The web UI's browser tests (tests/Edge.Web.Tests) drive Debian's chromium headless through Playwright.
# Playwright's driver needs node, and the NuGet package Microsoft.Playwright ships it (.playwright/node/<platform>/node,
# copied into the test output by the package's build targets), so no node or npm install is needed for it.
# The tests never let Playwright download a browser: they launch /usr/bin/chromium by path.
APT_PACKAGES="${APT_PACKAGES} chromium"

# The SDK major version global.json asks for.
DOTNET_MAJOR=10

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step() { printf '==> %s\n' "$*"; }

# 1. The .NET SDK: it cannot be downloaded by this script.
step "Checking for the .NET SDK ${DOTNET_MAJOR} (dotnet on PATH)"
if ! command -v dotnet >/dev/null 2>&1 || ! dotnet --list-sdks 2>/dev/null | grep -q "^${DOTNET_MAJOR}\."; then
  if command -v dotnet >/dev/null 2>&1; then
    echo "    dotnet is on PATH ($(command -v dotnet)) but has no SDK ${DOTNET_MAJOR}.x; it has:" >&2
    dotnet --list-sdks 2>/dev/null | sed 's/^/      /' >&2 || true
  else
    echo "    dotnet is not on PATH." >&2
  fi
  cat >&2 <<MSG
    Install the .NET SDK ${DOTNET_MAJOR}, then run this script again. Either:
      - as a package, from Ubuntu's archive or backports, or Microsoft's feed on Debian
        (https://learn.microsoft.com/dotnet/core/install/linux says which for your release):
          sudo apt-get install -y dotnet-sdk-${DOTNET_MAJOR}.0
        or
      - per user, with Microsoft's install script:
          curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --channel ${DOTNET_MAJOR}.0
          export PATH="\$HOME/.dotnet:\$PATH" DOTNET_ROOT="\$HOME/.dotnet"
MSG
  exit 1
fi
echo "    found SDK $(dotnet --version) at $(command -v dotnet)"

# 2. System packages, only the missing ones.
installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

if [ "${KEZEKSHI_SKIP_APT:-0}" = "1" ]; then
  step "Skipping apt packages (KEZEKSHI_SKIP_APT=1); the tests expect: ${APT_PACKAGES}"
elif ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  step "Skipping apt packages: this is not a Debian/Ubuntu system; install by hand: ${APT_PACKAGES}"
else
  step "Checking apt packages: ${APT_PACKAGES}"
  missing=()
  for package in $APT_PACKAGES; do
    if installed "$package"; then
      echo "    ${package}: installed"
    else
      echo "    ${package}: missing"
      missing+=("$package")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
      sudo=()
    elif command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "    not root and sudo is not installed: install ${missing[*]} as root, or set KEZEKSHI_SKIP_APT=1" >&2
      exit 1
    fi
    step "Installing ${missing[*]} (apt-get update, then apt-get install)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "    nothing to install"
  fi
fi

# 3. NuGet packages for every project.
step "Restoring NuGet packages (dotnet restore Kezekshi.sln)"
restore_flags=()
# In CI, leave no build server behind holding the job's output open.
if [ "${CI:-}" = "true" ]; then restore_flags+=(--disable-build-servers); fi
dotnet restore Kezekshi.sln "${restore_flags[@]}" -v quiet
echo "    restored"

# 4. The browser for the web UI tests: Debian's chromium, checked (never downloaded by Playwright).
step "Checking the browser for the web UI tests (/usr/bin/chromium)"
if [ -x /usr/bin/chromium ]; then
  echo "    found $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
else
  echo "    /usr/bin/chromium is missing: the browser tests in tests/Edge.Web.Tests will fail. Install it with: sudo apt-get install chromium" >&2
fi
