# fleet.sh - shared by the end-to-end tests that run a real collector and
# real agents on 127.0.0.1 (sourced, not run).  Each test makes its own
# CA, collector and agents in a temporary directory at test time.
#
#   fleet_init            make $work/collector (init) on free ports
#   fleet_agent ID ROOT   issue an agent certificate and config for fixture ROOT
#   collector_start       start the collector, wait until it accepts
#   collector_stop        SIGTERM and wait (fails if it does not exit 0)
#   collector_kill        SIGKILL
#   sql QUERY             run a query on the collector's SQLite store
#   ok NAME / bad NAME MSG / check NAME CMD...   count and print results
#   api_token, api, api_wait                     the HTTPS API (below)

: "${POSTURE_AGENT:?set POSTURE_AGENT to the posture-agent binary}"
: "${POSTURE_COLLECTOR:?set POSTURE_COLLECTOR to the posture-collector binary}"
: "${POSTURE_SOURCE_DIR:?set POSTURE_SOURCE_DIR to the source tree}"

pass=0
fail=0
collector_pid=
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name" "command failed: $*"; fi
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

fleet_cleanup() {
	if [ -n "$collector_pid" ] && kill -0 "$collector_pid" 2>/dev/null; then
		kill -KILL "$collector_pid" 2>/dev/null || true
	fi
	jobs -p | xargs -r kill -KILL 2>/dev/null || true
	if [ -n "${POSTURE_KEEP_WORK:-}" ]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}

fleet_init() {
	agent_port=$(free_port)
	api_port=$(free_port)
	"$POSTURE_COLLECTOR" init --dir "$work/collector" --agent-listen "127.0.0.1:$agent_port" \
		--api-listen "127.0.0.1:$api_port" >"$work/init.out" 2>"$work/init.err" || {
		cat "$work/init.err" >&2
		return 1
	}
	db=$(jq -r '.store' "$work/collector/collector.json" | sed 's/^sqlite://')
	case "$db" in /*) ;; *) db="$work/collector/$db" ;; esac
}

# fleet_agent ID FIXTURE_ROOT_NAME [jq filter applied to agent.json]
fleet_agent() {
	local id=$1 root=$2 filter=${3:-.}
	"$POSTURE_COLLECTOR" issue-agent --dir "$work/collector" --agent-id "$id" \
		--out "$work/agents/$id" >/dev/null
	"$POSTURE_SOURCE_DIR/tests/fixtures/roots/prepare.sh" "$root" "$work/roots/$id" >/dev/null
	jq --arg root "$work/roots/$id" --arg pol "$POSTURE_SOURCE_DIR/policies/linux-baseline.json" \
		'.root = $root | .policies = [$pol] | .splay_s = 0 | .backoff_min_ms = 100 | .backoff_max_ms = 1000 | '"$filter" \
		"$work/agents/$id/agent.json" >"$work/agents/$id/agent.json.new"
	mv "$work/agents/$id/agent.json.new" "$work/agents/$id/agent.json"
}

agent_conf() { echo "$work/agents/$1/agent.json"; }

collector_start() {
	"$POSTURE_COLLECTOR" run --config "$work/collector/collector.json" \
		>>"$work/collector.log" 2>&1 &
	collector_pid=$!
	local i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$agent_port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$collector_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "collector did not start; its log:" >&2
	tail -n 30 "$work/collector.log" >&2
	return 1
}

collector_stop() {
	local rc=0
	kill -TERM "$collector_pid"
	wait "$collector_pid" || rc=$?
	collector_pid=
	return "$rc"
}

collector_kill() {
	kill -KILL "$collector_pid"
	wait "$collector_pid" 2>/dev/null || true
	collector_pid=
}

sql() { sqlite3 -batch -noheader "$db" "$1"; }

# --- the HTTPS API ---
#   api_token ROLE [token create options]   print a new token of ROLE
#   api PATH [TOKEN] [curl options]         GET PATH; body on stdout, status in $api_status
api_token() {
	local role=$1
	shift
	"$POSTURE_COLLECTOR" token create --config "$work/collector/collector.json" --role "$role" \
		"$@" 2>>"$work/tokens.log"
}

api() {
	local path=$1 token=${2:-} out
	shift 2 || shift $#
	out=$(mktemp "$work/api.XXXXXX")
	local auth=()
	[ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
	api_status=$(curl -sS --cacert "$work/collector/ca.crt" -o "$out" -w '%{http_code}' \
		"${auth[@]}" "$@" "https://127.0.0.1:$api_port$path") || api_status=000
	cat "$out"
	rm -f "$out"
}

# Wait until the API answers (it starts after the agent listener).
api_wait() {
	local i
	for i in $(seq 1 100); do
		if curl -s --cacert "$work/collector/ca.crt" -o /dev/null \
			"https://127.0.0.1:$api_port/api/v1/health"; then
			return 0
		fi
		sleep 0.1
	done
	echo "the API did not answer; collector log:" >&2
	tail -n 20 "$work/collector.log" >&2
	return 1
}
