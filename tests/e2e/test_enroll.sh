#!/usr/bin/env bash
# test_enroll.sh - `posture-agent enroll` against a real collector's HTTPS
# API: pinned by the CA's fingerprint or by the CA file; the agent it makes
# delivers a report at once.  Refusals: a wrong fingerprint (nothing sent),
# an unknown token, a spent token, an expired one, a requested id already
# taken; each exits 1 with the collector's (or the TLS check's) reason, and
# nothing is signed.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-enroll.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

fleet_init
collector_start
api_wait
url="https://127.0.0.1:$api_port"
fp=$(openssl x509 -in "$work/collector/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)
enrolled() { sql "SELECT count(*) FROM enrollments"; }

# enroll NAME [options...]: exit status in $rc, output in $work/NAME.out; config $work/NAME/agent.json
enroll() {
	local name=$1
	shift
	mkdir -p "$work/$name"
	rc=0
	"$POSTURE_AGENT" enroll --collector "$url" --config "$work/$name/agent.json" \
		--dir "$work/$name" "$@" >"$work/$name.out" 2>&1 || rc=$?
}

t=$(api_token enroll --uses 1 --expires-in 600)
enroll pinned --token "$t" --ca-fingerprint "$fp" --agent-id web-7
check "enroll with the CA's fingerprint: exit 0 ($(tail -c 200 "$work/pinned.out"))" [ "$rc" = 0 ]
check "the key is 0600" [ "$(stat -c %a "$work/pinned/agent.key")" = 600 ]
check "the certificate's CN is the requested id" \
	bash -c "openssl x509 -in '$work/pinned/agent.crt' -noout -subject | grep -q 'CN *= *web-7'"
check "the certificate chains to the deployment's CA" \
	openssl verify -CAfile "$work/collector/ca.crt" "$work/pinned/agent.crt"
check "agent.json names this collector" \
	[ "$(jq -r '.collector' "$work/pinned/agent.json")" = "127.0.0.1:$agent_port" ]
check "the enrollment is recorded" [ "$(enrolled)" = 1 ]
jq --arg pol "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" --arg root "$work/root" \
	--arg spool "$work/spool" '.policies = [$pol] | .root = $root | .splay_s = 0 | .spool_dir = $spool' \
	"$work/pinned/agent.json" >"$work/a.json"
# Beside the key and certificates it names relatively.
mv "$work/a.json" "$work/pinned/agent.json"
"$POSTURE_SOURCE_DIR/tests/fixtures/roots/prepare.sh" compliant "$work/root" >/dev/null
rc=0
"$POSTURE_AGENT" run --once --config "$work/pinned/agent.json" 2>"$work/run.log" || rc=$?
check "the enrolled agent delivers a report (exit $rc)" [ "$rc" = 0 ]
check "the collector stored it as web-7" [ "$(sql "SELECT count(*) FROM scans WHERE agent_id = 'web-7'")" = 1 ]

enroll spent --token "$t" --ca-fingerprint "$fp"
check "a spent token: exit 1, saying so" bash -c "[ $rc = 1 ] && grep -qi spent '$work/spent.out'"

t2=$(api_token enroll --uses 5)
wrong=$(printf '%s' "$fp" | tr '0-9A-F' 'A-F0-9' | cut -c1-95)
enroll wrongpin --token "$t2" --ca-fingerprint "$wrong"
check "a wrong fingerprint: exit 1, nothing signed" \
	bash -c "[ $rc = 1 ] && [ ! -e '$work/wrongpin/agent.crt' ] && [ \"\$(sqlite3 '$db' 'SELECT count(*) FROM enrollments')\" = 1 ]"
check "... and the token was not spent" [ "$(sql "SELECT uses_left FROM tokens WHERE role = 'enroll' AND uses_left IS NOT NULL ORDER BY id DESC LIMIT 1")" = 5 ]

enroll cafile --token "$t2" --cacert "$work/collector/ca.crt"
check "enroll with the CA file, no id asked: exit 0, an id chosen" \
	bash -c "[ $rc = 0 ] && openssl x509 -in '$work/cafile/agent.crt' -noout -subject | grep -q 'CN *= *agent-'"

enroll taken --token "$t2" --cacert "$work/collector/ca.crt" --agent-id web-7
check "a requested id that is taken: exit 1 (409), nothing signed" \
	bash -c "[ $rc = 1 ] && grep -qi 'taken\|409' '$work/taken.out' && [ ! -e '$work/taken/agent.crt' ]"

enroll unknown --token "pst_000000000000000000000000000000000000000000A" --cacert "$work/collector/ca.crt"
check "an unknown token: exit 1" [ "$rc" = 1 ]

t3=$(api_token enroll --expires-in 1)
sleep 1.5
enroll expired --token "$t3" --cacert "$work/collector/ca.crt"
check "an expired token: exit 1, saying so" bash -c "[ $rc = 1 ] && grep -qi expired '$work/expired.out'"

t4=$(api_token iso)
enroll wrongrole --token "$t4" --cacert "$work/collector/ca.crt"
check "a token of another role: exit 1" [ "$rc" = 1 ]
check "two enrollments in all" [ "$(enrolled)" = 2 ]
check "no token appears in the collector's log" \
	[ "$(grep -c -e "$t" -e "$t2" -e "$t3" "$work/collector.log" || true)" = 0 ]

collector_stop || bad "collector stop" "non-zero exit"
finish
