#!/usr/bin/env bash
# test_api_auth.sh - the authorization matrix of the HTTPS API: every route
# against no token, a malformed one, an unknown one, a revoked one, an
# expired one, and a token of each role, each answering exactly 200/201/204,
# 401 or 403 as specified (docs/openapi.yaml).  Then the answers around
# routes: 404, 405 with Allow, 400 for unknown, repeated or invalid query
# parameters, WWW-Authenticate on 401, and /metrics without a token from an
# address in api.metrics_allow.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-auth.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

fleet_init
fleet_agent web-1 deviant-ssh
collector_start
api_wait
"$POSTURE_AGENT" run --once --config "$(agent_conf web-1)" 2>"$work/web-1.log"

admin=$(sed -n 's/^  \(pst_[A-Za-z0-9_-]*\)$/\1/p' "$work/init.out")
check "init printed the first admin token" [ -n "$admin" ]
iso=$(api_token iso --name iso)
auditor=$(api_token auditor --name auditor)
enroll=$(api_token enroll --name enroll --uses 100)
revoked=$(api_token iso --name revoked)
expired=$(api_token iso --name expired --expires-in 1)
rid=$("$POSTURE_COLLECTOR" token list --config "$work/collector/collector.json" | jq '.tokens[] | select(.name == "revoked") | .id')
"$POSTURE_COLLECTOR" token revoke --config "$work/collector/collector.json" --id "$rid" 2>/dev/null
check "token list never shows a token's text" \
	[ "$("$POSTURE_COLLECTOR" token list --config "$work/collector/collector.json" | grep -c 'pst_' || true)" = 0 ]
check "the store holds hashes, not tokens" \
	[ "$(sqlite3 "$db" .dump | grep -c "$iso" || true)" = 0 ]
sleep 1.2 # let the expired token expire
malformed="not-a-token"
unknown="pst_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' | cut -c1-42)A"

# status METHOD PATH TOKEN [BODY]
status() {
	local args=(-X "$1")
	[ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data "$4")
	api "$2" "$3" "${args[@]}" >/dev/null
	echo "$api_status"
}

# route: method, path, body, then the expected status for:
#   none malformed unknown revoked expired iso auditor admin enroll
matrix=(
	"GET /api/v1/health - 200 200 200 200 200 200 200 200 200"
	"GET /api/v1/summary - 401 401 401 401 401 200 200 200 403"
	"GET /api/v1/hosts - 401 401 401 401 401 200 200 200 403"
	"GET /api/v1/hosts/web-1 - 401 401 401 401 401 200 200 200 403"
	"GET /api/v1/hosts/web-1/results - 401 401 401 401 401 200 200 200 403"
	"GET /api/v1/violations - 401 401 401 401 401 200 200 200 403"
	"GET /api/v1/controls - 401 401 401 401 401 200 200 200 403"
	"GET /api/v1/trend - 401 401 401 401 401 200 200 200 403"
	"GET /metrics - 401 401 401 401 401 200 200 200 403"
	"GET /api/v1/tokens - 401 401 401 401 401 403 403 200 403"
	"POST /api/v1/tokens {\"role\":\"iso\",\"name\":\"made\"} 401 401 401 401 401 403 403 201 403"
	"POST /api/v1/enroll {} 401 401 401 403 403 403 403 403 400"
)
names=(none malformed unknown revoked expired iso auditor admin enroll)
tokens=("" "$malformed" "$unknown" "$revoked" "$expired" "$iso" "$auditor" "$admin" "$enroll")
for row in "${matrix[@]}"; do
	read -r method path body want <<<"$row"
	read -ra want <<<"$want"
	[ "$body" = - ] && body=
	got=()
	for i in "${!names[@]}"; do
		got+=("$(status "$method" "$path" "${tokens[$i]}" "$body")")
	done
	check "$method $path: ${names[*]} -> ${got[*]}" [ "${got[*]}" = "${want[*]}" ]
done

# A token made by the admin through the API works, and revoked through the API stops.
api /api/v1/tokens "$admin" -X POST -H 'Content-Type: application/json' \
	--data '{"role": "auditor", "name": "via api"}' >"$work/made.json"
made=$(jq -r '.token' "$work/made.json")
check "POST /api/v1/tokens answers the token once (201)" [ "$api_status" = 201 ]
api /api/v1/summary "$made" >/dev/null
check "the new token reads" [ "$api_status" = 200 ]
api "/api/v1/tokens/$(jq '.id' "$work/made.json")" "$admin" -X DELETE >/dev/null
check "DELETE /api/v1/tokens/ID answers 204" [ "$api_status" = 204 ]
api /api/v1/summary "$made" >/dev/null
check "the revoked token is refused" [ "$api_status" = 401 ]
api "/api/v1/tokens/999999" "$admin" -X DELETE >/dev/null
check "revoking an unknown token is 404" [ "$api_status" = 404 ]
api "/api/v1/tokens/1" "$iso" -X DELETE >/dev/null
check "an iso token may not revoke (403)" [ "$api_status" = 403 ]

# 401 says how to authenticate.
curl -sS -D "$work/h401" -o /dev/null --cacert "$work/collector/ca.crt" "https://127.0.0.1:$api_port/api/v1/summary"
check "401 carries WWW-Authenticate: Bearer" grep -qi '^www-authenticate: Bearer' "$work/h401"
api /api/v1/summary "$unknown" >"$work/e401.json"
check "401 for an unknown token says what to do" \
	[ "$(jq -r '.error.code' "$work/e401.json")" = unauthenticated ]

# Around the routes.
api /api/v1/nosuch "$iso" >"$work/e404.json"
check "unknown route: 404 not_found" [ "$api_status $(jq -r '.error.code' "$work/e404.json")" = "404 not_found" ]
curl -sS -D "$work/h405" -o /dev/null --cacert "$work/collector/ca.crt" -X POST \
	-H "Authorization: Bearer $iso" "https://127.0.0.1:$api_port/api/v1/summary"
check "POST on a GET route: 405 with Allow: GET" \
	grep -qi '^allow: GET' "$work/h405"
api "/api/v1/hosts?colour=blue" "$iso" >"$work/e400.json"
check "unknown query parameter: 400 naming it" \
	[ "$api_status $(jq -r '.error.message | test("colour")' "$work/e400.json")" = "400 true" ]
api "/api/v1/hosts?limit=1&limit=2" "$iso" >/dev/null
check "repeated query parameter: 400" [ "$api_status" = 400 ]
for q in "limit=0" "limit=1001" "limit=abc" "limit=-1" "stale=maybe" "cursor=%%%"; do
	api "/api/v1/hosts?$q" "$iso" >/dev/null
	check "hosts?$q: 400" [ "$api_status" = 400 ]
done
for q in "days=0" "days=99999" "days=1e3"; do
	api "/api/v1/trend?$q" "$iso" >/dev/null
	check "trend?$q: 400" [ "$api_status" = 400 ]
done
for q in "status=closed" "severity=urgent" "since=yesterday"; do
	api "/api/v1/violations?$q" "$iso" >/dev/null
	check "violations?$q: 400" [ "$api_status" = 400 ]
done
api "/api/v1/hosts?cursor=bm90LWEtY3Vyc29y" "$iso" >/dev/null
check "a cursor we never gave: 400" [ "$api_status" = 400 ]

# /metrics from an allowed address needs no token.
collector_stop
jq '.api = {"metrics_allow": ["127.0.0.1"]}' "$work/collector/collector.json" >"$work/c.json"
mv "$work/c.json" "$work/collector/collector.json"
collector_start
api_wait
api /metrics "" >"$work/m.txt"
check "/metrics from 127.0.0.1 in metrics_allow: 200 without a token" [ "$api_status" = 200 ]
check "... in the Prometheus text format" grep -q '^# TYPE posture_hosts gauge' "$work/m.txt"
api /api/v1/summary "" >/dev/null
check "... while the JSON API still needs one (401)" [ "$api_status" = 401 ]
check "no token appears in the collector's log" \
	[ "$(grep -c -e "$iso" -e "$admin" -e "$auditor" -e "$enroll" "$work/collector.log" || true)" = 0 ]

collector_stop || bad "collector stop" "non-zero exit"
finish
