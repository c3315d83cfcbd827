#!/usr/bin/env python3
"""A small varlink client for the integration tests (plain python3: socket.sendmsg and
recvmsg with SCM_RIGHTS). Usage:
  varlink_client.py SOCK call METHOD [PARAMS_JSON] [--more] [--fd PATH]
      prints every reply as a JSON line; exit 0 when the last one is not an error
  varlink_client.py SOCK tcp-connect ADDR PORT   netcat-like over the fd data plane
  varlink_client.py SOCK tcp-listen PORT         first connection only, netcat-like
  varlink_client.py SOCK robust CASE             one malformed-input case (rpc_robust.sh)
"""
import array
import json
import os
import select
import socket
import sys
import threading


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b''
        self.fds = []

    def send(self, msg, fds=()):
        data = json.dumps(msg).encode() + b'\0'
        if fds:
            self.s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                     array.array('i', fds))])
        else:
            self.s.sendall(data)

    def call(self, method, params=None, more=False, fds=()):
        msg = {'method': method}
        if params is not None:
            msg['parameters'] = params
        if more:
            msg['more'] = True
        self.send(msg, fds)

    def recv(self, timeout=10):
        """The next message (dict), or None at EOF. fds that came are in self.fds."""
        while b'\0' not in self.buf:
            r, _, _ = select.select([self.s], [], [], timeout)
            if not r:
                raise TimeoutError('no reply in %s s' % timeout)
            fds = array.array('i')
            data, anc, _, _ = self.s.recvmsg(1 << 16, socket.CMSG_SPACE(16 * fds.itemsize))
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(cdata[:len(cdata) - len(cdata) % fds.itemsize])
            self.fds.extend(fds)
            if not data:
                return None
            self.buf += data
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)


def pump(fd_sock, conn, out_name):
    """stdin -> fd, fd -> stdout; the call's replies watched meanwhile. Exit status: 0 after
    {closed: true}, 1 after an Errno (its name on stderr)."""
    done = threading.Event()

    def writer():
        try:
            while True:
                chunk = os.read(0, 1 << 16)
                if not chunk:
                    break
                fd_sock.sendall(chunk)
            fd_sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=writer, daemon=True).start()
    out = sys.stdout.buffer
    while True:
        chunk = fd_sock.recv(1 << 16)
        if not chunk:
            break
        out.write(chunk)
    out.flush()
    end = conn.recv(timeout=60)
    while end is not None and end.get('continues') and 'ended' not in end.get('parameters', {}):
        end = conn.recv(timeout=60)
    done.set()
    if end is None:
        print('%s: control connection closed' % out_name, file=sys.stderr)
        return 1
    if 'error' in end:
        print('%s: %s' % (out_name, end['parameters'].get('errno', end['error'])),
              file=sys.stderr)
        return 1
    return 0


def cmd_call(path, args):
    method = args[0]
    params = json.loads(args[1]) if len(args) > 1 and not args[1].startswith('--') else None
    more = '--more' in args
    fds = []
    if '--fd' in args:
        fds.append(os.open(args[args.index('--fd') + 1], os.O_WRONLY | os.O_CREAT, 0o644))
    c = Conn(path)
    c.call(method, params, more, fds)
    last = None
    while True:
        m = c.recv(timeout=30)
        if m is None:
            break
        print(json.dumps(m), flush=True)
        last = m
        if not m.get('continues'):
            break
    return 0 if last is not None and 'error' not in last else 1


def cmd_tcp_connect(path, args):
    c = Conn(path)
    c.call('io.ustack.Socket.TcpConnect',
           {'remote': {'address': args[0], 'port': int(args[1])}}, more=True)
    first = c.recv(timeout=30)
    if first is None or 'error' in first:
        print('tcp-connect: %s' % (first and first['parameters'].get('errno')),
              file=sys.stderr)
        return 1
    fd = socket.socket(fileno=c.fds.pop(0))
    return pump(fd, c, 'tcp-connect')


def cmd_tcp_listen(path, args):
    c = Conn(path)
    c.call('io.ustack.Socket.TcpListen',
           {'local': {'address': '0.0.0.0', 'port': int(args[0])}}, more=True)
    first = c.recv(timeout=30)
    if first is None or 'error' in first:
        print('tcp-listen: %s' % first, file=sys.stderr)
        return 1
    print('listening', file=sys.stderr, flush=True)
    acc = c.recv(timeout=60)
    if acc is None or 'accepted' not in acc.get('parameters', {}):
        print('tcp-listen: %s' % acc, file=sys.stderr)
        return 1
    fd = socket.socket(fileno=c.fds.pop(0))
    return pump(fd, c, 'tcp-listen')


def main():
    path, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == 'call':
        return cmd_call(path, args)
    if cmd == 'tcp-connect':
        return cmd_tcp_connect(path, args)
    if cmd == 'tcp-listen':
        return cmd_tcp_listen(path, args)
    if cmd == 'robust':
        import rpc_robust_cases
        return rpc_robust_cases.run(path, args[0], Conn)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
