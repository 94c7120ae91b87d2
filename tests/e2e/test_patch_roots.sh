#!/usr/bin/env bash
# test_patch_roots.sh - end to end: the patch checks of policies/linux-baseline.json
# on the patch fixture roots (tests/fixtures/roots/README.md): a Debian 12
# with a dpkg status file, apt lists with Release files, apt.conf.d, dpkg.log
# and a running kernel, prepared at test time so that dates are relative to
# now.  Each root fails exactly the patch checks it stands for, with evidence
# at the file and line a person would open; every other check passes.
#
# Environment: POSTURE_AGENT, POSTURE_SOURCE_DIR.  Needs jq.  The roots must
# belong to uid 0 (prepare.sh): run as root, or under 'unshare -r'.
set -euo pipefail

: "${POSTURE_AGENT:?set POSTURE_AGENT to the posture-agent binary}"
: "${POSTURE_SOURCE_DIR:?set POSTURE_SOURCE_DIR to the source tree}"

. "$(dirname "$0")/lib/rootns.sh"
need_uid0 test_patch_roots "$0" "$@"
command -v jq >/dev/null || { echo "test_patch_roots: jq is not installed" >&2; exit 1; }

AGENT=$POSTURE_AGENT
SRC=$POSTURE_SOURCE_DIR
POLICY=$SRC/policies/linux-baseline.json
PREPARE=$SRC/tests/fixtures/roots/prepare.sh
LISTS=/var/lib/apt/lists
MAIN=$LISTS/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages
UPDATES=$LISTS/deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages
SECURITY=$LISTS/security.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-patch-roots.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	printf '%s\n' "$2" | sed 's/^/     seen: /'
}
check() { if [ "${2:-1}" -eq 0 ]; then pass "$1"; else fail "$1" "$3"; fi; }

scan() {
	OUT=$work/$1.json
	ERR=$work/$1.err
	RC=0
	"$AGENT" scan --policy "$POLICY" --root "$work/roots/$1" --format json >"$OUT" 2>"$ERR" || RC=$?
}

expect_exit() {
	check "$1: exit $2" $((RC != $2)) "exit $RC; stderr: $(head -c 2000 "$ERR")"
}

# expect_status NAME STATUS ID...: the checks with STATUS are exactly ID...
expect_status() {
	local name=$1 status=$2 want got
	shift 2
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	got=$(jq -r --arg s "$status" '.results[] | select(.status == $s) | .check' "$OUT" | sort)
	check "$name: $status checks are exactly [$(echo $want)]" "$([ "$want" = "$got" ] && echo 0 || echo 1)" \
		"got: $(echo $got)"
}

# expect_evidence NAME CHECK SUBJECT LOCATION OBSERVED: one evidence item with
# exactly this subject, location and observed text.
expect_evidence() {
	local name=$1 id=$2 subj=$3 loc=$4 obs=$5 n
	n=$(jq --arg c "$id" --arg s "$subj" --arg l "$loc" --arg o "$obs" \
		'[.results[] | select(.check == $c) | .evidence[] |
		  select(.subject == $s and (.location // "") == $l and .observed == $o)] | length' "$OUT")
	check "$name: $id evidence $subj at ${loc:-(none)}: $obs" $((n != 1)) \
		"$(jq -c --arg c "$id" '.results[] | select(.check == $c) | .evidence' "$OUT")"
}

# expect_nevidence NAME CHECK N: the check carries exactly N evidence items
expect_nevidence() {
	local n
	n=$(jq --arg c "$2" '[.results[] | select(.check == $c) | .evidence[]] | length' "$OUT")
	check "$1: $2 has $3 evidence items" $((n != $3)) "$n"
}

mapfile -t PATCH < <(jq -r '.checks[] | select(.category == "patch") | .id' "$POLICY")
NCHECKS=$(jq '.checks | length' "$POLICY")
# The backup checks wait for an operator's variables: not_applicable on every root here.
mapfile -t BACKUP < <(jq -r '.checks[] | select(.category == "backup") | .id' "$POLICY")
NBACKUP=${#BACKUP[@]}
check "the baseline has 9 patch checks" $((${#PATCH[@]} != 9)) "${PATCH[*]}"

mkdir -p "$work/roots"
for r in patch-current patch-pending patch-security patch-reboot patch-old-kernel compliant; do
	"$PREPARE" "$r" "$work/roots/$r"
done

# Release Dates and dpkg.log stamps were written relative to now by prepare.sh.
stamp() { date -u -d "$1 days ago" '+%Y-%m-%d'; }

# --- patch-current: up to date ------------------------------------------------
scan patch-current
expect_exit patch-current 0
expect_status patch-current pass $(jq -r '.checks[] | select(.category != "backup") | .id' "$POLICY")
expect_status patch-current not_applicable "${BACKUP[@]}"
expect_nevidence patch-current patch.security-updates 1
expect_evidence patch-current patch.security-updates pkg_security_updates "" \
	"nothing to compare: the probe found no items"
expect_evidence patch-current patch.lists-fresh /var/lib/apt/periodic/update-success-stamp \
	/var/lib/apt/periodic/update-success-stamp \
	"age_days 1 (apt's update-success stamp, modified $(date -u -d "1 day ago" '+%Y-%m-%d')T$(date -u -r "$work/roots/patch-current/var/lib/apt/periodic/update-success-stamp" '+%H:%M:%S')Z)"
expect_evidence patch-current patch.unattended-upgrades APT::Periodic::Enable \
	/etc/apt/apt.conf.d/10periodic:6 'enabled true (APT::Periodic::Enable "1")'
expect_evidence patch-current patch.unattended-upgrades APT::Periodic::Update-Package-Lists \
	/etc/apt/apt.conf.d/20auto-upgrades:1 'enabled true (APT::Periodic::Update-Package-Lists "1")'
expect_evidence patch-current patch.unattended-upgrades APT::Periodic::Unattended-Upgrade \
	/etc/apt/apt.conf.d/20auto-upgrades:2 'enabled true (APT::Periodic::Unattended-Upgrade "1")'
expect_evidence patch-current patch.unattended-upgrades unattended-upgrades \
	/var/lib/dpkg/status:117 "installed true (version 2.9.1+nmu3, state installed)"
expect_evidence patch-current patch.kernel-current 6.1.0-28-amd64 /proc/sys/kernel/osrelease \
	"newest_installed true (running 6.1.0-28-amd64 is the newest installed kernel (linux-image-6.1.0-28-amd64 6.1.119-1, /var/lib/dpkg/status:131))"
expect_evidence patch-current patch.recent-upgrade /var/log/dpkg.log /var/log/dpkg.log:9 \
	"days 5 (last package change: $(sed -n 9p "$work/roots/patch-current/var/log/dpkg.log") (local time read as UTC))"
check "patch-current: dpkg.log line 9 is the upgrade of 5 days ago" \
	"$(grep -q "^$(stamp 5) .* status installed openssh-server" <(sed -n 9p "$work/roots/patch-current/var/log/dpkg.log") && echo 0 || echo 1)" \
	"$(sed -n 9p "$work/roots/patch-current/var/log/dpkg.log")"
# telnetd left only its configuration files: it does not count as installed.
expect_evidence patch-current patch.legacy-services-absent \
	'pkg_installed names=["telnetd","inetutils-telnetd","telnetd-ssl","rsh-server","rsh-redone-server","nis","talkd","inetutils-talkd","tftpd","tftpd-hpa","atftpd"]' \
	"" "nothing"
expect_evidence patch-current patch.openssh-regresshion openssh-server /var/lib/dpkg/status:88 \
	"amd64 true (installed 1:9.2p1-2+deb12u3 >= 1:9.2p1-2+deb12u3 (dpkg order))"

# --- patch-pending: a point release and a stable update -----------------------
scan patch-pending
expect_exit patch-pending 1
expect_status patch-pending fail patch.updates-pending
check "patch-pending: every other check passes" \
	"$(jq -e --argjson n "$NCHECKS" --argjson b "$NBACKUP" '.summary | .pass == $n - 1 - $b and .error == 0' "$OUT" >/dev/null && echo 0 || echo 1)" \
	"$(jq -c .summary "$OUT")"
expect_evidence patch-pending patch.updates-pending pkg_updates "" "count 2"
expect_evidence patch-pending patch.updates-pending base-files "$MAIN:1" \
	"amd64 12.4+deb12u10 (installed 12.4+deb12u8 (/var/lib/dpkg/status:1), candidate 12.4+deb12u10 from stable (Debian, Debian))"
expect_evidence patch-pending patch.updates-pending tzdata "$UPDATES:1" \
	"all 2025b-0+deb12u1 (installed 2024a-0+deb12u1 (/var/lib/dpkg/status:103), candidate 2025b-0+deb12u1 from stable-updates (Debian, Debian))"
expect_status patch-pending pass $(jq -r '.checks[] | select(.category != "backup") | .id | select(. != "patch.updates-pending")' "$POLICY")

# --- patch-security: glibc and openssl fixes published 20 days ago ---------------
scan patch-security
expect_exit patch-security 1
expect_status patch-security fail patch.security-updates patch.updates-pending
expect_nevidence patch-security patch.security-updates 4
rel_date=$(date -u -d "$(sed -n 's/^Date: //p' "$work/roots/patch-security$LISTS/security.debian.org_debian-security_dists_bookworm-security_InRelease")" '+%Y-%m-%dT%H:%M:%SZ')
for spec in "libc-bin:1:2.36-9+deb12u9:2.36-9+deb12u10:44" "libc6:15:2.36-9+deb12u9:2.36-9+deb12u10:29" \
	"libssl3:29:3.0.15-1~deb12u1:3.0.16-1~deb12u1:59" "openssl:57:3.0.15-1~deb12u1:3.0.16-1~deb12u1:74"; do
	IFS=: read -r pkg line inst fix sline <<<"$spec"
	expect_evidence patch-security patch.security-updates "$pkg" "$SECURITY:$line" \
		"amd64 20 (installed $inst (/var/lib/dpkg/status:$sline), security update $fix from stable-security (Debian, Debian-Security); pending at least 20 days (Release Date $rel_date of $LISTS/security.debian.org_debian-security_dists_bookworm-security_InRelease))"
	expect_evidence patch-security patch.updates-pending "$pkg" "$SECURITY:$line" \
		"amd64 $fix (installed $inst (/var/lib/dpkg/status:$sline), candidate $fix from stable-security (Debian, Debian-Security))"
done
# The i386 list holds a higher libc6, for another architecture: not a candidate.
check "patch-security: the i386 list's libc6 is not taken for the amd64 one" \
	"$(jq -e '[.results[].evidence[] | select(.observed | contains("deb12u99"))] | length == 0' "$OUT" >/dev/null && echo 0 || echo 1)" \
	"$(jq -c '[.results[].evidence[] | select(.observed | contains("deb12u99"))]' "$OUT")"

# --- patch-reboot ----------------------------------------------------------------
scan patch-reboot
expect_exit patch-reboot 1
expect_status patch-reboot fail patch.reboot-required
expect_evidence patch-reboot patch.reboot-required /run/reboot-required /run/reboot-required \
	"exists true (reboot required by libc6, libssl3 (/run/reboot-required.pkgs))"

# --- patch-old-kernel ------------------------------------------------------------
scan patch-old-kernel
expect_exit patch-old-kernel 1
expect_status patch-old-kernel fail patch.kernel-current
expect_evidence patch-old-kernel patch.kernel-current 6.1.0-28-amd64 /proc/sys/kernel/osrelease \
	"newest_installed false (running 6.1.0-28-amd64 (linux-image-6.1.0-28-amd64 6.1.119-1) but linux-image-6.1.0-29-amd64 6.1.123-1 is installed (/var/lib/dpkg/status:146): reboot into it)"

# --- compliant: no package database: every patch check is not_applicable ----------
scan compliant
expect_exit compliant 0
expect_status compliant not_applicable "${PATCH[@]}" "${BACKUP[@]}"
n=$(jq '[.results[] | select(.category == "patch" and .reason == "applies only where file path=/var/lib/dpkg/status attribute=exists is true")] | length' "$OUT")
check "compliant: the reason names /var/lib/dpkg/status" $((n != 9)) "$n"

# --- the lists gone: pending-update checks are not_applicable, freshness still checked --
rm -f "$work/roots/patch-current$LISTS"/*_Packages
scan patch-current
expect_exit "patch-current without lists" 0
expect_status "patch-current without lists" not_applicable patch.security-updates patch.updates-pending "${BACKUP[@]}"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
