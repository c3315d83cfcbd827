#!/bin/bash
# Traffic from the stack to its own address (stack/ipv4_loopback.h) through the real
# daemon: ustackctl ping of the daemon's address (0 % loss), ustackctl tcp listen and tcp
# connect to the daemon's address moving 4 MB each way byte-exact, UDP to a listener of the
# stack and to a closed port (ECONNREFUSED); none of it on the wire: tcpdump on the
# kernel's end of the TAP sees no frame from the daemon and its EthOutFrames does not move,
# while IpLoopbackOut does and IpLoopbackDrops stays 0; afterwards the daemon idles (no
# spin on the loopback deadline). ~10 s.
#   loopback.sh USTACKD USTACKCTL
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init "${1:-}"
CTL=${USTACKCTL:-${2:-}}
if [ -z "$CTL" ] || [ ! -x "$CTL" ]; then
	fail "ustackctl binary given (argument 2 or \$USTACKCTL)"
	it_finish
fi
it_need python3 sha256sum tcpdump timeout

HOST_IP=10.203.0.1
DAEMON_IP=10.203.0.2
DAEMON_MAC=02:00:00:cb:00:02
BYTES=4000000

H=$(it_netns h) || exit 1
export USTACK_SOCKET="$IT_DIR/ctl.sock"
LOG=$IT_DIR/ustackd.log
it_backend tap "$LOG" --address "$DAEMON_IP/24" --mac "$DAEMON_MAC" --control "$USTACK_SOCKET" \
	--state-dir "$IT_DIR/state"

ctl() { timeout 60 "$CTL" "$@"; }
stat_get() { "$CTL" stats | awk -v n="$1" '$1 == n { print $2 }'; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }
# wait_udp_sockets N: until the stack has N UDP sockets (a listener bound).
wait_udp_sockets() {
	for _ in $(seq 100); do
		"$CTL" --json status 2>/dev/null |
			python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["udp_sockets"] < '"$1"')' &&
			return 0
		sleep 0.1
	done
	return 1
}

# Everything the daemon puts on the wire from here on: nothing is expected. The startup's
# gratuitous ARP is over (sent before "up").
CAP=$IT_DIR/wire.pcap
ip netns exec "$H" tcpdump -i ustack0 -U -n -w "$CAP" "ether src $DAEMON_MAC" \
	2>"$IT_DIR/tcpdump.err" &
TCPDUMP_PID=$!
IT_PIDS+=("$TCPDUMP_PID")
for _ in $(seq 50); do
	grep -q 'listening on' "$IT_DIR/tcpdump.err" && break
	sleep 0.1
done
ETH_OUT0=$(stat_get EthOutFrames)
LO_OUT0=$(stat_get IpLoopbackOut)

# --- ping ---------------------------------------------------------------------------------
out=$(ctl ping -c 5 -i 0.2 "$DAEMON_IP" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^5 packets transmitted, 5 received, 0% packet loss' <<<"$out" &&
	grep -q "bytes from $DAEMON_IP: icmp_seq=" <<<"$out"; then
	pass "ping our own address: 5 replies, 0 % loss"
else
	fail "ping our own address: 5 replies, 0 % loss" "exit $rc" "$out"
fi
out=$(ctl ping -c 2 -i 0.2 -s 30000 "$DAEMON_IP" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q ' 2 received, 0% packet loss' <<<"$out"; then
	pass "ping -s 30000 our own address: whole, no reassembly limit"
else
	fail "ping -s 30000 our own address: whole, no reassembly limit" "exit $rc" "$out"
fi

# --- TCP: ustackctl tcp connect <-> ustackctl tcp listen, both on the stack ---------------
A=$IT_DIR/a.bin
B=$IT_DIR/b.bin
head -c "$BYTES" /dev/urandom >"$A"
head -c "$BYTES" /dev/urandom >"$B"
# A side that sends nothing keeps its stdin open (no FIN from it) through a FIFO whose
# writer cleanup kills.
mkfifo "$IT_DIR/hold"
sleep 100 >"$IT_DIR/hold" 2>/dev/null &
IT_PIDS+=($!)

# tcp_pair NAME PORT LISTEN_IN LISTEN_OUT CONNECT_IN CONNECT_OUT SENT GOT: a tcp listen and
# a tcp connect to our address with those stdin/stdout; both exit 0 and GOT holds SENT.
tcp_pair() {
	local name=$1 port=$2 crc lrc lpid
	ctl tcp listen "$port" <"$3" >"$4" &
	lpid=$!
	wait_ustack_listen "$port"
	ctl tcp connect "$DAEMON_IP" "$port" <"$5" >"$6"
	crc=$?
	wait "$lpid"
	lrc=$?
	if [ "$crc" -eq 0 ] && [ "$lrc" -eq 0 ] && [ "$(sha "$8")" = "$(sha "$7")" ]; then
		pass "$name on our own address: $BYTES bytes, sha256 equal"
	else
		fail "$name on our own address: $BYTES bytes, sha256 equal" \
			"connect exit $crc, listen exit $lrc, $(stat -c %s "$8") bytes"
	fi
}
tcp_pair "tcp connect -> tcp listen" 6001 "$IT_DIR/hold" "$IT_DIR/got-a" "$A" /dev/null \
	"$A" "$IT_DIR/got-a"
tcp_pair "tcp listen -> tcp connect" 6002 "$B" /dev/null "$IT_DIR/hold" "$IT_DIR/got-b" \
	"$B" "$IT_DIR/got-b"

out=$(ctl tcp connect "$DAEMON_IP" 6999 </dev/null 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^ustackctl: ECONNREFUSED: ' <<<"$out"; then
	pass "tcp connect to a closed port of ours: ECONNREFUSED, exit 1"
else
	fail "tcp connect to a closed port of ours: ECONNREFUSED, exit 1" "exit $rc" "$out"
fi

# --- UDP ----------------------------------------------------------------------------------
ctl --json udp listen -c 1 6003 >"$IT_DIR/udp" &
LPID=$!
wait_udp_sockets 1
# -w: without it ustackctl may exit, closing its control connection, before the daemon read
# the datagram from the socket's fd, and the daemon then drops it unsent (as with any
# address).
out=$(printf 'to myself' | ctl udp send -w 1 "$DAEMON_IP" 6003 2>&1)
src=$?
wait "$LPID"
rc=$?
if [ "$src" -eq 0 ] && [ "$rc" -eq 0 ] && python3 -c '
import base64, json, sys
d = json.load(open(sys.argv[1]))
assert d["address"] == "'"$DAEMON_IP"'", d
assert base64.b64decode(d["data"]) == b"to myself" and d["bytes"] == 9, d' "$IT_DIR/udp"; then
	pass "udp send -> udp listen on our own address, from our own address"
else
	fail "udp send -> udp listen on our own address, from our own address" \
		"send exit $src: $out" "listen exit $rc: $(cat "$IT_DIR/udp")" \
		"$("$CTL" stats | grep -E '^(Udp|IpLoopback|IpIn)')"
fi
out=$(printf 'x' | ctl udp send -w 3 "$DAEMON_IP" 6999 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'ECONNREFUSED' <<<"$out"; then
	pass "udp send to a closed port of ours: our ICMP port unreachable, exit 1"
else
	fail "udp send to a closed port of ours: our ICMP port unreachable, exit 1" "exit $rc" "$out"
fi

# --- none of it on the wire -----------------------------------------------------------------
ETH_OUT1=$(stat_get EthOutFrames)
LO_OUT1=$(stat_get IpLoopbackOut)
if [ -n "$ETH_OUT1" ] && [ "$ETH_OUT1" = "$ETH_OUT0" ]; then
	pass "EthOutFrames did not move ($ETH_OUT1)"
else
	fail "EthOutFrames did not move" "before $ETH_OUT0, after $ETH_OUT1"
fi
# At least: 7 echo requests and their replies, 2 x 4 MB of TCP in super-segments of at most
# 64 KiB (the TAP has TSO) and their ACKs, 1 UDP datagram, 1 more and its ICMP error.
if [ -n "$LO_OUT1" ] && [ $((LO_OUT1 - LO_OUT0)) -ge $((14 + 2 * 2 * BYTES / 65536 + 3)) ]; then
	pass "IpLoopbackOut counted them: $((LO_OUT1 - LO_OUT0))"
else
	fail "IpLoopbackOut counted them" "before $LO_OUT0, after $LO_OUT1"
fi
check "IpLoopbackDrops 0" test "$(stat_get IpLoopbackDrops)" = 0
# The queue empty, the loop sleeps: a spin on a "now" deadline would burn a whole core.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
t0=$(cpu_ticks)
sleep 2
t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
if [ $((t1 - t0)) -lt $((hz / 2)) ]; then
	pass "idle afterwards: $((t1 - t0)) CPU ticks in 2 s (CLK_TCK $hz)"
else
	fail "idle afterwards" "$((t1 - t0)) CPU ticks in 2 s (CLK_TCK $hz): the loop spins"
fi
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" 2>/dev/null
n=$(tcpdump -r "$CAP" -n 2>/dev/null | wc -l)
if [ -s "$CAP" ] && [ "$n" -eq 0 ]; then
	pass "tcpdump on the TAP: no frame from the daemon"
else
	fail "tcpdump on the TAP: no frame from the daemon" "$n frames" \
		"$(tcpdump -r "$CAP" -n 2>&1 | head -5)" "$(cat "$IT_DIR/tcpdump.err")"
fi

it_stop "$DAEMON_PID"
check "SIGTERM: exit 0" test $? -eq 0
it_finish
