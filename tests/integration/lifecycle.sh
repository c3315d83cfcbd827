#!/bin/bash
# ustackd's life: flag and config errors, the config file, systemd notifications, SIGHUP,
# AF_XDP errors (no interface, busy queue), the stale program of a killed predecessor.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
it_init "${1:-}"

# Bad values: exit 2 and a message naming the setting.
bad_flag() {
	local want=$1 out rc
	shift
	# timeout: a regression that accepts the value must not leave a daemon running
	out=$(timeout 10 "$USTACKD" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 2 ] && printf '%s' "$out" | grep -q -- "$want"; then
		pass "rejected: $* ($(printf '%s' "$out" | sed 's/^<3>//'))"
	else
		fail "rejected: $*" "exit $rc, message: $out"
	fi
}
bad_flag "mtu: 99999 is out of range" --mtu 99999
bad_flag "mtu: '15x0' is not a number" --mtu 15x0
bad_flag "is the network or broadcast address" --address 10.203.0.0/24
bad_flag "prefix" --address 10.203.0.2/33
bad_flag "not an IPv4 address" --gateway 10.203.0.300
bad_flag "not on the link" --gateway 10.9.9.1
bad_flag "unknown service 'qotd'" --service qotd:17
bad_flag "port 7 given twice" --service echo:7,discard:7
bad_flag "backend: 'dpdk'" --backend dpdk
bad_flag "xdp-mode: 'hw'" --xdp-mode hw
bad_flag "not a unicast MAC" --mac 01:00:5e:00:00:01
bad_flag "log-level: 'loud'" --log-level loud
bad_flag "tcp-keepalive" --tcp-keepalive 7200,75
bad_flag "unknown option '--frobnicate'" --frobnicate
bad_flag "needs a value" --mtu
bad_flag "only the af_xdp backend has queues" --queue 1
bad_flag "busy-poll: 20000 is out of range" --busy-poll 20000
# The stack's own ranges (issue 11 item 10: the parser took values the stack refused)
bad_flag "reasm-timeout: 121 is out of range \[1, 120\]" --reasm-timeout 121
bad_flag "reasm-max-fragments: 1 is out of range \[2, 8192\]" --reasm-max-fragments 1
# A UMEM frame receives at most 3840 bytes (4096 - XDP_PACKET_HEADROOM): MTU 3826 (item 5)
bad_flag "mtu: 3827 is too large for af_xdp.*an MTU of 3826" --backend af_xdp --mtu 3827
printf 'mtu = 1500\naddress = 10.203.0.2/24\nbogus line\n' >"$IT_DIR/bad.conf"
bad_flag "bad.conf:3: expected 'key = value'" --config "$IT_DIR/bad.conf"
printf '# comment\nreasm-timeout = 0\n' >"$IT_DIR/bad2.conf"
bad_flag "bad2.conf:2: reasm-timeout: 0 is out of range" --config "$IT_DIR/bad2.conf"
bad_flag "No such file" --config "$IT_DIR/missing.conf"
# Config files that are not text files: an error, never a hang.
bad_flag "Is a directory" --config "$IT_DIR"
printf 'mtu = 1500\0\nmtu = 99999\n' >"$IT_DIR/nul.conf"
bad_flag "nul.conf:1: a NUL byte" --config "$IT_DIR/nul.conf"
out=$(timeout 10 "$USTACKD" --config /dev/zero 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && printf '%s' "$out" | grep -q "/dev/zero:1: a NUL byte"; then
	pass "rejected: --config /dev/zero (an endless file)"
else
	fail "rejected: --config /dev/zero" "exit $rc (124: hung), message: $out"
fi
# (af_xdp: were the name accepted, the daemon would fail on it rather than create a TAP)
NOTAP=(--backend af_xdp --control "$IT_DIR/run0/ctl.sock" --state-dir "$IT_DIR/run0")
printf 'ifname = \xff\xfe\n' >"$IT_DIR/utf.conf"
bad_flag "ifname: the value is not valid UTF-8" "${NOTAP[@]}" --config "$IT_DIR/utf.conf"
bad_flag "ifname: 'a:b' is not an interface name" "${NOTAP[@]}" --ifname a:b
check "--help exits 0" "$USTACKD" --help
check "--version exits 0" "$USTACKD" --version

# The config file, with a flag over it.
H=$(it_netns h) || exit 1
cat >"$IT_DIR/ok.conf" <<CONF
# ustackd test configuration
backend = tap
ifname = ustcfg0
address = 10.203.0.7/24
mtu = 1400
service = echo:7
log-level = debug
CONF
RUN="$IT_DIR/run"
if it_daemon "$H" "$IT_DIR/cfg.log" --config "$IT_DIR/ok.conf" --mtu 1500 \
	--control "$RUN/ctl.sock" --state-dir "$IT_DIR/state" --pcap "$IT_DIR/a.pcap"; then
	pass "starts from a config file"
else
	fail "starts from a config file"
fi
ip -n "$H" addr add 10.203.0.1/24 dev ustcfg0 2>/dev/null
check "config file address (10.203.0.7) answers ping" ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.203.0.7
check "the flag --mtu 1500 wins over the file's 1400" grep -q 'ustcfg0, 10.203.0.7/24, .*MTU 1500' "$IT_DIR/cfg.log"
check "debug level from the file" grep -q '^<7>' "$IT_DIR/cfg.log"

# A second daemon on the same TAP: a clear error.
out=$(ip netns exec "$H" "$USTACKD" --ifname ustcfg0 --control "$IT_DIR/run2/ctl.sock" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'is busy'; then
	pass "a second daemon on the same TAP: $out"
else
	fail "a second daemon on the same TAP fails clearly" "exit $rc: $out"
fi

# SIGHUP reopens the pcap file (log rotation).
mv "$IT_DIR/a.pcap" "$IT_DIR/a.pcap.1"
kill -HUP "$DAEMON_PID"
sleep 0.5
ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.203.0.7 >/dev/null
sleep 1.5
if [ -s "$IT_DIR/a.pcap" ] && [ "$(tshark -r "$IT_DIR/a.pcap" 2>/dev/null | grep -c 'Echo (ping) reply')" -ge 2 ]; then
	pass "SIGHUP reopens the pcap file"
else
	fail "SIGHUP reopens the pcap file" "$(ls -l "$IT_DIR"/a.pcap* 2>&1)"
fi
# SIGHUP without a rotation: the same file goes on (it was truncated, losing the capture).
kill -HUP "$DAEMON_PID"
sleep 0.5
ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.203.0.7 >/dev/null
sleep 1.5
n=$(tshark -r "$IT_DIR/a.pcap" 2>/dev/null | grep -c 'Echo (ping) reply')
if [ "$n" -ge 4 ]; then
	pass "SIGHUP without a rotation keeps the capture ($n replies)"
else
	fail "SIGHUP without a rotation keeps the capture" "$n replies in a.pcap, want >= 4"
fi
# The reopen fails (a directory where the file was): logged, frames counted as not
# recorded; the next SIGHUP recovers.
mv "$IT_DIR/a.pcap" "$IT_DIR/a.pcap.2"
mkdir "$IT_DIR/a.pcap"
kill -HUP "$DAEMON_PID"
sleep 0.5
ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.203.0.7 >/dev/null
check "a failed reopen is logged" grep -q '^<3>Cannot reopen the pcap file.*Is a directory' "$IT_DIR/cfg.log"
rmdir "$IT_DIR/a.pcap"
kill -HUP "$DAEMON_PID"
# A SIGHUP storm while frames flow: the daemon stays up and answers.
ip netns exec "$H" ping -c 20 -i 0.05 -W 2 10.203.0.7 >"$IT_DIR/storm.ping" 2>&1 &
PING=$!
for _ in $(seq 300); do kill -HUP "$DAEMON_PID" 2>/dev/null || break; done
wait "$PING"
check "SIGHUP storm: still running" kill -0 "$DAEMON_PID"
check "SIGHUP storm: answers ping" ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.203.0.7
it_stop "$DAEMON_PID"
check "SIGTERM after SIGHUP: exit 0" test $? -eq 0
check "exit: the TAP counters in the log" grep -q '^<6>tap ustcfg0: received [1-9][0-9]* frames.*dropped: 0 sends refused' "$IT_DIR/cfg.log"
check "exit: the pcap frames not recorded in the log" grep -q '^<4>pcap .*a.pcap: [0-9]* frames recorded, [1-9][0-9]* not' "$IT_DIR/cfg.log"

# --pcap to a FIFO nobody reads: a clear error at once (it blocked forever in open(2)).
mkfifo "$IT_DIR/cap.fifo"
out=$(timeout 10 ip netns exec "$H" "$USTACKD" --ifname ustfifo0 --control "$RUN/ctl.sock" --pcap "$IT_DIR/cap.fifo" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'Cannot open the pcap file.*FIFO'; then
	pass "--pcap to a FIFO without a reader: $(printf '%s' "$out" | grep '^<3>')"
else
	fail "--pcap to a FIFO without a reader fails at once" "exit $rc (124: hung): $out"
fi
out=$(timeout 10 ip netns exec "$H" "$USTACKD" --ifname ustfifo0 --control "$RUN/ctl.sock" --pcap /proc/ust-none/x.pcap 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'Cannot open the pcap file'; then
	pass "--pcap to an unwritable path: $(printf '%s' "$out" | grep '^<3>')"
else
	fail "--pcap to an unwritable path fails clearly" "exit $rc: $out"
fi

# --pcap to a FIFO whose reader stalls (it holds the FIFO open and reads nothing): the loop
# never blocks (it did once the pipe's 64 KiB were full: issue 11 item 10); the records
# that do not fit are dropped and counted.
mkfifo "$IT_DIR/stall.fifo"
exec 7<>"$IT_DIR/stall.fifo"
if it_daemon "$H" "$IT_DIR/stall.log" --ifname ustst0 --address 10.205.0.2/24 \
	--control "$IT_DIR/run6/ctl.sock" --pcap "$IT_DIR/stall.fifo"; then
	ip -n "$H" addr add 10.205.0.1/24 dev ustst0
	check "stalled pcap reader: ping -s 1400 x 1000 still 0% loss" sh -c "ip netns exec $H ping -c 1000 -i 0.002 -W 2 -s 1400 10.205.0.2 | grep -q ' 0% packet loss'"
	it_stop "$DAEMON_PID"
	check "stalled pcap reader: SIGTERM exit 0" test $? -eq 0
	check "stalled pcap reader: the dropped records are counted" grep -q '^<4>pcap .*stall.fifo: .*[1-9][0-9]* dropped: the reader did not keep up' "$IT_DIR/stall.log"
fi
exec 7>&-

# pcap records only the frames the device took: with the TAP's link down its writes fail
# (EIO) and the keepalive probes sent then are not on the wire, so not in the capture.
if it_daemon "$H" "$IT_DIR/ref.log" --ifname ustref0 --address 10.206.0.2/24 \
	--mac 02:00:00:00:06:02 --service echo:7 --tcp-keepalive 1,1,9 \
	--control "$IT_DIR/run7/ctl.sock" --pcap "$IT_DIR/ref.pcap"; then
	ip -n "$H" addr add 10.206.0.1/24 dev ustref0
	ip netns exec "$H" timeout 8 python3 -c '
import socket, time
s = socket.create_connection(("10.206.0.2", 7), timeout=3)
time.sleep(6)' &
	PEER=$!
	sleep 1.5
	ip -n "$H" link set ustref0 down
	sleep 3.5
	it_stop "$DAEMON_PID"
	wait "$PEER"
	sent=$(sed -n 's/^<6>tap ustref0: .*, sent \([0-9]*\) (.*/\1/p' "$IT_DIR/ref.log")
	refused=$(sed -n 's/^<6>tap ustref0: .*dropped: \([0-9]*\) sends refused.*/\1/p' "$IT_DIR/ref.log")
	inpcap=$(tshark -r "$IT_DIR/ref.pcap" -Y "eth.src == 02:00:00:00:06:02" 2>/dev/null | wc -l)
	if [ "${refused:-0}" -ge 1 ] && [ "$inpcap" = "$sent" ]; then
		pass "pcap: the $sent frames sent recorded, not the $refused the TAP refused"
	else
		fail "pcap: only the frames the TAP took are recorded" "sent $sent, refused $refused, in the pcap $inpcap"
	fi
fi

# SIGHUP before the loop runs (here: while the daemon waits for its config FIFO) is
# ignored; its default action killed the daemon mid-start.
mkfifo "$IT_DIR/conf.fifo"
ip netns exec "$H" "$USTACKD" --config "$IT_DIR/conf.fifo" --ifname usthup0 \
	--control "$RUN/ctl.sock" >"$IT_DIR/hup.log" 2>&1 &
HPID=$!
IT_PIDS+=("$HPID")
for _ in $(seq 50); do
	grep -qE 'fifo|pipe|partner' "/proc/$HPID/wchan" 2>/dev/null && break
	sleep 0.1
done
kill -HUP "$HPID"
sleep 0.3
# (timeout: a daemon killed by the SIGHUP leaves the FIFO without a reader)
timeout 5 sh -c 'printf "log-level = info\n" >"$1"' sh "$IT_DIR/conf.fifo"
for _ in $(seq 100); do grep -q '^<5>up:' "$IT_DIR/hup.log" && break; kill -0 "$HPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$HPID" 2>/dev/null && grep -q '^<5>up:' "$IT_DIR/hup.log"; then
	pass "SIGHUP during start-up is ignored"
else
	wait "$HPID"
	fail "SIGHUP during start-up is ignored" "exit $?" "$(cat "$IT_DIR/hup.log")"
fi
it_stop "$HPID"

# systemd notifications: READY=1, STATUS=, WATCHDOG=1 while running, STOPPING=1.
NSOCK="$IT_DIR/notify.sock"
/usr/bin/python3 "$HERE/notify_listen.py" "$NSOCK" 4 >"$IT_DIR/notify.out" &
LISTENER=$!
for _ in $(seq 50); do grep -q listening "$IT_DIR/notify.out" 2>/dev/null && break; sleep 0.1; done
ip netns exec "$H" env NOTIFY_SOCKET="$NSOCK" WATCHDOG_USEC=400000 "$USTACKD" \
	--ifname ustnfy0 --control "$RUN/ctl.sock" >"$IT_DIR/notify.log" 2>&1 &
NPID=$!
IT_PIDS+=("$NPID")
sleep 2
it_stop "$NPID"
nrc=$?
wait "$LISTENER"
check "notify: exit 0" test "$nrc" -eq 0
check "notify: READY=1 with STATUS=" sh -c "grep -q '^READY=1' '$IT_DIR/notify.out' && grep -q '^STATUS=Up on tap ustnfy0' '$IT_DIR/notify.out'"
wd=$(grep -c '^WATCHDOG=1' "$IT_DIR/notify.out")
if [ "$wd" -ge 4 ]; then pass "notify: WATCHDOG=1 every 200 ms ($wd in 2 s)"; else fail "notify: WATCHDOG=1" "$wd messages" "$(cat "$IT_DIR/notify.out")"; fi
check "notify: STOPPING=1 last" sh -c "grep -v '^STATUS=' '$IT_DIR/notify.out' | tail -n 1 | grep -q '^STOPPING=1'"

# AF_XDP: errors and the stale program of a killed predecessor.
D=$(it_netns d) || exit 1
ip link add ustv0 netns "$H" type veth peer name ustv1 netns "$D"
ip -n "$H" link set ustv0 up
ip -n "$D" link set ustv1 up
ip -n "$H" addr add 10.204.0.1/24 dev ustv0
XDP=(--backend af_xdp --xdp-mode skb --address 10.204.0.2/24 --control "$RUN/ctl.sock" --state-dir "$IT_DIR/state")

out=$(ip netns exec "$D" "$USTACKD" "${XDP[@]}" --ifname nosuch0 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'no interface named nosuch0'; then
	pass "af_xdp: missing interface: $out"
else
	fail "af_xdp: missing interface fails clearly" "exit $rc: $out"
fi
out=$(ip netns exec "$D" "$USTACKD" "${XDP[@]}" --ifname ustv1 --queue 5 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'queue 5'; then
	pass "af_xdp: no such queue: $(printf '%s' "$out" | grep 'queue 5' | head -n 1)"
else
	fail "af_xdp: no such queue fails clearly" "exit $rc: $out"
fi
check "af_xdp: nothing left attached after the failures" sh -c "! ip -n $D link show ustv1 | grep -q prog/xdp"

# Without privileges: errors that say which one is missing.
if command -v setpriv >/dev/null; then
	NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	out=$(ip netns exec "$H" "${NOBODY[@]}" "$USTACKD" --ifname ustperm0 --control "$IT_DIR/run4/ctl.sock" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -qi 'permission denied'; then
		pass "tap without privileges: $(printf '%s' "$out" | grep "^<3>")"
	else
		fail "tap without privileges fails clearly" "exit $rc: $out"
	fi
	out=$(ip netns exec "$D" "${NOBODY[@]}" "$USTACKD" "${XDP[@]}" --ifname ustv1 --control "$IT_DIR/run4/ctl.sock" --state-dir "$IT_DIR/run4" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'permission denied (needs CAP_NET_RAW'; then
		pass "af_xdp without privileges: $(printf '%s' "$out" | grep "^<3>")"
	else
		fail "af_xdp without privileges fails clearly" "exit $rc: $out"
	fi
else
	fail "permission checks" "setpriv (util-linux) is not installed"
fi

it_daemon "$D" "$IT_DIR/x1.log" "${XDP[@]}" --ifname ustv1 || fail "af_xdp daemon starts"
X1=$DAEMON_PID
out=$(ip netns exec "$D" "$USTACKD" "${XDP[@]}" --ifname ustv1 --control "$IT_DIR/run3/ctl.sock" 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'busy'; then
	pass "af_xdp: queue busy: $out"
else
	fail "af_xdp: queue busy fails clearly" "exit $rc: $out"
fi
check "af_xdp: the first daemon still answers" ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.204.0.2

kill -KILL "$X1"
wait "$X1" 2>/dev/null
IT_PIDS=("${IT_PIDS[@]/$X1}")
check "SIGKILL leaves the XDP program attached (the stale case)" sh -c "ip -n $D link show ustv1 | grep -q prog/xdp"
# The killed daemon's pid now belongs to another ustackd (issue 11 item 10: a recycled pid
# blocked the restart with "already attached"): the record names a live ustackd's pid.
it_daemon "$H" "$IT_DIR/pid.log" --ifname ustpid0 --address 10.207.0.2/24 --control "$IT_DIR/run5/ctl.sock" ||
	fail "a TAP ustackd starts (pid reuse case)"
REC="$IT_DIR/state/xdp-ustv1.prog"
if [ -s "$REC" ]; then
	read -r rec_id _ rec_start <"$REC"
	echo "$rec_id $DAEMON_PID ${rec_start:-}" >"$REC"
	pass "the program record now names a live ustackd: $(cat "$REC")"
else
	fail "the program record exists" "$REC"
fi
PIDD=$DAEMON_PID
# The interface MTU and ours at the AF_XDP limit: a 3840-byte frame each way (3841 were lost).
ip -n "$H" link set ustv0 mtu 3826
ip -n "$D" link set ustv1 mtu 3826
it_daemon "$D" "$IT_DIR/x2.log" "${XDP[@]}" --ifname ustv1 --mtu 3826 || fail "af_xdp daemon restarts after SIGKILL"
check "the successor detaches the stale program" grep -q 'detached the stale XDP program' "$IT_DIR/x2.log"
check "the successor answers ping" ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.204.0.2
check "MTU 3826: 3840-byte frames both ways (ping -s 3798 -M do)" sh -c "ip netns exec $H ping -c 3 -i 0.2 -W 2 -s 3798 -M do 10.204.0.2 | grep -q ' 0% packet loss'"
it_stop "$PIDD"
# The stack shares the interface's MAC here (no --mac): the kernel's address on it still
# answers, told apart by the IPv4/ARP address alone (issue 11 item 2).
ip -n "$D" addr add 10.204.0.3/24 dev ustv1
check "shared MAC: the kernel's own address answers ping (0% loss)" sh -c "ip netns exec $H ping -c 10 -i 0.05 -W 2 10.204.0.3 | grep -q ' 0% packet loss'"
check "shared MAC: ustackd still answers" ip netns exec "$H" ping -c 2 -i 0.2 -W 2 10.204.0.2
it_stop "$DAEMON_PID"
check "SIGTERM: exit 0" test $? -eq 0
check "exit: the AF_XDP counters in the log" grep -q '^<6>af_xdp ustv1 .*: received [1-9][0-9]* frames.*dropped: 0 sends refused' "$IT_DIR/x2.log"
check "exit: every UMEM frame accounted for" grep -q '^<6>af_xdp ustv1 .*UMEM frames: all 4096 accounted for' "$IT_DIR/x2.log"
check "no XDP program left" sh -c "! ip -n $D link show ustv1 | grep -q prog/xdp"

# A late interface at boot (issue 11 item 10): --wait-interface waits for it, logged,
# instead of failing into systemd's start limit.
( sleep 2; ip link add ustv4 netns "$H" type veth peer name ustv5 netns "$D" &&
	ip -n "$D" link set ustv5 up && ip -n "$H" link set ustv4 up ) &
MKIF=$!
if it_daemon "$D" "$IT_DIR/wait.log" "${XDP[@]}" --ifname ustv5 --wait-interface 10; then
	check "--wait-interface: the wait is logged" grep -q '^<5>af_xdp: no interface named ustv5.*waiting up to 10 s' "$IT_DIR/wait.log"
	check "--wait-interface: up once the interface appeared" grep -q '^<5>af_xdp: ustv5 appeared after [0-9]* s' "$IT_DIR/wait.log"
	it_stop "$DAEMON_PID"
else
	fail "--wait-interface 10: up once the interface appears"
fi
wait "$MKIF"
out=$(ip netns exec "$D" "$USTACKD" "${XDP[@]}" --ifname nosuch1 --wait-interface 1 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'no interface named nosuch1 appeared within 1 s'; then
	pass "--wait-interface: gives up after its bound: $(printf '%s' "$out" | grep '^<3>')"
else
	fail "--wait-interface gives up after its bound" "exit $rc: $out"
fi

# The interface goes away under the daemon: it says so and exits 1 (systemd restarts it),
# rather than idling with a dead device.
# it_gone NAME IFDEL_CMD...: the daemon DAEMON_PID must exit 1 within 5 s of the deletion.
it_gone() {
	local name=$1 log=$2 rc
	shift 2
	"$@"
	for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		fail "$name: the daemon exits when its interface is deleted" "still running"
		return
	fi
	wait "$DAEMON_PID"
	rc=$?
	IT_PIDS=("${IT_PIDS[@]/$DAEMON_PID}")
	if [ "$rc" -eq 1 ] && grep -q '^<3>.*stop' "$log"; then
		pass "$name: interface deleted: $(grep '^<3>' "$log" | head -n 1)"
	else
		fail "$name: the daemon exits 1 when its interface is deleted" "exit $rc" "$(cat "$log")"
	fi
}
it_daemon "$H" "$IT_DIR/del-tap.log" --ifname ustdel0 --control "$RUN/ctl.sock" &&
	it_gone tap "$IT_DIR/del-tap.log" ip -n "$H" link del ustdel0
ip link add ustv2 netns "$H" type veth peer name ustv3 netns "$D"
ip -n "$H" link set ustv2 up
ip -n "$D" link set ustv3 up
it_daemon "$D" "$IT_DIR/del-xdp.log" "${XDP[@]}" --ifname ustv3 &&
	it_gone af_xdp "$IT_DIR/del-xdp.log" ip -n "$D" link del ustv3

it_finish
