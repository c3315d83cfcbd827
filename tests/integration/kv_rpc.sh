#!/bin/bash
# io.ustack.KV served by ustackd (docs/kv.md "Serving it"): every method and error over the
# socket, an unprivileged uid (reads yes, writes no), 50 concurrent clients with checked
# results, and crash safety through the daemon: four clients stream acknowledged sets while
# the daemon is killed with SIGKILL at random moments, 100 rounds; after each restart every
# acknowledged write is there and the store opened cleanly. (~60-90 s)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need python3 setpriv

H=$(it_netns h) || exit 1
chmod 0755 "$IT_DIR" # an unprivileged uid must reach the socket
SOCK=$IT_DIR/ctl.sock
S=$IT_DIR/state
args=(--ifname ustkv0 --control "$SOCK" --state-dir "$S")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
CASES=("$PY" "$(cd "$(dirname "$0")" && pwd)/kv_rpc_cases.py" "$SOCK")

# "up:" comes before the control socket listens (and a killed daemon leaves its socket
# file): wait for the server's own line, up to 15 s.
ctl_ready() { # LOG
	for _ in $(seq 150); do
		grep -q 'control: serving varlink' "$1" && return 0
		sleep 0.1
	done
	echo "the control socket did not come up" >&2
	return 1
}

# Each case prints its own ok/not ok lines: counted here.
run_cases() {
	local out line
	out=$(timeout 300 "$@" 2>&1)
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) pass "${line#ok - }" ;;
		"not ok - "*) fail "${line#not ok - }" ;;
		*) [ -n "$line" ] && printf '#   %s\n' "$line" ;;
		esac
	done <<<"$out"
}

it_daemon "$H" "$IT_DIR/a.log" "${args[@]}" && ctl_ready "$IT_DIR/a.log" || fail "ustackd starts"
run_cases "${CASES[@]}" methods
gid=$(stat -c %g "$SOCK")
run_cases setpriv --reuid 65534 --regid "$gid" --clear-groups "${CASES[@]}" unprivileged
t0=$(date +%s.%N)
run_cases "${CASES[@]}" concurrent 50
it_log "50 clients x 200 operations: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
check "SIGTERM after the clients: exit 0" test $? -eq 0
check "no sanitizer report in the log" sh -c "! grep -E 'Sanitizer|runtime error:' '$IT_DIR/a.log'"

# Crash safety through the daemon. The writers record a key only once its reply came.
L=$IT_DIR/acked
bad_open=0 rounds=0
for round in $(seq 100); do
	if ! { it_daemon "$H" "$IT_DIR/c.log" "${args[@]}" && ctl_ready "$IT_DIR/c.log"; } \
		2>"$IT_DIR/start.err"; then
		bad_open=$((bad_open + 1))
		cat "$IT_DIR/start.err" >&2
		break
	fi
	if grep -q '^<[0-3]>' "$IT_DIR/c.log"; then
		bad_open=$((bad_open + 1))
		grep '^<[0-3]>' "$IT_DIR/c.log" | head -3 >&2
	fi
	# the previous round's acknowledged writes, after the restart
	if [ "$round" -gt 1 ]; then
		out=$("${CASES[@]}" crash-check "$L.$((round - 1))." 2>&1) ||
			fail "round $round: the acknowledged writes of round $((round - 1)) are there" "$out"
	fi
	KV_SEQ=$((round * 100000)) "${CASES[@]}" crash-write "$L.$round." &
	writer=$!
	# a random moment from 20 to 300 ms into the stream
	sleep "0.$(printf '%03d' $((20 + RANDOM % 280)))"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	wait "$writer"
	rounds=$round
done
it_daemon "$H" "$IT_DIR/c.log" "${args[@]}" && ctl_ready "$IT_DIR/c.log" || fail "the last restart"
n=$(cat "$L".* 2>/dev/null | wc -l)
check "$rounds rounds of kill -9, the store opened cleanly each time" test "$bad_open" -eq 0 -a "$rounds" -eq 100
check "$rounds rounds: some writes acknowledged in most rounds ($n in all)" test "$n" -gt 200
run_cases "${CASES[@]}" crash-check "$L."
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
it_finish
