#!/usr/bin/env bash
# test_evidence_api.sh - evidence snapshots through the HTTPS API of a real
# collector with two agents (compliant and deviant-ssh fixture roots).
# An auditor takes snapshots, an ISO may not; every snapshot GET returns
# verifies with OpenSSL alone against the evidence.pub that init wrote
# (hash and Ed25519 signature of the bytes between "snapshot": and the
# final }), and each names the hash of the one before, across a restart
# and with scheduled snapshots in between.  The store refuses to change
# or remove one, and a collector whose evidence key others may read
# refuses to start.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-evidence.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

command -v sqlite3 >/dev/null || { echo "sqlite3 is needed (packaging/install-deps.sh --test)" >&2; exit 1; }

fleet_init
conf="$work/collector/collector.json"
# No schedule at first: the snapshots below are the tokens' alone.
jq '.evidence = {"schedule_s": 0}' "$conf" >"$work/c.json" && mv "$work/c.json" "$conf"
fleet_agent web-1 compliant
fleet_agent web-2 deviant-ssh

# --- the key: a collector whose evidence key others may read does not start ---
chmod 0644 "$work/collector/evidence.key"
rc=0
timeout 20 "$POSTURE_COLLECTOR" run --config "$conf" >"$work/refused.log" 2>&1 || rc=$?
check "an evidence key readable by others: the collector refuses to start (exit $rc)" [ "$rc" -ne 0 ] 
check "... and says why" grep -q "evidence key.*readable by group or others" "$work/refused.log"
chmod 0600 "$work/collector/evidence.key"

collector_start
api_wait
for id in web-1 web-2; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>"$work/$id.log" ||
		bad "$id: run --once" "$(tail -n 3 "$work/$id.log")"
done
iso=$(api_token iso --name "test iso")
auditor=$(api_token auditor --name "external auditor")
admin=$(api_token admin --name "test admin")

# Split an envelope file into snapshot bytes and signature; print its sha256 field.
split_env() {
	python3 - "$1" "$2" "$3" <<'EOF'
import base64, json, sys
raw = open(sys.argv[1], "rb").read()
i = raw.index(b'"snapshot":') + len(b'"snapshot":')
assert raw.endswith(b"}")
open(sys.argv[2], "wb").write(raw[i:-1])
env = json.loads(raw)
open(sys.argv[3], "wb").write(base64.b64decode(env["signature"], validate=True))
print(env["sha256"])
EOF
}

# verify NAME FILE: hash and signature with OpenSSL alone.
verify() {
	local name=$1 f=$2 want got
	want=$(split_env "$f" "$f.snap" "$f.sig")
	got=$(sha256sum <"$f.snap" | cut -d' ' -f1)
	check "$name: sha256 of the snapshot bytes is the envelope's ($want)" [ "$want" = "$got" ]
	check "$name: the Ed25519 signature verifies with evidence.pub (openssl pkeyutl)" \
		openssl pkeyutl -verify -pubin -inkey "$work/collector/evidence.pub" -rawin \
		-in "$f.snap" -sigfile "$f.sig"
}

# --- taking: auditor yes, iso no ---
api /api/v1/evidence "$iso" -X POST >"$work/iso.json"
check "POST as iso: 403 ($api_status)" [ "$api_status" = 403 ]
check "POST as iso: forbidden" [ "$(jq -r '.error.code' "$work/iso.json")" = forbidden ]
api /api/v1/evidence "" -X POST >/dev/null
check "POST without a token: 401 ($api_status)" [ "$api_status" = 401 ]

api /api/v1/evidence "$auditor" -X POST -D "$work/h1" >"$work/m1.json"
check "POST as auditor, empty body: 201 ($api_status)" [ "$api_status" = 201 ]
check "first snapshot: ev-00000001, seq 1, no previous" \
	[ "$(jq -c '[.id, .seq, .previous_sha256]' "$work/m1.json")" = '["ev-00000001",1,null]' ]
check "first snapshot: taken by the auditor's token" \
	[ "$(jq -c '.taken_by' "$work/m1.json")" = '{"kind":"token","name":"external auditor","role":"auditor"}' ]
check "first snapshot: Location names it" \
	grep -qi '^location: /api/v1/evidence/ev-00000001' "$work/h1"
sha1=$(jq -r '.sha256' "$work/m1.json")

api /api/v1/evidence "$admin" -X POST -H 'Content-Type: application/json' \
	--data '{"scope": {"host": "web-2"}}' >"$work/m2.json"
check "POST as admin, scope host web-2: 201 ($api_status)" [ "$api_status" = 201 ]
check "second snapshot names the first's sha256" \
	[ "$(jq -r '.previous_sha256' "$work/m2.json")" = "$sha1" ]
check "second snapshot: seq 2, scope web-2" \
	[ "$(jq -cS '[.seq, .scope]' "$work/m2.json")" = '[2,{"control":null,"host":"web-2","search":null}]' ]

api /api/v1/evidence "$auditor" -X POST --data '{"scope": {"hots": "web-2"}}' >"$work/e1.json"
check "unknown key in the scope: 400 naming it ($api_status)" \
	[ "$api_status $(jq -r '.error.message | contains("\"hots\"")' "$work/e1.json")" = "400 true" ]
api /api/v1/evidence "$auditor" -X POST --data '{"scope": {}, "when": 1}' >"$work/e2.json"
check "unknown key in the body: 400 naming it ($api_status)" \
	[ "$api_status $(jq -r '.error.message | contains("\"when\"")' "$work/e2.json")" = "400 true" ]
api /api/v1/evidence "$auditor" -X POST --data '{"scope": ' >/dev/null
check "a body that is not JSON: 400 ($api_status)" [ "$api_status" = 400 ]
api /api/v1/evidence "$auditor" -X POST --data '{"scope": {"host": "nope-9"}}' >"$work/e3.json"
check "a host the collector does not know: 404 ($api_status)" [ "$api_status" = 404 ]

# --- listing ---
api /api/v1/evidence "$iso" >"$work/list.json"
check "list as iso: 200 ($api_status)" [ "$api_status" = 200 ]
check "list: newest first, only what was stored" \
	[ "$(jq -r '[.evidence[].id] | join(" ")' "$work/list.json")" = "ev-00000002 ev-00000001" ]
check "list: the metadata POST answered" \
	[ "$(jq -c '.evidence[1]' "$work/list.json")" = "$(jq -c . "$work/m1.json")" ]
api "/api/v1/evidence?limit=1" "$iso" >"$work/p1.json"
cur=$(jq -r '.next_cursor' "$work/p1.json")
api "/api/v1/evidence?limit=1&cursor=$cur" "$iso" >"$work/p2.json"
check "list by pages of one: ev-00000002 then ev-00000001" \
	[ "$(jq -r '.evidence[0].id' "$work/p1.json") $(jq -r '.evidence[0].id, .next_cursor' "$work/p2.json" | tr '\n' ' ')" = "ev-00000002 ev-00000001 null " ]
api "/api/v1/evidence?since=1" "$iso" >/dev/null
check "list: unknown query parameter 400 ($api_status)" [ "$api_status" = 400 ]

# --- one snapshot, exactly as signed ---
api /api/v1/evidence/ev-00000001 "$iso" -D "$work/h2" >"$work/ev1.json"
check "GET ev-00000001 as iso: 200 ($api_status)" [ "$api_status" = 200 ]
check "GET: its size is the listed size" \
	[ "$(stat -c %s "$work/ev1.json")" = "$(jq '.size' "$work/m1.json")" ]
check "GET: ETag is the quoted sha256" grep -qi "^etag: \"$sha1\"" "$work/h2"
check "GET: Cache-Control private, immutable" grep -qi '^cache-control: private, immutable' "$work/h2"
check "GET: JSON" grep -qi '^content-type: application/json' "$work/h2"
verify "ev-00000001" "$work/ev1.json"
check "ev-00000001: sha256 is the one POST answered" \
	[ "$(jq -r '.sha256' "$work/ev1.json")" = "$sha1" ]
snap() { jq -c "$2" "$work/$1.json"; }
check "ev-00000001: the whole fleet, by agent id" [ "$(snap ev1 '[.snapshot.hosts[].id]')" = '["web-1","web-2"]' ]
check "ev-00000001: each host has its results with evidence" \
	[ "$(snap ev1 '[.snapshot.hosts[] | .results | length > 0 and all(.[]; (.evidence | type) == "array")] | all')" = true ]
api /api/v1/summary "$iso" >"$work/summary.json"
check "ev-00000001: the fleet metrics are the summary's (pass, fail, hosts)" \
	[ "$(snap ev1 '.snapshot.metrics.fleet | [.pass, .fail, .hosts.total]')" = "$(jq -c '[.pass, .fail, .hosts.total]' "$work/summary.json")" ]
check "ev-00000001: one open violation per failing result, oldest first" \
	[ "$(snap ev1 '[.snapshot.violations | length, (map(.opened_at) == (map(.opened_at) | sort))]')" = "[$(snap ev1 '[.snapshot.hosts[].results[] | select(.status == "fail")] | length'),true]" ]
check "ev-00000001: collector id and the CA's sha256" \
	[ "$(snap ev1 '.snapshot.collector.ca_sha256')" = "\"$(openssl x509 -in "$work/collector/ca.crt" -outform DER | sha256sum | cut -d' ' -f1)\"" ]
check "ev-00000001: the policies the hosts reported" \
	[ "$(snap ev1 '[.snapshot.policies[].id]')" = "$(jq -c '[.policies[] | {id, version} ] | unique | map(.id)' "$work/summary.json")" ]

api /api/v1/evidence/ev-00000002 "$auditor" >"$work/ev2.json"
verify "ev-00000002" "$work/ev2.json"
check "ev-00000002: only web-2" [ "$(snap ev2 '[.snapshot.hosts[].id]')" = '["web-2"]' ]
check "ev-00000002: previous_sha256 is ev-00000001's" \
	[ "$(snap ev2 '.snapshot.previous_sha256')" = "\"$sha1\"" ]
check "ev-00000002: violations of web-2 only" \
	[ "$(snap ev2 '[.snapshot.violations[].host] | unique')" = '["web-2"]' ]

# A changed byte: the hash and the signature no longer agree.
sed 's/"web-1"/"web-X"/' "$work/ev1.json" >"$work/bad.json"
split_env "$work/bad.json" "$work/bad.snap" "$work/bad.sig" >/dev/null
check "an altered snapshot fails the signature" \
	bash -c '! openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" -sigfile "$3" >/dev/null 2>&1' \
	_ "$work/collector/evidence.pub" "$work/bad.snap" "$work/bad.sig"

api /api/v1/evidence/ev-99999999 "$iso" >"$work/e404.json"
check "unknown id: 404 with a JSON error ($api_status)" \
	[ "$api_status $(jq -r '.error.code' "$work/e404.json")" = "404 not_found" ]
api /api/v1/evidence/ev-1 "$iso" >/dev/null
check "malformed id: 400 ($api_status)" [ "$api_status" = 400 ]
api "/api/v1/evidence/ev-00000001;drop" "$iso" >/dev/null
check "malformed id with punctuation: 400 ($api_status)" [ "$api_status" = 400 ]

# --- the public key ---
api /api/v1/evidence/key "$iso" -D "$work/h3" >"$work/key.pem"
check "GET /key: 200 ($api_status)" [ "$api_status" = 200 ]
check "GET /key: the evidence.pub that init wrote" cmp -s "$work/key.pem" "$work/collector/evidence.pub"
check "GET /key: PEM content type" grep -qi '^content-type: application/x-pem-file' "$work/h3"
kid=$(openssl pkey -pubin -in "$work/collector/evidence.pub" -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
check "GET /key: X-Posture-Key-Id is the SHA-256 of the raw key" grep -qi "^x-posture-key-id: $kid" "$work/h3"
check "snapshots name that key id" [ "$(jq -r '.key_id' "$work/ev1.json")" = "$kid" ]
api /api/v1/evidence/key "$admin" -X DELETE -D "$work/h4" >/dev/null
check "DELETE /key: 405, Allow: GET ($api_status)" \
	[ "$api_status $(grep -i '^allow:' "$work/h4" | tr -d '\r')" = "405 Allow: GET" ]
api /api/v1/evidence/ev-00000001 "$admin" -X DELETE >/dev/null
check "DELETE a snapshot: 405 ($api_status)" [ "$api_status" = 405 ]
api /api/v1/evidence/key "" >/dev/null
check "GET /key without a token: 401 ($api_status)" [ "$api_status" = 401 ]

# --- the store refuses to change or remove a snapshot ---
if sql "UPDATE evidence SET size = 0 WHERE seq = 1" 2>"$work/upd.err"; then
	bad "UPDATE on evidence" "it succeeded"
else
	check "UPDATE on evidence is refused" grep -q immutable "$work/upd.err"
fi
if sql "DELETE FROM evidence WHERE seq = 2" 2>"$work/del.err"; then
	bad "DELETE on evidence" "it succeeded"
else
	check "DELETE on evidence is refused" grep -q immutable "$work/del.err"
fi
check "both snapshots still stored" [ "$(sql 'SELECT count(*) FROM evidence')" = 2 ]

# --- restart with a schedule: the chain goes on ---
check "collector stops cleanly" collector_stop
jq '.evidence = {"schedule_s": 1}' "$conf" >"$work/c.json" && mv "$work/c.json" "$conf"
collector_start
api_wait
n=0
for i in $(seq 1 300); do
	n=$(sql "SELECT count(*) FROM evidence")
	[ "$n" -ge 4 ] && break
	sleep 0.1
done
check "scheduled snapshots are taken ($n stored)" [ "$n" -ge 4 ]
api /api/v1/evidence/ev-00000003 "$iso" >"$work/ev3.json"
verify "ev-00000003 (scheduled)" "$work/ev3.json"
check "ev-00000003: taken by the schedule" [ "$(snap ev3 '.snapshot.taken_by')" = '{"kind":"schedule"}' ]
check "ev-00000003: previous_sha256 is ev-00000002's, across the restart" \
	[ "$(snap ev3 '.snapshot.previous_sha256')" = "$(jq -c '.sha256' "$work/ev2.json")" ]
check "the log names a scheduled snapshot with its hash" \
	grep -q "scheduled evidence snapshot ev-00000003 taken: sha256 $(jq -r '.sha256' "$work/ev3.json")" "$work/collector.log"
api /api/v1/evidence "$auditor" -X POST >"$work/m5.json"
check "a token's snapshot between scheduled ones: 201 ($api_status)" [ "$api_status" = 201 ]
check "collector stops cleanly with the schedule running" collector_stop

# Every stored snapshot verifies and links to the one before.
prev=null
links=ok
for seq in $(sql "SELECT seq FROM evidence ORDER BY seq"); do
	sqlite3 -batch "$db" "SELECT writefile('$work/chain-$seq.json', envelope) FROM evidence WHERE seq = $seq" >/dev/null
	split_env "$work/chain-$seq.json" "$work/chain-$seq.snap" "$work/chain-$seq.sig" >/dev/null
	openssl pkeyutl -verify -pubin -inkey "$work/collector/evidence.pub" -rawin \
		-in "$work/chain-$seq.snap" -sigfile "$work/chain-$seq.sig" >/dev/null || links="seq $seq: bad signature"
	[ "$(jq -c '.snapshot.previous_sha256' "$work/chain-$seq.json")" = "$prev" ] || links="seq $seq: broken link"
	[ "$(jq '.snapshot.seq' "$work/chain-$seq.json")" = "$seq" ] || links="seq $seq: wrong seq"
	prev=$(jq -c '.sha256' "$work/chain-$seq.json")
done
check "the whole chain verifies and links ($links)" [ "$links" = ok ]
check "no token appears in the collector's log" \
	[ "$(grep -c -e "$iso" -e "$admin" -e "$auditor" "$work/collector.log" || true)" = 0 ]
finish
