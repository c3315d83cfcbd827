"""Malformed and hostile control-socket input for rpc_robust.sh: each case must end in a
varlink error or a disconnect, and leave nothing behind in the daemon.
run(path, case, Conn) returns 0 when the case behaved, 1 otherwise (the reason printed)."""
import json
import os
import socket
import threading
import time


def expect_error(c, name=None):
    try:
        m = c.recv(timeout=10)
    except (ConnectionError, OSError):
        return 0  # a disconnect is an acceptable answer
    if m is None:
        return 0
    if 'error' not in m:
        print('expected an error, got %s' % m)
        return 1
    if name and m['error'] != name:
        print('expected %s, got %s' % (name, m))
        return 1
    print('got %s %s' % (m['error'], json.dumps(m.get('parameters'))))
    return 0


def raw(path, data):
    c = Conn_(path)
    c.s.sendall(data)
    return c


def case_invalid_json(path):
    return expect_error(raw(path, b'{"method": "io.ustack.Stack.Status",,}\0'),
                        'org.varlink.service.InvalidParameter')


def case_not_object(path):
    return expect_error(raw(path, b'["io.ustack.Stack.Status"]\0'),
                        'org.varlink.service.InvalidParameter')


def case_no_nul(path):
    c = raw(path, b'{"method": "io.ustack.Stack.Status"}')
    c.s.shutdown(socket.SHUT_WR)
    m = c.recv(timeout=10)
    if m is not None:
        print('a message without its NUL was answered: %s' % m)
        return 1
    return 0


def case_huge(path):
    """64 MiB without a NUL: refused once past the limit, then disconnected."""
    c = Conn_(path)
    chunk = b'{"method":"io.ustack.Stack.Status","parameters":{"x":"' + b'a' * (1 << 20)
    sent = 0
    try:
        c.s.settimeout(20)
        c.s.sendall(chunk)
        sent += len(chunk)
        filler = b'a' * (1 << 20)
        while sent < 64 << 20:
            c.s.sendall(filler)
            sent += len(filler)
    except (ConnectionError, OSError) as e:
        print('disconnected after %d MiB: %s' % (sent >> 20, e))
    return expect_error(c)


def case_unknown_method(path):
    c = Conn_(path)
    c.call('io.ustack.Stack.NoSuchMethod')
    return expect_error(c, 'org.varlink.service.MethodNotFound')


def case_unknown_interface(path):
    c = Conn_(path)
    c.call('com.example.Nothing.Status')
    return expect_error(c, 'org.varlink.service.InterfaceNotFound')


def case_bad_envelope(path):
    bad = 0
    for msg in ({'method': 5}, {'method': 'io.ustack.Stack.Status', 'parameters': [1]},
                {'method': 'io.ustack.Stack.Status', 'more': 'yes'}, {'parameters': {}}):
        c = Conn_(path)
        c.send(msg)
        bad |= expect_error(c, 'org.varlink.service.InvalidParameter')
    return bad


def case_wrong_types(path):
    bad = 0
    for method, params in (
            ('io.ustack.Stack.Ping', {'address': 5}),
            ('io.ustack.Stack.Ping', {'address': '10.203.0.1', 'count': 'x'}),
            ('io.ustack.Stack.Ping', {'address': '10.203.0.1', 'size': 1 << 40}),
            ('io.ustack.Stack.Ping', {'address': 'not-an-address', 'count': 1}),
            ('io.ustack.Socket.TcpConnect', {'remote': '10.203.0.1:80'}),
            ('io.ustack.Socket.TcpConnect', {'remote': {'address': '10.203.0.1', 'port': 70000}}),
            ('io.ustack.Socket.Close', {'socket': 'one'}),
            ('io.ustack.Stack.ArpAdd', {'address': '10.203.0.7', 'mac': 'zz:zz'})):
        c = Conn_(path)
        c.call(method, params, more=True)
        bad |= expect_error(c, 'org.varlink.service.InvalidParameter')
    return bad


def case_missing_fields(path):
    bad = 0
    for method, params in (('io.ustack.Stack.Ping', {}),
                           ('io.ustack.Stack.ArpAdd', {'address': '10.203.0.7'}),
                           ('io.ustack.Socket.TcpListen', {}),
                           ('io.ustack.Socket.SetOption', {'socket': 1, 'name': 'nodelay'}),
                           ('org.varlink.service.GetInterfaceDescription', None)):
        c = Conn_(path)
        c.call(method, params, more=True)
        bad |= expect_error(c, 'org.varlink.service.InvalidParameter')
    c = Conn_(path)
    c.call('io.ustack.Socket.Close', {'socket': 999999})
    bad |= expect_error(c, 'io.ustack.Socket.Errno')
    return bad


def case_unexpected_fds(path):
    c = Conn_(path)
    r, w = os.pipe()
    c.call('io.ustack.Stack.Status', fds=[r, w])
    os.close(r)
    os.close(w)
    bad = expect_error(c, 'io.ustack.Stack.Errno')
    # the connection still serves
    c.call('io.ustack.Stack.Status')
    m = c.recv()
    if not m or 'error' in m:
        print('no Status after the fds: %s' % m)
        bad = 1
    return bad


def sockets(path):
    c = Conn_(path)
    c.call('io.ustack.Stack.Sockets')
    return c.recv()['parameters']['sockets']


def case_close_mid_call(path):
    """TcpListen, Ping (endless) and a TcpConnect in progress, then the client closes: its
    listener, its sockets and its timers go with it."""
    c = Conn_(path)
    c.call('io.ustack.Socket.TcpListen', {'local': {'address': '0.0.0.0', 'port': 7777}},
           more=True)
    first = c.recv()
    if not first or 'error' in first:
        print('TcpListen failed: %s' % first)
        return 1
    c2 = Conn_(path)
    c2.call('io.ustack.Stack.Ping', {'address': '10.203.0.1', 'count': 0,
                                     'interval_ms': 20}, more=True)
    c2.recv()
    c3 = Conn_(path)
    c3.call('io.ustack.Socket.TcpConnect', {'remote': {'address': '10.203.0.99', 'port': 9}},
            more=True)
    time.sleep(0.2)
    if not any(s['local']['port'] == 7777 for s in sockets(path)):
        print('listener not in Sockets')
        return 1
    for x in (c, c2, c3):
        x.s.close()
    time.sleep(0.5)
    left = [s for s in sockets(path) if s['local']['port'] == 7777 or
            (s.get('remote') or {}).get('address') == '10.203.0.99']
    if left:
        print('left behind: %s' % left)
        return 1
    return 0


def case_half_close(path):
    """A client that shuts its write side keeps its streams (socat does that); once it
    closes altogether, they go within about a second."""
    c = Conn_(path)
    c.call('io.ustack.Socket.TcpListen', {'local': {'address': '0.0.0.0', 'port': 7779}},
           more=True)
    c.s.shutdown(socket.SHUT_WR)
    first = c.recv()
    if not first or 'error' in first:
        print('TcpListen failed: %s' % first)
        return 1
    time.sleep(0.3)
    if not any(s['local']['port'] == 7779 for s in sockets(path)):
        print('the listener went with the half close')
        return 1
    c.s.close()
    time.sleep(2)
    if any(s['local']['port'] == 7779 for s in sockets(path)):
        print('the listener outlived its client')
        return 1
    return 0


def case_too_many(path, n=260):
    """Past 256 clients a new one gets EUSERS and is closed; the others are served."""
    conns = [Conn_(path) for _ in range(n)]
    refused = 0
    for c in conns[-8:]:
        try:
            c.call('io.ustack.Stack.Status')
        except OSError:
            pass  # closed already: the EUSERS message waits to be read
        try:
            m = c.recv(timeout=10)
        except OSError:
            m = None
        if m is None or m.get('parameters', {}).get('errno') == 'EUSERS':
            refused += 1
    conns[0].call('io.ustack.Stack.Status')
    ok = conns[0].recv()
    for c in conns:
        c.s.close()
    if refused < n - 256 or not ok or 'error' in ok:
        print('refused %d of the last 8 (want >= %d); first client: %s' % (refused, n - 256, ok))
        return 1
    print('%d of the last 8 refused with EUSERS, the first one served' % refused)
    return 0


def case_concurrent(path, n=100):
    """n clients at once, each calling Status a few times."""
    errors = []
    start = threading.Barrier(n)

    def one(i):
        try:
            c = Conn_(path)
            start.wait(timeout=30)
            for _ in range(5):
                c.call('io.ustack.Stack.Status')
                m = c.recv(timeout=30)
                if not m or 'error' in m:
                    errors.append('client %d: %s' % (i, m))
                    return
        except Exception as e:  # noqa: BLE001 - any failure is the test's failure
            errors.append('client %d: %r' % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        print('%d of %d clients failed, e.g. %s' % (len(errors), n, errors[:3]))
        return 1
    print('%d clients x 5 Status: all answered' % n)
    return 0


def case_unprivileged(path):
    """Run under setpriv as an unprivileged uid: Status allowed, ArpAdd and TcpListen not."""
    c = Conn_(path)
    c.call('io.ustack.Stack.Status')
    m = c.recv()
    if not m or 'error' in m:
        print('Status refused: %s' % m)
        return 1
    bad = 0
    for method, params in (('io.ustack.Stack.ArpAdd', {'address': '10.203.0.7',
                                                       'mac': '02:00:00:00:00:07'}),
                           ('io.ustack.Socket.TcpListen',
                            {'local': {'address': '0.0.0.0', 'port': 7778}})):
        c = Conn_(path)
        c.call(method, params, more=True)
        bad |= expect_error(c, 'org.varlink.service.PermissionDenied')
    return bad


Conn_ = None


def run(path, case, conn_class):
    global Conn_
    Conn_ = conn_class
    return globals()['case_' + case.replace('-', '_')](path)
