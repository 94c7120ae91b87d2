#!/usr/bin/env bash
# test_posturectl_evidence.sh - an auditor's evidence, end to end: two
# agents report to a real collector; an auditor token takes snapshots with
# posturectl (the fleet, and scoped ones), lists them, fetches the key and
# pulls every snapshot; `evidence verify` accepts each (with the key from
# `evidence key` and with the evidence.pub that init wrote), --previous
# accepts consecutive ones, verify-chain accepts the directory.  Then each
# way a file can lie fails with exit 1 and a message naming the file and
# the check: a changed byte in a result's evidence, another collector's
# key, a snapshot missing from the chain, the wrong order, a duplicated
# seq, a truncated file, a pretty-printed (non-canonical) copy, and a
# download whose bytes do not match the ETag.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-ctlev.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT
: "${POSTURECTL:=${POSTURE_BUILD_DIR:?set POSTURECTL or POSTURE_BUILD_DIR}/posturectl}"

fleet_init
fleet_agent web-1 compliant
fleet_agent web-2 deviant-ssh
collector_start
api_wait
for id in web-1 web-2; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>"$work/$id.log" ||
		bad "$id: run --once" "$(tail -n 3 "$work/$id.log")"
done
auditor=$(api_token auditor --name "ctl auditor")
export POSTURE_URL="https://127.0.0.1:$api_port" POSTURE_TOKEN=$auditor HOME="$work/home"
mkdir -p "$HOME"

ctl() {
	rc=0
	"$POSTURECTL" --cacert "$work/collector/ca.crt" "$@" >"$work/out" 2>"$work/err" || rc=$?
	cat "$work/out" "$work/err" >>"$work/all-output"
}
# expect_fail NAME CHECK-PATTERN FILE-PATTERN: the last ctl exited 1 naming both.
expect_fail() {
	check "$1: exit 1 ($rc)" [ "$rc" = 1 ]
	check "$1: the message names $3 and \"$2\" ($(head -c 300 "$work/err"))" \
		bash -c "grep -q -- '$2' '$work/err' && grep -qF -- '$3' '$work/err'"
}

# --- take snapshots ---
ctl_create() {
	ctl evidence create --format json "$@"
	check "evidence create $*: exit 0 ($rc $(cat "$work/err"))" [ "$rc" = 0 ]
	ids+=("$(jq -r .id "$work/out")")
}
control=$(api "/api/v1/violations?host=web-2&limit=1" "$auditor" | jq -r '.violations[0].controls.iso27001[0]')
ids=()
ctl_create
check "the first snapshot: seq 1, no previous, taken by the auditor token" \
	[ "$(jq -c '[.seq, .previous_sha256, .taken_by.name, .taken_by.role]' "$work/out")" = '[1,null,"ctl auditor","auditor"]' ]
first_sha=$(jq -r .sha256 "$work/out")
ctl_create --host web-2
check "the second: seq 2, linked to the first" \
	[ "$(jq -c '[.seq, .previous_sha256 == "'"$first_sha"'", .scope.host]' "$work/out")" = '[2,true,"web-2"]' ]
ctl_create --search web-1
ctl_create --control "$control"
ctl evidence create --host web-1
check "evidence create (table): the id, seq and sha256" bash -c \
	"[ $rc = 0 ] && grep -Eq '^ev-0+5 +5 ' '$work/out' && head -n 1 '$work/out' | grep -q '^ID  *SEQ  *TAKEN_AT'"
ids+=("$(awk 'NR == 2 { print $1 }' "$work/out")")
check "five snapshots taken (${ids[*]})" [ "${#ids[@]}" = 5 ]
# A scope that is not UTF-8 is refused, never dropped (which would take the whole fleet).
ctl evidence create --host $'web-\xff'
check "evidence create --host (not UTF-8): exit 2 naming the option ($rc $(cat "$work/err"))" \
	bash -c "[ $rc = 2 ] && grep -q -- '--host is not valid UTF-8' '$work/err'"
check "... and no snapshot taken" [ "$(api /api/v1/evidence "$auditor" | jq '.evidence | length')" = 5 ]

# --- list ---
api "/api/v1/evidence" "$auditor" >"$work/list.json"
ctl evidence list --format json
check "evidence list json: the API's document, byte for byte" cmp -s "$work/out" <(cat "$work/list.json"; echo)
ctl evidence list --format csv
check "evidence list csv: one row per snapshot" [ "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline=""))))-1)' "$work/out")" = 5 ]
ctl evidence list --limit 2 --all --format json
check "evidence list --limit 2 --all: every snapshot" [ "$(jq -c '[.evidence[].id]' "$work/out")" = "$(jq -c '[.evidence[].id]' "$work/list.json")" ]
ctl evidence list
for id in "${ids[@]}"; do
	sha=$(jq -r --arg i "$id" '.evidence[] | select(.id == $i) | .sha256' "$work/list.json")
	grep -q "^$id .* $sha\$" "$work/out" || bad "evidence list table: $id" "no line with its sha256"
done
ok "evidence list table: every snapshot with its sha256"

# --- the key ---
ctl evidence key --out "$work/key.pem"
check "evidence key: exit 0 ($rc)" [ "$rc" = 0 ]
hdr_kid=$(curl -sS --cacert "$work/collector/ca.crt" -D - -o /dev/null -H "Authorization: Bearer $auditor" \
	"$POSTURE_URL/api/v1/evidence/key" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-posture-key-id" { print $2 }')
check "evidence key: prints the key_id the collector names ($hdr_kid)" grep -qx "key_id $hdr_kid" "$work/out"
check "evidence key: the same key as init's evidence.pub" cmp -s "$work/key.pem" "$work/collector/evidence.pub"
check "evidence key: mode 0644" [ "$(stat -c %a "$work/key.pem")" = 644 ]
ctl evidence key --out "$work/key.pem"
check "evidence key: an existing file is kept (exit 2)" [ "$rc" = 2 ]

# --- pull ---
mkdir -p "$work/snaps"
for id in "${ids[@]}"; do
	ctl evidence pull "$id" --out "$work/snaps/$id.json"
	[ "$rc" = 0 ] || bad "evidence pull $id" "$(cat "$work/err")"
	api "/api/v1/evidence/$id" "$auditor" >"$work/raw.json"
	cmp -s "$work/raw.json" "$work/snaps/$id.json" || bad "evidence pull $id" "bytes differ from the API's"
done
ok "evidence pull: every snapshot, byte for byte the API's"
check "evidence pull: no trailing newline added" [ "$(tail -c 1 "$work/snaps/${ids[0]}.json")" = "}" ]
check "the scoped snapshot holds web-2 only" \
	[ "$(jq -c '[.snapshot.scope.host, [.snapshot.hosts[].id]]' "$work/snaps/${ids[1]}.json")" = '["web-2",["web-2"]]' ]
echo junk >"$work/exists.json"
ctl evidence pull "${ids[0]}" --out "$work/exists.json"
check "evidence pull onto an existing file: exit 2, file kept" bash -c "[ $rc = 2 ] && [ \"\$(cat '$work/exists.json')\" = junk ]"
ctl evidence pull "${ids[0]}" --out "$work/exists.json" --force
check "evidence pull --force replaces it" cmp -s "$work/exists.json" "$work/snaps/${ids[0]}.json"
ctl evidence pull ev-00000099 --out "$work/none.json"
check "evidence pull of an unknown id: exit 1 with the server's 404" bash -c "[ $rc = 1 ] && grep -q 'answered 404' '$work/err' && [ ! -e '$work/none.json' ]"

# --- verify: what must pass ---
for id in "${ids[@]}"; do
	f="$work/snaps/$id.json"
	ctl evidence verify "$f" --key "$work/key.pem"
	[ "$rc" = 0 ] || bad "verify $id" "$(cat "$work/err")"
	sha=$(jq -r --arg i "$id" '.evidence[] | select(.id == $i) | .sha256' "$work/list.json")
	grep -q "^  sha256  *$sha\$" "$work/out" || bad "verify $id" "does not print its sha256"
	grep -q "^  id  *$id\$" "$work/out" || bad "verify $id" "does not print its id"
	grep -q "^  key_id  *$hdr_kid\$" "$work/out" || bad "verify $id" "does not print the key_id"
	ctl evidence verify "$f" --key "$work/collector/evidence.pub"
	[ "$rc" = 0 ] || bad "verify $id with init's evidence.pub" "$(cat "$work/err")"
done
ok "evidence verify: all five, with the fetched key and with init's evidence.pub"
ctl evidence verify "$work/snaps/${ids[0]}.json"
check "evidence verify without --key: fetches the key and says so" bash -c "[ $rc = 0 ] && grep -q 'key: fetched from' '$work/out'"
for i in 1 2 3 4; do
	ctl evidence verify "$work/snaps/${ids[$i]}.json" --key "$work/key.pem" --previous "$work/snaps/${ids[$((i - 1))]}.json"
	check "evidence verify ${ids[$i]} --previous ${ids[$((i - 1))]}" bash -c "[ $rc = 0 ] && grep -q 'link  *follows' '$work/out'"
done
ctl evidence verify-chain "$work/snaps" --key "$work/key.pem"
check "evidence verify-chain: the five" bash -c "[ $rc = 0 ] && grep -q 'chain: 5 snapshots, seq 1 to 5' '$work/out'"
mkdir -p "$work/later"
cp "$work/snaps/${ids[2]}.json" "$work/snaps/${ids[3]}.json" "$work/later/"
ctl evidence verify-chain "$work/later" --key "$work/key.pem"
check "evidence verify-chain from seq 3: verifies and says where it starts" bash -c "[ $rc = 0 ] && grep -q 'starts at seq 3' '$work/out'"

# --- verify: what must fail ---
python3 - "$work/snaps/${ids[1]}.json" "$work/tampered.json" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.index(b'"observed":"') + len(b'"observed":"')
while not chr(data[at]).isalnum():
    at += 1
data[at] = ord("x") if data[at] != ord("x") else ord("y")
open(sys.argv[2], "wb").write(data)
PY
check "tampered copy: one byte differs" [ "$(cmp -l "$work/snaps/${ids[1]}.json" "$work/tampered.json" | wc -l)" = 1 ]
ctl evidence verify "$work/tampered.json" --key "$work/key.pem"
expect_fail "a changed byte in a result's evidence" "step 4 (hash)" "tampered.json"

"$POSTURE_COLLECTOR" init --dir "$work/other" --agent-listen "127.0.0.1:$(free_port)" \
	--api-listen "127.0.0.1:$(free_port)" >/dev/null 2>&1
ctl evidence verify "$work/snaps/${ids[0]}.json" --key "$work/other/evidence.pub"
expect_fail "another collector's key" "step 3 (key)" "${ids[0]}.json"
ctl evidence verify-chain "$work/snaps" --key "$work/other/evidence.pub"
expect_fail "a chain with another collector's key" "step 3 (key)" "$work/snaps/"

mkdir -p "$work/gap"
cp "$work/snaps/"*.json "$work/gap/"
rm "$work/gap/${ids[2]}.json"
ctl evidence verify-chain "$work/gap" --key "$work/key.pem"
expect_fail "a snapshot missing from the chain" "seq 3 is missing" "${ids[3]}.json"

ctl evidence verify "$work/snaps/${ids[1]}.json" --key "$work/key.pem" --previous "$work/snaps/${ids[2]}.json"
expect_fail "the wrong order (--previous given the later one)" "step 6 (link)" "${ids[1]}.json"
ctl evidence verify "$work/snaps/${ids[3]}.json" --key "$work/key.pem" --previous "$work/snaps/${ids[1]}.json"
expect_fail "--previous two back" "step 6 (link)" "${ids[3]}.json"

mkdir -p "$work/dup"
cp "$work/snaps/"*.json "$work/dup/"
cp "$work/snaps/${ids[2]}.json" "$work/dup/copy-of-3.json"
ctl evidence verify-chain "$work/dup" --key "$work/key.pem"
expect_fail "a duplicated seq" "seq 3 appears twice" "copy-of-3.json"

size=$(stat -c %s "$work/snaps/${ids[0]}.json")
head -c $((size / 2)) "$work/snaps/${ids[0]}.json" >"$work/truncated.json"
ctl evidence verify "$work/truncated.json" --key "$work/key.pem"
expect_fail "a truncated file" "step 1" "truncated.json"
head -c $((size - 1)) "$work/snaps/${ids[0]}.json" >"$work/short1.json"
ctl evidence verify "$work/short1.json" --key "$work/key.pem"
expect_fail "a file one byte short" "step 1" "short1.json"

jq . "$work/snaps/${ids[0]}.json" >"$work/pretty.json"
ctl evidence verify "$work/pretty.json" --key "$work/key.pem"
expect_fail "a pretty-printed copy" "step 1 (canonical form)" "pretty.json"
mkdir -p "$work/prettychain"
cp "$work/snaps/"*.json "$work/prettychain/"
jq . "$work/snaps/${ids[1]}.json" >"$work/prettychain/${ids[1]}.json"
ctl evidence verify-chain "$work/prettychain" --key "$work/key.pem"
expect_fail "a chain holding a pretty-printed copy" "step 1 (canonical form)" "${ids[1]}.json"

# A server whose ETag does not match the bytes it sends: nothing is written.
p=$(free_port)
python3 - "$work/collector/collector.crt" "$work/collector/collector.key" "$p" "$work/snaps/${ids[0]}.json" "$work/probe.ready" <<'PY' &
import socket, ssl, sys
crt, key, port, body, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), open(sys.argv[4], "rb").read(), sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
open(ready, "w").close()
srv.settimeout(60)
conn, _ = srv.accept()
tls = ctx.wrap_socket(conn, server_side=True)
tls.recv(65536)
tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"" + b"0" * 64 +
            b"\"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
tls.close()
PY
probe=$!
for _ in $(seq 1 100); do [ -e "$work/probe.ready" ] && break; sleep 0.1; done
ctl --url "https://127.0.0.1:$p" evidence pull "${ids[0]}" --out "$work/etag.json"
wait "$probe" || true
expect_fail "a download that does not match its ETag" "does not match the collector" "/api/v1/evidence/${ids[0]}"
check "a download that does not match its ETag: nothing written" [ ! -e "$work/etag.json" ]

check "the token never appears in any output" bash -c "! grep -qF '$auditor' '$work/all-output'"
collector_stop || bad "collector stop" "exit status $?"
finish
