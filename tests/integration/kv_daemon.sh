#!/bin/bash
# ustackd and its key-value store (docs/kv.md): the LMDB store is created in
# --state-dir/kv at start and closed at SIGTERM; a restart, also after kill -9, opens it
# again; --kv-memory leaves no files; a state directory that cannot hold the store, or whose
# store another daemon has open, stops the daemon with a clear error (exit 1), bad kv limits
# are usage errors (exit 2).
# (What the store holds is checked by tests/unit/test_kv.c and kv_crash.sh; reading it
# through the daemon needs the RPC.)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init "$@"

H=$(it_netns h) || exit 1
RUN="$IT_DIR/run"
S="$IT_DIR/state"
args=(--ifname ustkv0 --control "$RUN/ctl.sock")

stop() { # PID: SIGTERM, then its exit status
	kill -TERM "$1"
	wait "$1"
}

it_daemon "$H" "$IT_DIR/a.log" "${args[@]}" --state-dir "$S" || fail "ustackd starts"
check "the store is created in --state-dir/kv" test -s "$S/kv/data.mdb"
check "the log names it" grep -q "^<6>key-value store: $S/kv, map 1073741824 bytes" "$IT_DIR/a.log"
# A second daemon on the same state directory (its own device and socket) is refused at
# once with a clear error, not left waiting on the first one's LMDB write lock.
out=$(timeout 20 ip netns exec "$H" "$USTACKD" --ifname ustkv1 --control "$RUN/ctl2.sock" \
	--state-dir "$S" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q '^<3>Cannot open the key-value store in .*another process'; then
	pass "a second daemon on the same state dir: $(printf '%s' "$out" | grep '^<3>')"
else
	fail "a second daemon on the same state dir is refused (exit 1)" "exit $rc: $out"
fi
stop "$DAEMON_PID"
rc=$?
if [ "$rc" -eq 0 ]; then
	pass "SIGTERM: exit 0 with the store closed"
else
	fail "SIGTERM: exit 0" "exit $rc"
fi

# kill -9 leaves the lock file with a dead reader/writer behind: the next start opens it.
it_daemon "$H" "$IT_DIR/b.log" "${args[@]}" --state-dir "$S" --kv-map-size 8388608 \
	--kv-max-value 65536 || fail "restarts on the existing store"
check "the limits are taken" grep -q "map 8388608 bytes, values up to 65536 bytes" "$IT_DIR/b.log"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
if it_daemon "$H" "$IT_DIR/c.log" "${args[@]}" --state-dir "$S"; then
	pass "starts again after kill -9"
	stop "$DAEMON_PID"
else
	fail "starts again after kill -9"
fi

it_daemon "$H" "$IT_DIR/d.log" "${args[@]}" --state-dir "$IT_DIR/mem" --kv-memory ||
	fail "starts with --kv-memory"
check "--kv-memory: in memory" grep -q "^<6>key-value store: memory" "$IT_DIR/d.log"
check "--kv-memory: no files" test ! -e "$IT_DIR/mem/kv"
stop "$DAEMON_PID"

# A state directory that is a file: the store cannot open, the daemon says so and stops.
: >"$IT_DIR/file"
out=$(ip netns exec "$H" "$USTACKD" "${args[@]}" --state-dir "$IT_DIR/file" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q '^<3>Cannot open the key-value store in'; then
	pass "an unusable state directory: $(printf '%s' "$out" | grep '^<3>')"
else
	fail "an unusable state directory fails clearly" "exit $rc: $out"
fi
out=$("$USTACKD" --kv-map-size 16777216 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && printf '%s' "$out" | grep -q 'kv-max-value: 16777216 is not below kv-map-size'; then
	pass "a value limit not below the map size is refused"
else
	fail "a value limit not below the map size is refused" "exit $rc: $out"
fi
it_finish
