#!/usr/bin/env python3
"""UdpBind over the fd data plane (rpc_sockets.sh): a datagram from the kernel arrives with
its source in the record header, one goes back, and one to a closed port brings an
icmp_error reply on the call.  Usage: rpc_udp_check.py SOCK HOST_NETNS HOST_IP"""
import os
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlink_client import Conn  # noqa: E402

path, ns, host = sys.argv[1:4]
c = Conn(path)
c.call('io.ustack.Socket.UdpBind', {'local': {'address': '0.0.0.0', 'port': 5353}}, more=True)
first = c.recv()
assert 'error' not in first, first
fd = socket.socket(fileno=c.fds.pop(0))
fd.settimeout(10)
assert fd.type == socket.SOCK_SEQPACKET, fd.type
# the kernel listens for our reply, then sends us a datagram from port 4444
listener = subprocess.Popen(
    ['ip', 'netns', 'exec', ns, sys.executable, '-c',
     'import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); '
     's.bind((sys.argv[1], 4444)); s.settimeout(10); sys.stdout.buffer.write(s.recv(100))',
     host], stdout=subprocess.PIPE)
subprocess.run(['sleep', '0.3'])
subprocess.run(['ip', 'netns', 'exec', ns, 'sh', '-c',
                'echo hello | socat -u - UDP:10.203.0.2:5353,sourceport=4445'], check=True)
rec = fd.recv(70000)
src, port = socket.inet_ntoa(rec[:4]), struct.unpack('!H', rec[4:6])[0]
assert (src, port, rec[8:]) == (host, 4445, b'hello\n'), (src, port, rec)
fd.send(socket.inet_aton(host) + struct.pack('!HH', 4444, 0) + b'pong\n')
fd.send(socket.inet_aton(host) + struct.pack('!HH', 4999, 0) + b'x')
err = c.recv(timeout=5)
assert err['parameters'].get('icmp_error', {}).get('errno') == 'ECONNREFUSED', err
out = listener.communicate(timeout=15)[0]
assert out == b'pong\n', out
c.call('io.ustack.Socket.Close', {'socket': first['parameters']['socket']})
end = c.recv()
assert end['parameters'].get('closed') is True, end
print('udp: in, out and the ICMP error as expected')
