#!/bin/bash
# ustackd against the Linux kernel over one backend, in network namespaces of its own:
#   backend.sh USTACKD tap|xdp-skb|xdp-native
# TAP: one namespace holds the daemon and the kernel's end of the TAP (10.203.0.1/24).
# AF_XDP: the daemon binds to one end of a veth pair in its namespace; the kernel's end is
# in another (10.203.0.1/24). The daemon is 10.203.0.2/24 everywhere.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
it_init "${1:-}"
MODE=${2:-tap}

HOST_IP=10.203.0.1
DAEMON_IP=10.203.0.2
DAEMON_MAC=02:00:00:00:02:02
H=$(it_netns h) || exit 1
RUN="$IT_DIR/run"
LOG="$IT_DIR/ustackd.log"
PCAP="$IT_DIR/capture.pcap"
# shellcheck disable=SC2054 # the commas are in a flag's value
COMMON=(--address "$DAEMON_IP/24" --mac "$DAEMON_MAC" --control "$RUN/ctl.sock"
	--state-dir "$IT_DIR/state" --pcap "$PCAP" --service echo:7,discard:9,chargen:19
	--log-level info)

# As under systemd (UMask=0077): files the daemon means to share must say so themselves.
umask_was=$(umask)
umask 077
it_backend "$MODE" "$LOG" "${COMMON[@]}"
umask "$umask_was"
SNMP="$RUN/snmp"
hx() { ip netns exec "$H" "$@"; }

# AF_XDP shares the interface with the kernel: the XDP program redirects only the stack's
# frames, so an address of the kernel's own on that interface keeps working (it went from 0 %
# to 100 % loss while ustackd ran: issue 11 item 2), and ustackd still answers.
if [ "$MODE" != tap ]; then
	ip -n "$D" addr add 10.203.0.3/24 dev ustv1
	check "AF_XDP: the kernel's own address on the interface answers ping (0% loss)" sh -c "ip netns exec $H ping -c 20 -i 0.05 -W 2 10.203.0.3 | grep -q ' 0% packet loss'"
	check "AF_XDP: the kernel's own address answers TCP" sh -c "ip netns exec $D timeout 10 socat -T 5 TCP-LISTEN:5555,reuseaddr EXEC:'echo kernel' & sleep 0.5; ip netns exec $H timeout 5 socat -T 3 - TCP:10.203.0.3:5555 </dev/null | grep -qx kernel"
	check "AF_XDP: ustackd still answers beside it" sh -c "ip netns exec $H ping -c 5 -i 0.1 -W 2 $DAEMON_IP | grep -q ' 0% packet loss'"
fi

# The snmp file is readable by everyone (nstat as a user), whatever the umask.
check "the snmp file is 0644" sh -c "sleep 1.3; test \"\$(stat -c %a $RUN/snmp)\" = 644"

# Ping (iputils): 0 % loss, fragmented both ways at 4000 and 20000 bytes (14 fragments).
check "ping -c 20: 0% loss" sh -c "ip netns exec $H ping -c 20 -i 0.05 -W 2 $DAEMON_IP | grep -q ' 0% packet loss'"
check "ping -s 4000 answered" sh -c "ip netns exec $H ping -c 3 -i 0.2 -W 5 -s 4000 $DAEMON_IP | grep -q ' 0% packet loss'"
check "ping -s 20000 answered" sh -c "ip netns exec $H ping -c 3 -i 0.2 -W 5 -s 20000 $DAEMON_IP | grep -q ' 0% packet loss'"

# 65000 bytes at MTU 1500: 45 fragments, over the 16-fragment limit: refused and counted.
fails_before=$(snmp_wait "$SNMP" IpReasmFails)
check "ping -s 65000 not answered at MTU 1500" sh -c "! ip netns exec $H ping -c 2 -i 0.5 -W 2 -s 65000 $DAEMON_IP | grep -q 'bytes from'"
fails_after=$(snmp_until "$SNMP" IpReasmFails $((${fails_before:-0} + 2)))
if [ "${fails_after:-0}" -ge $((${fails_before:-0} + 2)) ]; then
	pass "ping -s 65000 counted in IpReasmFails ($fails_before -> $fails_after)"
else
	fail "ping -s 65000 counted in IpReasmFails" "IpReasmFails $fails_before -> $fails_after"
fi

check "ping -f -c 20000: 0% loss" sh -c "timeout 120 ip netns exec $H ping -f -c 20000 -W 1 $DAEMON_IP | tee /dev/stderr | grep -q ' 0% packet loss'"

# A receive backlog must not take the frames kept for transmit (issue 11 item 9: the free
# frames fell from 2048 to 122): stop the daemon, let 4096 echo requests pile up on the RX
# ring (2048 fit), resume it. The exit log gives the lowest count of free frames.
if [ "$MODE" != tap ]; then
	kill -STOP "$DAEMON_PID"
	hx ping -f -l 4096 -c 4096 -w 3 -s 56 "$DAEMON_IP" >/dev/null 2>&1
	kill -CONT "$DAEMON_PID"
	sleep 1
	check "AF_XDP: answers after a receive backlog" sh -c "ip netns exec $H ping -c 5 -i 0.1 -W 2 $DAEMON_IP | grep -q ' 0% packet loss'"
fi

# ARP: answered, and the kernel has learned our MAC.
check "arping answered" ip netns exec "$H" arping -c 3 -w 3 -i "$IF" "$DAEMON_IP"
check "the kernel learned the daemon's MAC" sh -c "ip -n $H neigh show $DAEMON_IP dev $IF | grep -qi 'lladdr $DAEMON_MAC'"

# traceroute: one hop, by UDP (port unreachable ends it) and by ICMP echo.
check "traceroute -U reaches the daemon in one hop" sh -c "ip netns exec $H traceroute -U -p 33434 -n -q 1 -w 2 -m 5 $DAEMON_IP | tee /dev/stderr | grep -Eq '^ *1 +$DAEMON_IP '"
check "traceroute -I reaches the daemon in one hop" sh -c "ip netns exec $H traceroute -I -n -q 1 -w 2 -m 5 $DAEMON_IP | tee /dev/stderr | grep -Eq '^ *1 +$DAEMON_IP '"

# The UDP services (RFC 862/863/864).
if command -v socat >/dev/null; then
	out=$(printf 'hello ustack\n' | hx timeout 10 socat -t 2 - "UDP:$DAEMON_IP:7" 2>&1)
	if [ "$out" = "hello ustack" ]; then pass "UDP echo (socat)"; else fail "UDP echo (socat)" "got: $out"; fi
	# RFC 864: a datagram of 0..512 characters, its length random, so only its being there
	# and being a prefix of the pattern can be checked (a short one is no failure).
	out=$(hx timeout 10 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"x\n", (sys.argv[1], 19))
d = s.recv(2048)
line = bytes(range(32, 127))[:72]
print("ok" if len(d) <= 512 and line.startswith(d[:72]) else "bad %d %r" % (len(d), d[:80]))
' "$DAEMON_IP" 2>&1)
	if [ "$out" = ok ]; then pass "UDP chargen"; else fail "UDP chargen" "got: $out"; fi
	before=$(snmp_wait "$SNMP" UdpInDatagrams)
	out=$(printf 'into the void\n' | hx timeout 10 socat -t 1 - "UDP:$DAEMON_IP:9" 2>&1)
	after=$(snmp_until "$SNMP" UdpInDatagrams $((before + 1)))
	if [ -z "$out" ] && [ "$after" -gt "$before" ]; then pass "UDP discard (socat)"; else fail "UDP discard" "got '$out', UdpInDatagrams $before -> $after"; fi
else
	fail "UDP echo (socat)" "socat is not installed"
fi

# Hand-made frames.
if /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
	out=$(ip netns exec "$H" /usr/bin/python3 "$HERE/scapy_checks.py" --iface "$IF" \
		--dst "$DAEMON_IP" --dst-mac "$DAEMON_MAC" --snmp "$SNMP" 2>&1)
	printf '%s\n' "$out" | grep -E '^(ok|not ok|#)'
	p=$(printf '%s\n' "$out" | grep -c '^ok - ')
	f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
	IT_PASSED=$((IT_PASSED + p))
	IT_FAILED=$((IT_FAILED + f))
	if ! printf '%s\n' "$out" | grep -q ' passed, .* failed$'; then
		fail "scapy checks ran to the end" "$(printf '%s\n' "$out" | tail -n 5)"
	fi
else
	fail "scapy checks" "python3-scapy is not installed"
fi

# The snmp file is readable by nstat.
check "nstat reads the snmp file" sh -c "PROC_NET_SNMP=$SNMP PROC_NET_NETSTAT=/dev/null PROC_NET_SNMP6=/dev/null nstat -a -s -z | grep -Eq '^IcmpInEchos +[1-9]'"

# SIGTERM: exit 0; no XDP program left.
it_stop "$DAEMON_PID"
rc=$?
if [ "$rc" -eq 0 ]; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit 0" "exit status $rc" "$(tail -n 5 "$LOG")"; fi
if [ "$MODE" != tap ]; then
	low=$(sed -n 's/.*UMEM frames: .*lowest free \([0-9]*\) .*/\1/p' "$LOG")
	if [ -n "$low" ] && [ "$low" -ge 1024 ]; then
		pass "AF_XDP: the TX share held under the backlog (lowest free frames: $low)"
	else
		fail "AF_XDP: the TX share held under the backlog (lowest free frames >= 1024)" "$(grep 'UMEM frames' "$LOG")"
	fi
	if ip -n "$D" link show ustv1 | grep -q 'prog/xdp'; then
		fail "no XDP program left after SIGTERM" "$(ip -n "$D" link show ustv1)"
	else
		pass "no XDP program left after SIGTERM"
	fi
fi

# The capture: every frame well-formed, every checksum right.
if command -v tshark >/dev/null; then
	n=$(tshark -r "$PCAP" 2>/dev/null | wc -l)
	bad=$(tshark -r "$PCAP" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y '_ws.malformed || ip.checksum.status == "Bad" || icmp.checksum.status == "Bad" || udp.checksum.status == "Bad"' 2>/dev/null | head -n 10)
	# The frames the Scapy checks sent with bad checksums on purpose are in the capture:
	# count only bad checksums from the daemon.
	badout=$(tshark -r "$PCAP" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y "ip.src == $DAEMON_IP && (_ws.malformed || ip.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\")" 2>/dev/null | wc -l)
	malformed=$(tshark -r "$PCAP" -Y '_ws.malformed' 2>/dev/null | wc -l)
	if [ "$n" -gt 1000 ] && [ "$badout" -eq 0 ] && [ "$malformed" -eq 0 ]; then
		pass "pcap: $n frames, none malformed, no bad checksum from the daemon"
	else
		fail "pcap opens in tshark, nothing malformed, no bad checksum" \
			"frames $n, malformed $malformed, bad from daemon $badout" "$bad"
	fi
else
	fail "pcap check" "tshark is not installed"
fi

it_finish
