#!/usr/bin/env bash
# test_dashboard.sh - the ISO's dashboard in a real browser (Debian's
# chromium, driven by tests/browser/dashboard.mjs with playwright-core).
# A real collector with three agents (compliant, deviant-ssh,
# deviant-accounts); one host calls itself "<img src=x onerror=...>" and
# one sshd_config carries the same in a Banner, so that host names and
# evidence are hostile.  The figures the page shows must equal what the
# JSON API answers (read here with curl and jq, handed to the browser
# script as a JSON file).  Screenshots of every view, and the overview
# printed to A4 PDF, are kept in $POSTURE_BUILD_DIR/artifacts/dashboard/.
#
# TLS: the browser is not told to ignore certificate errors.  The test's CA
# (ca.crt, made by posture-collector init) is imported into an NSS database
# in a temporary HOME with certutil, the way an ISO's workstation would
# trust the deployment's CA; chromium then verifies the collector's
# certificate, its chain and its name (127.0.0.1) as it would in production.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-dash.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

browser_dir=$POSTURE_SOURCE_DIR/tests/browser
chromium=${POSTURE_CHROMIUM:-/usr/bin/chromium}
for tool in node certutil "$chromium"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "test_dashboard: $tool is missing; run packaging/install-deps.sh --test" >&2
		exit 1
	fi
done
if [ ! -f "$browser_dir/node_modules/playwright-core/package.json" ]; then
	echo "test_dashboard: installing the browser test's npm dependencies (npm ci in tests/browser)" >&2
	(cd "$browser_dir" && npm ci --no-audit --no-fund >"$work/npm.log" 2>&1) || {
		echo "test_dashboard: npm ci in $browser_dir failed; its log:" >&2
		cat "$work/npm.log" >&2
		exit 1
	}
fi
artifacts=${POSTURE_BUILD_DIR:-$work}/artifacts/dashboard
rm -rf "$artifacts"
mkdir -p "$artifacts"

xss_host='<img src=x onerror=window.__pwned=1>'
xss_banner='<img src=x onerror=window.__pwned=2>'

fleet_init
fleet_agent web-1 compliant
fleet_agent web-2 deviant-ssh
fleet_agent db-1 deviant-accounts
printf '%s\n' "$xss_host" >"$work/roots/web-1/etc/hostname"
sed -i "s|^Banner .*|Banner $xss_banner|" "$work/roots/web-2/etc/ssh/sshd_config"
grep -qF "Banner $xss_banner" "$work/roots/web-2/etc/ssh/sshd_config"
collector_start
api_wait
iso=$(api_token iso --name "dashboard iso")
auditor=$(api_token auditor --name "dashboard auditor")

for id in db-1 web-2 web-1; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>"$work/$id.log" ||
		bad "$id: run --once" "$(tail -n 3 "$work/$id.log")"
done
# web-2 fixes X11 forwarding and reports again: one violation is resolved.
sed -i 's/^X11Forwarding yes/X11Forwarding no/' "$work/roots/web-2/etc/ssh/sshd_config"
"$POSTURE_AGENT" run --once --config "$(agent_conf web-2)" 2>"$work/web-2.2.log" ||
	bad "web-2: second run --once" "$(tail -n 3 "$work/web-2.2.log")"

# --- what the API says, for the browser to compare with ---------------------------
api /api/v1/summary "$iso" >"$work/summary.json"
check "summary answers 200" [ "$api_status" = 200 ]
api "/api/v1/trend?days=30" "$iso" >"$work/trend30.json"
api "/api/v1/trend?days=90" "$iso" >"$work/trend90.json"
api /api/v1/controls "$iso" >"$work/controls.json"
api "/api/v1/hosts?limit=1000" "$iso" >"$work/hosts.json"
api "/api/v1/hosts/web-2/results?limit=1000" "$iso" >"$work/web2.json"
api "/api/v1/violations?limit=1000&status=open" "$iso" >"$work/viol_open.json"
api "/api/v1/violations?limit=1000&status=resolved" "$iso" >"$work/viol_resolved.json"
for sev in critical high medium low; do
	api "/api/v1/violations?limit=1000&status=open&severity=$sev" "$iso" >"$work/viol_$sev.json"
done
check "the fleet has open violations to show" [ "$(jq '.violations.open' "$work/summary.json")" -gt 0 ]
check "and a resolved one" [ "$(jq '.violations | length' "$work/viol_resolved.json")" -ge 1 ]
check "the API keeps the hostile host name as it came" \
	[ "$(jq -r '.hosts[] | select(.id == "web-1") | .hostname' "$work/hosts.json")" = "$xss_host" ]
check "and the hostile evidence" grep -qF "$xss_banner" "$work/web2.json"
# The severity the browser filters by: the one with the most open violations.
filter_sev=$(jq -r '.violations.open_by_severity | to_entries | max_by(.value) | .key' "$work/summary.json")
# The control the browser opens: the first ISO 27001 control with a failing check.
jq -n \
	--slurpfile s "$work/summary.json" --slurpfile t30 "$work/trend30.json" \
	--slurpfile t90 "$work/trend90.json" --slurpfile c "$work/controls.json" \
	--slurpfile h "$work/hosts.json" --slurpfile r "$work/web2.json" \
	--slurpfile vo "$work/viol_open.json" --slurpfile vr "$work/viol_resolved.json" \
	--slurpfile vc "$work/viol_critical.json" --slurpfile vh "$work/viol_high.json" \
	--slurpfile vm "$work/viol_medium.json" --slurpfile vl "$work/viol_low.json" \
	--arg sev "$filter_sev" --arg xh "$xss_host" --arg xb "$xss_banner" '
	{
	  summary: {
	    score: $s[0].score, pass: $s[0].pass, fail: $s[0].fail,
	    hosts_total: $s[0].hosts.total, hosts_stale: $s[0].hosts.stale,
	    violations_open: $s[0].violations.open,
	    categories: ($s[0].categories | with_entries(.value |= {score, pass, fail})),
	    severities: ($s[0].severities | with_entries(.value |= {score, pass, fail})),
	    open_by_severity: $s[0].violations.open_by_severity,
	    open_by_age: $s[0].violations.open_by_age
	  },
	  trend: {"30": [$t30[0].points[] | select(.score != null)] | length,
	          "90": [$t90[0].points[] | select(.score != null)] | length},
	  control: ([$c[0].controls[] | select(.framework == "iso27001" and .fail > 0)] | first
	            | {id, score, hosts_failing, hosts, checks: [.checks[].check_id]}),
	  iso_controls: [$c[0].controls[] | select(.framework == "iso27001") | .id],
	  hosts: [$h[0].hosts[] | {id, hostname, score, fail}],
	  host: {id: "web-2", results: ($r[0].results | length),
	         failing: [$r[0].results[] | select(.status == "fail") | .check_id],
	         categories: ($r[0].results | map(.category) | unique)},
	  violations: {open: ($vo[0].violations | length), resolved: ($vr[0].violations | length),
	               by_severity: {critical: ($vc[0].violations | length), high: ($vh[0].violations | length),
	                             medium: ($vm[0].violations | length), low: ($vl[0].violations | length)},
	               filter: $sev},
	  xss: {host: $xh, evidence: $xb}
	}' >"$work/expected.json"
check "a failing ISO 27001 control to open" [ "$(jq -r '.control.id' "$work/expected.json")" != null ]

# --- trust the test CA in a throw-away NSS database ----------------------------------
home=$work/home
mkdir -p "$home/.pki/nssdb"
certutil -N -d "sql:$home/.pki/nssdb" --empty-password
certutil -A -d "sql:$home/.pki/nssdb" -n "posture test CA" -t "C,," -i "$work/collector/ca.crt"

# Does this collector serve evidence yet?  (The routes come on another branch.)
api /api/v1/evidence "$auditor" >/dev/null
evidence=yes
if [ "$api_status" = 404 ]; then
	evidence=no
	echo "*** SKIPPED: the evidence part of the dashboard test: GET /api/v1/evidence answers 404 in this" >&2
	echo "*** build (no evidence routes yet); only its 'not available' state is checked." >&2
fi

start=$(date +%s)
if env HOME="$home" DASH_URL="https://127.0.0.1:$api_port" DASH_ISO="$iso" DASH_AUDITOR="$auditor" \
	DASH_EXPECTED="$work/expected.json" DASH_ARTIFACTS="$artifacts" DASH_CHROMIUM="$chromium" \
	DASH_EVIDENCE="$evidence" DASH_CACERT="$work/collector/ca.crt" \
	timeout 150 node "$browser_dir/dashboard.mjs" >"$work/browser.out" 2>"$work/browser.err"; then
	rc=0
else
	rc=$?
fi
cat "$work/browser.out"
[ "$rc" -eq 0 ] || { echo "dashboard.mjs exited $rc; its stderr:"; tail -n 40 "$work/browser.err"; }
# The browser script prints "ok ..." / "FAIL ..." lines; count them here.
pass=$((pass + $(grep -c '^ok ' "$work/browser.out" || true)))
fail=$((fail + $(grep -c '^FAIL ' "$work/browser.out" || true)))
check "the browser script ran to its end" [ "$rc" -eq 0 ]
check "the browser script checked something" [ "$(grep -c '^ok ' "$work/browser.out" || true)" -ge 20 ]
echo "browser part took $(($(date +%s) - start)) s; screenshots and PDF in $artifacts"
ls "$artifacts"

if [ "$evidence" = yes ]; then
	check "the downloaded snapshot is the one the API serves" \
		cmp -s "$artifacts/evidence-download.json" <(api "/api/v1/evidence/$(cat "$artifacts/evidence-id.txt")" "$auditor")
	check "the downloaded key is the collector's evidence.pub" cmp -s "$artifacts/evidence.pub" "$work/collector/evidence.pub"
fi
collector_stop && ok "the collector stops cleanly" || bad "collector stop" "non-zero exit"
finish
