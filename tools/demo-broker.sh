#!/usr/bin/env bash
# Starts a local mosquitto for the demo: TLS on 127.0.0.1:${KEZEKSHI_DEMO_BROKER_PORT:-18883}, per-school client
# certificates (require_certificate, use_identity_as_username, no anonymous access) and the per-school ACL of
# docs/sync-protocol.md §2. Makes a throwaway CA and certificates for demo-school and centre-1 in .data/demo-pki the
# first time. Prints the broker's PID; stop it with: kill "$(cat .data/demo-broker/mosquitto.pid)".
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
port="${KEZEKSHI_DEMO_BROKER_PORT:-18883}"
pki="$repo/.data/demo-pki"
run="$repo/.data/demo-broker"
mkdir -p "$pki" "$run"

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "    mosquitto is not installed (tools/setup.sh installs it): the demo runs without sync" >&2
  exit 1
fi
mosquitto_bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"

if [ ! -f "$pki/ca.crt" ]; then
  echo "    making a demo CA and certificates in $pki (openssl)"
  # shellcheck source=tools/demo-pki.sh
  . "$repo/tools/demo-pki.sh"
  make_demo_pki "$pki" "Kezekshi Demo CA" localhost "DNS:localhost,IP:127.0.0.1" 365
fi

if [ -f "$run/mosquitto.pid" ] && kill -0 "$(cat "$run/mosquitto.pid")" 2>/dev/null; then
  echo "    the demo broker is already running (PID $(cat "$run/mosquitto.pid")) on 127.0.0.1:$port"
  exit 0
fi

cp "$pki/ca.crt" "$pki/server.crt" "$pki/server.key" "$run/"
cat > "$run/acl" <<ACL
pattern write kz/v1/+/%u/up/#
pattern read kz/v1/+/%u/down/#
user centre-1
topic read kz/v1/+/+/up/#
topic write kz/v1/+/+/down/#
ACL
cat > "$run/mosquitto.conf" <<CONF
per_listener_settings false
allow_anonymous false
acl_file $run/acl
persistence true
persistence_location $run/
log_dest file $run/mosquitto.log
max_packet_size 1048576
set_tcp_nodelay true
listener $port 127.0.0.1
cafile $run/ca.crt
certfile $run/server.crt
keyfile $run/server.key
require_certificate true
use_identity_as_username true
use_username_as_clientid true
CONF
# mosquitto drops root privileges to its own user: that user must read the files and write the run folder.
if [ "$(id -u)" -eq 0 ] && id mosquitto >/dev/null 2>&1; then
  chown -R mosquitto "$run"
  runuser -u mosquitto -- "$mosquitto_bin" -c "$run/mosquitto.conf" -d
else
  "$mosquitto_bin" -c "$run/mosquitto.conf" -d
fi
for _ in $(seq 1 50); do
  pid="$(pgrep -f -n "mosquitto -c $run/mosquitto.conf" || true)"
  if [ -n "$pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$pid" > "$run/mosquitto.pid"
    echo "    demo broker running (PID $pid) on 127.0.0.1:$port with TLS and per-school certificates; log: $run/mosquitto.log"
    exit 0
  fi
  sleep 0.1
done
echo "    the demo broker did not start; see $run/mosquitto.log" >&2
exit 1
