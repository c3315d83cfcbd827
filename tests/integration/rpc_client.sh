#!/bin/bash
# The clients of ustackd against the real daemon and the Linux kernel, in network
# namespaces of its own:
#   rpc_client.sh USTACKD USTACKCTL [EXAMPLE_CLIENT [LIBUSTACK_CHECK]]
# ustackd on a TAP in namespace h, whose kernel (10.203.0.1) is also a router
# (ip_forward on) to namespace t (10.204.0.2) behind it. Checks: usage errors exit 2;
# status/stats/arp/sockets and their --json; arp add/del (EPERM for a plain uid);
# ustackctl ping to the kernel (exit 0) and to an address nobody answers (exit 1);
# traceroute (UDP and ICMP) shows the router, then the target; kernel nc <-> ustackctl tcp
# connect / tcp listen, 50 MB each way, sha256 equal; a reset from the kernel side gives
# ECONNRESET and exit 1, a closed port ECONNREFUSED, a clean close exit 0; UDP both ways
# (and --json with the source); capture writes a pcap tshark reads; the C example of
# docs/rpc.md, its socat recipes, and libustack's API (libustack_check.c: options,
# listener events, ICMP errors). Runs in ~40 s.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
it_init "${1:-}"
CTL=${USTACKCTL:-${2:-}}
EXAMPLE=${USTACK_EXAMPLE:-${3:-}}
LIBCHECK=${USTACK_LIBCHECK:-${4:-}}
if [ -z "$CTL" ] || [ ! -x "$CTL" ]; then
	fail "ustackctl binary given (argument 2 or \$USTACKCTL)"
	it_finish
fi
it_need nc python3 sha256sum tshark socat setpriv

HOST_IP=10.203.0.1
DAEMON_IP=10.203.0.2
TARGET_IP=10.204.0.2
BIG=$((50 * 1000 * 1000))

H=$(it_netns h) || exit 1
T=$(it_netns t) || exit 1
RUN="$IT_DIR/run"
LOG="$IT_DIR/ustackd.log"
export USTACK_SOCKET="$RUN/ctl.sock"
it_backend tap "$LOG" --address "$DAEMON_IP/24" --gateway "$HOST_IP" --control "$USTACK_SOCKET" \
	--state-dir "$IT_DIR/state" --service echo:7,discard:9 --log-level info

# The router: h forwards between the TAP and a veth to t.
ip link add ustr0 netns "$H" type veth peer name ustr1 netns "$T" || exit 1
ip -n "$H" addr add 10.204.0.1/24 dev ustr0
ip -n "$T" addr add "$TARGET_IP/24" dev ustr1
ip -n "$H" link set ustr0 up
ip -n "$T" link set ustr1 up
ip -n "$T" route add default via 10.204.0.1
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1

hx() { ip netns exec "$H" "$@"; }
ctl() { timeout 60 "$CTL" "$@"; }

# expect_exit NAME CODE CMD...: CMD exits with CODE.
expect_exit() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ]; then pass "$name"; else fail "$name" "exit $rc, wanted $want" "$out"; fi
}
json_ok() { "$@" | python3 -m json.tool >/dev/null; }

# --- usage errors: exit 2, before any call -----------------------------------------------
expect_exit "no command: exit 2" 2 "$CTL"
expect_exit "unknown command: exit 2" 2 "$CTL" frobnicate
expect_exit "ping without a host: exit 2" 2 "$CTL" ping
expect_exit "ping -c x: exit 2" 2 "$CTL" ping -c x "$HOST_IP"
expect_exit "a name, not an address: exit 2" 2 "$CTL" ping -c 1 localhost
expect_exit "tcp connect with a bad port: exit 2" 2 "$CTL" tcp connect "$HOST_IP" 70000
expect_exit "status with an argument: exit 2" 2 "$CTL" status now
expect_exit "--json on tcp connect: exit 2" 2 "$CTL" --json tcp connect "$HOST_IP" 7
expect_exit "arp add with a bad MAC: exit 2" 2 "$CTL" arp add "$HOST_IP" 11:22
expect_exit "no daemon at --socket: exit 1" 1 "$CTL" --socket "$IT_DIR/nothing.sock" status

# --- read commands and their JSON --------------------------------------------------------
check "status" sh -c "'$CTL' status | grep -q 'address: $DAEMON_IP/24'"
check "status --json parses and names the address" sh -c \
	"'$CTL' --json status | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"address\"] == \"$DAEMON_IP\"'"
check "stats lists IpInReceives" sh -c "'$CTL' stats | grep -q '^IpInReceives '"
check "stats --json parses" json_ok "$CTL" --json stats
check "sockets lists the echo service" sh -c "'$CTL' sockets | grep -q ':7 '"
check "sockets --json parses" json_ok "$CTL" --json sockets

# An unprivileged user (the socket opened to it here: in production the group ustackd):
# read commands work, state-changing ones are refused with EPERM and exit 1.
chmod o+x "$IT_DIR" "$RUN" && chmod o+rw "$USTACK_SOCKET"
nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
check "status as an unprivileged uid" nobody "$CTL" status
out=$(nobody "$CTL" arp add 10.203.0.77 02:00:00:00:00:77 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^ustackctl: EPERM: permission denied' <<<"$out"; then
	pass "arp add as an unprivileged uid: EPERM, exit 1"
else
	fail "arp add as an unprivileged uid: EPERM, exit 1" "exit $rc" "$out"
fi
chmod o-rw "$USTACK_SOCKET"
check "arp add as root" "$CTL" arp add 10.203.0.77 02:00:00:00:00:77
check "arp shows the static entry" sh -c "'$CTL' arp | grep -Eq '^10.203.0.77 +02:00:00:00:00:77 +static'"
check "arp del" "$CTL" arp del 10.203.0.77
expect_exit "arp del of an address without an entry: exit 1" 1 "$CTL" arp del 10.203.0.77

# The socat recipes of docs/rpc.md ("With socat").
out=$(printf '{"method":"io.ustack.Stack.Status"}\0' |
	timeout 10 socat -t2 - "UNIX-CONNECT:$USTACK_SOCKET" | tr '\0' '\n')
if grep -q "\"address\":\"$DAEMON_IP\"" <<<"$out"; then
	pass "socat: Status"
else
	fail "socat: Status" "$out"
fi
out=$(printf '{"method":"io.ustack.Stack.Ping","more":true,"parameters":{"address":"%s","count":2}}\0' \
	"$HOST_IP" | timeout 10 socat -t5 - "UNIX-CONNECT:$USTACK_SOCKET" | tr '\0' '\n')
if [ "$(grep -c '"result":"reply"' <<<"$out")" -eq 2 ] && grep -q '"continues":true' <<<"$out"; then
	pass "socat: Ping streams 2 replies"
else
	fail "socat: Ping streams 2 replies" "$out"
fi

# --- ping -----------------------------------------------------------------------------
out=$(ctl ping -c 3 -i 0.2 "$HOST_IP" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^3 packets transmitted, 3 received, 0% packet loss' <<<"$out" &&
	grep -q "bytes from $HOST_IP: icmp_seq=" <<<"$out"; then
	pass "ping the kernel: 3 replies, exit 0"
else
	fail "ping the kernel: 3 replies, exit 0" "exit $rc" "$out"
fi
check "ping --json parses" json_ok "$CTL" --json ping -c 2 -i 0.2 "$HOST_IP"
check "arp has the kernel's MAC now" sh -c "'$CTL' arp | grep -q '^$HOST_IP '"
check "arp --json parses" json_ok "$CTL" --json arp
out=$(ctl ping -c 2 -i 0.2 -W 1 10.203.0.99 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q ' 0 received' <<<"$out"; then
	pass "ping an address that does not answer: exit 1"
else
	fail "ping an address that does not answer: exit 1" "exit $rc" "$out"
fi

# --- traceroute through the router -------------------------------------------------------
for mode in -U -I; do
	out=$(ctl traceroute "$mode" -m 5 -q 1 -w 2 "$TARGET_IP" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && grep -Eq "^ 1  $HOST_IP " <<<"$out" && grep -Eq "^ 2  $TARGET_IP " <<<"$out" &&
		! grep -q '^ 3 ' <<<"$out"; then
		pass "traceroute $mode: the router, then the target"
	else
		fail "traceroute $mode: the router, then the target" "exit $rc" "$out"
	fi
done
check "traceroute --json parses" json_ok "$CTL" --json traceroute -I -m 3 -q 1 "$TARGET_IP"

# --- TCP: kernel nc <-> ustackctl, 50 MB each way -------------------------------------------
DATA="$IT_DIR/data"
head -c "$BIG" /dev/urandom >"$DATA"
WANT=$(sha256sum <"$DATA" | cut -d' ' -f1)
sha() { sha256sum <"$1" | cut -d' ' -f1; }
# wait_listen NS PORT: until a kernel socket listens on PORT in NS.
wait_listen() {
	for _ in $(seq 50); do
		ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
# bulk_check NAME FILE RC: the copy exited 0 and FILE holds the data.
bulk_check() {
	local got
	got=$(sha "$2")
	if [ "$3" -eq 0 ] && [ "$got" = "$WANT" ]; then
		pass "$1: $BIG bytes, sha256 equal"
	else
		fail "$1: $BIG bytes, sha256 equal" "exit $3, $(stat -c %s "$2") bytes, sha256 $got"
	fi
}

# ustackctl tcp connect -> kernel nc -l
hx timeout 120 nc -l "$HOST_IP" 5001 >"$IT_DIR/k1" </dev/null &
KPID=$!
wait_listen "$H" 5001
ctl tcp connect "$HOST_IP" 5001 <"$DATA"
rc=$?
wait "$KPID"
bulk_check "ustackctl tcp connect -> kernel nc" "$IT_DIR/k1" "$rc"

# kernel nc -l -> ustackctl tcp connect (its stdin open: our FIN would stop nc sending)
hx timeout 120 nc -N -l "$HOST_IP" 5002 <"$DATA" &
KPID=$!
wait_listen "$H" 5002
ctl tcp connect "$HOST_IP" 5002 >"$IT_DIR/u2" < <(sleep 100)
rc=$?
wait "$KPID"
bulk_check "kernel nc -> ustackctl tcp connect" "$IT_DIR/u2" "$rc"

# kernel nc -> ustackctl tcp listen
# Its stdin stays open (no FIN from our side) through a FIFO whose writer cleanup kills (a
# process substitution's sleep would outlive the test and hold meson's pipe for 100 s).
mkfifo "$IT_DIR/hold"
sleep 100 >"$IT_DIR/hold" 2>/dev/null &
IT_PIDS+=($!)
ctl tcp listen 5003 >"$IT_DIR/u3" <"$IT_DIR/hold" &
LPID=$!
wait_ustack_listen 5003
hx timeout 120 nc -N "$DAEMON_IP" 5003 <"$DATA" >/dev/null
wait "$LPID"
bulk_check "kernel nc -> ustackctl tcp listen" "$IT_DIR/u3" $?

# ustackctl tcp listen -> kernel nc
ctl tcp listen 5004 <"$DATA" &
LPID=$!
wait_ustack_listen 5004
hx timeout 120 nc -d "$DAEMON_IP" 5004 >"$IT_DIR/k4"
wait "$LPID"
bulk_check "ustackctl tcp listen -> kernel nc" "$IT_DIR/k4" $?
rm -f "$DATA" "$IT_DIR"/k? "$IT_DIR"/u?

# --- how a connection ends: reset, refused ------------------------------------------------
# The kernel side accepts, then closes with SO_LINGER {1, 0}: a RST.
hx timeout 30 python3 -c '
import socket, struct, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$HOST_IP"'", 5005)); s.listen(1)
c, _ = s.accept(); c.sendall(b"bye\n"); time.sleep(0.5)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
' &
KPID=$!
wait_listen "$H" 5005
out=$(ctl tcp connect "$HOST_IP" 5005 < <(sleep 30) 2>&1)
rc=$?
wait "$KPID"
if [ "$rc" -eq 1 ] && grep -q '^ustackctl: ECONNRESET: ' <<<"$out" && grep -q '^bye$' <<<"$out"; then
	pass "a reset from the kernel: the data, then ECONNRESET, exit 1"
else
	fail "a reset from the kernel: the data, then ECONNRESET, exit 1" "exit $rc" "$out"
fi
out=$(ctl tcp connect "$HOST_IP" 5999 </dev/null 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^ustackctl: ECONNREFUSED: ' <<<"$out"; then
	pass "a closed port: ECONNREFUSED, exit 1"
else
	fail "a closed port: ECONNREFUSED, exit 1" "exit $rc" "$out"
fi
# An echo server in the kernel: a clean close both ways.
hx timeout 300 socat TCP-LISTEN:5010,bind="$HOST_IP",reuseaddr,fork PIPE >/dev/null 2>&1 &
EPID=$!
wait_listen "$H" 5010
out=$(printf 'hi\n' | ctl tcp connect "$HOST_IP" 5010 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ "$out" = hi ]; then
	pass "echo through a kernel server: clean close, exit 0"
else
	fail "echo through a kernel server: clean close, exit 0" "exit $rc" "$out"
fi

# --- UDP both ways ---------------------------------------------------------------------
hx timeout 10 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("'"$HOST_IP"'", 5006))
d, a = s.recvfrom(70000); sys.stdout.write("%d %s\n" % (len(d), a[0])); s.sendto(d[::-1], a)
' >"$IT_DIR/udp1" &
KPID=$!
sleep 0.5
out=$(printf 'abcdef' | ctl udp send -w 3 "$HOST_IP" 5006 2>&1)
rc=$?
wait "$KPID"
if [ "$rc" -eq 0 ] && [ "$out" = fedcba ] && [ "$(cat "$IT_DIR/udp1")" = "6 $DAEMON_IP" ]; then
	pass "udp send to the kernel, and its answer back"
else
	fail "udp send to the kernel, and its answer back" "exit $rc, got '$out'" "kernel: $(cat "$IT_DIR/udp1")"
fi
ctl --json udp listen -c 1 5007 >"$IT_DIR/udp2" &
LPID=$!
sleep 1
hx python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("'"$HOST_IP"'", 5008))
s.sendto(b"from the kernel", ("'"$DAEMON_IP"'", 5007))'
wait "$LPID"
rc=$?
if [ "$rc" -eq 0 ] && python3 -c '
import base64, json, sys
d = json.load(open(sys.argv[1]))
assert d["address"] == "'"$HOST_IP"'" and d["port"] == 5008, d
assert base64.b64decode(d["data"]) == b"from the kernel" and d["bytes"] == 15, d' "$IT_DIR/udp2"; then
	pass "udp listen --json: the kernel's datagram with its source"
else
	fail "udp listen --json: the kernel's datagram with its source" "exit $rc: $(cat "$IT_DIR/udp2")"
fi
# Without -w the client writes its datagram and exits at once: the daemon may see the
# connection close before it reads the fd, and must still send what was written (as
# Linux sends what sendto() took before close()). 30 runs, every datagram counted.
hx timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("'"$HOST_IP"'", 5009))
s.settimeout(4); got = set()
try:
    while len(got) < 30:
        got.add(s.recv(100))
except socket.timeout:
    pass
print(len(got))' >"$IT_DIR/udp3" &
KPID=$!
sleep 0.5
sent=0
for i in $(seq 30); do
	printf 'datagram %d' "$i" | ctl udp send "$HOST_IP" 5009 && sent=$((sent + 1))
done
wait "$KPID"
check "udp send without -w, 30 times: every datagram arrives ($(cat "$IT_DIR/udp3") of $sent)" \
	test "$(cat "$IT_DIR/udp3")" = 30 -a "$sent" = 30
out=$(printf 'x' | ctl udp send -w 3 "$HOST_IP" 5999 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'ECONNREFUSED' <<<"$out"; then
	pass "udp send to a closed port: the ICMP error, exit 1"
else
	fail "udp send to a closed port: the ICMP error, exit 1" "exit $rc" "$out"
fi

# --- capture ---------------------------------------------------------------------------
ctl capture -w "$IT_DIR/cap.pcap" -c 6 2>"$IT_DIR/cap.err" &
LPID=$!
sleep 0.5
hx ping -c 3 -i 0.2 -q "$DAEMON_IP" >/dev/null
wait "$LPID"
rc=$?
n=$(tshark -r "$IT_DIR/cap.pcap" 2>/dev/null | grep -c ICMP)
if [ "$rc" -eq 0 ] && [ "${n:-0}" -ge 6 ]; then
	pass "capture -w: $n ICMP frames in a pcap tshark reads"
else
	fail "capture -w: 6 frames in a pcap tshark reads" "exit $rc, $n ICMP frames" "$(cat "$IT_DIR/cap.err")"
fi

# A capture to a regular file is written in pieces, at the latest a second after its first
# unwritten record (not a write per frame): a client that goes before the end (Ctrl-C) must
# still find every record the daemon took in its file, well within that second. (SIGTERM:
# the shell runs a background job with SIGINT ignored; timeout(1) passes TERM on.)
ctl capture -w "$IT_DIR/cap2.pcap" 2>"$IT_DIR/cap2.err" &
LPID=$!
sleep 0.5
hx ping -c 3 -i 0.2 -q "$DAEMON_IP" >/dev/null
kill -TERM "$LPID"
wait "$LPID"
sleep 2 # the daemon notices a client gone within a second (rpc_server.c), then writes out
n=$(tshark -r "$IT_DIR/cap2.pcap" 2>/dev/null | grep -c 'ICMP.*reply')
if [ "${n:-0}" -ge 3 ]; then
	pass "capture -w interrupted: all $n echo replies in the file"
else
	fail "capture -w interrupted: 3 echo replies in the file" "$n replies" "$(cat "$IT_DIR/cap2.err")"
fi

# --- the C example of docs/rpc.md --------------------------------------------------------
if [ -n "$EXAMPLE" ] && [ -x "$EXAMPLE" ]; then
	out=$(timeout 30 "$EXAMPLE" "$HOST_IP" 5010 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q 'hello through ustack' <<<"$out" && grep -q 'closed cleanly' <<<"$out"; then
		pass "docs/example-client.c: echo round trip, clean close"
	else
		fail "docs/example-client.c: echo round trip, clean close" "exit $rc" "$out"
	fi
fi

# --- libustack's C API (tests/integration/libustack_check.c) ------------------------------
if [ -n "$LIBCHECK" ] && [ -x "$LIBCHECK" ]; then
	timeout 60 "$LIBCHECK" "$HOST_IP" 5010 6001 \
		"ip netns exec $H sh -c 'sleep 0.5; printf \"hello\\n\" | timeout 10 nc -N $DAEMON_IP 6001'" \
		>"$IT_DIR/libcheck" 2>&1
	rc=$?
	while read -r line; do
		case "$line" in
		"ok - "*) pass "libustack: ${line#ok - }" ;;
		"not ok - "*) fail "libustack: ${line#not ok - }" ;;
		esac
	done <"$IT_DIR/libcheck"
	[ "$rc" -eq 0 ] || fail "libustack_check exits 0" "exit $rc" "$(tail -n 5 "$IT_DIR/libcheck")"
fi

kill "$EPID" 2>/dev/null
it_stop "$DAEMON_PID"
check "ustackd exits 0 after all of it" test $? -eq 0
check "no sanitizer report in the log" bash -c '! grep -Eq "Sanitizer|runtime error" "$1"' _ "$LOG"
it_finish
