#!/bin/bash
# TAP with --mtu 9000: a 65,000-byte ping is 8 fragments, within the 16-fragment limit,
# so it is reassembled and answered (design.md §2), fragmented both ways. The daemon runs
# with --busy-poll, which must change nothing but the timing.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
it_init "${1:-}"

H=$(it_netns h) || exit 1
RUN="$IT_DIR/run"
LOG="$IT_DIR/ustackd.log"
if it_daemon "$H" "$LOG" --backend tap --ifname ustack0 --mtu 9000 --busy-poll 20 --address 10.203.0.2/24 \
	--control "$RUN/ctl.sock" --state-dir "$IT_DIR/state"; then
	pass "ustackd starts on TAP with MTU 9000"
else
	fail "ustackd starts on TAP with MTU 9000"
	it_finish
fi
ip -n "$H" addr add 10.203.0.1/24 dev ustack0
check "the TAP's kernel side has MTU 9000" sh -c "ip -n $H link show ustack0 | grep -q 'mtu 9000'"
check "ping -s 65000 answered at MTU 9000" sh -c "ip netns exec $H ping -c 3 -i 0.3 -W 3 -s 65000 10.203.0.2 | grep -q ' 0% packet loss'"
oks=$(snmp_until "$RUN/snmp" IpReasmOKs 3)
fails=$(snmp_get "$RUN/snmp" IpReasmFails)
if [ "${oks:-0}" -ge 3 ] && [ "${fails:-1}" -eq 0 ]; then
	pass "reassembled: IpReasmOKs $oks, IpReasmFails $fails"
else
	fail "reassembled" "IpReasmOKs $oks, IpReasmFails $fails"
fi
check "ping -s 8972 (one full frame, DF) answered" sh -c "ip netns exec $H ping -c 3 -i 0.2 -W 2 -M do -s 8972 10.203.0.2 | grep -q ' 0% packet loss'"
check "ping -f -c 5000 with --busy-poll: 0% loss" sh -c "timeout 60 ip netns exec $H ping -f -c 5000 -W 1 10.203.0.2 | grep -q ' 0% packet loss'"
it_stop "$DAEMON_PID"
rc=$?
if [ "$rc" -eq 0 ]; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit 0" "status $rc"; fi
it_finish
