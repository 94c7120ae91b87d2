#!/usr/bin/env bash
# test_fleet_ingest.sh - three agents on fixture roots report to one
# collector over mutual TLS (certificates made here, at test time); the
# store then holds exactly their results: one host each, one scan each, and
# for every check the status `posture-agent scan` gives on the same root.
# A second report from one agent adds a scan but no transition where
# nothing changed; SIGTERM stops the collector cleanly.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-fleet.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

fleet_init
fleet_agent web-1 compliant
fleet_agent web-2 deviant-ssh
fleet_agent db-1 deviant-accounts
collector_start

for id in web-1 web-2 db-1; do
	rc=0
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>"$work/$id.log" || rc=$?
	if [ "$rc" -eq 0 ]; then ok "$id: run --once delivered and was acknowledged"; else
		bad "$id: run --once" "exit $rc: $(tail -n 5 "$work/$id.log")"; fi
done

check "three hosts stored" [ "$(sql 'SELECT count(*) FROM hosts')" = 3 ]
check "one scan per host, seq 1" [ "$(sql 'SELECT group_concat(agent_id || ":" || seq) FROM (SELECT * FROM scans ORDER BY agent_id)')" = "db-1:1,web-1:1,web-2:1" ]

for id in web-1 web-2 db-1; do
	root=$work/roots/$id
	"$POSTURE_AGENT" scan --policy "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" --root "$root" \
		--format json >"$work/$id.scan.json" || true
	jq -r '.results[] | "\(.check)|\(.status)"' "$work/$id.scan.json" | sort >"$work/$id.want"
	sql "SELECT check_id || '|' || status FROM results WHERE agent_id = '$id'" | sort >"$work/$id.got"
	if [ -s "$work/$id.want" ] && diff -u "$work/$id.want" "$work/$id.got" >"$work/$id.diff"; then
		ok "$id: the store holds exactly the $(wc -l <"$work/$id.want") results a local scan gives"
	else
		bad "$id: stored results differ from a local scan" "$(head -n 20 "$work/$id.diff")"
	fi
	want_fail=$(jq '[.results[] | select(.status == "fail")] | length' "$work/$id.scan.json")
	check "$id: scan row counts $want_fail failures" \
		[ "$(sql "SELECT fail FROM scans WHERE agent_id = '$id'")" = "$want_fail" ]
	check "$id: every result came with its evidence" \
		[ "$(sql "SELECT count(*) FROM results WHERE agent_id = '$id' AND status IN ('pass','fail') AND json_array_length(evidence) = 0")" = 0 ]
	check "$id: one first transition per check" \
		[ "$(sql "SELECT count(*) FROM transitions WHERE agent_id = '$id' AND from_status IS NULL")" = "$(wc -l <"$work/$id.want")" ]
done

check "web-2's SSH deviation is stored with its evidence" \
	[ "$(sql "SELECT count(*) FROM results WHERE agent_id = 'web-2' AND status = 'fail' AND check_id LIKE 'ssh.%' AND evidence LIKE '%sshd_config%'")" -gt 0 ]
check "every stored failure names the evidence item that disagrees (ok false)" \
	[ "$(sql "SELECT count(*) FROM results WHERE status = 'fail' AND NOT EXISTS (SELECT 1 FROM json_each(results.evidence) WHERE json_extract(value, '\$.ok') = 0)")" = 0 ]
check "the host facts come from Hello" \
	[ "$(sql "SELECT os_id || ' ' || os_version FROM hosts WHERE agent_id = 'web-1'")" = "debian 12" ]

transitions_before=$(sql 'SELECT count(*) FROM transitions')
"$POSTURE_AGENT" run --once --config "$(agent_conf web-1)" 2>>"$work/web-1.log"
check "a second report adds a scan" [ "$(sql "SELECT max(seq) FROM scans WHERE agent_id = 'web-1'")" = 2 ]
check "an unchanged host adds no transition" [ "$(sql 'SELECT count(*) FROM transitions')" = "$transitions_before" ]
check "the agent's spool is empty once acknowledged" \
	[ -z "$(find "$work/agents/web-1/spool" -maxdepth 1 -name '*.frame' -print -quit)" ]

"$POSTURE_COLLECTOR" show --config "$work/collector/collector.json" >"$work/show.out"
check "show lists the three hosts" grep -q 'db-1' "$work/show.out"

if collector_stop; then ok "SIGTERM stops the collector with exit 0"; else bad "SIGTERM" "non-zero exit"; fi
check "the collector said it stopped" grep -q 'stopped:' "$work/collector.log"
finish
