#!/bin/bash
# The systemd units' operational contract (issue 11 item 10), checked on the files: no
# systemd runs the tests, so what it would do is read from the settings that decide it.
#   units.sh SERVICE SOCKET
set -u
svc=$1 sock=$2
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; [ $# -gt 1 ] && printf '#   %s\n' "$2"; }
val() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

rundir=$(val RuntimeDirectory "$svc")
listen=$(val ListenStream "$sock")
# Stopping the service must not delete the socket unit's directory: when the listening
# socket is inside the RuntimeDirectory, that directory must be preserved.
if [ "$(dirname "$listen")" = "/run/$rundir" ]; then
	if [ "$(val RuntimeDirectoryPreserve "$svc")" = yes ]; then
		ok "the socket's directory /run/$rundir survives a stop (RuntimeDirectoryPreserve=yes)"
	else
		nok "the socket's directory /run/$rundir survives a stop" "RuntimeDirectoryPreserve=$(val RuntimeDirectoryPreserve "$svc")"
	fi
else
	ok "the socket ($listen) is outside the RuntimeDirectory /run/$rundir"
fi
# Both units create the directory: the same mode, or the second start changes it.
if [ "$(val RuntimeDirectoryMode "$svc")" = "$(val DirectoryMode "$sock")" ]; then
	ok "the runtime directory has one mode ($(val DirectoryMode "$sock"))"
else
	nok "the runtime directory has one mode" "service $(val RuntimeDirectoryMode "$svc"), socket $(val DirectoryMode "$sock")"
fi
# nstat as any user reads the snmp file: the directory lets others through.
mode=$(val RuntimeDirectoryMode "$svc")
if [ $((8#${mode:-0} & 1)) -eq 1 ]; then
	ok "others may reach the snmp file (RuntimeDirectoryMode=$mode)"
else
	nok "others may reach the snmp file" "RuntimeDirectoryMode=$mode"
fi
# A late AF_XDP interface is waited for, within the start timeout.
wait_s=$(val ExecStart "$svc" | sed -n 's/.*--wait-interface \([0-9]*\).*/\1/p')
tmo=$(val TimeoutStartSec "$svc")
tmo=${tmo%s}
if [ -n "$wait_s" ] && [ "$wait_s" -lt "${tmo:-90}" ]; then
	ok "a late interface is waited for ($wait_s s < TimeoutStartSec ${tmo:-90} s)"
else
	nok "a late interface is waited for within TimeoutStartSec" "--wait-interface '${wait_s}', TimeoutStartSec '${tmo:-90}'"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
