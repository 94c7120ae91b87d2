#!/usr/bin/env bash
# test_scan_roots.sh - end to end: `posture-agent scan` over the fixture roots
# in tests/fixtures/roots with the shipped policies/linux-baseline.json.
#
# compliant passes every check; each deviant root fails exactly the checks
# listed in tests/fixtures/roots/README.md, with evidence pointing at the
# file and line of the deviation; minimal (no openssh-server, sudo or PAM
# configuration) reports those checks not_applicable.  The table and
# protobuf formats are checked on a deviant root, and broken policies are
# refused with exit 2 and a message naming the place of the error.
#
# Environment: POSTURE_AGENT (the posture-agent binary), POSTURE_SOURCE_DIR
# (the source tree).  Needs jq and protoc.  The fixture files must belong to
# uid 0 (prepare.sh): run as root, or the script re-runs itself under
# 'unshare -r' (an unprivileged user namespace) when it can.
set -euo pipefail

: "${POSTURE_AGENT:?set POSTURE_AGENT to the posture-agent binary}"
: "${POSTURE_SOURCE_DIR:?set POSTURE_SOURCE_DIR to the source tree}"

. "$(dirname "$0")/lib/rootns.sh"
need_uid0 test_scan_roots "$0" "$@"
for tool in jq protoc; do
	command -v "$tool" >/dev/null || { echo "test_scan_roots: $tool is not installed" >&2; exit 1; }
done

AGENT=$POSTURE_AGENT
SRC=$POSTURE_SOURCE_DIR
POLICY=$SRC/policies/linux-baseline.json
PREPARE=$SRC/tests/fixtures/roots/prepare.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-scan-roots.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
# fail NAME WHAT-WAS-SEEN
fail() {
	failed=$((failed + 1))
	echo "FAIL $1"
	printf '%s\n' "$2" | sed 's/^/     seen: /'
}
# check NAME STATUS SEEN: pass when STATUS is 0, else fail showing SEEN
check() { if [ "${2:-1}" -eq 0 ]; then pass "$1"; else fail "$1" "$3"; fi; }
# st COMMAND...: print 0 when the command succeeds, 1 when it fails (safe under set -e)
st() { if "$@" >/dev/null 2>&1; then echo 0; else echo 1; fi; }

# scan NAME FORMAT [POLICY]: scan the prepared root NAME; sets RC, OUT, ERR.
scan() {
	local name=$1 fmt=$2 pol=${3:-$POLICY}
	OUT=$work/$name.$fmt.out
	ERR=$work/$name.$fmt.err
	RC=0
	"$AGENT" scan --policy "$pol" --root "$work/roots/$name" --format "$fmt" >"$OUT" 2>"$ERR" || RC=$?
}

# expect_exit NAME WANT
expect_exit() {
	if [ "$RC" -eq "$2" ]; then
		pass "$1: exit $2"
	else
		fail "$1: exit $2" "exit $RC; stderr: $(head -c 2000 "$ERR")"
	fi
}

# expect_ids NAME STATUS ID...: the checks with STATUS in $OUT (json) are exactly ID...
expect_ids() {
	local name=$1 status=$2 want got
	shift 2
	want=$(printf '%s\n' "$@" | sort)
	got=$(jq -r --arg s "$status" '.results[] | select(.status == $s) | .check' "$OUT" | sort)
	if [ "$want" = "$got" ]; then
		pass "$name: $status checks are exactly the expected $# ($(echo "$want" | tr '\n' ' '| sed 's/ $//'))"
	else
		fail "$name: $status checks are exactly the expected $#" \
			"missing: $(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')
extra: $(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')"
	fi
}

# expect_evidence NAME CHECK LOCATION OBSERVED-SUBSTRING
expect_evidence() {
	local name=$1 id=$2 loc=$3 obs=$4 n
	n=$(jq --arg c "$id" --arg l "$loc" --arg o "$obs" \
		'[.results[] | select(.check == $c) | .evidence[] |
		  select(.location == $l and (.observed | contains($o)))] | length' "$OUT")
	if [ "$n" -ge 1 ]; then
		pass "$name: $id evidence at $loc shows \"$obs\""
	else
		fail "$name: $id evidence at $loc shows \"$obs\"" \
			"$(jq -c --arg c "$id" '.results[] | select(.check == $c) | .evidence' "$OUT")"
	fi
}

# expect_clean NAME: no result is error, and evidence paths are inside the root
expect_clean() {
	local name=$1 n leaks
	n=$(jq '[.results[] | select(.status == "error")] | length' "$OUT")
	check "$name: no check is error" $((n != 0)) \
		"$(jq -c '.results[] | select(.status == "error") | {check, reason}' "$OUT")"
	leaks=$(jq -r --arg w "$work" '.results[].evidence[] | select(((.location // "") | startswith($w)) or (.subject | startswith($w))) | .subject' "$OUT")
	check "$name: evidence names paths as seen inside the root" $((${#leaks} != 0)) "$leaks"
}

NCHECKS=$(jq '.checks | length' "$POLICY")
# The backup checks are not_applicable until an operator names the host's
# backup location (test_backup_roots.sh sets the variables), and the patch
# checks need a package database, which these roots do not have
# (test_patch_roots.sh covers them).
mapfile -t BACKUP_NA < <(jq -r '.checks[] | select(.category == "backup") | .id' "$POLICY")
mapfile -t PATCH < <(jq -r '.checks[] | select(.category == "patch") | .id' "$POLICY")
NPATCH=${#PATCH[@]}
NAPPLY=$((NCHECKS - ${#BACKUP_NA[@]} - NPATCH))
mkdir -p "$work/roots"
for r in compliant minimal image deviant-ssh deviant-accounts deviant-system; do
	"$PREPARE" "$r" "$work/roots/$r"
done

# --- compliant: every check passes -------------------------------------------
scan compliant json
expect_exit compliant 0
expect_clean compliant
n=$(jq '.results | length' "$OUT")
check "compliant: one result per check ($NCHECKS)" $((n != NCHECKS)) "$n results"
bad=$(jq -r '.results[] | select(.status != "pass" and .status != "not_applicable") | "\(.check) \(.status)"' "$OUT")
check "compliant: every result is pass or not_applicable" $((${#bad} != 0)) "$bad"
summary=$(jq -c '.summary' "$OUT")
check "compliant: summary has $NAPPLY pass, 0 fail, 0 error, score 100" \
	"$(st jq -e --argjson n "$NAPPLY" '.summary | .pass == $n and .fail == 0 and .error == 0 and .score == 100' "$OUT")" \
	"$summary"
expect_ids compliant not_applicable "${BACKUP_NA[@]}" "${PATCH[@]}"
hostline=$(jq -r '"\(.format) \(.host.hostname) \(.host.os_id) \(.host.os_version) \(.policies[0].id)"' "$OUT")
check "compliant: document is posture.scan/v1 for compliant-1, debian 12, linux-baseline" \
	"$(st [ "$hostline" = "posture.scan/v1 compliant-1 debian 12 linux-baseline" ])" "$hostline"

# --- minimal: no sshd, sudo, PAM or cron: those checks are not_applicable ------
scan minimal json
expect_exit minimal 0
expect_clean minimal
mapfile -t na < <(jq -r '.checks[].id | select(test("^(ssh|sudo|pam)\\.") or . == "files.crontab" or . == "files.cron-dirs" or . == "files.opasswd")' "$POLICY")
expect_ids minimal not_applicable "${na[@]}" "${BACKUP_NA[@]}" "${PATCH[@]}"
n=$(jq '[.results[] | select(.status == "fail")] | length' "$OUT")
check "minimal: nothing fails" $((n != 0)) "$(jq -c '[.results[] | select(.status == "fail") | .check]' "$OUT")"

# --- image: the compliant tree without /proc, as a mounted image looks -------
# No running kernel: the live sysctl checks are not_applicable, and the values
# applied at boot are still checked (and pass).
scan image json
expect_exit image 0
expect_clean image
mapfile -t live < <(jq -r '.checks[] | select(any(.applicable_if[]?; .path == "/proc/sys/kernel" or .path == "/proc/sys/net/ipv6")) | .id' "$POLICY")
check "image: the baseline gates ${#live[@]} live kernel checks on /proc/sys" $((${#live[@]} < 15)) "${live[*]}"
expect_ids image not_applicable $(printf '%s\n' "${live[@]}" "${BACKUP_NA[@]}" "${PATCH[@]}" | sort -u)
n=$(jq '[.results[] | select((.check | endswith("-persisted")) and .status == "pass")] | length' "$OUT")
check "image: the 4 boot-time sysctl checks pass" $((n != 4)) "$n passed"

# --- deviant-ssh ---------------------------------------------------------------
scan deviant-ssh json
expect_exit deviant-ssh 1
expect_clean deviant-ssh
expect_ids deviant-ssh fail \
	ssh.banner ssh.ciphers ssh.host-private-key-permissions ssh.login-grace-time ssh.macs \
	ssh.max-auth-tries ssh.password-authentication ssh.permit-root-login \
	ssh.sshd-config-permissions ssh.x11-forwarding
expect_evidence deviant-ssh ssh.permit-root-login /etc/ssh/sshd_config:14 "PermitRootLogin yes"
expect_evidence deviant-ssh ssh.password-authentication /etc/ssh/sshd_config.d/50-cloud-init.conf:1 "PasswordAuthentication yes"
expect_evidence deviant-ssh ssh.ciphers /etc/ssh/sshd_config:40 "aes256-cbc,3des-cbc"
expect_evidence deviant-ssh ssh.sshd-config-permissions /etc/ssh/sshd_config "mode 0644"
expect_evidence deviant-ssh ssh.host-private-key-permissions /etc/ssh/ssh_host_rsa_key "mode 0640"
ids=$(jq -r '.results[] | select(.status == "fail") | .check' "$OUT")

scan deviant-ssh table
expect_exit "deviant-ssh --format table" 1
missing=""
for id in $ids; do grep -qF "$id" "$OUT" || missing="$missing $id"; done
check "deviant-ssh --format table: lists every failing check id" $((${#missing} != 0)) "missing:$missing"
n=$(grep -c '^ *FAIL ' "$OUT" || true)
check "deviant-ssh --format table: 10 FAIL lines" $((n != 10)) "$n FAIL lines"

scan deviant-ssh protobuf
expect_exit "deviant-ssh --format protobuf" 1
decoded=$work/deviant-ssh.decoded
drc=0
protoc --decode=posture.v1.Envelope -I "$SRC/proto" posture/v1/posture.proto <"$OUT" >"$decoded" 2>"$decoded.err" || drc=$?
check "deviant-ssh --format protobuf: decodes as posture.v1.Envelope" "$drc" "protoc exit $drc: $(head -c 1000 "$decoded.err")"
missing=""
for id in $(jq -r '.checks[].id' "$POLICY"); do grep -qF "check_id: \"$id\"" "$decoded" || missing="$missing $id"; done
check "deviant-ssh --format protobuf: holds a result for each of the $NCHECKS checks" $((${#missing} != 0)) "missing:$missing"
n=$(grep -c 'status: STATUS_FAIL' "$decoded" || true)
check "deviant-ssh --format protobuf: 10 results with STATUS_FAIL" $((n != 10)) "$n"
check "deviant-ssh --format protobuf: evidence location /etc/ssh/sshd_config:14" \
	"$(st grep -qF 'location: "/etc/ssh/sshd_config:14"' "$decoded")" "$(grep -F 'location:' "$decoded" | head -5)"

# --- deviant-accounts ----------------------------------------------------------
scan deviant-accounts json
expect_exit deviant-accounts 1
expect_clean deviant-accounts
expect_ids deviant-accounts fail \
	accounts.account-files-wellformed accounts.no-duplicate-gids accounts.no-duplicate-uids \
	accounts.no-empty-passwords accounts.no-group-passwords accounts.password-max-days \
	accounts.shadow-group-empty accounts.shadowed-passwords accounts.sudo-group-members \
	accounts.system-accounts-no-shell accounts.uid0-only-root login-defs.pass-max-days \
	login-defs.umask pam.faillock-deny pam.no-nullok pam.pwquality-minlen
expect_evidence deviant-accounts accounts.uid0-only-root /etc/passwd:23 "toor"
expect_evidence deviant-accounts accounts.no-empty-passwords /etc/shadow:24 "deploy"
expect_evidence deviant-accounts accounts.shadowed-passwords /etc/passwd:25 "ci"
expect_evidence deviant-accounts accounts.system-accounts-no-shell /etc/passwd:13 "www-data"
expect_evidence deviant-accounts accounts.password-max-days /etc/shadow:22 "max_days 99999"
expect_evidence deviant-accounts accounts.sudo-group-members /etc/group:17 "toor"
expect_evidence deviant-accounts login-defs.umask /etc/login.defs:20 "UMASK 022"
expect_evidence deviant-accounts pam.pwquality-minlen /etc/security/pwquality.conf:7 "minlen 8"
expect_evidence deviant-accounts pam.no-nullok /etc/pam.d/common-auth:10 "pam_unix.so nullok"

# --- deviant-system ------------------------------------------------------------
scan deviant-system json
expect_exit deviant-system 1
expect_clean deviant-system
expect_ids deviant-system fail \
	files.cron-dirs files.crontab files.shadow fs.suid-inventory fs.world-writable-dirs-sticky \
	fs.world-writable-files kernel.suid-dumpable kernel.suid-dumpable-persisted \
	kernel.yama-ptrace-scope net.ipv4-forwarding net.ipv4-forwarding-persisted \
	sudo.no-authenticate-disabled sudo.no-nopasswd sudo.sudoers-d-permissions \
	sudo.timestamp-timeout sudo.use-pty
expect_evidence deviant-system sudo.no-nopasswd /etc/sudoers.d/90-deploy:2 "NOPASSWD: ALL"
expect_evidence deviant-system sudo.no-authenticate-disabled /etc/sudoers.d/90-deploy:3 "!authenticate"
expect_evidence deviant-system sudo.timestamp-timeout /etc/sudoers:13 "timestamp_timeout 60"
expect_evidence deviant-system files.shadow /etc/shadow "mode 0644"
expect_evidence deviant-system fs.world-writable-files /opt/legacy-app/settings.ini "mode 0666"
expect_evidence deviant-system fs.world-writable-dirs-sticky /srv/shared "mode 0777"
expect_evidence deviant-system fs.suid-inventory /usr/local/bin/backup-helper "mode 4755"
expect_evidence deviant-system kernel.suid-dumpable /proc/sys/fs/suid_dumpable "fs.suid_dumpable 2"
expect_evidence deviant-system kernel.suid-dumpable-persisted /usr/lib/sysctl.d/50-coredump.conf:14 "fs.suid_dumpable 2"
expect_evidence deviant-system kernel.yama-ptrace-scope /proc/sys/kernel/yama/ptrace_scope "kernel.yama.ptrace_scope 0"
expect_evidence deviant-system net.ipv4-forwarding /proc/sys/net/ipv4/ip_forward "net.ipv4.ip_forward 1"
expect_evidence deviant-system net.ipv4-forwarding-persisted /etc/sysctl.d/99-docker.conf:2 "net.ipv4.ip_forward 1"

# --- broken policies are refused as a whole ------------------------------------
write_policy() { # FILE CHECK1-EXTRA RULE1-VALUE-KEY
	cat >"$1" <<EOF
{
  "id": "broken",
  "version": "0.0.1",
  "title": "a policy with a mistake",
  "checks": [
    {"id": "files.passwd", "title": "passwd mode", "severity": "high", "category": "access_control",
     "rules": [{"probe": "file", "path": "/etc/passwd", "attribute": "mode", "op": "within_mask", "value": "0644"}]},
    {"id": "ssh.permit-root-login", "title": "no root over ssh", "severity": "high", "category": "access_control"$2,
     "rules": [{"probe": "sshd_config", "key": "PermitRootLogin", "default": "prohibit-password", "op": "in", "$3": ["no"]}]}
  ]
}
EOF
}

bad=$work/unknown-check-key.json
write_policy "$bad" ', "valu": 1' value
scan compliant json "$bad"
expect_exit "policy with an unknown key in checks[1]" 2
want="posture-agent: policy $bad: checks[1] \"ssh.permit-root-login\": unknown key \"valu\" (expected one of: id, title, description, rationale, remediation, severity, category, controls, match, rules, applicable_if)"
check "policy with an unknown key in checks[1]: stderr names checks[1] \"ssh.permit-root-login\": unknown key \"valu\"" \
	"$(st grep -qxF "$want" "$ERR")" "$(cat "$ERR")"
check "policy with an unknown key in checks[1]: no results printed" $(($(wc -c <"$OUT") != 0)) "$(head -c 500 "$OUT")"

bad=$work/unknown-rule-key.json
write_policy "$bad" '' valu
scan compliant json "$bad"
expect_exit "policy with \"valu\" for \"value\" in checks[1].rules[0]" 2
want="posture-agent: policy $bad: checks[1] \"ssh.permit-root-login\": rules[0]: unknown key \"valu\" (expected one of: probe, op, value, ignore_case, count, key, default, path)"
check "policy with \"valu\" in checks[1].rules[0]: stderr names checks[1] \"ssh.permit-root-login\": rules[0]: unknown key \"valu\"" \
	"$(st grep -qxF "$want" "$ERR")" "$(cat "$ERR")"

bad=$work/syntax.json
printf '{\n  "id": "broken",\n  "version": "0.0.1",\n  "title": "a syntax error",\n  "checks": [\n    {"id": "a",, "title": "b"}\n  ]\n}\n' >"$bad"
scan compliant json "$bad"
expect_exit "policy with a JSON syntax error" 2
check "policy with a JSON syntax error: stderr names the file:line:column (syntax.json:6:16)" \
	"$(st grep -qF "policy $bad:6:16: " "$ERR")" "$(cat "$ERR")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
