#!/usr/bin/env bash
# test_fleet_hostile.sh - the agent port refuses every client that is not
# an agent of this deployment, and bad input closes that one connection
# only: a certificate from another CA, no certificate, plain TCP, an
# oversized frame length, garbage after the handshake, a Report before
# Hello.  Meanwhile a real agent daemon keeps reporting, and its reports
# keep arriving after each attack.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-hostile.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT
proto_dir=$POSTURE_SOURCE_DIR/proto

fleet_init
fleet_agent good compliant '.interval_s = 1 | .heartbeat_s = 1'
fleet_agent mallory compliant
collector_start
"$POSTURE_AGENT" run --config "$(agent_conf good)" 2>>"$work/good.log" &
good_pid=$!

good_scans() { sql "SELECT count(*) FROM scans WHERE agent_id = 'good'"; }
# Wait until the good agent's stored reports grow past $1.
wait_good_past() {
	for _ in $(seq 1 100); do
		[ "$(good_scans)" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_good_past 0 || bad "the good agent reports" "no report stored"

# A certificate from another CA, with the same CN as a real agent.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=rogue-ca -keyout "$work/rogue-ca.key" -out "$work/rogue-ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=good \
	-keyout "$work/rogue.key" -out "$work/rogue.csr" 2>/dev/null
openssl x509 -req -in "$work/rogue.csr" -CA "$work/rogue-ca.crt" -CAkey "$work/rogue-ca.key" \
	-CAcreateserial -days 2 -out "$work/rogue.crt" 2>/dev/null
chmod 600 "$work"/*.key

m=$work/agents/mallory
# tls_send NAME BYTES_FILE [s_client options...]: send bytes, keep the line open 1 s, save the answer.
tls_send() {
	local name=$1 bytes=$2
	shift 2
	{ cat "$bytes"; sleep 1; } | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$agent_port" \
		-CAfile "$m/ca.crt" -verify_return_error "$@" >"$work/$name.out" 2>"$work/$name.err" || true
}
# decode_error FILE: the Error frame the collector answered with, as text.
decode_error() {
	tail -c +5 "$1" | protoc --decode posture.v1.Envelope -I "$proto_dir" \
		"$proto_dir/posture/v1/posture.proto" 2>/dev/null || true
}

printf 'hello' >"$work/hello.bin"
n=$(good_scans)
tls_send rogue "$work/hello.bin" -cert "$work/rogue.crt" -key "$work/rogue.key"
check "a certificate from another CA is refused in the handshake" grep -q 'TLS handshake failed' "$work/collector.log"
check "nothing of it is stored" [ "$(sql "SELECT count(*) FROM hosts WHERE agent_id NOT IN ('good')")" = 0 ]
wait_good_past "$n" && ok "the good agent goes on after the rogue certificate" || bad "good agent after rogue" "stalled"

n=$(good_scans)
before=$(grep -c 'TLS handshake failed' "$work/collector.log")
tls_send nocert "$work/hello.bin"
check "a client without a certificate is refused" [ "$(grep -c 'TLS handshake failed' "$work/collector.log")" -gt "$before" ]
wait_good_past "$n" && ok "the good agent goes on after the certificate-less client" || bad "good agent after nocert" "stalled"

n=$(good_scans)
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >"$work/http.bin"
before=$(grep -c 'TLS handshake failed' "$work/collector.log")
timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$agent_port; cat '$work/http.bin' >&3; cat <&3 >'$work/plain.out'" || true
check "plain TCP is refused as a failed TLS handshake" [ "$(grep -c 'TLS handshake failed' "$work/collector.log")" -gt "$before" ]
check "and gets no HTTP answer" bash -c "! grep -q HTTP '$work/plain.out'"
wait_good_past "$n" && ok "the good agent goes on after plain TCP" || bad "good agent after plain TCP" "stalled"

n=$(good_scans)
printf '\x7f\xff\xff\xff' >"$work/huge.bin"
tls_send huge "$work/huge.bin" -cert "$m/agent.crt" -key "$m/agent.key"
check "an oversized length is answered with Error CODE_TOO_LARGE" grep -q 'CODE_TOO_LARGE' <(decode_error "$work/huge.out")
check "and logged with the agent's id" grep -q 'agent mallory.*larger than the limit' "$work/collector.log"
wait_good_past "$n" && ok "the good agent goes on after the oversized frame" || bad "good agent after oversized" "stalled"

n=$(good_scans)
printf '\x00\x00\x00\x10garbage-garbage!' >"$work/garbage.bin"
tls_send garbage "$work/garbage.bin" -cert "$m/agent.crt" -key "$m/agent.key"
check "garbage after the handshake is answered with Error CODE_MALFORMED" grep -q 'CODE_MALFORMED' <(decode_error "$work/garbage.out")
wait_good_past "$n" && ok "the good agent goes on after garbage" || bad "good agent after garbage" "stalled"

# A well-formed Report before Hello: the wrong state.
"$POSTURE_AGENT" scan --policy "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" --root "$work/roots/mallory" \
	--format protobuf --output "$work/report.pb" >/dev/null || true
python3 -c 'import sys,struct; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(struct.pack(">I",len(d))+d)' \
	"$work/report.pb" >"$work/report.frame"
tls_send early "$work/report.frame" -cert "$m/agent.crt" -key "$m/agent.key"
check "a Report before Hello is refused (CODE_UNEXPECTED or too large before Hello)" \
	grep -Eq 'CODE_UNEXPECTED|CODE_TOO_LARGE' <(decode_error "$work/early.out")
check "nothing of mallory is stored" [ "$(sql "SELECT count(*) FROM scans WHERE agent_id = 'mallory'")" = 0 ]

# A Heartbeat before Hello (Envelope{heartbeat{sent_at_us: 1}}, packed by hand).
printf '\x00\x00\x00\x04\x2a\x02\x08\x01' >"$work/hb.frame"
tls_send hb "$work/hb.frame" -cert "$m/agent.crt" -key "$m/agent.key"
check "a Heartbeat before Hello is answered with Error CODE_UNEXPECTED" grep -q 'CODE_UNEXPECTED' <(decode_error "$work/hb.out")
# A Hello speaking protocol version 2 (Envelope{hello{protocol_version: 2}}).
printf '\x00\x00\x00\x04\x0a\x02\x10\x02' >"$work/v2.frame"
tls_send v2 "$work/v2.frame" -cert "$m/agent.crt" -key "$m/agent.key"
check "a Hello of protocol version 2 is answered with Error CODE_VERSION" grep -q 'CODE_VERSION' <(decode_error "$work/v2.out")
check "and the message names both versions" grep -q 'protocol version 2 is not supported (this collector speaks 1)' <(decode_error "$work/v2.out")

check "the collector is still running" kill -0 "$collector_pid"
kill -TERM "$good_pid"
wait "$good_pid" || true
collector_stop || bad "collector stop" "non-zero exit"
finish
