#!/usr/bin/env bash
# test_backup_roots.sh - end to end: the backup probes through
# `posture-agent scan --format json` on the backup fixture roots
# (tests/fixtures/roots/README.md), with the example policies
# policies/examples/{restic,borg}-backup.json and with the shipped baseline
# whose backup variables an operator sets in a policy that extends it.
#
# Each root is prepared at test time (prepare.sh), so the backup times are
# relative to now: the newest backup is 2 hours old less ten minutes (50
# hours for backup-stale), and ages are rounded up to whole hours.
#
# Environment: POSTURE_AGENT, POSTURE_SOURCE_DIR.  Needs jq and GNU date.
# Like test_scan_roots.sh it re-runs itself under 'unshare -r' when not root.
set -euo pipefail

: "${POSTURE_AGENT:?set POSTURE_AGENT to the posture-agent binary}"
: "${POSTURE_SOURCE_DIR:?set POSTURE_SOURCE_DIR to the source tree}"

. "$(dirname "$0")/lib/rootns.sh"
need_uid0 test_backup_roots "$0" "$@"
command -v jq >/dev/null || { echo "test_backup_roots: jq is not installed" >&2; exit 1; }

AGENT=$POSTURE_AGENT
SRC=$POSTURE_SOURCE_DIR
RESTIC=$SRC/policies/examples/restic-backup.json
BORG=$SRC/policies/examples/borg-backup.json
PREPARE=$SRC/tests/fixtures/roots/prepare.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-backup-roots.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	printf '%s\n' "$2" | sed 's/^/     seen: /'
}

# scan NAME POLICY: sets RC and OUT
scan() {
	OUT=$work/$1.$(basename "$2" .json).json
	RC=0
	"$AGENT" scan --policy "$2" --root "$work/roots/$1" --format json >"$OUT" 2>"$OUT.err" || RC=$?
}

expect_exit() {
	if [ "$RC" -eq "$2" ]; then pass "$1: exit $2"; else fail "$1: exit $2" "exit $RC: $(head -c 1000 "$OUT.err")"; fi
}

# expect_statuses NAME CHECK=STATUS...: every check of the scan, exactly
expect_statuses() {
	local name=$1 want got
	shift
	want=$(printf '%s\n' "$@" | sort)
	got=$(jq -r '.results[] | "\(.check)=\(.status)"' "$OUT" | sort)
	if [ "$want" = "$got" ]; then
		pass "$name: statuses $(echo "$want" | tr '\n' ' ')"
	else
		fail "$name: statuses" "$(echo "$got" | tr '\n' ' ')"
	fi
}

# expect_ev NAME CHECK FIELD VALUE: some evidence item of CHECK has FIELD == VALUE
expect_ev() {
	local n
	n=$(jq --arg c "$2" --arg f "$3" --arg v "$4" \
		'[.results[] | select(.check == $c) | .evidence[] | select(.[$f] == $v)] | length' "$OUT")
	if [ "$n" -ge 1 ]; then
		pass "$1: $2 evidence $3 = $4"
	else
		fail "$1: $2 evidence $3 = $4" "$(jq -c --arg c "$2" '.results[] | select(.check == $c) | {evidence, reason}' "$OUT")"
	fi
}

# expect_reason NAME CHECK SUBSTRING
expect_reason() {
	if jq -e --arg c "$2" --arg s "$3" '.results[] | select(.check == $c) | .reason | contains($s)' "$OUT" >/dev/null; then
		pass "$1: $2 reason says \"$3\""
	else
		fail "$1: $2 reason says \"$3\"" "$(jq -c --arg c "$2" '.results[] | select(.check == $c) | .reason' "$OUT")"
	fi
}

utc() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

mkdir -p "$work/roots"
for r in backup-fresh backup-stale backup-empty backup-noschedule backup-secrets-open; do
	"$PREPARE" "$r" "$work/roots/$r"
done

# Facts of each root, read back from what prepare.sh made.
newest_file() { (cd "$work/roots/$1/srv/backup" && ls -t | head -n 1); }
mtime_utc() { utc "@$(stat -c %Y "$work/roots/$1/srv/backup/$(newest_file "$1")")"; }
restic_utc() { utc "$(jq -r 'max_by(.short_id == "3f2a1b9c") | .time' "$work/roots/$1/var/lib/restic/snapshots.json")"; }
borg_utc() { utc "$(jq -r '.archives[0].start' "$work/roots/$1/var/lib/borg/info.json")Z"; }
borg_repo_utc() { utc "$(jq -r '.repository.last_modified' "$work/roots/$1/var/lib/borg/info.json")Z"; }

# --- the example policies ------------------------------------------------------
R_ALL="restic.snapshot-age restic.snapshot-size restic.timer-enabled restic.password-protected"
B_ALL="borg.archive-age borg.archive-size borg.repository-modified borg.cron-entry borg.secrets-protected"
# statuses ROOT POLICY-IDS DEFAULT [CHECK=STATUS...]: DEFAULT for every check not listed
statuses() {
	local name=$1 ids=$2 def=$3 id out=()
	shift 3
	for id in $ids; do
		local s=$def kv
		for kv in "$@"; do [ "${kv%%=*}" = "$id" ] && s=${kv#*=}; done
		out+=("$id=$s")
	done
	expect_statuses "$name" "${out[@]}"
}

scan backup-fresh "$RESTIC"
expect_exit "backup-fresh restic" 0
statuses "backup-fresh restic" "$R_ALL" pass
when=$(restic_utc backup-fresh)
expect_ev "backup-fresh restic" restic.snapshot-age observed "age_hours 2 (backup /1 (3f2a1b9c) at $when, newest of 3)"
expect_ev "backup-fresh restic" restic.snapshot-age expected "age_hours <= 26"
expect_ev "backup-fresh restic" restic.snapshot-age location "/var/lib/restic/snapshots.json"
expect_ev "backup-fresh restic" restic.snapshot-size observed "size_bytes 2097152 (backup /1 (3f2a1b9c) at $when, newest of 3)"
expect_ev "backup-fresh restic" restic.timer-enabled location "/etc/systemd/system/timers.target.wants/restic-backup.timer"
expect_ev "backup-fresh restic" restic.timer-enabled observed "timer restic-backup.timer (enabled in timers.target.wants; unit file /etc/systemd/system/restic-backup.timer)"

scan backup-fresh "$BORG"
expect_exit "backup-fresh borg" 0
statuses "backup-fresh borg" "$B_ALL" pass
expect_ev "backup-fresh borg" borg.archive-age observed \
	"age_hours 2 (backup /archives/0 (web-1-$(date -u -d "$(borg_utc backup-fresh)" +%Y-%m-%d)) at $(borg_utc backup-fresh), newest of 1)"
expect_ev "backup-fresh borg" borg.repository-modified observed "age_hours 2 (backup time $(borg_repo_utc backup-fresh))"
expect_ev "backup-fresh borg" borg.cron-entry location "/etc/cron.d/borg-backup:4"

scan backup-stale "$RESTIC"
expect_exit "backup-stale restic" 1
statuses "backup-stale restic" "$R_ALL" pass restic.snapshot-age=fail
expect_ev "backup-stale restic" restic.snapshot-age observed \
	"age_hours 50 (backup /1 (3f2a1b9c) at $(restic_utc backup-stale), newest of 3)"
scan backup-stale "$BORG"
expect_exit "backup-stale borg" 1
statuses "backup-stale borg" "$B_ALL" pass borg.archive-age=fail borg.repository-modified=fail
expect_ev "backup-stale borg" borg.repository-modified observed "age_hours 50 (backup time $(borg_repo_utc backup-stale))"

scan backup-empty "$RESTIC"
expect_exit "backup-empty restic" 1
statuses "backup-empty restic" "$R_ALL" pass restic.snapshot-size=fail
expect_ev "backup-empty restic" restic.snapshot-size observed \
	"size_bytes 0 (backup /1 (3f2a1b9c) at $(restic_utc backup-empty), newest of 3)"
expect_ev "backup-empty restic" restic.snapshot-size expected "size_bytes >= 1048576"
scan backup-empty "$BORG"
statuses "backup-empty borg" "$B_ALL" pass borg.archive-size=fail

scan backup-noschedule "$RESTIC"
expect_exit "backup-noschedule restic" 1
statuses "backup-noschedule restic" "$R_ALL" pass restic.timer-enabled=fail
expect_ev "backup-noschedule restic" restic.timer-enabled observed \
	"timer not set (restic-backup.timer is not enabled: no link in any *.wants directory under /etc/systemd/system)"
scan backup-noschedule "$BORG"
statuses "backup-noschedule borg" "$B_ALL" pass borg.cron-entry=fail
expect_ev "backup-noschedule borg" borg.cron-entry subject "cron"

scan backup-secrets-open "$RESTIC"
expect_exit "backup-secrets-open restic" 1
statuses "backup-secrets-open restic" "$R_ALL" pass restic.password-protected=fail
expect_ev "backup-secrets-open restic" restic.password-protected observed \
	"/etc/restic/password (mode 0644: group may read; others may read)"
expect_ev "backup-secrets-open restic" restic.password-protected location "/etc/restic/password"
scan backup-secrets-open "$BORG"
statuses "backup-secrets-open borg" "$B_ALL" pass borg.secrets-protected=fail
expect_ev "backup-secrets-open borg" borg.secrets-protected observed \
	"/etc/borg/passphrase (mode 0640: group may read)"

# --- the baseline, with its backup variables set by an extending policy ----------
site=$work/site-baseline.json
cat >"$site" <<JSON
{
  "id": "site-baseline", "version": "1", "title": "web-1 with its backup",
  "extends": "$SRC/policies/linux-baseline.json",
  "variables": {
    "backup_files": "/srv/backup/web-1-*.tar.zst",
    "backup_status_file": "/var/lib/restic/snapshots.json",
    "backup_status_size": "/summary/total_bytes_processed",
    "backup_schedule_timer": "restic-backup.timer",
    "backup_schedule_cron": "[[:space:]]borg[[:space:]]+create[[:space:]]",
    "backup_secrets": "/etc/restic/password",
    "backup_max_age_hours": 24
  }
}
JSON
BK="backup.files-age backup.files-size backup.status-age backup.status-size backup.schedule-timer backup.schedule-cron backup.secrets-protected"
# bstatuses NAME [CHECK=STATUS...]: the backup checks of the scan
bstatuses() {
	local name=$1 id out=() got want
	shift
	for id in $BK; do
		local s=pass kv
		for kv in "$@"; do [ "${kv%%=*}" = "$id" ] && s=${kv#*=}; done
		out+=("$id=$s")
	done
	want=$(printf '%s\n' "${out[@]}" | sort)
	got=$(jq -r '.results[] | select(.category == "backup") | "\(.check)=\(.status)"' "$OUT" | sort)
	if [ "$want" = "$got" ]; then pass "$name: backup statuses $(echo "$want" | tr '\n' ' ')"; else fail "$name: backup statuses" "$(echo "$got" | tr '\n' ' ')"; fi
}

scan backup-fresh "$site"
expect_exit "backup-fresh baseline" 0
bstatuses "backup-fresh baseline"
# The patch checks need a package database, which these roots do not have.
n=$(jq '[.results[] | select(.status != "pass" and (.category != "patch" or .status != "not_applicable"))] | length' "$OUT")
if [ "$n" -eq 0 ]; then pass "backup-fresh baseline: every check passes (patch: not_applicable)"; else fail "backup-fresh baseline: every check passes" "$(jq -c '[.results[] | select(.status != "pass") | .check]' "$OUT")"; fi
if jq -e '.policies == [{"id": "site-baseline", "version": "1", "sha256": .policies[0].sha256}]' "$OUT" >/dev/null; then
	pass "backup-fresh baseline: reported as the extending policy site-baseline"
else
	fail "backup-fresh baseline: reported as site-baseline" "$(jq -c .policies "$OUT")"
fi
f=$(newest_file backup-fresh)
expect_ev "backup-fresh baseline" backup.files-age subject "/srv/backup/$f"
expect_ev "backup-fresh baseline" backup.files-age observed "age_hours 2 (modified $(mtime_utc backup-fresh), newest of 3 files)"
expect_ev "backup-fresh baseline" backup.files-age expected "age_hours <= 24"
expect_ev "backup-fresh baseline" backup.files-size observed "size_bytes 2097152 (modified $(mtime_utc backup-fresh), newest of 3 files)"
expect_ev "backup-fresh baseline" backup.status-age observed "age_hours 2 (backup /1 at $(restic_utc backup-fresh), newest of 3)"

scan backup-stale "$site"
expect_exit "backup-stale baseline" 1
bstatuses "backup-stale baseline" backup.files-age=fail backup.status-age=fail
expect_ev "backup-stale baseline" backup.files-age observed "age_hours 50 (modified $(mtime_utc backup-stale), newest of 3 files)"

scan backup-empty "$site"
bstatuses "backup-empty baseline" backup.files-size=fail backup.status-size=fail
expect_ev "backup-empty baseline" backup.files-size observed "size_bytes 0 (modified $(mtime_utc backup-empty), newest of 3 files)"

scan backup-noschedule "$site"
bstatuses "backup-noschedule baseline" backup.schedule-timer=fail backup.schedule-cron=fail

scan backup-secrets-open "$site"
bstatuses "backup-secrets-open baseline" backup.secrets-protected=fail
expect_ev "backup-secrets-open baseline" backup.secrets-protected location "/etc/restic/password"

# Without the variables, the same root leaves every backup check not_applicable.
scan backup-fresh "$SRC/policies/linux-baseline.json"
expect_exit "backup-fresh shipped baseline" 0
bstatuses "backup-fresh shipped baseline" backup.files-age=not_applicable backup.files-size=not_applicable \
	backup.status-age=not_applicable backup.status-size=not_applicable backup.schedule-timer=not_applicable \
	backup.schedule-cron=not_applicable backup.secrets-protected=not_applicable
expect_reason "backup-fresh shipped baseline" backup.files-age "applies only where variable backup_files is set (it is empty)"

# An extending policy that names a variable the base does not have is refused.
cat >"$work/typo.json" <<JSON
{"id": "typo", "version": "1", "title": "t", "extends": "$SRC/policies/linux-baseline.json",
 "variables": {"backup_file": "/srv/backup/*"}}
JSON
RC=0
"$AGENT" scan --policy "$work/typo.json" --root "$work/roots/backup-fresh" --format json >"$work/typo.out" 2>"$work/typo.err" || RC=$?
if [ "$RC" -eq 2 ] && grep -qF 'variables.backup_file: ' "$work/typo.err" && grep -qF 'defines no such variable' "$work/typo.err"; then
	pass "an extending policy with an unknown variable: exit 2 naming it"
else
	fail "an extending policy with an unknown variable: exit 2 naming it" "exit $RC: $(cat "$work/typo.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
