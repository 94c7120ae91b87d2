#!/usr/bin/env bash
# test_collector_pki.sh - `posture-collector init` and `issue-agent`, judged
# by the openssl command line rather than by our own code: the chain
# verifies, the names and usages are right, the files have their modes,
# keys match certificates, the evidence key signs, and a real mutual TLS
# handshake between openssl s_server (as the collector) and s_client (as
# the agent) succeeds on 127.0.0.1 - and fails for a stranger's certificate
# or a wrong host name.  Also the command line's usage errors.
set -euo pipefail
: "${POSTURE_COLLECTOR:?set POSTURE_COLLECTOR to the posture-collector binary}"
command -v openssl >/dev/null || { echo "openssl not found"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-pki.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { # check NAME COMMAND...: the command succeeds
	local name=$1
	shift
	if "$@" >"$work/check.out" 2>&1; then ok "$name"; else bad "$name: $(head -c 400 "$work/check.out")"; fi
}

# expect NAME WANT_STATUS STDERR_SUBSTRING -- ARGS...
expect() {
	local name=$1 want=$2 msg=$3 rc=0
	shift 4
	"$POSTURE_COLLECTOR" "$@" >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name: exit $rc, want $want; stderr: $(head -c 300 "$work/err")"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$work/err"; then
		bad "$name: stderr lacks \"$msg\": $(head -c 300 "$work/err")"
	else
		ok "$name"
	fi
}

port=$((20000 + RANDOM % 20000))
c="$work/etc/posture"
a="$work/agent"

# --- the command line -------------------------------------------------------
expect "no command" 2 "usage:" --
expect "unknown command" 2 'unknown command "frobnicate"' -- frobnicate
expect "help" 0 "" -- --help
grep -q "issue-agent" "$work/out" && ok "help lists issue-agent" || bad "help lists issue-agent"
expect "version" 0 "" -- --version
expect "init without --dir" 2 "--dir DIR is required" -- init
expect "init unknown option" 2 'unknown option "--colour"' -- init --dir "$c" --colour
expect "init stray argument" 2 'unexpected argument "x"' -- init --dir "$c" x
expect "init bad listen" 2 'expected HOST:PORT' -- init --dir "$c" --agent-listen 127.0.0.1
[ ! -e "$c" ] && ok "a refused init leaves no directory" || bad "a refused init leaves no directory"
expect "init --help" 0 "" -- init --help

# --- init -------------------------------------------------------------------
expect "init" 0 "" -- init --dir "$c" --agent-listen "127.0.0.1:$port" \
	--api-listen 127.0.0.1:8443 --collector-id e2e-collector
cp "$work/out" "$work/init.out"
for f in ca.crt ca.key collector.crt collector.key evidence.key evidence.pub collector.json; do
	[ -f "$c/$f" ] || bad "init wrote $f"
done
modes=$(cd "$c" && stat -c '%n %a' . ca.key ca.crt collector.key collector.crt evidence.key evidence.pub collector.json | tr '\n' ' ')
[ "$modes" = ". 700 ca.key 600 ca.crt 644 collector.key 600 collector.crt 644 evidence.key 600 evidence.pub 644 collector.json 644 " ] &&
	ok "init modes" || bad "init modes: $modes"
fp=$(openssl x509 -in "$c/ca.crt" -noout -fingerprint -sha256 | sed 's/^.*=//')
grep -qF "$fp" "$work/init.out" && ok "init prints the CA fingerprint openssl computes" ||
	bad "fingerprint: openssl says $fp; init said $(cat "$work/init.out")"

before=$(cat "$c"/*.crt "$c"/*.key | sha256sum)
expect "init twice" 2 "already holds ca.key" -- init --dir "$c"
[ "$before" = "$(cat "$c"/*.crt "$c"/*.key | sha256sum)" ] && ok "init twice changes nothing" ||
	bad "init twice changed files"

# --- issue-agent ---------------------------------------------------------------
expect "issue-agent bad id" 2 'agent id "-rf"' -- issue-agent --dir "$c" --agent-id -rf --out "$a"
expect "issue-agent --dir and --config" 2 "not both" -- issue-agent --dir "$c" \
	--config "$c/collector.json" --agent-id x --out "$a"
expect "issue-agent without --out" 2 "--out OUT is required" -- issue-agent --dir "$c" --agent-id x
expect "issue-agent missing config" 2 "$work/none/collector.json" -- issue-agent --dir "$work/none" \
	--agent-id x --out "$a"
[ ! -e "$a" ] && ok "refused issue-agent leaves no directory" || bad "refused issue-agent leaves no directory"
expect "issue-agent" 0 "" -- issue-agent --config "$c/collector.json" --agent-id web-01 --out "$a"
modes=$(cd "$a" && stat -c '%n %a' . agent.key agent.crt ca.crt agent.json | tr '\n' ' ')
[ "$modes" = ". 700 agent.key 600 agent.crt 644 ca.crt 644 agent.json 644 " ] &&
	ok "issue-agent modes" || bad "issue-agent modes: $modes"
expect "issue-agent twice" 2 "agent.key already exists" -- issue-agent --dir "$c" --agent-id web-02 --out "$a"
cmp -s "$c/ca.crt" "$a/ca.crt" && ok "agent's ca.crt is the CA" || bad "agent's ca.crt differs"

# --- the certificates, as openssl sees them ------------------------------------
check "openssl verify" openssl verify -CAfile "$c/ca.crt" "$c/collector.crt" "$a/agent.crt"
check "collector cert for TLS servers" openssl verify -purpose sslserver -CAfile "$c/ca.crt" "$c/collector.crt"
check "agent cert for TLS clients" openssl verify -purpose sslclient -CAfile "$c/ca.crt" "$a/agent.crt"
if openssl verify -purpose sslserver -CAfile "$c/ca.crt" "$a/agent.crt" >/dev/null 2>&1; then
	bad "agent cert must not serve"
else
	ok "agent cert cannot act as a server"
fi
san=$(openssl x509 -in "$c/collector.crt" -noout -ext subjectAltName)
grep -q "IP Address:127.0.0.1" <<<"$san" && grep -q "DNS:localhost" <<<"$san" &&
	ok "collector SAN: $(tail -1 <<<"$san" | sed 's/^ *//')" || bad "collector SAN: $san"
bc=$(openssl x509 -in "$c/ca.crt" -noout -ext basicConstraints,keyUsage)
grep -q "critical" <<<"$bc" && grep -q "CA:TRUE, pathlen:0" <<<"$bc" && grep -q "Certificate Sign, CRL Sign" <<<"$bc" &&
	ok "CA constraints" || bad "CA constraints: $bc"
subj=$(openssl x509 -in "$a/agent.crt" -noout -subject -nameopt RFC2253)
[ "$subj" = "subject=CN=web-01" ] && ok "agent subject" || bad "agent subject: $subj"
subj=$(openssl x509 -in "$c/ca.crt" -noout -subject -nameopt RFC2253)
[ "$subj" = "subject=CN=posture CA e2e-collector" ] && ok "CA subject" || bad "CA subject: $subj"
eku=$(openssl x509 -in "$a/agent.crt" -noout -ext extendedKeyUsage | tail -1 | sed 's/^ *//')
[ "$eku" = "TLS Web Client Authentication" ] && ok "agent EKU" || bad "agent EKU: $eku"
for pair in "$c/ca" "$c/collector" "$a/agent"; do
	key=$pair.key
	[ -f "$key" ] || key=$(dirname "$pair")/agent.key
	if [ "$(openssl pkey -in "$key" -pubout)" = "$(openssl x509 -in "$pair.crt" -noout -pubkey)" ]; then
		ok "$(basename "$pair").key matches its certificate"
	else
		bad "$(basename "$pair").key does not match its certificate"
	fi
done
check "evidence.key is Ed25519" grep -q "ED25519" <(openssl pkey -in "$c/evidence.key" -noout -text)
printf 'snapshot' >"$work/msg"
check "evidence.key signs" openssl pkeyutl -sign -rawin -inkey "$c/evidence.key" -in "$work/msg" -out "$work/sig"
check "evidence.pub verifies" openssl pkeyutl -verify -rawin -pubin -inkey "$c/evidence.pub" \
	-in "$work/msg" -sigfile "$work/sig"

# --- agent.json -------------------------------------------------------------------
grep -q "\"collector\": \"127.0.0.1:$port\"" "$a/agent.json" && grep -q '"server_name": "127.0.0.1"' "$a/agent.json" &&
	ok "agent.json reaches 127.0.0.1:$port" || bad "agent.json: $(cat "$a/agent.json")"

# --- a real mutual TLS handshake ------------------------------------------------
# start_server: openssl s_server as the collector, answering each line reversed.
start_server() {
	local tries
	for tries in 1 2 3 4 5; do
		: >"$work/srv.log"
		timeout 60 openssl s_server -rev -naccept 1 -accept "127.0.0.1:$port" -cert "$c/collector.crt" \
			-key "$c/collector.key" -CAfile "$c/ca.crt" -Verify 1 -verify_return_error \
			</dev/null >"$work/srv.log" 2>&1 &
		server_pid=$!
		for _ in $(seq 100); do
			grep -q ACCEPT "$work/srv.log" && return 0
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
		port=$((20000 + RANDOM % 20000))
	done
	echo "s_server did not start: $(cat "$work/srv.log")"
	return 1
}
# client CERT KEY VERIFY_OPTION...: one line through s_client; prints its log.
client() {
	local cert=$1 key=$2
	shift 2
	(echo posture-hello; sleep 1) | timeout 20 openssl s_client -connect "127.0.0.1:$port" \
		-cert "$cert" -key "$key" -CAfile "$a/ca.crt" -verify_return_error "$@" 2>&1
}

# agent.json names the port given to init; s_server takes the next free one
# if that is busy, which changes nothing about the certificates under test.
start_server
if client "$a/agent.crt" "$a/agent.key" -verify_ip 127.0.0.1 >"$work/cli.log" &&
	grep -q "olleh-erutsop" "$work/cli.log" && grep -q "Verify return code: 0 (ok)" "$work/cli.log"; then
	ok "mutual TLS handshake, server verified as 127.0.0.1 ($(grep -m1 -o 'TLSv1\.[23]' "$work/cli.log"))"
else
	bad "mutual TLS handshake: $(tail -5 "$work/cli.log")"
fi
wait "$server_pid" 2>/dev/null || true
server_pid=
grep -q "CN = web-01\|CN=web-01" "$work/srv.log" && ok "server saw the agent's certificate" ||
	bad "server log lacks the agent: $(head -5 "$work/srv.log")"

start_server
if client "$a/agent.crt" "$a/agent.key" -verify_hostname localhost >"$work/cli.log" &&
	grep -q "olleh-erutsop" "$work/cli.log"; then
	ok "handshake with server name localhost"
else
	bad "handshake with localhost: $(tail -5 "$work/cli.log")"
fi
wait "$server_pid" 2>/dev/null || true
server_pid=

# A name the collector certificate lacks is refused by the agent side.
start_server
if client "$a/agent.crt" "$a/agent.key" -verify_hostname wrong.example >"$work/cli.log"; then
	bad "a wrong server name was accepted"
elif grep -q "hostname mismatch" "$work/cli.log"; then
	ok "a wrong server name is refused"
else
	bad "wrong server name: $(tail -3 "$work/cli.log")"
fi
wait "$server_pid" 2>/dev/null || true
server_pid=

# An agent certificate from another deployment is refused by the collector side.
"$POSTURE_COLLECTOR" init --dir "$work/other" --agent-listen 127.0.0.1:7443 >/dev/null
"$POSTURE_COLLECTOR" issue-agent --dir "$work/other" --agent-id web-01 --out "$work/stranger" >/dev/null
start_server
if client "$work/stranger/agent.crt" "$work/stranger/agent.key" -verify_ip 127.0.0.1 >"$work/cli.log" &&
	grep -q "olleh-erutsop" "$work/cli.log"; then
	bad "a stranger's agent certificate was accepted"
else
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	if grep -q "unable to get local issuer certificate" "$work/srv.log"; then
		ok "a stranger's agent certificate is refused by the collector side"
	else
		bad "stranger refused for another reason: $(head -c 400 "$work/srv.log")"
	fi
fi
if [ -n "$server_pid" ]; then
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
