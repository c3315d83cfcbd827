#!/usr/bin/env python3
"""A client that stops reading its TCP fd (rpc_sockets.sh): the daemon stops taking data
from TCP, so the receive window closes and the kernel sender's queue fills, while the
daemon keeps answering others at once; when the client reads again, all the data arrives.
Usage: rpc_slow_reader.py SOCK HOST_IP PORT TOTAL_BYTES"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlink_client import Conn  # noqa: E402

path, host, port, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Conn(path)
c.call('io.ustack.Socket.TcpConnect', {'remote': {'address': host, 'port': port}}, more=True)
first = c.recv()
assert 'error' not in first, first
fd = socket.socket(fileno=c.fds.pop(0))
sid = first['parameters']['socket']
time.sleep(2)  # not reading: the socketpair, the daemon's 64 KiB and TCP's buffer fill up

other = Conn(path)
t0 = time.monotonic()
other.call('io.ustack.Stack.Sockets')
socks = other.recv()['parameters']['sockets']
took = time.monotonic() - t0
ours = [s for s in socks if s.get('remote', {}).get('port') == port]
assert ours, socks
rq = ours[0]['recv_queue']
print('stalled: recv_queue %d bytes, Sockets answered in %.1f ms' % (rq, took * 1000))
assert took < 1.0, took
assert rq > 0, 'the daemon kept reading TCP for a client that does not read'
got = 0
while True:
    chunk = fd.recv(1 << 16)
    if not chunk:
        break
    got += len(chunk)
fd.shutdown(socket.SHUT_WR)  # the peer's FIN was EOF; ours now ends the connection
end = c.recv(timeout=30)
assert got == total, (got, total)
assert end['parameters'].get('closed') is True, end
print('then %d bytes read, the call ended closed' % got)
