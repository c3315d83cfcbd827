#!/bin/bash
# Crash safety of the LMDB key-value store (docs/kv.md, "Durability"): a writer does a
# stream of acknowledged writes (kv_crash_writer.c) and is killed with SIGKILL at a random
# moment, 100 times (KV_CRASH_ROUNDS); each restart first checks that the store opens
# cleanly, that every acknowledged write is there (at most the one write in flight may
# have landed beyond it), values are whole, and no batch is half applied.
# Needs no root and no network: it tests the store module directly.
#   kv_crash.sh WRITER
set -u

WRITER=${1:?usage: kv_crash.sh WRITER}
ROUNDS=${KV_CRASH_ROUNDS:-100}
PASSED=0
FAILED=0
DIR=$(mktemp -d /tmp/ust-kvcrash-XXXXXX) || exit 1
trap 'rm -rf "$DIR"' EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() {
	FAILED=$((FAILED + 1))
	echo "not ok - $1"
	[ -n "${2:-}" ] && printf '#   %s\n' "$2"
}

last=-1     # the last generation acknowledged so far
acked_rounds=0
for round in $(seq 1 "$ROUNDS"); do
	# The restart: the store opens cleanly and holds every acknowledged write.
	if ! "$WRITER" "$DIR/kv" "$last" verify 2>"$DIR/err"; then
		fail "round $round: after the kill, acknowledged up to generation $last" \
			"$(cat "$DIR/err")"
		break
	fi
	pass "round $round: the restart found every acknowledged write (up to generation $last)"
	"$WRITER" "$DIR/kv" "$last" >"$DIR/out" 2>"$DIR/err" &
	pid=$!
	# A random moment 20-300 ms in: before, during or after the open and the check,
	# and most often inside a commit (two fdatasyncs per write).
	sleep "0.$(printf '%03d' $((RANDOM % 281 + 20)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	if [ "$rc" -ne 137 ]; then
		fail "round $round: the writer was still writing when killed" \
			"exit $rc: $(cat "$DIR/err")"
		break
	fi
	# Only whole lines count: a line cut by the kill lacks its "ok".
	new=$(grep -E '^ack [0-9]+ ok$' "$DIR/out" | tail -n 1 | cut -d' ' -f2)
	if [ -n "$new" ]; then
		acked_rounds=$((acked_rounds + 1))
		last=$new
	fi
done

if "$WRITER" "$DIR/kv" "$last" verify 2>"$DIR/err"; then
	pass "after $ROUNDS kills: the store opens, all $((last + 1)) acknowledged generations are there"
else
	fail "final check" "$(cat "$DIR/err")"
fi
# A run in which the writer never got to write would prove nothing.
if [ "$acked_rounds" -ge $((ROUNDS / 2)) ]; then
	pass "$acked_rounds of $ROUNDS rounds acknowledged writes before the kill"
else
	fail "too few rounds wrote anything" "$acked_rounds of $ROUNDS (a very slow disk?)"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
