#!/usr/bin/env bash
# test_api_alerts.sh - alerts from a real collector to real webhooks on
# 127.0.0.1: one over HTTP, one over HTTPS with a CA made here (the
# collector verifies it through the webhook's "ca").  Both receivers answer
# 500 while $work/hook.fail exists.
#
#  1. The receivers fail; an agent on deviant-accounts reports: the
#     collector logs every alert once as one JSON line and keeps retrying.
#  2. The collector stops while they fail, the receivers recover, the
#     collector starts again: every alert arrives, once at each receiver,
#     with its id: a violation_opened per failing check of the agent's own
#     scan, a critical_failure per critical one.
#  3. The root is made compliant and rescanned: a violation_resolved per
#     violation arrives.
# The webhook URLs carry a path and a query that must never reach the log.
set -euo pipefail
. "$(dirname "$0")/lib/rootns.sh"
need_uid0 test_api_alerts "$0" "$@"
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-alerts.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
receiver="$(dirname "$0")/lib/webhook_receiver.py"
trap fleet_cleanup EXIT

# wait_lines FILE N: until FILE has at least N lines (at most 60 s).
wait_lines() {
	local i
	for i in $(seq 1 600); do
		[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_receiver NAME [--cert PEM --key PEM]: a receiver writing $work/NAME.jsonl; sets port_NAME.
start_receiver() {
	local name=$1 i
	shift
	python3 "$receiver" --out "$work/$name.jsonl" --port-file "$work/$name.port" \
		--fail-while "$work/hook.fail" --requests "$work/$name.requests" "$@" \
		2>"$work/$name.err" &
	for i in $(seq 1 100); do
		[ -s "$work/$name.port" ] && break
		sleep 0.1
	done
	[ -s "$work/$name.port" ] || { cat "$work/$name.err" >&2; return 1; }
	printf -v "port_$name" '%s' "$(cat "$work/$name.port")"
	touch "$work/$name.jsonl"
}

# The alert lines of the collector's log, the JSON part only.
log_alerts() {
	sed -n 's/^[^ ]* posture-collector\[info\]: \({"alert":.*\)$/\1/p' "$work/collector.log"
}

# --- a CA and a certificate for 127.0.0.1, for the HTTPS receiver -------------
mkdir -p "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=webhook-test-ca -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign \
	-keyout "$work/tls/ca.key" -out "$work/tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$work/tls/hook.key" -out "$work/tls/hook.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	>"$work/tls/ext"
openssl x509 -req -in "$work/tls/hook.csr" -CA "$work/tls/ca.pem" -CAkey "$work/tls/ca.key" \
	-CAcreateserial -days 1 -extfile "$work/tls/ext" -out "$work/tls/hook.pem" 2>/dev/null

touch "$work/hook.fail"
start_receiver plain
start_receiver tls --cert "$work/tls/hook.pem" --key "$work/tls/hook.key"

fleet_init
jq --arg u1 "http://127.0.0.1:$port_plain/hook/e2e-secret-path?token=e2e-secret-query" \
	--arg u2 "https://127.0.0.1:$port_tls/hook?token=e2e-secret-query" --arg ca "$work/tls/ca.pem" \
	'.alerts = {"webhooks": [{"url": $u1}, {"url": $u2, "ca": $ca, "timeout_ms": 5000}],
	            "min_backoff_ms": 100, "max_backoff_ms": 1000, "max_attempts": 1000,
	            "poll_ms": 100}' \
	"$work/collector/collector.json" >"$work/collector.json.new"
mv "$work/collector.json.new" "$work/collector/collector.json"

fleet_agent db-1 deviant-accounts
"$POSTURE_AGENT" scan --policy "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" \
	--root "$work/roots/db-1" --format json >"$work/scan.json" || true
want_opened=$(jq '[.results[] | select(.status == "fail")] | length' "$work/scan.json")
want_critical=$(jq '[.results[] | select(.status == "fail" and .severity == "critical")] | length' \
	"$work/scan.json")
want_total=$((want_opened + want_critical))
check "the deviant root fails checks, some critical" [ "$want_opened" -gt 0 -a "$want_critical" -gt 0 ]

# --- 1. receivers failing ------------------------------------------------------
collector_start
rc=0
"$POSTURE_AGENT" run --once --config "$(agent_conf db-1)" 2>"$work/db-1.log" || rc=$?
check "db-1: run --once delivered (exit $rc)" [ "$rc" -eq 0 ]
# Every alert is tried at least once at the plain receiver (and refused) ...
if wait_lines "$work/plain.requests" "$want_total" && wait_lines "$work/tls.requests" "$want_total"; then
	ok "while the receivers fail, the collector tries every alert"
else
	bad "delivery attempts" "$(cat "$work/plain.requests" | wc -l) requests at plain, want $want_total"
fi
check "nothing accepted while the receivers fail" [ ! -s "$work/plain.jsonl" -a ! -s "$work/tls.jsonl" ]
check "no request was answered anything but 500 yet" \
	[ -z "$(grep -v '^500 ' "$work/plain.requests" "$work/tls.requests" || true)" ]
check "the requests went to the configured path" grep -q ' /hook/e2e-secret-path?token=e2e-secret-query$' "$work/plain.requests"

# ... and logged once each, as one JSON line.
log_alerts >"$work/log1.jsonl"
check "the collector logged $want_total alerts" [ "$(wc -l <"$work/log1.jsonl")" = "$want_total" ]
check "each alert log line is one JSON object with kind and id" \
	[ "$(jq -s '[.[] | select((.alert | type) == "string" and (.id | type) == "number")] | length' \
		"$work/log1.jsonl")" = "$want_total" ]
check "the log names violation_opened $want_opened times" \
	[ "$(jq -s '[.[] | select(.alert == "violation_opened")] | length' "$work/log1.jsonl")" = "$want_opened" ]
check "the log names critical_failure $want_critical times" \
	[ "$(jq -s '[.[] | select(.alert == "critical_failure")] | length' "$work/log1.jsonl")" = "$want_critical" ]
check "failed deliveries are logged naming the webhook by origin" \
	grep -q "webhook http://127.0.0.1:$port_plain: .*HTTP 500" "$work/collector.log"

# --- 2. stopped while failing, receivers recover, started again ----------------
if collector_stop; then ok "SIGTERM stops the collector with alerts pending"; else
	bad "SIGTERM" "non-zero exit"; fi
rm -f "$work/hook.fail"
collector_start
if wait_lines "$work/plain.jsonl" "$want_total" && wait_lines "$work/tls.jsonl" "$want_total"; then
	ok "after the restart every alert arrives at both receivers"
else
	bad "delivery after restart" "plain has $(wc -l <"$work/plain.jsonl"), tls $(wc -l <"$work/tls.jsonl"), want $want_total"
fi
for r in plain tls; do
	check "$r: $want_total alerts, each id once" \
		[ "$(jq -s '[.[].id] | unique | length' "$work/$r.jsonl")" = "$want_total" ]
	check "$r: $want_opened violation_opened" \
		[ "$(jq -s '[.[] | select(.kind == "violation_opened")] | length' "$work/$r.jsonl")" = "$want_opened" ]
	check "$r: $want_critical critical_failure" \
		[ "$(jq -s '[.[] | select(.kind == "critical_failure")] | length' "$work/$r.jsonl")" = "$want_critical" ]
	check "$r: every event names its collector" \
		[ "$(jq -s '[.[] | select((.collector_id | type) == "string")] | length' "$work/$r.jsonl")" = "$want_total" ]
done
check "both receivers got the same ids" \
	[ "$(jq -s -c '[.[].id] | sort' "$work/plain.jsonl")" = "$(jq -s -c '[.[].id] | sort' "$work/tls.jsonl")" ]
check "the ids are those the collector logged" \
	[ "$(jq -s -c '[.[].id] | sort' "$work/plain.jsonl")" = "$(jq -s -c '[.[].id] | sort' "$work/log1.jsonl")" ]
check "the restart logged no alert a second time" [ "$(log_alerts | wc -l)" = "$want_total" ]

# --- 3. fixed: violations resolve ------------------------------------------------
rm -rf "$work/roots/db-1"
"$POSTURE_SOURCE_DIR/tests/fixtures/roots/prepare.sh" compliant "$work/roots/db-1" >/dev/null
rc=0
"$POSTURE_AGENT" run --once --config "$(agent_conf db-1)" 2>>"$work/db-1.log" || rc=$?
check "db-1: the rescan of the fixed root was delivered (exit $rc)" [ "$rc" -eq 0 ]
want_all=$((want_total + want_opened))
if wait_lines "$work/plain.jsonl" "$want_all" && wait_lines "$work/tls.jsonl" "$want_all"; then
	ok "violation_resolved alerts arrive"
else
	bad "violation_resolved" "plain has $(wc -l <"$work/plain.jsonl"), want $want_all"
fi
for r in plain tls; do
	check "$r: $want_opened violation_resolved" \
		[ "$(jq -s '[.[] | select(.kind == "violation_resolved")] | length' "$work/$r.jsonl")" = "$want_opened" ]
	check "$r: every id once" [ "$(jq -s '[.[].id] | unique | length' "$work/$r.jsonl")" = "$want_all" ]
done
check "the log holds $want_opened violation_resolved lines" \
	[ "$(log_alerts | jq -s '[.[] | select(.alert == "violation_resolved")] | length')" = "$want_opened" ]

if collector_stop; then ok "SIGTERM stops the collector with exit 0"; else bad "SIGTERM" "non-zero exit"; fi
check "no alert is pending in the store" [ "$(sql 'SELECT count(*) FROM alerts')" = 0 ]
check "the store's alert log holds each alert once, delivered" \
	[ "$(sql "SELECT count(DISTINCT id) FROM alert_log WHERE outcome = 'delivered'")" = "$want_all" ]
check "the collector said none was left waiting" \
	[ "$(grep -c 'alerts: stopped: .*; 0 waiting' "$work/collector.log")" -ge 1 ]
check "the log never shows a webhook's path or query" [ "$(grep -c 'e2e-secret' "$work/collector.log" || true)" = 0 ]
finish
