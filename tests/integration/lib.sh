# shellcheck shell=bash
# Shared helpers for the integration tests: network namespaces with a unique prefix,
# the daemon under test, checks that count, and cleanup on every exit.
#
# Every test script: sources this file, calls it_init, runs checks with `check NAME CMD...`
# (or pass/fail), and ends with `it_finish`, which prints "N passed, N failed" and exits
# non-zero on any failure. Not root: exit 77 (meson reports "skipped").

set -u

IT_PASSED=0
IT_FAILED=0
IT_NETNS=()
IT_PIDS=()
IT_DIR=""
DAEMON_PID="" # set by it_daemon

it_log() { printf '# %s\n' "$*"; }

it_init() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $(basename "$0") needs root (network namespaces, TAP, AF_XDP)" >&2
		echo "0 passed, 0 failed (skipped: not root)"
		exit 77
	fi
	USTACKD=${USTACKD:-${1:-}}
	if [ -z "$USTACKD" ] || [ ! -x "$USTACKD" ]; then
		echo "FAIL: no ustackd binary (argument 1 or \$USTACKD)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	for tool in ip ping; do
		if ! command -v "$tool" >/dev/null; then
			echo "FAIL: $tool is not installed" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
	IT_PREFIX="ust-$$-"
	IT_NETNS=()
	IT_DIR=$(mktemp -d "/tmp/${IT_PREFIX}XXXXXX")
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
}

it_cleanup() {
	local pid ns
	for pid in "${IT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${IT_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	# The script's own leftovers (a process substitution's sleep, a background job): they
	# hold the test's output open, and meson waits for it to close.
	pkill -KILL -P $$ 2>/dev/null
	# Every namespace with our prefix: it_netns often runs in a command substitution
	# (NS=$(it_netns h)), a subshell whose IT_NETNS+= the parent never sees.
	for ns in "${IT_NETNS[@]}" $(ip netns list | awk -v p="$IT_PREFIX" 'index($1, p) == 1 { print $1 }'); do
		# Whatever still runs in it (a server's forked children): it would outlive the
		# namespace and hold the test's output open, so meson would wait for it.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$IT_DIR" ] && [ -z "${IT_KEEP:-}" ]; then
		rm -rf "$IT_DIR"
	fi
}

pass() { IT_PASSED=$((IT_PASSED + 1)); echo "ok - $1"; }
fail() {
	IT_FAILED=$((IT_FAILED + 1))
	echo "not ok - $1"
	shift
	[ $# -gt 0 ] && printf '#   %s\n' "$@"
	return 0
}

# check NAME CMD...: passes when CMD exits 0; on failure its output is shown.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(printf '%s' "$out" | tail -n 15)"
	fi
}

it_finish() {
	echo "$IT_PASSED passed, $IT_FAILED failed"
	[ "$IT_FAILED" -eq 0 ]
	exit $?
}

# Creates a namespace named $IT_PREFIX$1 with lo up; echoes the name. Cleanup finds it by
# its prefix, so it may be called in a command substitution.
it_netns() {
	local ns="${IT_PREFIX}$1"
	ip netns add "$ns" || return 1
	IT_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}

# it_daemon NS LOG ARGS...: starts ustackd in NS (ip netns exec execs it: $! is the
# daemon) and waits up to 15 s for its "up:" line. Sets DAEMON_PID.
it_daemon() {
	local ns=$1 log=$2 a state=()
	shift 2
	# A state directory of its own unless the test names one: the store is locked
	# (docs/kv.md), so two daemons of parallel tests must not share the default one.
	for a in "$@"; do case "$a" in --state-dir|--state-dir=*) state=(x) ;; esac; done
	if [ ${#state[@]} -eq 0 ]; then
		IT_NDAEMONS=$((${IT_NDAEMONS:-0} + 1))
		state=(--state-dir "$IT_DIR/state-default-$IT_NDAEMONS")
	else
		state=()
	fi
	ip netns exec "$ns" "$USTACKD" "$@" "${state[@]}" >"$log" 2>&1 &
	DAEMON_PID=$!
	IT_PIDS+=("$DAEMON_PID")
	for _ in $(seq 150); do
		grep -q '^<5>up:' "$log" 2>/dev/null && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "ustackd did not come up:" >&2
	cat "$log" >&2
	return 1
}

# it_backend MODE LOG DAEMON_ARGS...: the link between the kernel in namespace $H (with
# $HOST_IP/24) and ustackd on MODE: tap (the daemon in $H, its TAP ustack0), or xdp-skb /
# xdp-native (the daemon in a namespace of its own on one end of a veth pair, ustv0 in $H).
# Sets D (the daemon's namespace) and IF (the kernel's interface), and counts the start as
# a check (a failed start ends the script).
it_backend() {
	local mode=$1 log=$2
	shift 2
	case "$mode" in
	tap)
		D=$H
		IF=ustack0
		it_daemon "$D" "$log" --backend tap --ifname "$IF" "$@" || {
			fail "ustackd starts on TAP"
			it_finish
		}
		ip -n "$H" addr add "$HOST_IP/24" dev "$IF"
		;;
	xdp-skb | xdp-native)
		D=$(it_netns d) || exit 1
		IF=ustv0
		ip link add "$IF" netns "$H" type veth peer name ustv1 netns "$D" || exit 1
		ip -n "$H" link set "$IF" up
		ip -n "$D" link set ustv1 up
		ip -n "$H" addr add "$HOST_IP/24" dev "$IF"
		# The kernel leaves UDP/TCP checksums of locally sent packets to the device when
		# it offers offload (CHECKSUM_PARTIAL), and a veth does: an AF_XDP reader then
		# sees them unfinished. A real NIC finishes them on the wire; here, turn
		# offload off.
		ip netns exec "$H" ethtool -K "$IF" tx off >/dev/null
		it_daemon "$D" "$log" --backend af_xdp --ifname ustv1 --queue 0 \
			--xdp-mode "${mode#xdp-}" "$@" || {
			fail "ustackd starts on AF_XDP ($mode)"
			it_finish
		}
		;;
	*)
		echo "unknown backend $mode" >&2
		exit 2
		;;
	esac
	pass "ustackd starts ($mode): $(sed -n 's/^<5>up: //p' "$log")"
}

# it_stop PID: SIGTERM, waits up to 10 s; returns the daemon's exit status.
it_stop() {
	local pid=$1 rc
	kill -TERM "$pid" 2>/dev/null || return 99
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		return 98
	fi
	wait "$pid"
	rc=$?
	IT_PIDS=("${IT_PIDS[@]/$pid}")
	return "$rc"
}

# snmp_get FILE NAME: the value of counter NAME ("IpReasmFails") in a /proc/net/snmp file.
snmp_get() {
	local g f
	g=$(printf '%s' "$2" | sed -E 's/^(Eth|Arp|IpExt|Ip|Icmp|UdpLite|Udp|TcpExt|Tcp).*/\1/')
	f=${2#"$g"}
	awk -v g="$g:" -v f="$f" '
		$1 == g && !hdr { for (i = 2; i <= NF; i++) if ($i == f) col = i; hdr = 1; next }
		$1 == g && hdr { if (col) print $col; exit }
	' "$1"
}

# The counter after the daemon's next snmp file write (at most once a second).
snmp_wait() { sleep 1.3; snmp_get "$@"; }

# snmp_until FILE NAME MIN: the counter once it reaches MIN, or its value after 6 s.
snmp_until() {
	local v
	sleep 1.3
	for _ in $(seq 30); do
		v=$(snmp_get "$1" "$2")
		[ "${v:-0}" -ge "$3" ] && break
		sleep 0.2
	done
	echo "$v"
}

# wait_ustack_listen PORT: until the stack has a listener on PORT ($CTL: ustackctl).
wait_ustack_listen() {
	for _ in $(seq 50); do
		"$CTL" sockets 2>/dev/null | grep -Eq "LISTEN +[0-9]+ +[0-9]+ +[0-9.*]+:$1 " && return 0
		sleep 0.1
	done
	return 1
}

# it_need TOOL...: skips the script (exit 77, said loudly) when a tool is missing.
it_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null && continue
		echo "SKIP: $(basename "$0") needs $tool, which is not installed" >&2
		echo "0 passed, 0 failed (skipped: no $tool)"
		exit 77
	done
}
