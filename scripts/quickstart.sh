#!/usr/bin/env bash
# The main job, end to end, on this machine: install the dependencies, build,
# create a collector (CA, certificates, SQLite store) in a temporary
# directory, start it on 127.0.0.1, issue an agent certificate, run
# `posture-agent run --once` against this host with the shipped baseline,
# print what the collector stored (hosts, score, failing checks), and ask the
# collector's HTTPS API for the ISO's summary with the first admin token.
#
#   scripts/quickstart.sh [--keep]    --keep leaves the collector directory
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

keep=0
for arg in "$@"; do
	case "$arg" in
	--keep) keep=1 ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "quickstart.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
	esac
done

./packaging/install-deps.sh --run
cmake --preset dev >/dev/null
cmake --build --preset dev -j"$(nproc)" >/dev/null
bin=$src/build/dev

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-quickstart.XXXXXX")
collector_pid=
cleanup() {
	if [ -n "$collector_pid" ]; then kill -TERM "$collector_pid" 2>/dev/null && wait "$collector_pid" || true; fi
	if [ "$keep" -eq 0 ]; then rm -rf "$work"; else echo "posture: kept $work" >&2; fi
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
agent_port=$(port)
api_port=$(port)

echo "posture: creating a collector in $work/collector (agents on 127.0.0.1:$agent_port)" >&2
"$bin/posture-collector" init --dir "$work/collector" --agent-listen "127.0.0.1:$agent_port" \
	--api-listen "127.0.0.1:$api_port" >"$work/init.out"
admin=$(sed -n 's/^  \(pst_[A-Za-z0-9_-]*\)$/\1/p' "$work/init.out")
"$bin/posture-collector" run --config "$work/collector/collector.json" 2>"$work/collector.log" &
collector_pid=$!

echo "posture: issuing an agent certificate for $(hostname)" >&2
"$bin/posture-collector" issue-agent --dir "$work/collector" --agent-id "$(hostname | tr -c 'A-Za-z0-9._\n-' '-')" \
	--out "$work/agent" >/dev/null
# The agent reads the shipped baseline from the source tree and spools under $work.
jq --arg pol "$src/policies/linux-baseline.json" '.policies = [$pol] | .splay_s = 0' \
	"$work/agent/agent.json" >"$work/agent/agent.json.new"
mv "$work/agent/agent.json.new" "$work/agent/agent.json"

echo "posture: scanning this host and delivering the report (posture-agent run --once)" >&2
if ! "$bin/posture-agent" run --once --config "$work/agent/agent.json"; then
	echo "posture: the agent could not deliver its report; the collector said:" >&2
	tail -n 20 "$work/collector.log" >&2
	exit 1
fi

echo >&2
"$bin/posture-collector" show --config "$work/collector/collector.json"

echo >&2
echo "posture: the ISO's summary from the HTTPS API (GET https://127.0.0.1:$api_port/api/v1/summary)" >&2
curl -sS --fail-with-body --cacert "$work/collector/ca.crt" -H "Authorization: Bearer $admin" \
	"https://127.0.0.1:$api_port/api/v1/summary" |
	jq '{score, pass, fail, categories, hosts, open_violations: .violations.open_by_severity}'
