#!/usr/bin/env bash
# test_posturectl.sh - posturectl against a real collector: two agents on
# fixture roots report, then every command in every output format is run
# and its content compared with the API's own JSON read with curl and jq
# (json must equal the API's document, CSV and table rows must be its
# rows).  Then the ways it must say no: a revoked token and a wrong role
# (exit 1 with the server's message), an unknown host (404, exit 1), no
# collector at the URL (exit 2), a CA that did not sign the collector (TLS
# error, exit 2, no request reaches the collector), a config file that
# holds a token others can read (exit 2), and the order flags > env >
# config.  The token is never printed.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-ctl.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT
: "${POSTURECTL:=${POSTURE_BUILD_DIR:?set POSTURECTL or POSTURE_BUILD_DIR}/posturectl}"

fleet_init
fleet_agent web-1 compliant
fleet_agent web-2 deviant-ssh
# A host name that a spreadsheet would run as a formula, with a comma and quotes.
printf '=HYPERLINK("http://x.invalid/a-path-long-enough-to-be-cut","y")\n' >"$work/roots/web-2/etc/hostname"
collector_start
api_wait
for id in web-1 web-2; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>"$work/$id.log" ||
		bad "$id: run --once" "$(tail -n 3 "$work/$id.log")"
done
iso=$(api_token iso --name "ctl iso")
url="https://127.0.0.1:$api_port"
export POSTURE_URL=$url POSTURE_TOKEN=$iso
unset HOME_CONFIG
export HOME="$work/home"
mkdir -p "$HOME"

# ctl ARGS...: run posturectl; stdout in $work/out, stderr in $work/err, status in $rc.
ctl() {
	rc=0
	"$POSTURECTL" --cacert "$work/collector/ca.crt" "$@" >"$work/out" 2>"$work/err" || rc=$?
	cat "$work/out" "$work/err" >>"$work/all-output"
}
# csv_rows: data rows of $work/out (RFC 4180 records; fields may hold CRLF inside quotes).
csv_rows() { python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); print(len(r)-1)' "$work/out"; }
csv_col() { python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); i=r[0].index(sys.argv[2]); print("\n".join(x[i] for x in r[1:]))' "$work/out" "$1"; }
same_json() { [ "$(jq -S "${2:-.}" "$work/out")" = "$(jq -S "${2:-.}" "$1")" ]; }

# --- summary ---
api /api/v1/summary "$iso" >"$work/summary.json"
ctl summary --format json
check "summary json: exit 0 ($rc)" [ "$rc" = 0 ]
check "summary json: the API's document (but generated_at)" same_json "$work/summary.json" 'del(.generated_at)'
ctl --format csv summary
check "summary csv: header" [ "$(head -n 1 "$work/out")" = $'SCOPE,NAME,SCORE,PASS,FAIL,COUNT\r' ]
fleet_row=$(jq -r '"fleet,all,\(.score * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end),\(.pass),\(.fail),"' "$work/summary.json")
check "summary csv: the fleet row ($fleet_row)" grep -qxF "$fleet_row"$'\r' "$work/out"
want=$(jq '1 + (.categories | length) + (.severities | length) + (.policies // [] | length) + 2 + (.hosts | length) + 1 + (.violations.open_by_severity | length) + (.violations.open_by_age | length)' "$work/summary.json")
check "summary csv: one row per score and count ($want)" [ "$(csv_rows)" = "$want" ]
ctl summary
for cat in $(jq -r '.categories | keys[]' "$work/summary.json"); do
	p=$(jq --arg c "$cat" '.categories[$c].pass' "$work/summary.json")
	check "summary table: category $cat with pass $p" grep -Eq "^category +$cat +[0-9.-]+ +$p " "$work/out"
done
check "summary table: open violations" grep -Eq "^violations +open .* $(jq '.violations.open' "$work/summary.json")\$" "$work/out"

# --- hosts ---
api /api/v1/hosts "$iso" >"$work/hosts.json"
ctl hosts --format json
check "hosts json: byte for byte the API's answer" cmp -s "$work/out" <(cat "$work/hosts.json"; echo)
ctl hosts --format csv
check "hosts csv: one row per host ($(jq '.hosts | length' "$work/hosts.json"))" [ "$(csv_rows)" = "$(jq '.hosts | length' "$work/hosts.json")" ]
check "hosts csv: the ids, in order" [ "$(csv_col ID | xargs)" = "$(jq -r '[.hosts[].id] | join(" ")' "$work/hosts.json")" ]
check "hosts csv: scores with one decimal" [ "$(csv_col SCORE | xargs)" = "$(jq -r '[.hosts[].score | if . == null then "" else (. * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end) end] | join(" ")' "$work/hosts.json")" ]
check "hosts csv: the formula-like host name is quoted and starts with '" \
	grep -qF "\"'=HYPERLINK(\"\"http://x.invalid/a-path-long-enough-to-be-cut\"\",\"\"y\"\")\"" "$work/out"
check "hosts csv: a spreadsheet reads it back as text" [ "$(csv_col HOSTNAME | grep HYPER)" = "'=HYPERLINK(\"http://x.invalid/a-path-long-enough-to-be-cut\",\"y\")" ]
check "hosts csv: CRLF line ends" [ "$(grep -c $'\r$' "$work/out")" = "$(wc -l <"$work/out")" ]
ctl hosts
check "hosts table: a header, then one line per host" [ "$(wc -l <"$work/out")" = 3 ]
for id in web-1 web-2; do
	s=$(jq -r --arg h "$id" '.hosts[] | select(.id == $h) | .score * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end' "$work/hosts.json")
	check "hosts table: $id with score $s" grep -Eq "^$id .* $s +[0-9]+ " "$work/out"
done
hdr=$(head -n 1 "$work/out")
col=$(awk -v h="$hdr" 'BEGIN { print index(h, "SCORE") + length("SCORE") }')
check "hosts table: scores right-aligned under SCORE" \
	bash -c "tail -n +2 '$work/out' | cut -c$((col - 1)) | grep -qvx '[0-9]' && exit 1 || exit 0"
check "hosts table: the long host name cut to the cap and marked" grep -q 'HYPERLINK.*~' "$work/out"
ctl hosts --failing --format json
check "hosts --failing: only web-2" [ "$(jq -r '[.hosts[].id] | join(" ")' "$work/out")" = web-2 ]
ctl hosts --search web-1 --format csv
check "hosts --search web-1: one row" [ "$(csv_col ID)" = web-1 ]
ctl hosts --os debian --format csv
check "hosts --os debian: both ($(csv_col ID | xargs))" [ "$(csv_col ID | xargs)" = "web-1 web-2" ]
ctl hosts --stale --format csv
check "hosts --stale: none yet, a header alone" [ "$rc $(csv_rows)" = "0 0" ]
ctl hosts --limit 1 --format json
check "hosts --limit 1: one host and a cursor" [ "$(jq -r '"\(.hosts | length) \(.next_cursor != null)"' "$work/out")" = "1 true" ]
ctl hosts --limit 1
check "hosts --limit 1 (table): says there are more" grep -q -- '--all' "$work/err"
ctl hosts --limit 1 --all --format json
check "hosts --limit 1 --all: every page, the API's hosts" same_json "$work/hosts.json"

# --- host ID ---
api /api/v1/hosts/web-2 "$iso" >"$work/web-2.json"
api "/api/v1/hosts/web-2/results?limit=1000" "$iso" >"$work/web-2.results.json"
ctl host web-2 --format json
check "host json: the API's host document" same_json "$work/web-2.json" 'del(.results)'
check "host json: .results is the API's results" \
	[ "$(jq -S .results "$work/out")" = "$(jq -S .results "$work/web-2.results.json")" ]
ctl --format csv host web-2
check "host csv: one row per result ($(jq '.results | length' "$work/web-2.results.json"))" \
	[ "$(csv_rows)" = "$(jq '.results | length' "$work/web-2.results.json")" ]
ctl host web-2
for chk in $(jq -r '.results[].check_id' "$work/web-2.results.json"); do
	grep -q -- " $chk " "$work/out" || bad "host table: check $chk" "missing"
done
ok "host table: every check of web-2 listed"
check "host table: its facts as fields" grep -Eq "^fail +$(jq .fail "$work/web-2.json")\$" "$work/out"
check "host table: no control character from the host name" bash -c "! grep -q $'\x1b' '$work/out'"
ctl host nosuch
check "host nosuch: exit 1 ($rc)" [ "$rc" = 1 ]
check "host nosuch: the server's message and 404" bash -c \
	"grep -q 'answered 404' '$work/err' && grep -qF \"\$(jq -r .error.message <<<'$(api /api/v1/hosts/nosuch "$iso")')\" '$work/err'"

# --- violations ---
api "/api/v1/violations?host=web-2&status=open" "$iso" >"$work/v.json"
ctl violations --host web-2 --status open --format json
check "violations json: the API's document (but age_s)" same_json "$work/v.json" 'del(.violations[].age_s)'
ctl violations --host web-2 --status open --format csv
check "violations csv: one row per violation ($(jq '.violations | length' "$work/v.json"))" \
	[ "$(csv_rows)" = "$(jq '.violations | length' "$work/v.json")" ]
check "violations csv: their checks" [ "$(csv_col CHECK | sort | xargs)" = "$(jq -r '.violations[].check_id' "$work/v.json" | sort | xargs)" ]
ctl violations --severity high
check "violations table: only high ones" bash -c "tail -n +2 '$work/out' | awk '{print \$4}' | sort -u | xargs | grep -qx high"
check "violations table: as many as the API's" [ "$(($(wc -l <"$work/out") - 1))" = "$(api '/api/v1/violations?severity=high' "$iso" | jq '.violations | length')" ]
ctl violations --status nope
check "violations --status nope: usage error, exit 2 ($rc)" [ "$rc" = 2 ]
ctl violations --since 2000-01-01 --limit 1 --all --format json
check "violations --since --limit 1 --all: every violation" \
	[ "$(jq '.violations | length' "$work/out")" = "$(api '/api/v1/violations?limit=1000' "$iso" | jq '.violations | length')" ]

# --- controls, trend ---
api "/api/v1/controls" "$iso" >"$work/controls.json"
ctl controls --format json
check "controls json: the API's document" same_json "$work/controls.json"
ctl controls --framework iso27001 --format csv
check "controls --framework iso27001 csv: its controls" \
	[ "$(csv_col CONTROL | xargs)" = "$(jq -r '[.controls[] | select(.framework == "iso27001") | .id] | join(" ")' "$work/controls.json")" ]
ctl controls
n=$(jq '.controls | length' "$work/controls.json")
check "controls table: $n lines and a header" [ "$(wc -l <"$work/out")" = "$((n + 1))" ]
api "/api/v1/trend?days=7" "$iso" >"$work/trend.json"
ctl trend --days 7 --format json
check "trend json: the API's document" same_json "$work/trend.json"
ctl trend --days 7 --format csv
check "trend csv: one row per day ($(jq '.points | length' "$work/trend.json"))" [ "$(csv_rows)" = "$(jq '.points | length' "$work/trend.json")" ]
check "trend csv: today's pass count" [ "$(csv_col PASS | tail -n 1)" = "$(jq '.points[-1].pass' "$work/trend.json")" ]
ctl trend --days 0
check "trend --days 0: exit 2" [ "$rc" = 2 ]

# --- refusals ---
ctl evidence create
check "evidence create with an iso token: exit 1 ($rc)" [ "$rc" = 1 ]
check "evidence create with an iso token: the server's 403 message" grep -q 'answered 403 (forbidden)' "$work/err"
gone=$(api_token iso --name "to revoke")
gone_id=$("$POSTURE_COLLECTOR" token list --config "$work/collector/collector.json" | jq '.. | objects | select(.name? == "to revoke") | .id')
"$POSTURE_COLLECTOR" token revoke --config "$work/collector/collector.json" --id "$gone_id" 2>/dev/null
POSTURE_TOKEN=$gone ctl summary
check "revoked token: exit 1 ($rc)" [ "$rc" = 1 ]
check "revoked token: the server's 401 and message" bash -c "grep -q 'answered 401 (unauthenticated)' '$work/err'"
POSTURE_TOKEN= ctl summary
check "no token: exit 2 with what to do" bash -c "[ $rc = 2 ] && grep -q POSTURE_TOKEN '$work/err'"
ctl --url "https://127.0.0.1:$(free_port)" summary
check "no collector at the URL: exit 2 ($rc)" [ "$rc" = 2 ]
check "no collector: the message names the URL" grep -q "cannot reach the collector at https://127.0.0.1:.*/api/v1/summary" "$work/err"
ctl --url "http://127.0.0.1:$api_port" summary
check "plain http: refused, exit 2" bash -c "[ $rc = 2 ] && grep -q 'only https' '$work/err'"
"$POSTURE_COLLECTOR" init --dir "$work/other" --agent-listen "127.0.0.1:$(free_port)" \
	--api-listen "127.0.0.1:$(free_port)" >/dev/null 2>&1
# A TLS server with the collector's certificate records what reaches it:
# with the right CA the request line arrives; with another CA, nothing does.
tls_probe() {
	local port=$1 log=$2
	python3 - "$work/collector/collector.crt" "$work/collector/collector.key" "$port" "$log" <<'PY' &
import socket, ssl, sys
crt, key, port, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
open(log + ".ready", "w").close()
srv.settimeout(60)
conn, _ = srv.accept()
conn.settimeout(30)
with open(log, "w") as out:
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        data = tls.recv(65536)
        out.write("request: " + data.split(b"\r\n")[0].decode() + "\n")
        tls.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 57\r\nConnection: close\r\n\r\n" + b'{"error":{"code":"probe","message":"probe server here."}}')
        tls.close()
    except (ssl.SSLError, OSError) as e:
        out.write("handshake failed: %s\n" % e)
PY
	local i
	for i in $(seq 1 100); do [ -e "$log.ready" ] && return 0; sleep 0.1; done
	return 1
}
p=$(free_port)
tls_probe "$p" "$work/probe-right"
ctl --url "https://127.0.0.1:$p" summary
wait $! 2>/dev/null || true
check "TLS probe with the right CA: the request arrives ($(cat "$work/probe-right"))" grep -q '^request: GET /api/v1/summary HTTP' "$work/probe-right"
check "TLS probe with the right CA: a 503 from it is exit 1 with its message" bash -c "[ $rc = 1 ] && grep -q 'answered 503 (probe): probe server here.' '$work/err'"
p=$(free_port)
tls_probe "$p" "$work/probe-wrong"
rc=0
"$POSTURECTL" --url "https://127.0.0.1:$p" --cacert "$work/other/ca.crt" summary >"$work/out" 2>"$work/err" || rc=$?
wait $! 2>/dev/null || true
check "another CA: exit 2 ($rc)" [ "$rc" = 2 ]
check "another CA: a TLS error that names the CA file" bash -c "grep -q 'TLS failed' '$work/err' && grep -q '$work/other/ca.crt' '$work/err'"
check "another CA: no request was sent ($(cat "$work/probe-wrong"))" grep -q '^handshake failed' "$work/probe-wrong"
rc=0
"$POSTURECTL" --cacert "$work/other/ca.crt" summary >"$work/out" 2>"$work/err" || rc=$?
check "another CA against the collector: exit 2 ($rc)" [ "$rc" = 2 ]

# --- flags > environment > config file ---
cfgdir="$HOME/.config/posture"
mkdir -p "$cfgdir"
jq -n --arg u "$url" --arg t "$iso" --arg c "$work/collector/ca.crt" '{url: $u, token: $t, cacert: $c}' >"$cfgdir/posturectl.json"
chmod 644 "$cfgdir/posturectl.json"
rc=0
env -u POSTURE_URL -u POSTURE_TOKEN "$POSTURECTL" summary >"$work/out" 2>"$work/err" || rc=$?
check "config with a token, mode 644: refused, exit 2 ($rc)" [ "$rc" = 2 ]
check "config with a token, mode 644: says chmod 600" grep -q 'chmod 600' "$work/err"
chmod 600 "$cfgdir/posturectl.json"
rc=0
env -u POSTURE_URL -u POSTURE_TOKEN "$POSTURECTL" --format json hosts >"$work/out" 2>"$work/err" || rc=$?
check "default config file alone: url, token and cacert from it ($rc)" same_json "$work/hosts.json"
rc=0
env -u POSTURE_URL POSTURE_TOKEN=pst_notatoken "$POSTURECTL" summary >"$work/out" 2>"$work/err" || rc=$?
check "POSTURE_TOKEN beats the config file (a bad one: 401, exit 1)" bash -c "[ $rc = 1 ] && grep -q 'answered 401' '$work/err'"
rc=0
POSTURE_TOKEN=pst_notatoken "$POSTURECTL" --token "$iso" summary >"$work/out" 2>"$work/err" || rc=$?
check "--token beats POSTURE_TOKEN ($rc)" [ "$rc" = 0 ]
rc=0
POSTURE_URL="https://127.0.0.1:$(free_port)" "$POSTURECTL" summary >"$work/out" 2>"$work/err" || rc=$?
check "POSTURE_URL beats the config's url (unreachable: exit 2)" [ "$rc" = 2 ]
printf '%s\n' "$iso" >"$work/token"
chmod 600 "$work/token"
jq -n --arg u "$url" '{url: $u, token_file: "token", cacert: "collector/ca.crt"}' >"$work/ctl.json"
rc=0
env -u POSTURE_URL -u POSTURE_TOKEN "$POSTURECTL" --config "$work/ctl.json" --format json hosts \
	>"$work/out" 2>"$work/err" || rc=$?
check "--config with token_file and a relative cacert ($rc)" same_json "$work/hosts.json"
chmod 640 "$work/token"
rc=0
env -u POSTURE_URL -u POSTURE_TOKEN "$POSTURECTL" --config "$work/ctl.json" hosts >"$work/out" 2>"$work/err" || rc=$?
check "a token file readable by the group: refused, exit 2 ($rc)" bash -c "[ $rc = 2 ] && grep -q 'chmod 600' '$work/err'"
rc=0
"$POSTURECTL" --config "$work/nosuch.json" summary >"$work/out" 2>"$work/err" || rc=$?
check "--config naming no file: exit 2 ($rc)" [ "$rc" = 2 ]
rm -f "$cfgdir/posturectl.json"

# --- help, and the token kept out of every output ---
for cmd in summary hosts host violations controls trend "evidence create" "evidence list" \
	"evidence key" "evidence pull" "evidence verify" "evidence verify-chain"; do
	rc=0
	# shellcheck disable=SC2086
	"$POSTURECTL" $cmd --help >"$work/out" 2>&1 || rc=$?
	check "$cmd --help: exit 0 and its usage" bash -c "[ $rc = 0 ] && grep -q 'usage: posturectl $cmd' '$work/out'"
done
check "the token never appears in any output" bash -c "! grep -qF '$iso' '$work/all-output'"
check "the token is not in the collector's log" bash -c "! grep -qF '$iso' '$work/collector.log'"

collector_stop || bad "collector stop" "exit status $?"
finish
