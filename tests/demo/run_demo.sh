#!/bin/bash
# rigwatch demo on loopback: a simulated fleet of 20 miners (one overheating,
# one dead), the agent with the shipped rules, an SMTP sink that prints every
# mail, a real Alertmanager and a real Prometheus, all on free ports.
#
#   tests/demo/run_demo.sh BUILD_DIR            run until Ctrl-C
#   tests/demo/run_demo.sh BUILD_DIR --check    run up to 60 s; exit 0 once
#                                               Prometheus has miner_up for
#                                               the fleet, 1 otherwise
#
# Needs BUILD_DIR/rigwatch and BUILD_DIR/fleet_sim, /usr/bin/prometheus,
# /usr/bin/prometheus-alertmanager, /usr/bin/python3 with aiosmtpd, curl.
# RIGWATCH_DEMO_KEEP=1 keeps the temp directory (logs, data) afterwards.
#
# Mail takes ONE path, so one event is one mail:
#   RIGWATCH_DEMO_MAIL=rigwatch      (default) the agent mails the sink itself;
#                                    Alertmanager gets every alert but its
#                                    receiver sends nothing.
#   RIGWATCH_DEMO_MAIL=alertmanager  the agent pushes to Alertmanager only,
#                                    and Alertmanager mails the sink.
set -euo pipefail

usage() {
  echo "usage: $0 BUILD_DIR [--check]" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
BUILD=$(cd "$1" && pwd) || usage
CHECK=0
if [[ $# -ge 2 ]]; then
  [[ $2 == --check ]] || usage
  CHECK=1
fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAIL_PATH=${RIGWATCH_DEMO_MAIL:-rigwatch}
case $MAIL_PATH in
  rigwatch | alertmanager) ;;
  *) echo "demo: RIGWATCH_DEMO_MAIL must be rigwatch or alertmanager, got \"$MAIL_PATH\"" >&2
     exit 2 ;;
esac
PY=/usr/bin/python3
MINERS=20
HOT=sim-axeos-0001   # scripted to overheat
DEAD=sim-cgminer-0002  # scripted to refuse connections

for f in "$BUILD/rigwatch" "$BUILD/fleet_sim" /usr/bin/prometheus \
         /usr/bin/prometheus-alertmanager "$PY"; do
  [[ -x $f ]] || { echo "demo: missing $f" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "demo: curl is missing" >&2; exit 1; }

TMP=$(mktemp -d /tmp/rigwatch-demo.XXXXXX)
PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local i pid
  # Stop in reverse start order: scrapers before the scraped.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do  # at most 10 s per process
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: process $pid did not stop; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${RIGWATCH_DEMO_KEEP:-} == 1 ]]; then
    echo "demo: kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "demo: timed out after ${secs}s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

alive() { kill -0 "$1" 2>/dev/null; }

show_log_and_fail() {
  echo "demo: $1; last lines of $2:" >&2
  tail -n 30 "$2" >&2 || true
  exit 1
}

SMTP_PORT=$(free_port)
AM_PORT=$(free_port)
AGENT_PORT=$(free_port)
PROM_PORT=$(free_port)
# A random /16 of 127/8 for the miners, so two demos never collide.
BASE="127.$((RANDOM % 180 + 20)).0.0"

# --- fleet simulator --------------------------------------------------------
"$BUILD/fleet_sim" --miners "$MINERS" --mix axeos=0.5,cgminer=0.5 \
  --base-address "$BASE" --http-port 0 --cgminer-port 0 \
  --control 127.0.0.1:0 --targets-out "$TMP/targets.yaml" \
  >"$TMP/fleet_sim.out" 2>"$TMP/fleet_sim.log" &
SIM_PID=$!
PIDS+=("$SIM_PID")
wait_for 30 "fleet_sim" grep -q '^fleet_sim ready ' "$TMP/fleet_sim.out" ||
  show_log_and_fail "fleet_sim did not start" "$TMP/fleet_sim.log"
CONTROL=$(sed -n 's/^fleet_sim ready .*control=\([0-9.:]*\).*/\1/p' "$TMP/fleet_sim.out")
curl -sf -X POST -d '{"temp_c": 95}' "http://$CONTROL/miners/$HOT/params" >/dev/null
curl -sf -X POST -d '{"fault": "refuse"}' "http://$CONTROL/miners/$DEAD/faults" >/dev/null

# --- SMTP sink ----------------------------------------------------------------
if ((CHECK)); then
  "$PY" "$SRC/tests/integration/lib/smtp_sink.py" --port "$SMTP_PORT" --dir "$TMP/mail" --print \
    >"$TMP/smtp.log" 2>&1 &
else
  # Mail is printed on this terminal as it arrives (and kept in $TMP/mail).
  "$PY" "$SRC/tests/integration/lib/smtp_sink.py" --port "$SMTP_PORT" --dir "$TMP/mail" --print \
    2>"$TMP/smtp.log" &
fi
PIDS+=("$!")
wait_for 20 "SMTP sink" "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $SMTP_PORT), 1).close()" ||
  show_log_and_fail "the SMTP sink did not start" "$TMP/smtp.log"

# --- Alertmanager (shipped config, mail to the sink or to nobody) ----------
AM_QUIET=()
if [[ $MAIL_PATH == rigwatch ]]; then
  # The agent mails: Alertmanager's route goes to a receiver without mail.
  AM_QUIET=(-e "s#^  receiver: email#  receiver: quiet#"
            -e "s#^receivers:#receivers:\n  - name: quiet#")
fi
sed -e "s#smtp_smarthost: \"localhost:25\"#smtp_smarthost: \"127.0.0.1:$SMTP_PORT\"#" \
    -e "s#- \"templates/\*.tmpl\"#- \"$SRC/alertmanager/templates/*.tmpl\"#" \
    -e "s#group_wait: 30s#group_wait: 5s#" "${AM_QUIET[@]}" \
    "$SRC/alertmanager/alertmanager.yml" >"$TMP/alertmanager.yml"
grep -q "127.0.0.1:$SMTP_PORT" "$TMP/alertmanager.yml" ||
  { echo "demo: alertmanager.yml has no smtp_smarthost line to rewrite" >&2; exit 1; }
if [[ $MAIL_PATH == rigwatch ]]; then
  grep -q "^  receiver: quiet" "$TMP/alertmanager.yml" && grep -q "^  - name: quiet" "$TMP/alertmanager.yml" ||
    { echo "demo: could not route alertmanager.yml to a quiet receiver" >&2; exit 1; }
fi
/usr/bin/prometheus-alertmanager --config.file="$TMP/alertmanager.yml" \
  --storage.path="$TMP/alertmanager" --web.listen-address="127.0.0.1:$AM_PORT" \
  --cluster.listen-address= --log.level=warn >"$TMP/alertmanager.log" 2>&1 &
PIDS+=("$!")
wait_for 30 "Alertmanager" curl -sf "http://127.0.0.1:$AM_PORT/-/ready" ||
  show_log_and_fail "Alertmanager did not become ready" "$TMP/alertmanager.log"

# --- the agent ------------------------------------------------------------
cat >"$TMP/rigwatch.yaml" <<EOF
http: { listen: "127.0.0.1:$AGENT_PORT", read_timeout: 2s, threads: 4 }
storage: { path: "$TMP/data" }
scrape: { interval: 2s, timeout: 1500ms }
host: { enabled: true, root: /, filesystems: [/] }
miner_files: [ "$TMP/targets.yaml" ]
rule_files: [ "$SRC/rules/default.yaml" ]
notify:
$(if [[ $MAIL_PATH == rigwatch ]]; then
  echo '  smtp: { url: "smtp://127.0.0.1:'"$SMTP_PORT"'", from: "rigwatch@localhost",'
  echo '          to: ["ops@localhost"], starttls: "off", timeout: 5s }'
fi)
  alertmanager: { url: "http://127.0.0.1:$AM_PORT" }
  external_url: "http://127.0.0.1:$AGENT_PORT"
  group_wait: 5s
backup: { dir: "$TMP/backups", every: 1m, keep: 2 }
log: { level: info }
EOF
(cd "$TMP" && exec "$BUILD/rigwatch" run --config "$TMP/rigwatch.yaml") \
  >"$TMP/rigwatch.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_for 30 "rigwatch /readyz" curl -sf "http://127.0.0.1:$AGENT_PORT/readyz" ||
  show_log_and_fail "rigwatch did not become ready" "$TMP/rigwatch.log"

# --- Prometheus (shipped config, test addresses) ---------------------------
sed -e "s#targets: \[\"127.0.0.1:9842\"\]#targets: [\"127.0.0.1:$AGENT_PORT\"]#" \
    -e "s#targets: \[\"127.0.0.1:9093\"\]#targets: [\"127.0.0.1:$AM_PORT\"]#" \
    -e "s#- \.\./rules/prometheus/\*\.yml#- $SRC/rules/prometheus/*.yml#" \
    -e "s#- rigwatch-agent\.rules\.yml#- $SRC/alertmanager/rigwatch-agent.rules.yml#" \
    -e "s#scrape_interval: 15s#scrape_interval: 2s#" \
    -e "s#evaluation_interval: 15s#evaluation_interval: 2s#" \
    -e "s#scrape_timeout: 10s#scrape_timeout: 1500ms#" \
    "$SRC/alertmanager/prometheus.yml" >"$TMP/prometheus.yml"
for want in "127.0.0.1:$AGENT_PORT" "127.0.0.1:$AM_PORT" "$SRC/rules/prometheus" \
            "$SRC/alertmanager/rigwatch-agent.rules.yml"; do
  grep -q "$want" "$TMP/prometheus.yml" ||
    { echo "demo: could not derive prometheus.yml ($want)" >&2; exit 1; }
done
/usr/bin/prometheus --config.file="$TMP/prometheus.yml" \
  --storage.tsdb.path="$TMP/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT" \
  --log.level=warn >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
wait_for 60 "Prometheus" curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" ||
  show_log_and_fail "Prometheus did not become ready" "$TMP/prometheus.log"

# prom_value EXPR: the first sample's value of an instant query, or nothing.
prom_value() {
  curl -sf --max-time 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
    --data-urlencode "query=$1" |
    "$PY" -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}

cat <<EOF

rigwatch demo is running ($MINERS simulated miners; $HOT overheats, $DEAD is dead)
  rigwatch metrics   http://127.0.0.1:$AGENT_PORT/metrics
  rigwatch health    http://127.0.0.1:$AGENT_PORT/healthz
  Prometheus         http://127.0.0.1:$PROM_PORT/graph?g0.expr=miner_up
  Alertmanager       http://127.0.0.1:$AM_PORT/
  simulator control  http://$CONTROL/miners
  SMTP sink          127.0.0.1:$SMTP_PORT (mail is printed below)
  mail path          $MAIL_PATH (RIGWATCH_DEMO_MAIL=rigwatch|alertmanager)
  logs and data      $TMP
EOF

if ((CHECK)); then
  deadline=$((SECONDS + 60))
  up="" series=""
  while ((SECONDS < deadline)); do
    for pid in "$SIM_PID" "$AGENT_PID" "$PROM_PID"; do
      alive "$pid" || { echo "demo --check: process $pid died" >&2; exit 1; }
    done
    up=$(prom_value 'up{job="rigwatch"}' || true)
    series=$(prom_value 'count(miner_up)' || true)
    if [[ $up == 1 && $series == "$MINERS" ]]; then
      echo "demo --check: ok: Prometheus scrapes rigwatch and has miner_up for $series miners"
      exit 0
    fi
    sleep 1
  done
  echo "demo --check: FAILED: up{job=\"rigwatch\"}=${up:-none}, count(miner_up)=${series:-none} (want 1 and $MINERS)" >&2
  tail -n 20 "$TMP/rigwatch.log" >&2 || true
  exit 1
fi

echo
echo "Press Ctrl-C to stop."
while true; do
  for pid in "$SIM_PID" "$AGENT_PID" "$PROM_PID"; do
    alive "$pid" || show_log_and_fail "process $pid exited" "$TMP/rigwatch.log"
  done
  sleep 1
done
