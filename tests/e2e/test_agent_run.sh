#!/usr/bin/env bash
# test_agent_run.sh - `posture-agent run` without a collector: usage and
# configuration errors exit 2; --once that cannot deliver exits 1 and keeps
# the report spooled; the daemon scans, spools, and on SIGTERM exits 0
# with its spool intact.  Delivery to a real collector is tested with the
# collector; the protocol itself in tests/unit/test_uplink.c.
set -euo pipefail
: "${POSTURE_AGENT:?set POSTURE_AGENT to the posture-agent binary}"
: "${POSTURE_SOURCE_DIR:?set POSTURE_SOURCE_DIR to the source tree}"

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-run.XXXXXX")
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# expect NAME WANT_STATUS STDERR_SUBSTRING -- ARGS...
expect() {
	local name=$1 want=$2 msg=$3 rc=0
	shift 4
	"$POSTURE_AGENT" "$@" >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name: exit $rc, want $want; stderr: $(tail -c 400 "$work/err")"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$work/err"; then
		bad "$name: stderr lacks \"$msg\": $(tail -c 400 "$work/err")"
	else
		ok "$name"
	fi
}

# A certificate and key the TLS context loads; nothing will verify against it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=agent-1 -keyout "$work/agent.key" -out "$work/agent.crt" 2>/dev/null
chmod 600 "$work/agent.key"
mkdir -p "$work/root/etc"
printf 'ID=debian\nVERSION_ID="12"\n' >"$work/root/etc/os-release"
printf 'PASS_MAX_DAYS 90\n' >"$work/root/etc/login.defs"
cat >"$work/p.json" <<'JSON'
{"id": "run", "version": "1", "title": "run test",
 "checks": [{"id": "login.max-days", "title": "t", "severity": "low", "category": "access_control",
             "rules": [{"probe": "keyvalue", "path": "/etc/login.defs", "key": "PASS_MAX_DAYS",
                        "op": "le", "value": 365}]}]}
JSON
# Port 1 on 127.0.0.1: nobody listens, the connection is refused at once.
cat >"$work/agent.json" <<'JSON'
{"collector": "127.0.0.1:1", "ca": "agent.crt", "cert": "agent.crt", "key": "agent.key",
 "policies": ["p.json"], "root": "root", "spool_dir": "spool", "splay_s": 0,
 "ack_timeout_s": 1, "backoff_min_ms": 50, "backoff_max_ms": 200, "heartbeat_s": 5}
JSON

expect "run without --config" 2 "--config FILE is required" -- run
expect "run with a stray argument" 2 'unexpected argument "now"' -- run --config "$work/agent.json" now
expect "run with a missing config" 2 "$work/none.json: cannot open" -- run --config "$work/none.json"
sed 's/"splay_s"/"splay"/' "$work/agent.json" >"$work/typo.json"
expect "run with an unknown key" 2 'unknown key "splay"' -- run --config "$work/typo.json"
chmod 644 "$work/agent.key"
expect "run with a key open to others" 2 "chmod 600" -- run --config "$work/agent.json" --once
chmod 600 "$work/agent.key"

expect "--once without a collector" 1 "stays in $work/spool for the next run" -- run --config "$work/agent.json" --once
frames=$(find "$work/spool" -maxdepth 1 -name '*.frame' | wc -l)
[ "$frames" -eq 1 ] && ok "the undelivered report is spooled" || bad "spool holds $frames reports, want 1"
[ "$(stat -c %a "$work/spool")" = 700 ] && ok "spool is 0700" || bad "spool mode $(stat -c %a "$work/spool")"
grep -qF "cannot connect: Connection refused" "$work/err" && ok "the log says why" || bad "no connection error in the log"

# The daemon: scan at once (splay 0), spool, keep trying the collector; SIGTERM ends it with 0.
"$POSTURE_AGENT" run --config "$work/agent.json" 2>"$work/daemon.err" &
daemon_pid=$!
for _ in $(seq 1 300); do
	grep -q "seq 2, .*spooled" "$work/daemon.err" && break
	sleep 0.1
done
if grep -q "seq 2, .*spooled" "$work/daemon.err"; then ok "the daemon scanned and spooled seq 2"; else bad "no scan in the daemon log: $(tail -c 400 "$work/daemon.err")"; fi
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc"
grep -qF "stopping on signal: 2 reports" "$work/daemon.err" && ok "the daemon says what stays spooled" || bad "no stop line: $(tail -c 400 "$work/daemon.err")"
frames=$(find "$work/spool" -maxdepth 1 -name '*.frame' | wc -l)
[ "$frames" -eq 2 ] && ok "both reports stay spooled" || bad "spool holds $frames reports, want 2"

echo "test_agent_run: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
