#!/usr/bin/env bash
# test_api_hostile.sh - the API port answers hostile HTTP with a clear
# status and closes that one connection only: oversized headers and body,
# a request that never completes, an unknown method, path traversal (plain,
# percent-encoded, encoded slash, also under the dashboard's /ui/), bad
# query values, garbage, plain HTTP on the TLS port; the dashboard's pages
# carry their CSP, answer HEAD and 304; pipelined requests are answered in order.  After each
# attack a normal request still answers 200 and the agents' port still
# accepts; at the end an agent still delivers a report.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-apihostile.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

fleet_init
conf=$work/collector/collector.json
ca=$work/collector/ca.crt
# A short request timeout, so that a slow client is cut off quickly.
jq '.api.request_timeout_ms = 1000' "$conf" >"$conf.new" && mv "$conf.new" "$conf"
fleet_agent good compliant
token=$("$POSTURE_COLLECTOR" token create --config "$conf" --role iso)
[ -n "$token" ] || { echo "token create printed nothing" >&2; exit 1; }
collector_start
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null && break
	sleep 0.1
done
base=https://127.0.0.1:$api_port

# api NAME PATH [curl options...]: the status code; the body in $work/NAME.body.
api() {
	local name=$1 path=$2
	shift 2
	curl -sS --cacert "$ca" --max-time 20 -o "$work/$name.body" -w '%{http_code}' "$@" \
		"$base$path" 2>"$work/$name.curlerr" || true
}
# raw NAME: send stdin's bytes over TLS, save what comes back until the server closes.
raw() {
	timeout 20 openssl s_client -quiet -connect "127.0.0.1:$api_port" -CAfile "$ca" \
		-verify_return_error >"$work/$1.out" 2>"$work/$1.err" || true
}
# status_lines FILE: the status codes of every response in FILE, one a line.
# (Not anchored: a body without a final newline runs into the next status line.)
status_lines() { grep -a -o 'HTTP/1\.1 [0-9][0-9][0-9] ' "$1" | cut -d' ' -f2 || true; }
first_status() { status_lines "$1" | head -n 1; }
is_one_of() {
	local got=$1
	shift
	for want in "$@"; do [ "$got" = "$want" ] && return 0; done
	return 1
}
# After each attack: the API and the agents' port still serve.
still_serving() {
	local what=$1 code
	code=$(api after "/api/v1/summary" -H "Authorization: Bearer $token")
	if [ "$code" = 200 ] && jq -e . "$work/after.body" >/dev/null 2>&1; then
		ok "after $what: GET /api/v1/summary answers 200 JSON"
	else
		bad "after $what" "GET /api/v1/summary answered $code"
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$agent_port") 2>/dev/null; then
		ok "after $what: the agents' port accepts"
	else
		bad "after $what" "the agents' port refused a connection"
	fi
}
auth=(-H "Authorization: Bearer $token")
crlf() { printf '%s\r\n' "$@"; }

# --- the baseline ---------------------------------------------------------------
code=$(api ok "/api/v1/summary" "${auth[@]}")
check "GET /api/v1/summary with a token answers 200" [ "$code" = 200 ]
check "its body is JSON" jq -e . "$work/ok.body"
code=$(api noauth "/api/v1/summary")
check "without a token: 401" [ "$code" = 401 ]
code=$(api badauth "/api/v1/summary" -H "Authorization: Bearer not-a-real-token")
check "with a wrong token: 401" [ "$code" = 401 ]
curl -sS --cacert "$ca" -D "$work/headers.txt" -o /dev/null "${auth[@]}" "$base/api/v1/summary" || true
check "responses carry X-Content-Type-Options: nosniff" grep -qi '^X-Content-Type-Options: nosniff' "$work/headers.txt"
check "responses carry Referrer-Policy: no-referrer" grep -qi '^Referrer-Policy: no-referrer' "$work/headers.txt"
check "API JSON is not cached" grep -qi '^Cache-Control: no-store' "$work/headers.txt"

# --- oversized headers: 431 -------------------------------------------------------
big=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(api bighdr "/api/v1/summary" "${auth[@]}" -H "X-Big: $big")
check "headers over the limit: 431" [ "$code" = 431 ]
check "the 431 says why, as JSON" jq -e '.error.code and .error.message' "$work/bighdr.body"
still_serving "oversized headers"

# --- oversized body: 413 ----------------------------------------------------------
head -c $((2 * 1024 * 1024)) /dev/zero >"$work/big.bin"
code=$(api bigbody "/api/v1/summary" "${auth[@]}" -H 'Content-Type: application/json' \
	--data-binary @"$work/big.bin")
check "a body over the limit: 413" [ "$code" = 413 ]
crlf "POST /api/v1/summary HTTP/1.1" "Host: x" "Authorization: Bearer $token" \
	"Content-Length: 99999999999" "" | raw bigdecl
check "a declared length over the limit is refused before the body: 413" \
	[ "$(first_status "$work/bigdecl.out")" = 413 ]
still_serving "oversized body"

# --- a request that never completes: 408, or closed ------------------------------
{ crlf "GET /api/v1/summary HTTP/1.1" "Host: x"; sleep 4; } | raw slow
s=$(first_status "$work/slow.out")
if [ "$s" = 408 ] || [ ! -s "$work/slow.out" ]; then
	ok "half a request, then silence: ${s:-closed}"
else
	bad "slow request" "answered '${s}' instead of 408 or a close"
fi
check "the slow request was not handled as a request" [ "$s" != 200 ]
still_serving "a slow request"

# --- bad methods ------------------------------------------------------------------
crlf "BREW /api/v1/summary HTTP/1.1" "Host: x" "Authorization: Bearer $token" "" | raw brew
s=$(first_status "$work/brew.out")
if is_one_of "$s" 400 405 501; then ok "BREW: $s"; else bad "BREW" "answered '$s'"; fi
code=$(api delete "/api/v1/summary" "${auth[@]}" -X DELETE)
if is_one_of "$code" 400 404 405 501; then ok "DELETE on a read-only resource: $code"; else
	bad "DELETE /api/v1/summary" "answered $code"; fi
crlf "GET /api/v1/summary HTTP/2.0" "Host: x" "" | raw http2
s=$(first_status "$work/http2.out")
if is_one_of "$s" 400 505; then ok "HTTP/2.0 in a request line: $s"; else bad "HTTP/2.0" "answered '$s'"; fi
still_serving "bad methods"

# --- path traversal: 400 or 404, never a file ------------------------------------
for p in "/api/v1/../../etc/passwd" "/api/v1/%2e%2e/%2e%2e/etc/passwd" \
	"/api/v1/..%2f..%2fetc%2fpasswd" "/api/v1/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd" \
	"/../../../../etc/passwd" "//etc/passwd" "/api/v1/./summary" "/api/v1/summary%00.json" \
	"/%c0%ae%c0%ae/etc/passwd"; do
	code=$(api trav "$p" "${auth[@]}" --path-as-is)
	if is_one_of "$code" 400 404 && ! grep -q 'root:' "$work/trav.body"; then
		ok "traversal $p: $code"
	else
		bad "traversal $p" "answered $code: $(head -c 200 "$work/trav.body")"
	fi
done
still_serving "path traversal"

# --- the dashboard's pages: no token, strict headers, no way out of /ui/ -----------
for p in "/ui/../../etc/passwd" "/ui/%2e%2e/%2e%2e/etc/passwd" "/ui/..%2f..%2fetc%2fpasswd" \
	"/ui/%2E%2E/collector.key" "/ui/./index.html" "/ui/app.js%00.html" "/ui//etc/passwd" \
	"/ui/nope.js" "/ui/web/app.js" "/ui/index.html/" "/ui/../api/v1/summary"; do
	code=$(api uitrav "$p" --path-as-is)
	if is_one_of "$code" 400 404 && ! grep -q -e 'root:' -e 'PRIVATE KEY' -e '"score"' "$work/uitrav.body"; then
		ok "dashboard $p: $code"
	else
		bad "dashboard $p" "answered $code: $(head -c 200 "$work/uitrav.body")"
	fi
done
curl -sS --cacert "$ca" -D "$work/ui.h" -o "$work/ui.body" "$base/ui/" || true
check "GET /ui/ without a token: 200 HTML" grep -qi '^HTTP/1.1 200' "$work/ui.h"
check "GET /ui/: text/html with a charset" grep -qi '^Content-Type: text/html; charset=utf-8' "$work/ui.h"
check "GET /ui/: the strict Content-Security-Policy" grep -qiF "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" "$work/ui.h"
check "GET /ui/: nosniff" grep -qi '^X-Content-Type-Options: nosniff' "$work/ui.h"
check "GET /ui/: revalidated (Cache-Control: no-cache)" grep -qi '^Cache-Control: no-cache' "$work/ui.h"
etag=$(grep -i '^ETag:' "$work/ui.h" | cut -d' ' -f2 | tr -d '\r')
check "GET /ui/: an ETag ($etag)" [ -n "$etag" ]
check "GET /ui/: the page loads its script from the same origin" grep -q 'src="app.js"' "$work/ui.body"
code=$(api ui304 "/ui/" -H "If-None-Match: $etag")
check "If-None-Match with the ETag: 304 ($code)" [ "$code" = 304 ]
check "304 has no body" [ ! -s "$work/ui304.body" ]
code=$(api ui200 "/ui/" -H 'If-None-Match: "stale"')
check "If-None-Match with another tag: 200 ($code)" [ "$code" = 200 ]
curl -sS --cacert "$ca" -I -o "$work/uihead.h" "$base/ui/app.js" || true
check "HEAD /ui/app.js: 200" grep -qi '^HTTP/1.1 200' "$work/uihead.h"
check "HEAD /ui/app.js: text/javascript" grep -qi '^Content-Type: text/javascript; charset=utf-8' "$work/uihead.h"
len=$(curl -sS --cacert "$ca" "$base/ui/app.js" | wc -c)
check "HEAD /ui/app.js: the GET's Content-Length ($len)" grep -qi "^Content-Length: $len" "$work/uihead.h"
curl -sS --cacert "$ca" -D "$work/root.h" -o /dev/null "$base/" || true
check "GET / redirects to /ui/" grep -qi '^Location: /ui/' "$work/root.h"
code=$(api uipost "/ui/" -X POST -d x)
check "POST /ui/: 405 ($code)" [ "$code" = 405 ]
curl -sS --cacert "$ca" -D "$work/api.h" -o /dev/null "${auth[@]}" "$base/api/v1/summary" || true
check "API JSON carries a deny-all CSP" grep -qiF "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'" "$work/api.h"
check "API JSON carries X-Frame-Options: DENY" grep -qi '^X-Frame-Options: DENY' "$work/api.h"
still_serving "dashboard requests"

# --- invalid query values: 400 ---------------------------------------------------
for q in "/api/v1/violations?limit=-1" "/api/v1/violations?limit=abc" \
	"/api/v1/violations?limit=99999999999999999999" "/api/v1/trend?days=99999" \
	"/api/v1/trend?days=-3" "/api/v1/violations?limit=%zz"; do
	code=$(api query "$q" "${auth[@]}")
	if [ "$code" = 400 ] && jq -e '.error.message' "$work/query.body" >/dev/null 2>&1; then
		ok "query $q: 400 with a message"
	else
		bad "query $q" "answered $code: $(head -c 200 "$work/query.body")"
	fi
done
still_serving "invalid query values"

# --- pipelined requests in one write: answered in order --------------------------
{
	crlf "GET /api/v1/summary HTTP/1.1" "Host: x" "Authorization: Bearer $token" ""
	crlf "GET /api/v1/no-such-thing HTTP/1.1" "Host: x" "Authorization: Bearer $token" ""
	crlf "GET /api/v1/summary HTTP/1.1" "Host: x" "Authorization: Bearer $token" \
		"Connection: close" ""
} | raw pipe
check "three pipelined requests: 200, 404, 200 in that order" \
	[ "$(status_lines "$work/pipe.out" | tr '\n' ' ')" = "200 404 200 " ]
still_serving "pipelined requests"

# --- garbage over TLS: 400 ---------------------------------------------------------
printf 'hello, is this the API?\r\n\r\n' | raw garbage
check "not HTTP at all: 400" [ "$(first_status "$work/garbage.out")" = 400 ]
head -c 4096 /dev/urandom | raw random
s=$(first_status "$work/random.out")
if [ -z "$s" ] || [ "$s" = 400 ]; then ok "random bytes: ${s:-closed}"; else bad "random bytes" "answered $s"; fi
still_serving "garbage"

# --- plain HTTP on the TLS port: a TLS failure, then the end ---------------------
if exec 3<>"/dev/tcp/127.0.0.1/$api_port"; then
	# In a subshell: the collector may have closed already, and SIGPIPE must not end the test.
	(crlf "GET /api/v1/summary HTTP/1.1" "Host: x" "" >&3) 2>/dev/null || true
	timeout 10 cat <&3 >"$work/plain.out" 2>/dev/null || true
	exec 3<&-
	if grep -aq 'HTTP/' "$work/plain.out"; then
		bad "plain HTTP on the TLS port" "answered in HTTP"
	else
		ok "plain HTTP on the TLS port: no HTTP answer, connection closed"
	fi
fi
if curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$api_port/api/v1/summary" 2>/dev/null; then
	bad "curl over plain HTTP" "succeeded"
else
	ok "curl over plain HTTP fails"
fi
still_serving "plain HTTP"

# --- the agents are unharmed -------------------------------------------------------
if timeout 60 "$POSTURE_AGENT" run --config "$(agent_conf good)" --once 2>"$work/good.log"; then
	ok "an agent still delivers a report"
else
	bad "agent run --once" "$(tail -n 5 "$work/good.log")"
fi
check "its report is stored" [ "$(sql "SELECT count(*) FROM scans WHERE agent_id = 'good'")" -ge 1 ]

collector_stop && ok "the collector stops cleanly" || bad "collector stop" "non-zero exit"
finish
