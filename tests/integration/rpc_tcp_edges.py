#!/usr/bin/env python3
"""Edge cases of the TCP fd data plane (rpc_sockets.sh), where the daemon moves bytes
straight between the socketpair and the TCP rings (daemon/rpc_tcp.c). Two roles: the
kernel peer (run inside the host namespace) and the varlink client.
  rpc_tcp_edges.py peer CASE ADDR PORT BYTES     the kernel's end, one connection
  rpc_tcp_edges.py client CASE SOCK ADDR PORT BYTES
CASE:
  fin-full     the peer sends BYTES then its FIN while the client does not read: the data
               and the FIN wait in the receive ring behind a full socketpair (the socket
               is in CLOSE-WAIT with a receive queue); then the client reads every byte
               (sha256-equal), sees EOF, shuts down and the call ends {closed: true}.
  reset-full   the client writes until its fd blocks (socketpair and send ring full, the
               peer not reading), then the peer resets: the call ends with ECONNRESET,
               the fd reports the end, nothing of the socket is left, others are served.
  close-queued the client writes BYTES (less than the send ring), closes its fd and its
               varlink connection at once: the peer gets every byte, then the FIN.
Exit 0 when every assertion held."""
import hashlib
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlink_client import Conn  # noqa: E402


def pattern(n):
    """n bytes that are not all alike (a shifted byte of the sha256 chain)."""
    out, h = bytearray(), b'ustack'
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h * 64
    return bytes(out[:n])


def drain(s):
    """Reads s to EOF: (bytes read, their sha256 digest)."""
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(1 << 16)
        if not b:
            return n, h.digest()
        h.update(b)
        n += len(b)


def listener(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(30)
    return s


def peer(case, addr, port, nbytes):
    ls = listener(addr, port)
    if case == 'reset-full':
        # A small receive buffer, never read: the stack's send ring stays full.
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c, _ = ls.accept()
    c.settimeout(30)
    if case == 'fin-full':
        c.sendall(pattern(nbytes))
        c.shutdown(socket.SHUT_WR)
        while c.recv(1 << 16):  # until the client's FIN
            pass
    elif case == 'reset-full':
        time.sleep(2.5)  # the client fills everything meanwhile
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        c.close()
        return
    elif case == 'close-queued':
        n, digest = drain(c)
        assert n == nbytes, ('peer got', n, 'of', nbytes)
        assert digest == hashlib.sha256(pattern(nbytes)).digest(), 'peer: data differ'
        print('peer: %d bytes intact, then the FIN' % n)
    c.close()


def our_socket(path, port):
    other = Conn(path)
    other.call('io.ustack.Stack.Sockets')
    socks = other.recv()['parameters']['sockets']
    other.s.close()
    return [s for s in socks if s.get('remote', {}).get('port') == port]


def connect(path, addr, port, options=None):
    c = Conn(path)
    params = {'remote': {'address': addr, 'port': port}}
    if options:
        params['options'] = options
    c.call('io.ustack.Socket.TcpConnect', params, more=True)
    first = c.recv()
    assert 'error' not in first, first
    return c, socket.socket(fileno=c.fds.pop(0))


def client_fin_full(path, addr, port, nbytes):
    # A receive ring larger than the data: all of it and the FIN fit behind the socketpair.
    c, fd = connect(path, addr, port, {'rcvbuf': 4 << 20})
    deadline = time.monotonic() + 20
    while True:
        ours = our_socket(path, port)
        assert ours, 'the socket is not in Sockets'
        if ours[0]['state'] == 'CLOSE-WAIT':
            break
        assert time.monotonic() < deadline, ('no FIN while not reading', ours[0])
        time.sleep(0.2)
    rq = ours[0]['recv_queue']
    print('not reading: %s with %d bytes in the receive ring' % (ours[0]['state'], rq))
    assert rq > 0, 'the FIN came but no data waits behind the full socketpair'
    fd.settimeout(20)
    n, digest = drain(fd)
    assert n == nbytes, ('client got', n, 'of', nbytes)
    assert digest == hashlib.sha256(pattern(nbytes)).digest(), 'client: data differ'
    fd.shutdown(socket.SHUT_WR)
    end = c.recv(timeout=20)
    assert end and end.get('parameters', {}).get('closed') is True, end
    print('then %d bytes intact, EOF, and the call ended closed' % n)


def client_reset_full(path, addr, port, nbytes):
    c, fd = connect(path, addr, port)
    fd.setblocking(False)
    chunk = pattern(1 << 16)
    wrote, end = 0, None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        r, w, _ = select.select([c.s], [fd], [], 0.2)
        if c.s in r:
            end = c.recv()
            break
        if fd in w:
            try:
                wrote += fd.send(chunk)
            except BlockingIOError:
                pass
            except OSError:
                break  # the daemon closed our fd: the call says why
    if end is None:
        end = c.recv(timeout=20)
    print('wrote %d bytes before the reset; the call: %s' % (wrote, end))
    assert wrote > 0
    assert end.get('error') == 'io.ustack.Socket.Errno', end
    assert end['parameters']['errno'] == 'ECONNRESET', end
    # The daemon closed its end: the fd reports it (EOF, or an error on write).
    fd.setblocking(True)
    fd.settimeout(5)
    try:
        assert fd.recv(1) == b''
    except OSError:
        pass
    try:
        fd.send(b'x')
        raise AssertionError('a write after the end succeeded')
    except OSError:
        pass
    assert not our_socket(path, port), 'the socket is still in Sockets'
    s = Conn(path)
    s.call('io.ustack.Stack.Status')
    assert 'error' not in s.recv(), 'Status after the reset'
    print('ECONNRESET on the call, the fd ended, nothing left')


def client_close_queued(path, addr, port, nbytes):
    c, fd = connect(path, addr, port)
    fd.sendall(pattern(nbytes))
    fd.close()
    c.s.close()
    print('wrote %d bytes, closed the fd and the connection' % nbytes)


def main():
    role, case = sys.argv[1], sys.argv[2]
    if role == 'peer':
        addr, port, nbytes = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        peer(case, addr, port, nbytes)
        return
    path, addr, port, nbytes = sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    {'fin-full': client_fin_full, 'reset-full': client_reset_full,
     'close-queued': client_close_queued}[case](path, addr, port, nbytes)


main()
