#!/usr/bin/env bash
# test_fleet_outage.sh - nothing acknowledged is lost and nothing is
# counted twice when the collector is away:
#  1. the collector is down while agents scan several times: each
#     `run --once` exits 1 and keeps its report spooled; on the collector's
#     return every spooled report arrives, in order, exactly once;
#  2. the collector is killed with SIGKILL while agent daemons are sending,
#     then restarted: every report the agents produced is stored exactly
#     once (sequence numbers 1..N with no gap and no duplicate), and every
#     report an agent saw acknowledged is there;
#  3. an agent whose spool sits at its byte limit compacts reports that
#     change no status, and keeps every status change.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-outage.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

fleet_init
fleet_agent a1 compliant '.interval_s = 1 | .heartbeat_s = 1 | .ack_timeout_s = 20'
fleet_agent a2 deviant-ssh '.interval_s = 1 | .heartbeat_s = 1 | .ack_timeout_s = 20'
fleet_agent a3 deviant-system '.interval_s = 1 | .heartbeat_s = 1 | .ack_timeout_s = 2 | .connect_timeout_s = 1'

# set_conf ID FILTER: change an agent's config with jq.
set_conf() {
	jq "$2" "$(agent_conf "$1")" >"$work/$1.conf.new"
	mv "$work/$1.conf.new" "$(agent_conf "$1")"
}
spooled() { find "$work/agents/$1/spool" -maxdepth 1 -name '*.frame' | wc -l; }

# --- 1. collector down --------------------------------------------------------
for i in 1 2 3; do
	rc=0
	"$POSTURE_AGENT" run --once --config "$(agent_conf a3)" 2>>"$work/a3.log" || rc=$?
	[ "$rc" -eq 1 ] || bad "a3: run --once with no collector (round $i)" "exit $rc, want 1"
done
check "collector down: three reports stay spooled" [ "$(spooled a3)" = 3 ]
check "collector down: the agent says why it could not deliver" grep -qi "127.0.0.1:$agent_port" "$work/a3.log"
# Waiting 2 s for an absent collector was enough; a present one may be slow under sanitizers.
set_conf a3 '.ack_timeout_s = 60'
collector_start
"$POSTURE_AGENT" run --once --config "$(agent_conf a3)" 2>>"$work/a3.log"
check "collector back: all four reports stored" [ "$(sql "SELECT count(*) FROM scans WHERE agent_id = 'a3'")" = 4 ]
check "collector back: stored in sequence order" \
	[ "$(sql "SELECT group_concat(seq) FROM (SELECT seq FROM scans WHERE agent_id = 'a3' ORDER BY id)")" = "1,2,3,4" ]
check "collector back: the spool is empty" [ "$(spooled a3)" = 0 ]

# --- 2. SIGKILL while sending ---------------------------------------------------------
for id in a1 a2; do
	"$POSTURE_AGENT" run --config "$(agent_conf "$id")" 2>>"$work/$id.log" &
	eval "pid_$id=$!"
done
# Let each daemon deliver a few reports, then kill the collector under them.
for _ in $(seq 1 100); do
	[ "$(sql "SELECT count(*) FROM scans WHERE agent_id IN ('a1','a2')")" -ge 4 ] && break
	sleep 0.1
done
collector_kill
before_kill=$(sql "SELECT count(*) FROM scans WHERE agent_id IN ('a1','a2')")
check "some reports were stored before the kill" [ "$before_kill" -ge 4 ]
sleep 2 # the agents scan on, spool, and retry with backoff
collector_start
for _ in $(seq 1 150); do
	[ "$(sql "SELECT count(*) FROM scans WHERE agent_id IN ('a1','a2')")" -ge $((before_kill + 4)) ] && break
	sleep 0.1
done
kill -TERM "$pid_a1" "$pid_a2"
rc1=0 rc2=0
wait "$pid_a1" || rc1=$?
wait "$pid_a2" || rc2=$?
check "agent daemons stop on SIGTERM with exit 0" [ "$rc1" = 0 ] && [ "$rc2" = 0 ]
# Whatever is still spooled goes now.
for id in a1 a2; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>>"$work/$id.log" ||
		bad "$id: final run --once" "$(tail -n 3 "$work/$id.log")"
done
for id in a1 a2; do
	last=$(sed -n 's/^seq \([0-9]*\)$/\1/p' "$work/agents/$id/spool/state")
	acked=$(sed -n 's/^acked \([0-9]*\)$/\1/p' "$work/agents/$id/spool/state")
	n=$(sql "SELECT count(*) FROM scans WHERE agent_id = '$id'")
	distinct=$(sql "SELECT count(DISTINCT seq) FROM scans WHERE agent_id = '$id'")
	range=$(sql "SELECT min(seq) || '-' || max(seq) FROM scans WHERE agent_id = '$id'")
	check "$id: every one of its $last reports stored exactly once (got $n, seqs $range)" \
		[ "$n" = "$last" ] && [ "$distinct" = "$last" ] && [ "$range" = "1-$last" ]
	check "$id: everything acknowledged is stored (acked $acked)" [ "$acked" = "$last" ]
	check "$id: spool empty" [ "$(spooled "$id")" = 0 ]
done

# --- 3. spool at its byte limit --------------------------------------------------------
collector_stop
# Room for about three reports of this host.
"$POSTURE_AGENT" scan --policy "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" --root "$work/roots/a1" \
	--format protobuf --output "$work/one.pb" >/dev/null || true
size=$(stat -c %s "$work/one.pb")
limit=$((size * 3 + size / 2))
jq --argjson l "$limit" '.spool_max_bytes = $l | .connect_timeout_s = 1 | .ack_timeout_s = 2' "$(agent_conf a1)" >"$work/a1.json"
mv "$work/a1.json" "$(agent_conf a1)"
base=$(sql "SELECT max(seq) FROM scans WHERE agent_id = 'a1'")
for i in 1 2 3 4 5; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf a1)" 2>>"$work/a1-spool.log" || true
	if [ "$i" = 3 ]; then
		# A change on the host: sshd_config becomes world-readable.
		chmod 0644 "$work/roots/a1/etc/ssh/sshd_config"
	fi
done
total=$(find "$work/agents/a1/spool" -maxdepth 1 -name '*.frame' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
check "spool stays within its byte limit ($total <= $limit)" [ "$total" -le "$limit" ]
check "the agent logged what it compacted" grep -qi 'compact' "$work/a1-spool.log"
collector_start
set_conf a1 '.ack_timeout_s = 60'
"$POSTURE_AGENT" run --once --config "$(agent_conf a1)" 2>>"$work/a1-spool.log"
check "after compaction the change still reached the collector" \
	[ "$(sql "SELECT count(*) FROM transitions WHERE agent_id = 'a1' AND seq > $base AND from_status = 'pass' AND to_status = 'fail'")" -ge 1 ]
check "stored reports after the outage are in order" \
	[ "$(sql "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY id) AS prev FROM scans WHERE agent_id = 'a1') WHERE prev IS NOT NULL AND seq <= prev")" = 0 ]
collector_stop
finish
