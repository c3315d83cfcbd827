#!/bin/bash
# The control socket under malformed and hostile input (docs/rpc.md): invalid JSON, a
# message without its NUL, a 64 MiB message, unknown methods and interfaces, wrong and
# missing fields, unexpected fds, clients closing mid-call, 100 concurrent clients, an
# unprivileged uid. Every case must end in a varlink error or a disconnect, and after each
# one the daemon must still answer Status. Also runs the socat recipe of docs/rpc.md.
#   rpc_robust.sh USTACKD
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need python3 socat setpriv

HOST_IP=10.203.0.1
H=$(it_netns h) || exit 1
# An unprivileged uid must reach the socket: the directory is traversable.
chmod 0755 "$IT_DIR"
SOCK=$IT_DIR/ctl.sock
LOG=$IT_DIR/ustackd.log
it_backend tap "$LOG" --control "$SOCK" --state-dir "$IT_DIR/state"
# The system's python3: a per-user one (pyenv under /root) is out of the unprivileged
# uid's reach.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
CLIENT=("$PY" "$(cd "$(dirname "$0")" && pwd)/varlink_client.py" "$SOCK")

status_ok() {
	"${CLIENT[@]}" call io.ustack.Stack.Status | grep -q '"version"'
}

for c in invalid_json not_object no_nul huge unknown_method unknown_interface bad_envelope \
	wrong_types missing_fields unexpected_fds close_mid_call half_close concurrent too_many; do
	check "$c: an error or a disconnect" timeout 120 "${CLIENT[@]}" robust "$c"
	check "$c: the daemon still answers Status" status_ok
done

# The socket file: 0660, group ustackd when that group exists (root's otherwise).
mode=$(stat -c %a "$SOCK")
grp=$(stat -c %G "$SOCK")
check "socket file is 0660 (group $grp)" test "$mode" = 660
if getent group ustackd >/dev/null; then
	check "socket group is ustackd" test "$grp" = ustackd
else
	check "daemon logs that the group ustackd is missing" grep -q "no group 'ustackd'" "$LOG"
fi

# An unprivileged uid in the socket's group: Status yes, state-changing methods no.
gid=$(stat -c %g "$SOCK")
check "uid 65534: Status allowed, ArpAdd/TcpListen refused" \
	setpriv --reuid 65534 --regid "$gid" --clear-groups "${CLIENT[@]}" robust unprivileged
no_access() {
	local out
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups socat -t2 - \
		"UNIX-CONNECT:$SOCK" </dev/null 2>&1)
	grep -q "Permission denied" <<<"$out"
}
check "uid 65534 without the group: the socket file refuses it" no_access

# The recipe in docs/rpc.md.
socat_status() {
	printf '{"method":"io.ustack.Stack.Status"}\0' |
		socat -t2 - "UNIX-CONNECT:$SOCK" | tr '\0' '\n' | grep -q '"address":"10.203.0.2"'
}
check "socat recipe: Status" socat_status
socat_ping() {
	printf '{"method":"io.ustack.Stack.Ping","more":true,"parameters":{"address":"%s","count":2,"interval_ms":100}}\0' "$HOST_IP" |
		socat -t5 - "UNIX-CONNECT:$SOCK" | tr '\0' '\n' | grep -c '"result":"reply"' | grep -qx 2
}
check "socat recipe: Ping streams 2 replies after socat's half close" socat_ping

stats=$(printf '{"method":"io.ustack.Stack.Stats"}\0' | socat -t2 - "UNIX-CONNECT:$SOCK" |
	tr '\0' '\n')
counter() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["parameters"]["counters"][sys.argv[1]])' "$1" <<<"$stats"; }
check "Stats counts the oversize message" test "$(counter RpcOversizeMessages)" -ge 1
check "Stats counts bad messages" test "$(counter RpcBadMessages)" -ge 2
check "Stats counts the refused uid" test "$(counter RpcPermissionDenied)" -ge 2
check "Stats counts the unexpected fds" test "$(counter RpcUnexpectedFds)" -ge 2
check "Stats counts the refused clients" test "$(counter RpcClientsRefused)" -ge 4
it_log "$(grep -o '"Rpc[A-Za-z]*":[0-9]*' <<<"$stats" | tr '\n' ' ')"

it_stop "$DAEMON_PID"
check "daemon stops cleanly (exit 0)" test $? -eq 0
check "daemon removed its socket" test ! -e "$SOCK"
check "no sanitizer report in the log" bash -c '! grep -Eq "Sanitizer|runtime error" "$1"' _ "$LOG"
it_finish
