#!/usr/bin/env bash
# test_api_fleet.sh - what the ISO reads is what the fleet reported.
# Three agents on fixture roots (compliant, deviant-ssh, deviant-accounts)
# report to a real collector; the HTTPS API's summary, hosts, results,
# violations, controls, trend and /metrics must equal what local scans of
# the same roots imply, computed here with jq.  Then a deviation is fixed
# and rescanned: its violations resolve, with a time to remediate; and a
# host that stops reporting becomes stale.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/posture-api.XXXXXX")
. "$(dirname "$0")/lib/fleet.sh"
trap fleet_cleanup EXIT

fleet_init
# Stale after one interval; web-1 says its interval is 10 s, the others keep an hour.
jq '.metrics = {"stale_intervals": 1, "stale_check_s": 1}' "$work/collector/collector.json" >"$work/c.json"
mv "$work/c.json" "$work/collector/collector.json"
fleet_agent web-1 compliant '.interval_s = 10'
fleet_agent web-2 deviant-ssh
fleet_agent db-1 deviant-accounts
collector_start
api_wait
iso=$(api_token iso --name "test iso")

hosts="db-1 web-1 web-2"
# web-1 reports last, so that the first figures are read well within its 10 s.
for id in db-1 web-2 web-1; do
	"$POSTURE_AGENT" scan --policy "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" \
		--root "$work/roots/$id" --format json >"$work/$id.scan.json" || true
done
for id in db-1 web-2 web-1; do
	"$POSTURE_AGENT" run --once --config "$(agent_conf "$id")" 2>"$work/$id.log" ||
		bad "$id: run --once" "$(tail -n 3 "$work/$id.log")"
done
# Every result of the fleet, one array, each tagged with its host.
for id in $hosts; do jq --arg h "$id" '[.results[] | . + {host: $h}]' "$work/$id.scan.json"; done |
	jq -s 'add' >"$work/all.json"
score() { jq -r '(.pass + .fail) as $n | if $n == 0 then null else ((1000 * .pass / $n | round) / 10) end'; }

# --- summary ---
api /api/v1/summary "$iso" >"$work/summary.json"
check "summary answers 200 ($api_status)" [ "$api_status" = 200 ]
want=$(jq -c '{pass: map(select(.status == "pass")) | length, fail: map(select(.status == "fail")) | length}' "$work/all.json")
got=$(jq -c '{pass, fail}' "$work/summary.json")
check "summary: fleet pass and fail are the scans' ($want, got $got)" [ "$want" = "$got" ]
check "summary: fleet score is 100 x pass / (pass + fail), one decimal" \
	[ "$(echo "$want" | score)" = "$(jq -r '.score' "$work/summary.json")" ]
for cat in access_control patch backup; do
	w=$(jq -c --arg c "$cat" '[.[] | select(.category == $c)] | {pass: map(select(.status == "pass")) | length, fail: map(select(.status == "fail")) | length}' "$work/all.json")
	g=$(jq -c --arg c "$cat" '.categories[$c] // {pass: 0, fail: 0} | {pass, fail}' "$work/summary.json")
	check "summary: category $cat ($w)" [ "$w" = "$g" ]
done
for sev in low medium high critical; do
	w=$(jq -c --arg s "$sev" '[.[] | select(.severity == $s)] | {pass: map(select(.status == "pass")) | length, fail: map(select(.status == "fail")) | length}' "$work/all.json")
	g=$(jq -c --arg s "$sev" '.severities[$s] // {pass: 0, fail: 0} | {pass, fail}' "$work/summary.json")
	check "summary: severity $sev ($w)" [ "$w" = "$g" ]
	w=$(jq --arg s "$sev" '[.[] | select(.severity == $s and .status == "fail")] | length' "$work/all.json")
	g=$(jq --arg s "$sev" '.violations.open_by_severity[$s] // 0' "$work/summary.json")
	check "summary: open $sev violations = failing $sev checks ($w)" [ "$w" = "$g" ]
done
check "summary: 3 hosts, none stale" [ "$(jq -c '.hosts | {total, stale}' "$work/summary.json")" = '{"total":3,"stale":0}' ]
open_before=$(jq '.violations.open' "$work/summary.json")
check "summary: one open violation per failing check ($open_before)" \
	[ "$open_before" = "$(jq '[.[] | select(.status == "fail")] | length' "$work/all.json")" ]
check "summary: every open violation is younger than a day" \
	[ "$(jq '.violations.open_by_age.lt_1d' "$work/summary.json")" = "$open_before" ]

# --- hosts ---
api /api/v1/hosts "$iso" >"$work/hosts.json"
check "hosts: the three, ordered by id" [ "$(jq -r '[.hosts[].id] | join(" ")' "$work/hosts.json")" = "$hosts" ]
check "hosts: one page" [ "$(jq -r '.next_cursor' "$work/hosts.json")" = null ]
for id in $hosts; do
	w=$(jq -c '{pass: .summary.pass, fail: .summary.fail}' "$work/$id.scan.json")
	g=$(jq -c --arg h "$id" '.hosts[] | select(.id == $h) | {pass, fail}' "$work/hosts.json")
	check "hosts: $id counts ($w)" [ "$w" = "$g" ]
	check "hosts: $id score" [ "$(echo "$w" | score)" = "$(jq -r --arg h "$id" '.hosts[] | select(.id == $h) | .score' "$work/hosts.json")" ]
	w=$(jq '[.results[] | select(.status == "fail" and .severity == "high")] | length' "$work/$id.scan.json")
	check "hosts: $id failing high checks ($w)" \
		[ "$(jq --arg h "$id" '.hosts[] | select(.id == $h) | .failing.high' "$work/hosts.json")" = "$w" ]
done
check "hosts: facts from Hello" [ "$(jq -r '.hosts[0] | "\(.os_id) \(.os_version)"' "$work/hosts.json")" = "debian 12" ]
# Pages of one: every host once, in order, then no cursor.
seen= cursor=
for _ in 1 2 3 4; do
	q="limit=1${cursor:+&cursor=$(printf '%s' "$cursor" | jq -sRr @uri)}"
	api "/api/v1/hosts?$q" "$iso" >"$work/page.json"
	seen="$seen $(jq -r '.hosts[].id' "$work/page.json")"
	cursor=$(jq -r '.next_cursor // empty' "$work/page.json")
	[ -n "$cursor" ] || break
done
check "hosts: pages of one walk every host once ($seen)" [ "$seen" = " $hosts" ]
api "/api/v1/hosts?failing=true" "$iso" >"$work/failing.json"
check "hosts?failing=true leaves out the compliant host" \
	[ "$(jq -r '[.hosts[].id] | join(" ")' "$work/failing.json")" = "$(for id in $hosts; do [ "$(jq '.summary.fail' "$work/$id.scan.json")" -gt 0 ] && echo "$id"; done | xargs)" ]
api /api/v1/hosts/web-2 "$iso" >"$work/web-2.json"
check "hosts/web-2: 200 with its open violations" \
	[ "$api_status $(jq '.open_violations' "$work/web-2.json")" = "200 $(jq '.summary.fail' "$work/web-2.scan.json")" ]
api /api/v1/hosts/nosuch "$iso" >"$work/nosuch.json"
check "hosts/nosuch: 404 with an error document" \
	[ "$api_status $(jq -r '.error.code' "$work/nosuch.json")" = "404 not_found" ]

# --- results ---
api "/api/v1/hosts/web-2/results?limit=1000" "$iso" >"$work/results.json"
check "results: every check of web-2 ($(jq '.results | length' "$work/web-2.scan.json"))" \
	[ "$(jq '.results | length' "$work/results.json")" = "$(jq '.results | length' "$work/web-2.scan.json")" ]
check "results: the statuses are the scan's" \
	[ "$(jq -c '[.results[] | [.check_id, .status]] | sort' "$work/results.json")" = "$(jq -c '[.results[] | [.check, .status]] | sort' "$work/web-2.scan.json")" ]
api "/api/v1/hosts/web-2/results?status=fail" "$iso" >"$work/rfail.json"
check "results?status=fail: only failures, each with evidence that disagrees" \
	[ "$(jq '[.results[] | select(.status == "fail" and ([.evidence[] | select(.ok == false)] | length) > 0)] | length' "$work/rfail.json")" = "$(jq '.summary.fail' "$work/web-2.scan.json")" ]

# --- violations ---
api "/api/v1/violations?host=web-2&status=open&limit=1000" "$iso" >"$work/v.json"
check "violations: web-2's open ones are its failing checks" \
	[ "$(jq -c '[.violations[].check_id] | sort' "$work/v.json")" = "$(jq -c '[.results[] | select(.status == "fail") | .check] | sort' "$work/web-2.scan.json")" ]
check "violations: each carries severity, opened_at and evidence" \
	[ "$(jq '[.violations[] | select(.severity != null and .opened_at != null and (.evidence | length) > 0 and .resolved_at == null)] | length' "$work/v.json")" = "$(jq '.violations | length' "$work/v.json")" ]
ctl=$(jq -r '[.[] | select(.status == "fail") | .controls.iso27001 // [] | .[]] | group_by(.) | max_by(length) | .[0]' "$work/all.json")
api "/api/v1/violations?control=$ctl&limit=1000" "$iso" >"$work/vc.json"
check "violations?control=$ctl: the failing checks mapped to it" \
	[ "$(jq '.violations | length' "$work/vc.json")" = "$(jq --arg c "$ctl" '[.[] | select(.status == "fail" and ((.controls.iso27001 // []) | index($c)))] | length' "$work/all.json")" ]
api "/api/v1/violations?severity=high&status=open&limit=1000" "$iso" >"$work/vh.json"
check "violations?severity=high" \
	[ "$(jq '.violations | length' "$work/vh.json")" = "$(jq '[.[] | select(.status == "fail" and .severity == "high")] | length' "$work/all.json")" ]

# --- controls ---
api "/api/v1/controls?framework=iso27001" "$iso" >"$work/controls.json"
w=$(jq -c --arg c "$ctl" '[.[] | select((.controls.iso27001 // []) | index($c))] | {pass: map(select(.status == "pass")) | length, fail: map(select(.status == "fail")) | length, hosts_failing: (map(select(.status == "fail") | .host) | unique | length)}' "$work/all.json")
g=$(jq -c --arg c "$ctl" '.controls[] | select(.id == $c) | {pass, fail, hosts_failing}' "$work/controls.json")
check "controls: $ctl counts and failing hosts ($w)" [ "$w" = "$g" ]
check "controls: natural order of ids" \
	[ "$(jq -c '[.controls[].id]' "$work/controls.json")" = "$(jq -c '[.controls[].id] | sort_by(split(".") | map(tonumber? // .))' "$work/controls.json")" ]

# --- trend ---
api "/api/v1/trend?days=7" "$iso" >"$work/trend.json"
check "trend: today's point is the summary's" \
	[ "$(jq -c '.points[-1] | {day, pass, fail}' "$work/trend.json")" = "$(jq -c --arg d "$(date -u +%F)" '{day: $d, pass, fail}' "$work/summary.json")" ]

# --- /metrics, read with the Prometheus client's own parser ---
api /metrics "$iso" >"$work/metrics.txt"
check "metrics: 200" [ "$api_status" = 200 ]
# Debian's python3 (python3-prometheus-client), whatever python3 comes first in PATH.
/usr/bin/python3 - "$work/metrics.txt" "$work/summary.json" >"$work/metrics.check" 2>&1 <<'PY' && ok "metrics: parsed by prometheus_client, no duplicate series, figures equal the summary" || bad "metrics" "$(cat "$work/metrics.check")"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
summary = json.load(open(sys.argv[2]))
seen, fams = set(), {}
for fam in text_string_to_metric_families(text):
    assert fam.name.startswith("posture_"), fam.name
    fams[fam.name] = fam
    for s in fam.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        assert key not in seen, "duplicate series %r" % (key,)
        seen.add(key)
def total(name, **want):
    return sum(s.value for s in fams[name].samples
               if all(s.labels.get(k) == v for k, v in want.items()))
assert total("posture_results", status="fail") == summary["fail"], "fail"
assert total("posture_results", status="pass") == summary["pass"], "pass"
assert total("posture_violations_open") == summary["violations"]["open"], "open"
assert total("posture_hosts") == summary["hosts"]["total"], "hosts"
assert len(fams["posture_host_score"].samples) == 3, "host scores"
assert total("posture_reports_received") >= 3 or total("posture_reports_received_total") >= 3
PY

# --- a deviation fixed and rescanned resolves its violations ---
cp "$work/roots/web-1/etc/ssh/sshd_config" "$work/roots/web-2/etc/ssh/sshd_config"
rm -rf "$work/roots/web-2/etc/ssh/sshd_config.d"
cp -a "$work/roots/web-1/etc/ssh/sshd_config.d" "$work/roots/web-2/etc/ssh/sshd_config.d"
"$POSTURE_AGENT" scan --policy "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" \
	--root "$work/roots/web-2" --format json >"$work/web-2.fixed.json" || true
fixed=$(jq -n --slurpfile a "$work/web-2.scan.json" --slurpfile b "$work/web-2.fixed.json" \
	'[$a[0].results[] | select(.status == "fail") | .check] - [$b[0].results[] | select(.status == "fail") | .check] | length')
check "the fix turns failing SSH checks to pass ($fixed)" [ "$fixed" -gt 0 ]
sleep 1
"$POSTURE_AGENT" run --once --config "$(agent_conf web-2)" 2>>"$work/web-2.log"
api "/api/v1/violations?host=web-2&status=resolved&limit=1000" "$iso" >"$work/vr.json"
check "violations: the $fixed fixed checks are resolved, by a pass" \
	[ "$(jq '[.violations[] | select(.resolved_by == "pass" and .resolved_at != null and .age_s >= 1)] | length' "$work/vr.json")" = "$fixed" ]
api /api/v1/summary "$iso" >"$work/summary2.json"
check "summary: open violations fell by $fixed" \
	[ "$(jq '.violations.open' "$work/summary2.json")" = "$((open_before - fixed))" ]
sev=$(jq -r '.violations[0].severity' "$work/vr.json")
check "summary: a time to remediate for $sev" \
	[ "$(jq --arg s "$sev" '.violations.mttr_s.by_severity[$s] >= 1' "$work/summary2.json")" = true ]

# --- web-1 said its interval is 10 s; with no report for longer it is stale ---
for _ in $(seq 1 300); do
	api "/api/v1/hosts?stale=true" "$iso" >"$work/stale.json"
	[ "$(jq -r '[.hosts[].id] | join(" ")' "$work/stale.json")" = web-1 ] && break
	sleep 0.1
done
check "hosts?stale=true: web-1 alone (interval 10 s, no report since)" \
	[ "$(jq -r '[.hosts[].id] | join(" ")' "$work/stale.json")" = web-1 ]
api /api/v1/summary "$iso" >"$work/summary3.json"
check "summary: one stale host" [ "$(jq '.hosts.stale' "$work/summary3.json")" = 1 ]
# The API judges staleness at each request; the collector's own check runs
# every stale_check_s (1 s), so its log line may come a moment later.
for _ in $(seq 1 100); do
	grep -q 'went stale' "$work/collector.log" && break
	sleep 0.1
done
check "the collector logs the stale host" grep -q 'went stale' "$work/collector.log"

collector_stop || bad "collector stop" "non-zero exit"
finish
