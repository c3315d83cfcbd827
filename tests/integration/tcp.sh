#!/bin/bash
# TCP of ustackd against the Linux kernel over one backend, in network namespaces of its own:
#   tcp.sh USTACKD tap|xdp-skb|xdp-native [on|off]
# The third argument is the TAP's transmit and receive offload (--tap-offload, default on):
# with it on, ustackd's TCP sends super-segments that the kernel cuts (checked by
# IpOutGsoRequests), so every transfer below also checks TSO byte for byte.
# The built-in services (echo:7, discard:9, chargen:19) with nc and socat; 100 MB each way
# checked byte for byte; echo's backpressure (a writer that does not read is stopped by the
# window, the daemon's memory does not grow); the same transfers with nftables dropping 3 %
# of the packets each way; a SYN to a closed port is refused by a RST; the per-service
# connection limit; keepalive (--tcp-keepalive 2,1,3): three probes with SEQ = SND.NXT - 1
# and no data, then the connection dropped ~5 s after the peer went silent. Same link set-up
# as backend.sh: the kernel is 10.203.0.1, the daemon 10.203.0.2. Runs in ~30 s.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
it_init "${1:-}"
MODE=${2:-tap}
OFFLOAD=${3:-on}

for tool in socat nc nft tcpdump tshark python3 sha256sum ethtool; do
	if ! command -v "$tool" >/dev/null; then
		fail "$tool is installed"
		it_finish
	fi
done

HOST_IP=10.203.0.1
DAEMON_IP=10.203.0.2
DAEMON_MAC=02:00:00:00:02:02
BIG=$((100 * 1000 * 1000))
# Under 3 % loss each way a single connection is loss-bound (Mathis et al.: rate ~
# MSS/RTT * 1.22/sqrt(p)), and every loss the fast paths miss costs a 200 ms RTO: measured
# here at 2-14 MB/s (chargen, the slowest, 14-34 Mbit/s). 10 MB is ~7000 segments each
# way, ~200 of them dropped: recovery is exercised hundreds of times in seconds; meson runs
# the TAP suites with TCP_LOSSY_BYTES=100000000 (issue 9: 100 MB each way at 3 % loss).
LOSSY=${TCP_LOSSY_BYTES:-$((10 * 1000 * 1000))}
KA_IDLE=2 KA_INTVL=1 KA_CNT=3

H=$(it_netns h) || exit 1
RUN="$IT_DIR/run"
LOG="$IT_DIR/ustackd.log"
# No --pcap: it would hold a copy of the 400+ MB sent.
COMMON=(--address "$DAEMON_IP/24" --mac "$DAEMON_MAC" --control "$RUN/ctl.sock"
	--state-dir "$IT_DIR/state" --service echo:7,discard:9,chargen:19
	--tcp-keepalive "$KA_IDLE,$KA_INTVL,$KA_CNT" --log-level info)
if [ "$MODE" = tap ]; then COMMON+=(--tap-offload "$OFFLOAD"); fi

it_backend "$MODE" "$LOG" "${COMMON[@]}"
SNMP="$RUN/snmp"
# (Not for background jobs: $! would be the subshell, not the program.)
hx() { ip netns exec "$H" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
rate() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.0f Mbit/s", (ms > 0 ? b * 8 / ms / 1000 : 0) }'; }
DISCARDED=0 # bytes sent to the discard service, for the count in the daemon's final log

# chargen_check N: reads N bytes of stdin and compares every one with the RFC 864 stream
# from position 0; prints the count and both SHA-256 (received, expected).
cat >"$IT_DIR/chargen_check.py" <<'EOF'
import hashlib, sys
n = int(sys.argv[1])
pat = b"".join(bytes(32 + (l + c) % 95 for c in range(72)) + b"\r\n" for l in range(95))
chunk_max = 1 << 20
ref = pat * (chunk_max // len(pat) + 2)
got, h_got, h_ref, inp = 0, hashlib.sha256(), hashlib.sha256(), sys.stdin.buffer
while got < n:
    data = inp.read(min(chunk_max, n - got))
    if not data:
        break
    exp = ref[got % len(pat):got % len(pat) + len(data)]
    h_got.update(data)
    h_ref.update(exp)
    if data != exp:
        i = next(i for i in range(len(data)) if data[i] != exp[i])
        print(f"byte {got + i} is {data[i]}, expected {exp[i]}")
        sys.exit(1)
    got += len(data)
print(f"{got} bytes, sha256 {h_got.hexdigest()} expected {h_ref.hexdigest()}")
sys.exit(0 if got == n and h_got.digest() == h_ref.digest() else 1)
EOF
chargen_check() { python3 "$IT_DIR/chargen_check.py" "$@"; }

# --- The services with nc and socat -------------------------------------------------------
out=$(printf 'hello ustack\n' | hx timeout 10 nc -N "$DAEMON_IP" 7 2>&1)
if [ "$out" = "hello ustack" ]; then pass "TCP echo (nc)"; else fail "TCP echo (nc)" "got: $out"; fi
out=$(printf 'hello again\n' | hx timeout 10 socat -t 5 - "TCP:$DAEMON_IP:7" 2>&1)
if [ "$out" = "hello again" ]; then pass "TCP echo (socat)"; else fail "TCP echo (socat)" "got: $out"; fi
out=$(head -c 1000000 /dev/urandom | hx timeout 10 nc -N "$DAEMON_IP" 9 2>&1)
rc=$?
DISCARDED=$((DISCARDED + 1000000))
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then pass "TCP discard, 1 MB (nc)"; else fail "TCP discard (nc)" "exit $rc, got: $(printf '%s' "$out" | head -c 200)"; fi
check "TCP chargen, 3 periods (nc)" sh -c "ip netns exec $H timeout 10 nc -d $DAEMON_IP 19 | python3 $IT_DIR/chargen_check.py 21090"

# --- 100 MB each way, every byte checked --------------------------------------------------
# bulk TAG BYTES: echo (kernel -> ustackd -> kernel), discard (kernel -> ustackd) and chargen
# (ustackd -> kernel), BYTES each.
bulk() {
	local tag=$1 n=$2 data="$IT_DIR/random" t0 t1 out rc want got
	head -c "$n" /dev/urandom >"$data"
	want=$(sha256sum <"$data" | cut -d' ' -f1)

	t0=$(now_ms)
	got=$(hx timeout 300 socat -t 30 -T 30 - "TCP:$DAEMON_IP:7" <"$data" | sha256sum | cut -d' ' -f1)
	t1=$(now_ms)
	if [ "$got" = "$want" ]; then
		pass "$tag: $n bytes echoed, sha256 equal ($(rate $((2 * n)) $((t1 - t0))) both ways together)"
	else
		fail "$tag: $n bytes echoed, sha256 equal" "sent $want" "got  $got ($((t1 - t0)) ms)"
	fi

	t0=$(now_ms)
	out=$(hx timeout 300 socat -u - "TCP:$DAEMON_IP:9" <"$data" 2>&1)
	rc=$?
	t1=$(now_ms)
	DISCARDED=$((DISCARDED + n))
	if [ "$rc" -eq 0 ]; then
		pass "$tag: $n bytes to discard (socat done in $((t1 - t0)) ms; count checked at the end)"
	else
		fail "$tag: $n bytes to discard" "socat exit $rc: $out"
	fi

	t0=$(now_ms)
	out=$(hx timeout 300 socat -u "TCP:$DAEMON_IP:19" - 2>/dev/null | chargen_check "$n")
	rc=$?
	t1=$(now_ms)
	if [ "$rc" -eq 0 ]; then
		pass "$tag: chargen $out ($(rate "$n" $((t1 - t0))))"
	else
		fail "$tag: $n bytes of chargen, every byte as RFC 864" "$out ($((t1 - t0)) ms)"
	fi
	rm -f "$data"
}
bulk "clean link" "$BIG"

# TSO: with the TAP offload on, the 100 MB from ustackd went mostly as super-segments.
if [ "$MODE" = tap ]; then
	gso=$(snmp_wait "$SNMP" IpOutGsoRequests)
	segs=$(snmp_get "$SNMP" TcpOutSegs)
	if [ "$OFFLOAD" = on ] && [ "${gso:-0}" -gt 1000 ]; then
		pass "TSO: $segs TCP segments sent in $gso super-segments (IpOutGsoRequests)"
	elif [ "$OFFLOAD" = off ] && [ "${gso:-1}" -eq 0 ]; then
		pass "no TSO with --tap-offload off: $segs TCP segments, IpOutGsoRequests 0"
	else
		fail "TSO used exactly when the TAP offload is on ($OFFLOAD)" "IpOutGsoRequests ${gso:-?}, TcpOutSegs ${segs:-?}"
	fi
fi

# --- Echo backpressure: a client that writes without reading is stopped by the window -----
# It writes until nothing more goes for 1 s; what it got out must be bounded by the buffers
# on the way (both kernels' and the daemon's), the daemon's memory must not grow with it,
# and once it reads, every byte comes back in order.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
rss0=$(rss_kb)
out=$(hx timeout 60 python3 - "$DAEMON_IP" "$DAEMON_PID" <<'EOF'
import hashlib, os, select, socket, sys, time
total = 64 << 20
data = os.urandom(1 << 20)
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.setblocking(False)
sent, last = 0, time.monotonic()
while sent < total and time.monotonic() - last < 1.0:
    try:
        n = s.send(data[sent % len(data):])
        sent += n
        last = time.monotonic()
    except BlockingIOError:
        select.select([], [s], [], 0.1)
stalled_at = sent
rss = [l.split()[1] for l in open(f"/proc/{sys.argv[2]}/status") if l.startswith("VmRSS:")][0]
# Now read while writing the rest; then half-close and read to the end.
h_sent, h_got, got = hashlib.sha256(), hashlib.sha256(), 0
for off in range(0, sent, len(data)):
    h_sent.update(data[:min(len(data), sent - off)])
shut = False
while True:
    r, w, _ = select.select([s], [s] if not shut else [], [], 10)
    if not r and not w:
        print("timeout"); sys.exit(1)
    if w:
        if sent < total:
            n = s.send(data[sent % len(data):][:total - sent])
            h_sent.update(data[sent % len(data):][:n])
            sent += n
        else:
            s.shutdown(socket.SHUT_WR); shut = True
    if r:
        b = s.recv(1 << 20)
        if not b:
            break
        h_got.update(b); got += len(b)
print(stalled_at, rss, sent, got, "equal" if h_got.digest() == h_sent.digest() and got == sent else "DIFFERENT")
EOF
)
read -r stalled rss1 sent got verdict <<<"$out"
if [ "${verdict:-}" = equal ] && [ "$stalled" -lt $((64 << 20)) ] && [ $((rss1 - rss0)) -lt 8192 ]; then
	pass "echo backpressure: a writer that does not read stalls after $((stalled >> 10)) KiB, daemon RSS +$((rss1 - rss0)) KiB; then $got bytes back, equal"
else
	fail "echo backpressure: bounded, then every byte back" "got: $out (RSS before ${rss0} KiB)"
fi

# --- The same with 3 % of the packets dropped in each direction ---------------------------
retrans0=$(snmp_get "$SNMP" TcpRetransSegs)
hx nft -f - <<EOF
table inet ust_lossy {
	chain in { type filter hook input priority 0; ip saddr $DAEMON_IP numgen random mod 100 < 3 counter drop; }
	chain out { type filter hook output priority 0; ip daddr $DAEMON_IP numgen random mod 100 < 3 counter drop; }
}
EOF
bulk "3% loss" "$LOSSY"
dropped=$(hx nft list table inet ust_lossy | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }')
hx nft delete table inet ust_lossy
retrans1=$(snmp_wait "$SNMP" TcpRetransSegs)
if [ "${dropped:-0}" -gt 100 ] && [ "$retrans1" -gt "$retrans0" ]; then
	pass "3% loss: nftables dropped $dropped packets, ustackd retransmitted $((retrans1 - retrans0)) segments"
else
	fail "3% loss really applied" "nft dropped ${dropped:-?}, TcpRetransSegs $retrans0 -> $retrans1"
fi

# --- A SYN to a closed port: RST, so connect fails at once with "refused" -----------------
rsts0=$(snmp_get "$SNMP" TcpOutRsts)
t0=$(now_ms)
out=$(hx timeout 10 nc -z -v -w 5 "$DAEMON_IP" 8 2>&1)
rc=$?
t1=$(now_ms)
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qi refused && [ $((t1 - t0)) -lt 2000 ]; then
	pass "SYN to closed port 8 refused by RST in $((t1 - t0)) ms"
else
	fail "SYN to closed port 8 refused by RST" "nc exit $rc after $((t1 - t0)) ms: $out"
fi
rsts1=$(snmp_wait "$SNMP" TcpOutRsts)
if [ "$rsts1" -gt "$rsts0" ]; then pass "TcpOutRsts counted ($rsts0 -> $rsts1)"; else fail "TcpOutRsts counted" "$rsts0 -> $rsts1"; fi

# --- At most 256 connections per service (SERVICE_TCP_MAX_CONNS): the rest are reset ------
# 300 at once to discard; all closed again within ~1 s, before keepalive (2 s) probes them.
out=$(hx timeout 30 python3 - "$DAEMON_IP" <<'EOF'
import socket, sys, time
socks, reset = [], 0
for _ in range(300):
    try:
        socks.append(socket.create_connection((sys.argv[1], 9), timeout=5))
    except ConnectionResetError:  # the RST can overtake connect()'s return
        reset += 1
time.sleep(0.5)
for s in socks:
    s.setblocking(False)
    try:
        reset += s.recv(1) == b""  # EOF: closed by the daemon, not expected either
    except BlockingIOError:
        pass
    except ConnectionResetError:
        reset += 1
for s in socks:
    s.close()
print(f"{300 - reset} open, {reset} reset")
EOF
)
if [ "$out" = "256 open, 44 reset" ]; then
	pass "discard: 300 connections at once: $out"
else
	fail "discard: 300 connections at once: 256 open, 44 reset" "got: $out"
fi
sleep 1

# --- Keepalive: 2 s idle, probes 1 s apart, 3 of them, then the drop ----------------------
PC="$IT_DIR/keepalive.pcap"
ip netns exec "$H" tcpdump -i "$IF" -n -U -s 128 -w "$PC" "tcp port 7" 2>"$IT_DIR/tcpdump.err" &
TD=$!
IT_PIDS+=("$TD")
for _ in $(seq 50); do grep -q 'listening on' "$IT_DIR/tcpdump.err" && break; sleep 0.1; done
probes0=$(snmp_get "$SNMP" TcpExtTCPKeepAliveProbes)
kadrops0=$(snmp_get "$SNMP" TcpExtTCPKeepAliveDrops)
mkfifo "$IT_DIR/ka.in"
ip netns exec "$H" timeout 60 socat -T 60 - "TCP:$DAEMON_IP:7" <"$IT_DIR/ka.in" >"$IT_DIR/ka.out" 2>&1 &
KA=$!
IT_PIDS+=("$KA")
exec 9>"$IT_DIR/ka.in"
echo keepalive >&9
for _ in $(seq 50); do grep -q keepalive "$IT_DIR/ka.out" && break; sleep 0.1; done
if grep -q keepalive "$IT_DIR/ka.out"; then
	pass "keepalive: connection up and echoing"
else
	fail "keepalive: connection up and echoing" "$(cat "$IT_DIR/ka.out")"
fi
# The peer goes silent: nothing to or from the daemon passes the kernel's IP layer (tcpdump
# on the interface still sees what the daemon sends).
hx nft add table inet ust_silent
hx nft add chain inet ust_silent in '{ type filter hook input priority 0; }'
hx nft add chain inet ust_silent out '{ type filter hook output priority 0; }'
hx nft add rule inet ust_silent in ip saddr "$DAEMON_IP" drop
hx nft add rule inet ust_silent out ip daddr "$DAEMON_IP" drop
t0=$(now_ms)
gone=""
for _ in $(seq 150); do # 15 s
	if grep -q '^<6>echo/tcp: connection from .* dropped: Connection timed out' "$LOG"; then
		gone=$(now_ms)
		break
	fi
	sleep 0.1
done
if [ -n "$gone" ] && [ $((gone - t0)) -ge 3500 ] && [ $((gone - t0)) -le 7500 ]; then
	pass "keepalive: dropped with ETIMEDOUT $((gone - t0)) ms after the peer went silent (expected ~5000)"
else
	fail "keepalive: dropped ~5 s after the peer went silent" \
		"after ${gone:+$((gone - t0)) ms}${gone:-15 s: not dropped}" "$(grep 'echo/tcp' "$LOG" | tail -n 3)"
fi
probes1=$(snmp_wait "$SNMP" TcpExtTCPKeepAliveProbes)
kadrops1=$(snmp_get "$SNMP" TcpExtTCPKeepAliveDrops)
if [ $((probes1 - probes0)) -eq "$KA_CNT" ] && [ $((kadrops1 - kadrops0)) -eq 1 ]; then
	pass "keepalive: counters TCPKeepAliveProbes +$((probes1 - probes0)), TCPKeepAliveDrops +1"
else
	fail "keepalive: counters" "TCPKeepAliveProbes $probes0 -> $probes1, TCPKeepAliveDrops $kadrops0 -> $kadrops1"
fi
kill -INT "$TD" 2>/dev/null
wait "$TD" 2>/dev/null
exec 9>&-
kill "$KA" 2>/dev/null
wait "$KA" 2>/dev/null
hx nft delete table inet ust_silent

# In the capture: the daemon's segments; SND.NXT is the end of the last one that occupied
# sequence space; a probe is a bare ACK at SND.NXT - 1. Expect exactly KA_CNT of them, the
# first ~KA_IDLE s after the last segment before it, the others KA_INTVL s apart.
out=$(tshark -r "$PC" -Y "ip.src == $DAEMON_IP && tcp.srcport == 7" -T fields \
	-e frame.time_epoch -e tcp.seq_raw -e tcp.len -e tcp.flags.syn -e tcp.flags.fin \
	-e tcp.flags.reset -e tcp.flags.push 2>/dev/null | awk \
	-v idle="$KA_IDLE" -v intvl="$KA_INTVL" -v cnt="$KA_CNT" '
	function on(f) { return f == "1" || f == "True" }
	{
		t = $1; seq = $2; len = $3; syn = on($4) ? 1 : 0; fin = on($5) ? 1 : 0
		if (len > 0 || syn || fin) { nxt = (seq + len + syn + fin) % 4294967296; last = t; next }
		if (!on($6) && !on($7) && nxt != "" && seq == (nxt + 4294967295) % 4294967296) {
			n++
			gap = t - (n == 1 ? last : prev); prev = t
			want = (n == 1 ? idle : intvl)
			printf "probe %d: seq %s = SND.NXT-1, no data, %.2f s after the previous segment\n", n, seq, gap
			if (gap < want * 0.8 || gap > want + 0.6) bad = 1
			next
		}
		last = t
	}
	END { if (n != cnt || bad) { printf "%d probes%s\n", n, bad ? ", bad spacing" : ""; exit 1 } }')
rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
if [ "$rc" -eq 0 ]; then
	pass "keepalive: tcpdump shows $KA_CNT probes, SEQ = SND.NXT-1, no data, ${KA_IDLE} s then ${KA_INTVL} s apart"
else
	fail "keepalive: tcpdump shows $KA_CNT probes at SND.NXT-1" "$(tshark -r "$PC" 2>/dev/null | tail -n 12)"
fi

# --- SIGTERM aborts the services' connections: the peer sees a RST (issue 11 item 6: over
# AF_XDP the device was quiesced first and the RSTs never left) ---------------------------
hx timeout 30 python3 - "$DAEMON_IP" >"$IT_DIR/sigterm-rst.out" 2>&1 <<'EOF' &
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"x")
s.recv(1)
print("connected", flush=True)
s.settimeout(20)
try:
    print("EOF" if s.recv(1) == b"" else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("nothing")
EOF
RSTPEER=$!
for _ in $(seq 50); do grep -q connected "$IT_DIR/sigterm-rst.out" && break; sleep 0.1; done
it_stop "$DAEMON_PID"
rc=$?
wait "$RSTPEER"
if grep -qx reset "$IT_DIR/sigterm-rst.out"; then
	pass "SIGTERM: the kernel peer of an open connection sees a RST"
else
	fail "SIGTERM: the kernel peer of an open connection sees a RST" "$(cat "$IT_DIR/sigterm-rst.out")"
fi

# --- Clean stop; what the services counted -----------------------------------------------
if [ "$rc" -eq 0 ]; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit 0" "exit status $rc" "$(tail -n 5 "$LOG")"; fi
got=$(sed -n 's/^<6>discard\/tcp: .* \([0-9]*\) bytes in, .*/\1/p' "$LOG")
refused=$(sed -n 's/^<6>discard\/tcp: .* \([0-9]*\) refused, .*/\1/p' "$LOG")
if [ "$refused" = 44 ]; then pass "discard counted 44 refused connections"; else fail "discard counted 44 refused connections" "$(grep 'discard/tcp: ' "$LOG" | tail -n 1)"; fi
if [ "$got" = "$DISCARDED" ]; then
	pass "discard received exactly the $DISCARDED bytes sent"
else
	fail "discard received exactly the $DISCARDED bytes sent" "$(grep '/tcp: ' "$LOG" | tail -n 3)"
fi
grep '^<6>[a-z]*/tcp: [0-9]* connections' "$LOG" | sed 's/^/# /'

it_finish
