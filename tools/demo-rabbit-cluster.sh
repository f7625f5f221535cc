#!/usr/bin/env bash
# The edge syncing through a two-node RabbitMQ cluster (issue 4 §10; docs/scaling.md, "Shown: two-node RabbitMQ
# cluster"). Run as root on Linux:
#   tools/demo-rabbit-cluster.sh [--sales 3000] [--kill-after 1000] [--no-mirror] [--no-build]
# --no-mirror leaves out the mirroring policy of the MQTT session queues (to see what RabbitMQ 3.10 does without it);
# --no-build uses the Release builds already there.
# What it does, all under one temp dir that is removed at the end (also on Ctrl+C or failure):
#   1. installs Debian's rabbitmq-server (3.10.8, with the rabbitmq_mqtt plugin) with apt if it is missing;
#   2. makes two network namespaces kzrmq1 (10.213.77.1) and kzrmq2 (10.213.77.2) on a bridge, with the host side at
#      10.213.77.254, and runs one RabbitMQ node in each (long names rabbit@10.213.77.x, a shared Erlang cookie), then
#      joins node 2 to node 1: MQTT 3.1.1 over TLS on 8883, login by client certificate (CN = school ID), per-school
#      topic permissions (a school writes only its own up/…, reads only its own down/…), and a mirroring policy for
#      the MQTT session queues;
#   3. starts a throwaway PostgreSQL and the centre (Server.Sync) with both brokers, and the edge agent (`run`, no
#      devices) with both brokers; a till (`kezekshi-edge till-soak`) writes canteen sales into the edge's store
#      while it runs, so the outbox fills during the run;
#   4. kills node 1 (SIGKILL of its Erlang VM) after --kill-after sales, keeps selling, then waits until the edge's
#      outbox is empty and checks in PostgreSQL that the centre holds every event exactly once.
# Prints a table (events sent, stored, duplicates, failover seconds, PASS/FAIL). Figures are from whatever machine runs
# it; nothing is tuned for speed.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

sales=3000
kill_after=1000
mirror=1
build=1
# How long a client stays with a dead node before it moves to the next (back-off maximum + 3 s): 30/10 s by default.
backoff=5
while [ $# -gt 0 ]; do
  case "$1" in
    --no-mirror) mirror=0; shift ;;
    --no-build) build=0; shift ;;
    --sales) sales="$2"; shift 2 ;;
    --kill-after) kill_after="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (use --sales N, --kill-after N, --no-mirror, --no-build)" >&2; exit 2 ;;
  esac
done
say() { printf '==> %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  echo "This demo makes network namespaces and needs root (ip netns). Run it as root, e.g. sudo $0" >&2
  exit 2
fi
for tool in ip openssl dotnet sqlite3 curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing: run tools/setup.sh first (and apt-get install iproute2 sqlite3 curl if needed)." >&2; exit 2; }
done
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || { echo "PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin): run tools/setup.sh." >&2; exit 2; }

# --- 1. RabbitMQ from Debian -----------------------------------------------------------------------------------------
rmq_bin=/usr/lib/rabbitmq/bin
if [ ! -x "$rmq_bin/rabbitmq-server" ]; then
  say "rabbitmq-server is not installed: installing Debian's package with apt (Erlang comes with it; deliberately not part of tools/setup.sh)"
  # Debian starts a default rabbitmq node after installing; this demo runs its own nodes, so keep the service from starting.
  policy_made=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy_made=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server >/dev/null; } \
    || { [ "$policy_made" = 1 ] && rm -f /usr/sbin/policy-rc.d; fail "apt-get install rabbitmq-server failed (is the Debian package registry reachable?)"; }
  [ "$policy_made" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
[ -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins ] && ls /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins | grep -q '^rabbitmq_mqtt' \
  || fail "the rabbitmq_mqtt plugin is not in this rabbitmq-server package"
rmq_version="$(ls /usr/lib/rabbitmq/lib | sed -n 's/^rabbitmq_server-//p' | head -1)"
say "RabbitMQ $rmq_version from Debian"

# --- names, temp dir and the clean-up that always runs ---------------------------------------------------------------
net=10.213.77
nodes=(1 2)
bridge=kzrmq-br
tmp="$(mktemp -d /tmp/kz-rabbit.XXXXXX)"
# PostgreSQL runs as its own user, which cannot enter the private temp dir: its cluster gets a folder of its own.
pgdir="$(mktemp -d /tmp/kz-rabbit-pg.XXXXXX)"
pgport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
started_pids=()
as_postgres() { runuser -u postgres -- "$@"; }

stop_namespace() {
  local ns="$1"
  if ip netns list | grep -qw "$ns"; then
    # Only what runs inside this demo's own namespace: its RabbitMQ node and that node's epmd.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns delete "$ns" 2>/dev/null || true
  fi
}
cleanup() {
  local rc=$?
  set +e
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.5
  for pid in "${started_pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  [ -f "$pgdir/PG_VERSION" ] && as_postgres "$pgbin/pg_ctl" -D "$pgdir" -m immediate stop >/dev/null 2>&1
  rm -rf "$pgdir"
  for n in "${nodes[@]}"; do stop_namespace "kzrmq$n"; ip link delete "kzrmq$n-h" 2>/dev/null; done
  ip link delete "$bridge" 2>/dev/null
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "logs kept in $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A run that was killed with SIGKILL left its namespaces behind: remove them first (idempotent).
for n in "${nodes[@]}"; do stop_namespace "kzrmq$n"; ip link delete "kzrmq$n-h" 2>/dev/null || true; done
ip link delete "$bridge" 2>/dev/null || true

# --- 2. network namespaces -------------------------------------------------------------------------------------------
say "network namespaces kzrmq1 ($net.1) and kzrmq2 ($net.2) on bridge $bridge ($net.254)"
ip link add "$bridge" type bridge
ip addr add "$net.254/24" dev "$bridge"
ip link set "$bridge" up
for n in "${nodes[@]}"; do
  ip netns add "kzrmq$n"
  ip link add "kzrmq$n-h" type veth peer name "kzrmq$n-n"
  ip link set "kzrmq$n-n" netns "kzrmq$n"
  ip link set "kzrmq$n-h" master "$bridge" up
  ip netns exec "kzrmq$n" ip addr add "$net.$n/24" dev "kzrmq$n-n"
  ip netns exec "kzrmq$n" ip link set "kzrmq$n-n" up
  ip netns exec "kzrmq$n" ip link set lo up
done

# --- certificates ----------------------------------------------------------------------------------------------------
say "a throwaway CA, a server certificate for both nodes and client certificates (demo-school, centre-1) in $tmp/pki"
pki="$tmp/pki"
# shellcheck source=tools/demo-pki.sh
. "$repo/tools/demo-pki.sh"
make_demo_pki "$pki" "Kezekshi RabbitMQ demo CA" rabbit "IP:$net.1,IP:$net.2" 2

# --- RabbitMQ nodes --------------------------------------------------------------------------------------------------
cookie="$(openssl rand -hex 20)"
node_env() {
  local n="$1" dir="$tmp/rabbit$n"
  echo HOME="$dir/home" RABBITMQ_NODENAME="rabbit@$net.$n" RABBITMQ_USE_LONGNAME=true \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" RABBITMQ_PID_FILE="$dir/rabbit.pid"
}
ctl() { local n="$1"; shift; ip netns exec "kzrmq$n" env $(node_env "$n") "$rmq_bin/rabbitmqctl" -q -l -n "rabbit@$net.$n" "$@"; }
for n in "${nodes[@]}"; do
  dir="$tmp/rabbit$n"
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  printf '%s' "$cookie" > "$dir/home/.erlang.cookie"
  chmod 400 "$dir/home/.erlang.cookie"
  echo '[rabbitmq_mqtt].' > "$dir/enabled_plugins"
  echo '[].' > "$dir/advanced.config"
  : > "$dir/rabbitmq-env.conf"
  cat > "$dir/rabbitmq.conf" <<CONF
# AMQP is not needed: rabbitmqctl talks Erlang distribution, schools and centre talk MQTT over TLS.
listeners.tcp = none
mqtt.listeners.tcp = none
mqtt.listeners.ssl.default = $net.$n:8883
ssl_options.cacertfile = $pki/ca.crt
ssl_options.certfile = $pki/server.crt
ssl_options.keyfile = $pki/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
# The client certificate's CN is the MQTT user (as mosquitto's use_identity_as_username); no anonymous access.
mqtt.ssl_cert_login = true
ssl_cert_login_from = common_name
mqtt.allow_anonymous = false
mqtt.vhost = /
mqtt.exchange = amq.topic
# A session queue nobody has used for 7 days goes (MQTT 3.1.1 has no session expiry of its own).
mqtt.subscription_ttl = 604800000
loopback_users = none
log.file.level = info
log.console = false
CONF
  say "starting RabbitMQ node rabbit@$net.$n in namespace kzrmq$n"
  ip netns exec "kzrmq$n" env $(node_env "$n") "$rmq_bin/rabbitmq-server" > "$dir/server.out" 2>&1 &
  started_pids+=($!)
done
for n in "${nodes[@]}"; do
  # await_startup gives up at once while the node is not yet registered with its epmd: ask again until it answers.
  deadline=$(( $(date +%s) + 240 ))
  until ctl "$n" await_startup --timeout 60 >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -20 "$tmp/rabbit$n/server.out" >&2; fail "RabbitMQ node $n did not start within 240 s (log above)"; }
    sleep 2
  done
done
say "joining rabbit@$net.2 to rabbit@$net.1"
ctl 2 stop_app
ctl 2 join_cluster "rabbit@$net.1"
ctl 2 start_app
ctl 1 await_online_nodes 2 --timeout 60 >/dev/null 2>&1 || true
running="$(ctl 1 cluster_status --formatter json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["running_nodes"]))')"
[ "$running" = 2 ] || fail "the cluster has $running running node(s), expected 2"

say "users by certificate CN, per-school topic permissions, mirrored MQTT session queues"
for user in demo-school centre-1; do
  ctl 1 add_user "$user" "$(openssl rand -hex 16)" >/dev/null
  # Its own session queues only (mqtt-subscription-<client id>qos0/1): a certificate used with another school's client ID
  # cannot declare or read that school's queue.
  ctl 1 set_permissions -p / "$user" '^mqtt-subscription-'"$user"'qos[01]$' '^(amq\.topic|mqtt-subscription-'"$user"'qos[01])$' '^(amq\.topic|mqtt-subscription-'"$user"'qos[01])$' >/dev/null
done
# RabbitMQ maps MQTT topics to routing keys with '/' -> '.'. A school writes only its own uplink, reads only its own downlink.
ctl 1 set_topic_permissions -p / demo-school amq.topic '^kz\.v1\.[^.]+\.{username}\.up\.' '^kz\.v1\.[^.]+\.{username}\.down\.' >/dev/null
ctl 1 set_topic_permissions -p / centre-1 amq.topic '^kz\.v1\.[^.]+\.[^.]+\.down\.' '^kz\.v1\.[^.]+\.[^.]+\.up\.' >/dev/null
# The QoS 1 session queues are classic queues on the node the client first connected to; mirrored to the other node
# they survive that node's death (classic mirroring is what 3.10 offers for them; quorum queues are not used by MQTT there).
if [ "$mirror" = 1 ]; then
  ctl 1 set_policy -p / --apply-to queues mqtt-ha '^mqtt-subscription-' '{"ha-mode":"all","ha-sync-mode":"automatic"}' >/dev/null
else
  say "--no-mirror: the MQTT session queues stay on the node where each client first connected"
fi

if [ "${RABBIT_ONLY:-0}" = 1 ]; then
  say "RABBIT_ONLY=1: cluster up in $tmp; cleaning up in 600 s (or on Ctrl+C)"
  sleep 600 & started_pids+=($!); wait $! || true; exit 0
fi

# --- 3. PostgreSQL, the centre and the edge --------------------------------------------------------------------------
say "PostgreSQL for the centre on 127.0.0.1:$pgport (throwaway, in $pgdir)"
chown postgres: "$pgdir"
as_postgres "$pgbin/initdb" -D "$pgdir" -U kezekshi --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir" -l "$pgdir/server.log" -w -o "-c listen_addresses=127.0.0.1 -c port=$pgport -c unix_socket_directories=$pgdir" start >/dev/null
as_postgres "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U kezekshi kezekshi_sync
sql() { "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U kezekshi -d kezekshi_sync -tAqc "$1"; }

if [ "$build" = 1 ]; then
  say "building the centre and the agent (Release)"
  dotnet build Server.Sync/Server.Sync.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >/dev/null || fail "the centre does not build"
  dotnet build Edge.Agent/Edge.Agent.csproj -c Release --nologo -v quiet -clp:ErrorsOnly >/dev/null || fail "the agent does not build"
fi
[ -f Server.Sync/bin/Release/net10.0/kezekshi-centre-sync.dll ] && [ -f Edge.Agent/bin/Release/net10.0/kezekshi-edge.dll ] \
  || fail "the Release builds are missing: run without --no-build"
agent=(dotnet "$repo/Edge.Agent/bin/Release/net10.0/kezekshi-edge.dll")

edge="$tmp/edge"
mkdir -p "$edge"
db="$edge/edge.db"
pupils=50
chunk=100
say "the till sells the first $chunk canteen sales into the edge's store ($db)"
"${agent[@]}" till-soak --db "$db" --from 0 --count "$chunk" --pupils "$pupils" > "$edge/till-0.out" || fail "till-soak failed: $(tail -3 "$edge/till-0.out")"

webport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
say "the centre (Server.Sync) with brokers $net.1:8883 and $net.2:8883, MQTT 3.1.1, plain subscription kz/v1/+/+/up/#"
(
  export ConnectionStrings__Centre="Host=127.0.0.1;Port=$pgport;Username=kezekshi;Database=kezekshi_sync"
  export Centre__Mqtt__Brokers__0="$net.1:8883" Centre__Mqtt__Brokers__1="$net.2:8883"
  export Centre__Mqtt__ClientId=centre-1 Centre__Mqtt__ProtocolVersion=3.1.1 Centre__Mqtt__UplinkFilters__0='kz/v1/+/+/up/#'
  export Centre__Mqtt__ReconnectDelayMaxSeconds="$backoff"
  export Centre__Mqtt__CaFile="$pki/ca.crt" Centre__Mqtt__CertFile="$pki/centre-1.crt" Centre__Mqtt__KeyFile="$pki/centre-1.key"
  export Centre__Schools__0__Id=demo-school Centre__Schools__0__Region=almaty Centre__Schools__0__Name="Demo School No. 1"
  exec dotnet "$repo/Server.Sync/bin/Release/net10.0/kezekshi-centre-sync.dll" --urls "http://127.0.0.1:$webport"
) > "$tmp/centre.log" 2>&1 &
started_pids+=($!)
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$webport/health" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$webport/health" >/dev/null 2>&1 || { tail -20 "$tmp/centre.log" >&2; fail "the centre did not answer /health (log above)"; }

say "the edge agent (run, no devices) for demo-school with brokers $net.1:8883 and $net.2:8883, MQTT 3.1.1"
cat > "$edge/appsettings.json" <<JSON
{
  "Logging": { "LogLevel": { "Default": "Information", "Microsoft": "Warning" },
               "Console": { "FormatterName": "simple", "FormatterOptions": { "SingleLine": true, "TimestampFormat": "HH:mm:ss.fff " } } },
  "Edge": {
    "SchoolId": "demo-school",
    "DataDirectory": "$edge",
    "Devices": [],
    "Gates": [],
    "Sync": {
      "Region": "almaty",
      "Brokers": [ "$net.1:8883", "$net.2:8883" ],
      "ProtocolVersion": "3.1.1",
      "ReconnectDelayMaxSeconds": $backoff,
      "AllowedHosts": [ "$net.1", "$net.2" ],
      "CaFile": "$pki/ca.crt", "CertFile": "$pki/demo-school.crt", "KeyFile": "$pki/demo-school.key"
    }
  },
  "Web": { "Enabled": false }
}
JSON
"${agent[@]}" run --config "$edge/appsettings.json" > "$tmp/edge.log" 2>&1 &
started_pids+=($!)
edge_pid=$!

edge_seq() { sqlite3 -cmd '.timeout 5000' "$db" "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)"; }
edge_watermark() { sqlite3 -cmd '.timeout 5000' "$db" "SELECT watermark FROM sync_state"; }
centre_max() { sql "SELECT COALESCE(max(seq), 0) FROM events WHERE school = 'demo-school'"; }
for _ in $(seq 1 240); do
  [ "$(centre_max)" -gt 0 ] && break
  kill -0 "$edge_pid" 2>/dev/null || { tail -20 "$tmp/edge.log" >&2; fail "the edge agent stopped (log above)"; }
  sleep 0.5
done
[ "$(centre_max)" -gt 0 ] || { tail -20 "$tmp/edge.log" >&2; tail -20 "$tmp/centre.log" >&2; fail "nothing reached the centre through node 1 within 120 s (logs above)"; }
say "events flow: the centre holds up to seq $(centre_max) (edge at $(edge_seq))"

# --- 4. traffic, and node 1 killed during it -------------------------------------------------------------------------
kill_seq=""
kill_at=""
failover=""
sold=$chunk
node1_pid="$(cat "$tmp/rabbit1/rabbit.pid")"
say "selling $sales sales in rounds of $chunk; node 1 (Erlang VM PID $node1_pid) is killed after $kill_after"
while [ "$sold" -lt "$sales" ]; do
  n=$(( sales - sold < chunk ? sales - sold : chunk ))
  "${agent[@]}" till-soak --db "$db" --from "$sold" --count "$n" --pupils "$pupils" > "$edge/till-$sold.out" || fail "till-soak failed: $(tail -3 "$edge/till-$sold.out")"
  sold=$(( sold + n ))
  if [ -z "$kill_at" ] && [ "$sold" -ge "$kill_after" ]; then
    kill_seq="$(edge_seq)"
    kill -9 "$node1_pid"
    kill_at="$(date +%s.%N)"
    say "KILLED node 1 (rabbit@$net.1) after $sold sales; edge outbox at seq $kill_seq, centre at $(centre_max)"
  fi
  if [ -n "$kill_at" ] && [ -z "$failover" ] && [ "$(centre_max)" -gt "$kill_seq" ]; then
    failover="$(python3 -c "import time; print(f'{time.time() - $kill_at:.1f}')")"
    say "failover: an event made after the kill reached the centre through node 2, $failover s after the kill"
  fi
done
say "all $sold sales made; waiting for the centre to acknowledge the whole outbox"
total="$(edge_seq)"
for _ in $(seq 1 600); do
  if [ -n "$kill_at" ] && [ -z "$failover" ] && [ "$(centre_max)" -gt "$kill_seq" ]; then
    failover="$(python3 -c "import time; print(f'{time.time() - $kill_at:.1f}')")"
    say "failover: an event made after the kill reached the centre through node 2, $failover s after the kill"
  fi
  [ "$(edge_watermark)" -ge "$total" ] && break
  sleep 0.5
done

# --- 5. what the centre holds ----------------------------------------------------------------------------------------
stored="$(sql "SELECT count(*) FROM events WHERE school = 'demo-school'")"
distinct="$(sql "SELECT count(DISTINCT (epoch, seq)) FROM events WHERE school = 'demo-school'")"
charges="$(sql "SELECT count(*) FROM events WHERE school = 'demo-school' AND type = 'canteen.charge'")"
charge_uids="$(sql "SELECT count(DISTINCT payload->>'uid') FROM events WHERE school = 'demo-school' AND type = 'canteen.charge'")"
gaps="$(sql "SELECT $total - count(*) FROM events WHERE school = 'demo-school' AND seq BETWEEN 1 AND $total")"
dead="$(sql "SELECT count(*) FROM dead_letters")"
watermark="$(edge_watermark)"
acked="$(cat "$edge"/till-*.out | grep -c '^ACK')"
duplicates=$(( stored - distinct + charges - charge_uids ))
status=PASS
[ "$stored" = "$total" ] && [ "$distinct" = "$total" ] && [ "$gaps" = 0 ] && [ "$charges" = "$acked" ] && [ "$duplicates" = 0 ] \
  && [ "$dead" = 0 ] && [ "$watermark" = "$total" ] && [ -n "$failover" ] || status=FAIL
echo
echo "Two-node RabbitMQ $rmq_version cluster (rabbit@$net.1 in kzrmq1, rabbit@$net.2 in kzrmq2), MQTT 3.1.1 over TLS;"
echo "session queues mirrored: $([ "$mirror" = 1 ] && echo yes || echo no); reconnect back-off max ${backoff} s"
printf '  %-44s %s\n' \
  "canteen sales acknowledged by the till" "$acked" \
  "events sent (edge outbox seq 1..N)" "$total" \
  "events stored at the centre (PostgreSQL)" "$stored" \
  "distinct (epoch, seq) stored / missing seqs" "$distinct / $gaps" \
  "canteen.charge stored / distinct uid" "$charges / $charge_uids" \
  "duplicates" "$duplicates" \
  "dead letters" "$dead" \
  "edge watermark (centre's last ack)" "$watermark" \
  "node 1 killed at edge seq" "${kill_seq:-never}" \
  "failover seconds (kill -> next event stored)" "${failover:-none}" \
  "result" "$status"
if [ "$status" = FAIL ]; then
  echo "--- edge log (last 30 lines) ---"; tail -30 "$tmp/edge.log"
  echo "--- centre log (last 30 lines) ---"; tail -30 "$tmp/centre.log"
  exit 1
fi
