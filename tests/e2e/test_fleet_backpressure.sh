#!/usr/bin/env bash
# test_fleet_backpressure.sh - the store falls behind and nothing is lost or
# acknowledged early: while another process holds the SQLite database's
# write lock, commits fail and are retried; the collector acknowledges
# nothing, its queue reaches the high-water mark and every connection
# pauses reading ("store behind").  SIGTERM then still commits and
# acknowledges everything received before the collector exits; after a
# restart every report is stored exactly once.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-backpressure.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

fleet_init
# A small queue (256 KiB, a few reports) so that a short stall fills it.
jq '.limits = {"max_frame_bytes": 262144} | .store_tuning = {"queue_max_bytes": 262144, "batch_delay_ms": 1}' \
	"$work/collector/collector.json" >"$work/c.json"
mv "$work/c.json" "$work/collector/collector.json"
for id in b1 b2 b3; do
	fleet_agent "$id" deviant-ssh '.interval_s = 1 | .heartbeat_s = 5'
done
collector_start
pids=()
for id in b1 b2 b3; do
	"$POSTURE_AGENT" run --config "$(agent_conf "$id")" 2>>"$work/$id.log" &
	pids+=($!)
done
stored() { sql 'SELECT count(*) FROM scans'; }
acked() { sed -n 's/^acked \([0-9]*\)$/\1/p' "$work/agents/$1/spool/state"; }
for _ in $(seq 1 100); do [ "$(stored)" -ge 3 ] && break; sleep 0.1; done
check "reports flow before the stall" [ "$(stored)" -ge 3 ]

# Hold the write lock for 8 seconds, from a second process that waits for
# the collector's current transaction and says when it has the lock.
python3 -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(8)
db.execute("COMMIT")
' "$db" "$work/locked" &
locker=$!
for _ in $(seq 1 300); do [ -e "$work/locked" ] && break; sleep 0.1; done
check "a second process holds the database's write lock" [ -e "$work/locked" ]
sleep 1
before_stored=$(stored)
before_acked="$(acked b1) $(acked b2) $(acked b3)"
sleep 5
check "nothing is stored while the database is locked" [ "$(stored)" = "$before_stored" ]
check "nothing is acknowledged while nothing can be committed ($before_acked)" \
	[ "$(acked b1) $(acked b2) $(acked b3)" = "$before_acked" ]
check "the queue reached its mark and connections paused" grep -q 'store behind' "$work/collector.log"

# SIGTERM while the reports wait for the lock: the collector must commit
# them, acknowledge them and only then exit.
kill -TERM "$collector_pid"
wait "$locker"
rc=0
wait "$collector_pid" || rc=$?
collector_pid=
check "SIGTERM during the stall: the collector commits what it holds, then exits 0 (exit $rc)" [ "$rc" = 0 ]
check "the collector retried the failed commit and said so" grep -q 'storing a batch of .* failed' "$work/collector.log"
# The agents take those last Acks on their own time: give them a moment.
for id in b1 b2 b3; do
	got=$(sql "SELECT coalesce(max(seq), 0) FROM scans WHERE agent_id = '$id'")
	for _ in $(seq 1 50); do [ "$(acked "$id")" = "$got" ] && break; sleep 0.1; done
	check "$id: what the collector held at SIGTERM was stored and acknowledged (acked $(acked "$id"), stored up to $got)" \
		[ "$(acked "$id")" = "$got" ]
done
collector_start
for _ in $(seq 1 100); do [ "$(stored)" -ge $((before_stored + 6)) ] && break; sleep 0.1; done
check "reports flow again after the stall" [ "$(stored)" -ge $((before_stored + 6)) ]

kill -TERM "${pids[@]}"
for p in "${pids[@]}"; do wait "$p" || bad "agent $p exit" "non-zero"; done
for id in b1 b2 b3; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>>"$work/$id.log" ||
		bad "$id: final run --once" "$(tail -n 3 "$work/$id.log")"
	last=$(sed -n 's/^seq \([0-9]*\)$/\1/p' "$work/agents/$id/spool/state")
	check "$id: all $last reports stored exactly once" \
		[ "$(sql "SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' || max(seq) FROM scans WHERE agent_id = '$id'")" = "$last $last $last" ]
done
collector_stop || bad "collector stop" "non-zero exit"
finish
