#!/bin/bash
# TAP transmit offload against the real kernel: the stack hands the TAP one TCP/IPv4
# super-segment with a virtio-net header (VIRTIO_NET_HDR_GSO_TCPV4, NEEDS_CSUM) through
# ipv4_write() with gso_size (tso_probe.c), and the kernel must take it and cut it as it
# cuts its own: the TAP's kernel side (namespace h) forwards it to a veth whose TSO, GSO
# and checksum offload are off, so the segments seen in namespace r are cut and
# checksummed in software by the kernel. tso_check.py checks them, the super-segment as
# tcpdump on the TAP saw it arrive, and ustackd's pcap wrapper's record of the write.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
it_init "${1:-}"
PROBE=${2:-}
if [ -z "$PROBE" ] || [ ! -x "$PROBE" ]; then
	fail "no tso_probe binary (argument 2)"
	it_finish
fi
for tool in tcpdump ethtool; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is not installed" >&2
		echo "0 passed, 0 failed (skipped: no $tool)"
		exit 77
	fi
done

H=$(it_netns h) || exit 1
R=$(it_netns r) || exit 1
ip -n "$H" tuntap add dev tso0 mode tap || exit 1
ip -n "$H" addr add 10.81.0.1/24 dev tso0
ip -n "$H" link set tso0 up
ip link add v0 netns "$H" type veth peer name v1 netns "$R" || exit 1
ip -n "$H" addr add 10.82.0.1/24 dev v0
ip -n "$R" addr add 10.82.0.2/24 dev v1
ip -n "$H" link set v0 up
ip -n "$R" link set v1 up
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
# No offload toward r: the kernel has to segment and checksum in software; no GRO at r,
# which would merge the segments again before the capture sees them.
ip netns exec "$H" ethtool -K v0 tso off gso off tx off sg off >/dev/null 2>&1
ip netns exec "$R" ethtool -K v1 gro off >/dev/null 2>&1
TAP_MAC=$(ip netns exec "$H" cat /sys/class/net/tso0/address)

# capture NS IF FILE: tcpdump in the background until stop_captures.
CAPS=()
capture() {
	ip netns exec "$1" tcpdump -i "$2" -n -U --immediate-mode -B 32768 -s 0 -w "$3" tcp >"$3.log" 2>&1 &
	CAPS+=($!)
	IT_PIDS+=($!)
	for _ in $(seq 50); do
		grep -q "listening on" "$3.log" && return 0
		sleep 0.1
	done
	return 1
}
stop_captures() {
	sleep 1 # the kernel delivers what it forwarded; tcpdump writes it
	for pid in "${CAPS[@]}"; do kill -INT "$pid" 2>/dev/null; done
	for pid in "${CAPS[@]}"; do wait "$pid" 2>/dev/null; done
	CAPS=()
}

# case GSO_SIZE DATA_LEN: one super-segment, captured on both sides of the kernel.
run_case() {
	local gso=$1 len=$2 d="$IT_DIR/c$1-$2" out rc
	mkdir -p "$d"
	capture "$H" tso0 "$d/tap.pcap" && capture "$R" v1 "$d/wire.pcap" || {
		fail "tcpdump starts" "$(cat "$d"/*.log)"
		return
	}
	out=$(ip netns exec "$H" "$PROBE" tso0 10.81.0.2/24 10.81.0.1 "$TAP_MAC" 10.82.0.2 9 \
		"$gso" "$len" "$d/probe.pcap" 2>&1)
	rc=$?
	stop_captures
	if [ "$rc" -eq 77 ]; then
		echo "SKIP: $out" >&2
		echo "$IT_PASSED passed, $IT_FAILED failed (skipped: no TAP offload)"
		exit 77
	fi
	if [ "$rc" -ne 0 ]; then
		fail "gso $gso, $len bytes: the TAP takes the super-segment in one write" "$out"
		return
	fi
	pass "gso $gso, $len bytes: the TAP takes the super-segment in one write ($out)"
	check "gso $gso, $len bytes: pcap wrapper recorded the super-segment as written" \
		"$HERE/tso_check.py" super "$d/probe.pcap" "$gso" "$len"
	check "gso $gso, $len bytes: the kernel received it whole on the TAP" \
		"$HERE/tso_check.py" super "$d/tap.pcap" "$gso" "$len"
	check "gso $gso, $len bytes: the kernel cut it right (segments at r)" \
		"$HERE/tso_check.py" wire "$d/wire.pcap" "$gso" "$len"
}

run_case 1000 5500        # 6 segments, the last one odd (500)
run_case 1448 65495       # the largest datagram: 46 segments
run_case 536 2001          # 4 segments at a small MSS, the last one 393 bytes
it_finish
