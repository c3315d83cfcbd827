#!/bin/bash
# The daemon's side of the fd data plane and the network tools, driven with the test's own
# varlink client (varlink_client.py) against the kernel: TCP connect and listen moving
# 20 MB each way intact, half close both ways, ECONNREFUSED and ECONNRESET reported on the
# call (not as a plain EOF), UDP both ways with an ICMP error, Ping, Traceroute through a
# router namespace, Capture read back by tcpdump and to a pipe whose reader stalls
# (rpc_capture_stall.py); the data plane's edge cases
# (rpc_tcp_edges.py).
#   rpc_sockets.sh USTACKD
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need python3 socat tcpdump

HOST_IP=10.203.0.1
H=$(it_netns h) || exit 1
R=$(it_netns r) || exit 1
SOCK=$IT_DIR/ctl.sock
LOG=$IT_DIR/ustackd.log
it_backend tap "$LOG" --control "$SOCK" --gateway "$HOST_IP" --state-dir "$IT_DIR/state"
# A target behind the host, which routes: 10.204.0.2 in $R.
ip link add trv0 netns "$H" type veth peer name trv1 netns "$R"
ip -n "$H" addr add 10.204.0.1/24 dev trv0
ip -n "$H" link set trv0 up
ip -n "$R" addr add 10.204.0.2/24 dev trv1
ip -n "$R" link set trv1 up
ip -n "$R" route add default via 10.204.0.1
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1

CLIENT=(python3 "$(cd "$(dirname "$0")" && pwd)/varlink_client.py" "$SOCK")
IN=$IT_DIR/in.bin
head -c 20000000 /dev/urandom >"$IN"

# TCP connect: to the kernel, 20 MB out (then our FIN), and 20 MB in (then its FIN).
tcp_out() {
	rm -f "$IT_DIR/k.bin"
	ip netns exec "$H" timeout 60 socat -u TCP-LISTEN:5001,reuseaddr "OPEN:$IT_DIR/k.bin,creat,trunc" &
	sleep 0.5
	timeout 60 "${CLIENT[@]}" tcp-connect "$HOST_IP" 5001 <"$IN" >/dev/null || return 1
	wait
	cmp "$IN" "$IT_DIR/k.bin"
}
check "TcpConnect: 20 MB to the kernel intact, FIN on EOF" tcp_out
tcp_in() {
	ip netns exec "$H" timeout 60 socat -u "OPEN:$IN" TCP-LISTEN:5002,reuseaddr &
	sleep 0.5
	timeout 60 "${CLIENT[@]}" tcp-connect "$HOST_IP" 5002 </dev/null >"$IT_DIR/u.bin" || return 1
	wait
	cmp "$IN" "$IT_DIR/u.bin"
}
check "TcpConnect: 20 MB from the kernel intact, its FIN as EOF" tcp_in
tcp_echo() {
	ip netns exec "$H" timeout 60 socat TCP-LISTEN:5003,reuseaddr EXEC:cat &
	sleep 0.5
	head -c 5000000 "$IN" >"$IT_DIR/e.in"
	timeout 60 "${CLIENT[@]}" tcp-connect "$HOST_IP" 5003 <"$IT_DIR/e.in" >"$IT_DIR/e.out" ||
		return 1
	wait
	cmp "$IT_DIR/e.in" "$IT_DIR/e.out"
}
check "TcpConnect: half close, 5 MB echoed back after our FIN" tcp_echo

tcp_listen() {
	rm -f "$IT_DIR/l.out" "$IT_DIR/k2.bin"
	timeout 60 "${CLIENT[@]}" tcp-listen 6000 <"$IN" >"$IT_DIR/l.out" &
	local lp=$!
	sleep 0.7
	ip netns exec "$H" timeout 60 socat -t 5 TCP:10.203.0.2:6000 - <"$IN" >"$IT_DIR/k2.bin" ||
		return 1
	wait "$lp" || return 1
	cmp "$IN" "$IT_DIR/l.out" && cmp "$IN" "$IT_DIR/k2.bin"
}
check "TcpListen: a kernel client, 20 MB each way intact" tcp_listen

slow_reader() {
	ip netns exec "$H" timeout 60 socat -u "OPEN:$IN" TCP-LISTEN:5004,reuseaddr &
	sleep 0.5
	timeout 60 python3 "$(cd "$(dirname "$0")" && pwd)/rpc_slow_reader.py" "$SOCK" \
		"$HOST_IP" 5004 "$(stat -c %s "$IN")" || return 1
	wait
}
check "a client that stops reading closes the TCP window; the daemon serves others meanwhile" slow_reader

# Edge cases of the zero-copy data plane (rpc_tcp_edges.py): the kernel's end in $H.
EDGES=$(cd "$(dirname "$0")" && pwd)/rpc_tcp_edges.py
edge() {
	local case=$1 port=$2 bytes=$3
	ip netns exec "$H" timeout 60 python3 "$EDGES" peer "$case" "$HOST_IP" "$port" "$bytes" &
	local pp=$!
	sleep 0.5
	timeout 60 python3 "$EDGES" client "$case" "$SOCK" "$HOST_IP" "$port" "$bytes" || return 1
	wait "$pp"
}
check "data and FIN wait in the ring behind a full socketpair, then all arrive (3 MB)" \
	edge fin-full 5006 3000000
check "a peer reset while the send ring is full ends the call with ECONNRESET" \
	edge reset-full 5007 0
check "data written just before closing the fd and the connection goes out, then FIN" \
	edge close-queued 5008 100000

refused() {
	local err
	err=$("${CLIENT[@]}" tcp-connect "$HOST_IP" 5999 </dev/null 2>&1 >/dev/null) && return 1
	grep -q ECONNREFUSED <<<"$err"
}
check "TcpConnect to a closed port ends with Errno ECONNREFUSED" refused
reset() {
	local err
	ip netns exec "$H" timeout 20 python3 -c '
import socket, struct, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.203.0.1", 5005)); s.listen(); c, _ = s.accept(); time.sleep(0.3)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()' &
	sleep 0.5
	err=$(sleep 2 | timeout 20 "${CLIENT[@]}" tcp-connect "$HOST_IP" 5005 2>&1 >/dev/null) &&
		return 1
	wait
	grep -q ECONNRESET <<<"$err"
}
check "a reset connection ends its call with Errno ECONNRESET (not a clean EOF)" reset

check "UdpBind: a datagram in (with its source), one out, the ICMP error reported" \
	python3 "$(cd "$(dirname "$0")" && pwd)/rpc_udp_check.py" "$SOCK" "$H" "$HOST_IP"

check "Ping: 3 replies from the host" \
	bash -c '"$@" | grep -c "\"result\": \"reply\"" | grep -qx 3' _ \
	"${CLIENT[@]}" call io.ustack.Stack.Ping '{"address":"10.203.0.1","count":3,"interval_ms":100}' --more

tr_out=$("${CLIENT[@]}" call io.ustack.Stack.Traceroute \
	'{"address":"10.204.0.2","max_hops":5,"probes":1,"timeout_ms":1000}' --more)
it_log "$tr_out"
check "Traceroute (UDP): the router at hop 1" grep -q '"hop": 1.*"time_exceeded", "from": "10.203.0.1"' <<<"$tr_out"
check "Traceroute (UDP): the target at hop 2, reached" grep -q '"hop": 2.*"port_unreachable", "from": "10.204.0.2".*"reached": true' <<<"$tr_out"
sleep 1 # the kernel's ICMP rate limit
tr_icmp=$("${CLIENT[@]}" call io.ustack.Stack.Traceroute \
	'{"address":"10.204.0.2","max_hops":5,"probes":1,"protocol":"icmp"}' --more)
check "Traceroute (ICMP): echo reply from the target at hop 2" grep -q '"hop": 2.*"echo_reply".*"reached": true' <<<"$tr_icmp"

capture() {
	rm -f "$IT_DIR/cap.pcap"
	(sleep 0.5; ip netns exec "$H" ping -c 4 -i 0.2 10.203.0.2 >/dev/null) &
	"${CLIENT[@]}" call io.ustack.Stack.Capture '{"count":8}' --more --fd "$IT_DIR/cap.pcap" |
		tail -1 | grep -q '"frames": 8' || return 1
	wait
	[ "$(tcpdump -nr "$IT_DIR/cap.pcap" 2>/dev/null | grep -c 'ICMP echo')" -ge 6 ]
}
check "Capture: 8 frames to a file that tcpdump reads" capture
capture_stall() {
	local out rc
	out=$(timeout 120 python3 "$(cd "$(dirname "$0")" && pwd)/rpc_capture_stall.py" "$SOCK" \
		"$H" 10.203.0.2 "$1" 2>&1)
	rc=$?
	it_log "$out"
	return $rc
}
check "Capture to a pipe whose reader stalls: drops counted, room freed by a partial read takes new records" capture_stall room
check "Capture to a pipe whose reader stalls: the count reached, every record reaches the reader before the totals" capture_stall count
check "Capture to a pipe whose reader stalls: a client that goes while the end waits for the reader ends it" capture_stall gone

check "Sockets: nothing of the clients left" bash -c \
	'! "$@" call io.ustack.Stack.Sockets | grep -q owner_pid' _ "${CLIENT[@]}"
it_stop "$DAEMON_PID"
check "daemon stops cleanly (exit 0)" test $? -eq 0
check "no sanitizer report in the log" bash -c '! grep -Eq "Sanitizer|runtime error" "$1"' _ "$LOG"
it_finish
