#!/usr/bin/env python3
"""io.ustack.KV through the daemon's socket (kv_rpc.sh). Usage:
  kv_rpc_cases.py SOCK methods          every method, every error by its name, ordering
  kv_rpc_cases.py SOCK unprivileged     reads allowed, writes PermissionDenied
  kv_rpc_cases.py SOCK concurrent N     N clients at once, mixed operations, checked
  kv_rpc_cases.py SOCK crash-write LOG  writes until killed; each acknowledged key to LOG
  kv_rpc_cases.py SOCK crash-check LOG  every key in LOG* is there with its value
Prints one "ok"/"not ok" line per check (exit 1 on any failure)."""
import base64
import glob
import hashlib
import json
import os
import random
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlink_client import Conn  # noqa: E402

KV = 'io.ustack.KV.'
FAILED = []


def check(name, cond, detail=''):
    print(('ok - ' if cond else 'not ok - ') + name + ('' if cond else ': ' + str(detail)))
    if not cond:
        FAILED.append(name)


def b64(data):
    return base64.b64encode(data).decode()


def call(conn, member, params=None):
    conn.call(KV + member, params if params is not None else {})
    return conn.recv(timeout=60)


def err(reply):
    return reply.get('error') if reply else 'EOF'


def digest_local(tree):
    """docs/kv.md "Digests": tree is bytes (a value) or a dict name -> tree."""
    if isinstance(tree, bytes):
        return hashlib.sha256(tree).digest()
    h = hashlib.sha256()
    for name in sorted(tree, key=lambda n: n.encode()):
        sub = tree[name]
        h.update(b'v' if isinstance(sub, bytes) else b'd')
        h.update(struct.pack('>I', len(name.encode())) + name.encode())
        h.update(digest_local(sub))
    return h.digest()


def cmd_methods(path):
    c = Conn(path)
    r = call(c, 'Info')
    check('Info', 'error' not in r and r['parameters']['backend'] in ('lmdb', 'memory'), r)
    allbytes = bytes(range(256))
    r = call(c, 'Set', {'key': '/m/a/bin', 'value': b64(allbytes)})
    check('Set creates parents', 'error' not in r, r)
    r = call(c, 'Get', {'key': '/m/a/bin'})
    check('Get: all 256 byte values back', 'error' not in r and
          base64.b64decode(r['parameters']['value']) == allbytes, r)
    r = call(c, 'Exists', {'key': '/m/a'})
    check('Exists: dictionary', r['parameters'].get('kind') == 'dictionary', r)
    r = call(c, 'Exists', {'key': '/m/a/bin'})
    check('Exists: value', r['parameters'].get('kind') == 'value', r)
    r = call(c, 'Exists', {'key': '/m/none'})
    check('Exists: absent is not an error', 'error' not in r and
          r['parameters'].get('kind') is None, r)
    r = call(c, 'GetPartial', {'key': '/m/a/bin', 'offset': 250, 'length': 100})
    check('GetPartial clipped', base64.b64decode(r['parameters']['value']) == allbytes[250:], r)
    r = call(c, 'SetPartial', {'key': '/m/a/p', 'offset': 3, 'value': b64(b'xy')})
    check('SetPartial creates zero-filled', 'error' not in r, r)
    r = call(c, 'Get', {'key': '/m/a/p'})
    check('SetPartial result', base64.b64decode(r['parameters']['value']) == b'\0\0\0xy', r)
    r = call(c, 'List', {'key': '/m/a'})
    check('List', r['parameters']['entries'] == [{'name': 'bin', 'kind': 'value'},
                                                 {'name': 'p', 'kind': 'value'}], r)
    r = call(c, 'LastModified', {'key': '/m/a/bin'})
    check('LastModified: seconds near now', 'error' not in r and
          abs(r['parameters']['seconds'] - __import__('time').time()) < 120, r)
    r = call(c, 'Digest', {'key': '/m/a/bin'})
    check('Digest of a value is sha256', r['parameters']['digest'] ==
          hashlib.sha256(allbytes).hexdigest(), r)
    r = call(c, 'Digest', {'key': '/m'})
    want = digest_local({'a': {'bin': allbytes, 'p': b'\0\0\0xy'}}).hex()
    check('Digest of a dictionary (docs/kv.md)', r['parameters']['digest'] == want, r)
    r = call(c, 'Size', {'key': '/m'})
    check('Size of a dictionary', r['parameters']['size'] == 261, r)
    r = call(c, 'Rename', {'source': '/m/a/p', 'dest': '/m/b'})
    check('Rename', 'error' not in r and
          call(c, 'Exists', {'key': '/m/b'})['parameters'].get('kind') == 'value', r)
    r = call(c, 'Batch', {'operations': [
        {'op': 'set', 'key': '/m/c/1', 'value': b64(b'one')},
        {'op': 'set_partial', 'key': '/m/c/1', 'offset': 3, 'value': b64(b'!')},
        {'op': 'rename', 'key': '/m/b', 'dest': '/m/c/2'},
        {'op': 'remove', 'key': '/m/a'}]})
    check('Batch', 'error' not in r, r)
    r = call(c, 'List', {'key': '/m'})
    check('Batch applied', [e['name'] for e in r['parameters']['entries']] == ['c'], r)
    r = call(c, 'Batch', {'operations': [
        {'op': 'set', 'key': '/m/d', 'value': b64(b'x')},
        {'op': 'remove', 'key': '/m/missing'}]})
    check('Batch failing: NotFound with index 1',
          err(r) == KV + 'NotFound' and r['parameters'].get('index') == 1, r)
    check('Batch failing: nothing applied',
          call(c, 'Exists', {'key': '/m/d'})['parameters'].get('kind') is None)
    cases = [
        ('Get', {'key': '/m/zz'}, 'NotFound'),
        ('Get', {'key': '/m/c'}, 'ValueExpected'),
        ('List', {'key': '/m/c/1'}, 'DictionaryExpected'),
        ('Set', {'key': '/m/c/1/x', 'value': ''}, 'DictionaryExpected'),
        ('Set', {'key': '/m//x', 'value': ''}, 'InvalidKey'),
        ('Remove', {'key': '/m/zz'}, 'NotFound'),
        ('Rename', {'source': '/', 'dest': '/x'}, 'InvalidKey'),
        ('Digest', {'key': 'rel'}, 'InvalidKey'),
    ]
    for member, params, name in cases:
        r = call(c, member, params)
        check('%s %s: %s' % (member, params, name), err(r) == KV + name, r)
    c.call(KV + 'Set', {'key': '/m/f/g/v', 'value': b64(b'1')})
    c.call(KV + 'Set', {'key': '/m/h/g/w', 'value': b64(b'1')})
    c.call(KV + 'Rename', {'source': '/m/f/g', 'dest': '/m/h'})
    r = [c.recv() for _ in range(3)]
    check('Rename into a dictionary holding that name: AlreadyPresent',
          err(r[2]) == KV + 'AlreadyPresent' and r[2]['parameters']['key'] == '/m/h', r)
    r = call(c, 'Set', {'key': '/m/k', 'value': 'not base64!'})
    check('bad base64: InvalidParameter', err(r) == 'org.varlink.service.InvalidParameter', r)
    r = call(c, 'Set', {'key': '/m/k'})
    check('missing value: InvalidParameter', err(r) == 'org.varlink.service.InvalidParameter', r)
    r = call(c, 'Nope')
    check('unknown member: MethodNotFound', err(r) == 'org.varlink.service.MethodNotFound', r)
    # Pipelined on one connection: each reply in order, each read sees the writes before.
    for i in range(50):
        c.call(KV + 'Set', {'key': '/m/o', 'value': b64(b'%d' % i)})
        c.call(KV + 'Get', {'key': '/m/o'})
    c.call('io.ustack.Stack.Status')
    good = True
    for i in range(50):
        a, b = c.recv(), c.recv()
        good = good and 'error' not in a and a['parameters'] == {} and \
            base64.b64decode(b['parameters']['value']) == b'%d' % i
    s = c.recv()
    check('pipelined Set/Get: replies in order, reads see earlier writes', good)
    check('a Stack call after a waiting write: answered after it', 'version' in
          str(s.get('parameters')), s)
    # A oneway call right behind a waiting write commits the group first: the write's
    # reply must still come (the oneway flag belongs to the later call only). Each case
    # is sent in one piece, so that the daemon reads it in one turn of its loop.
    def raw(*msgs):
        c.s.sendall(b''.join(json.dumps(m).encode() + b'\0' for m in msgs))
    raw({'method': KV + 'Set', 'parameters': {'key': '/m/ow', 'value': b64(b'1')}},
        {'method': KV + 'Exists', 'parameters': {'key': '/m/ow'}, 'oneway': True},
        {'method': KV + 'Get', 'parameters': {'key': '/m/ow'}})
    a, b = c.recv(timeout=30), c.recv(timeout=30)
    check('a oneway read behind a waiting write: the write is still answered',
          a is not None and a.get('parameters') == {} and b is not None
          and b.get('parameters', {}).get('value') == b64(b'1'), (a, b))
    # A full group (256 writes) committed by a oneway write: the 256 earlier are answered.
    raw(*([{'method': KV + 'Set', 'parameters': {'key': '/m/g%d' % i, 'value': b64(b'x')}}
           for i in range(256)]
          + [{'method': KV + 'Set', 'parameters': {'key': '/m/g256', 'value': b64(b'x')},
              'oneway': True},
             {'method': KV + 'Exists', 'parameters': {'key': '/m/g256'}}]))
    replies = [c.recv(timeout=30) for _ in range(257)]
    check('a oneway write that fills the group: the 256 writes before it are answered',
          all(r is not None and 'error' not in r and r.get('parameters') == {}
              for r in replies[:256])
          and replies[256] is not None and replies[256]['parameters'].get('kind') == 'value',
          [r for r in replies if r is None or r.get('parameters') != {}][:3])
    # A value larger than one message: Get refuses, GetPartial in pieces reads it.
    chunk = os.urandom(3 << 20)
    big = chunk * 3  # 9 MiB
    ok = 'error' not in call(c, 'Set', {'key': '/m/big', 'value': b64(chunk)})
    for i in (1, 2):
        ok = ok and 'error' not in call(c, 'SetPartial', {'key': '/m/big', 'offset': i * len(chunk),
                                                          'value': b64(chunk)})
    check('a 9 MiB value written with Set + SetPartial', ok)
    r = call(c, 'Get', {'key': '/m/big'})
    check('Get of a 9 MiB value: TooLarge with its size, use GetPartial',
          err(r) == 'io.ustack.KV.TooLarge' and r['parameters'].get('key') == '/m/big'
          and r['parameters'].get('size') == len(big)
          and 0 < r['parameters'].get('max_bytes', 0) < len(big), r)
    got = b''
    for off in range(0, len(big), 4 << 20):
        got += base64.b64decode(call(c, 'GetPartial', {'key': '/m/big', 'offset': off,
                                                       'length': 4 << 20})['parameters']['value'])
    check('GetPartial in 4 MiB pieces reads it back', got == big)
    r = call(c, 'Digest', {'key': '/m/big'})
    check('its digest', r['parameters']['digest'] == hashlib.sha256(big).hexdigest(), r)
    check('Remove', 'error' not in call(c, 'Remove', {'key': '/m'}))


def cmd_unprivileged(path):
    c = Conn(path)
    for member, params in (('Exists', {'key': '/'}), ('List', {'key': '/'}),
                           ('Info', {}), ('Size', {'key': '/'})):
        r = call(c, member, params)
        check('unprivileged %s: allowed' % member, 'error' not in r, r)
    for member, params in (('Set', {'key': '/u', 'value': ''}), ('Remove', {'key': '/'}),
                           ('SetPartial', {'key': '/u', 'offset': 0, 'value': ''}),
                           ('Rename', {'source': '/a', 'dest': '/b'}),
                           ('Batch', {'operations': []})):
        r = call(c, member, params)
        check('unprivileged %s: PermissionDenied' % member,
              err(r) == 'org.varlink.service.PermissionDenied', r)
    check('unprivileged: nothing written',
          call(c, 'Exists', {'key': '/u'})['parameters'].get('kind') is None)


def client_run(path, i, rounds, results):
    """Client i: its own subtree /c<i>, modelled locally; plus /shared/c<i>/n<j>."""
    rnd = random.Random(i)
    c = Conn(path)
    model = {}
    errors = []
    for j in range(rounds):
        op = rnd.random()
        k = 'k%d' % rnd.randrange(8)
        if op < 0.4:
            v = os.urandom(rnd.randrange(0, 300))
            r = call(c, 'Set', {'key': '/c%d/%s' % (i, k), 'value': b64(v)})
            if 'error' in r:
                errors.append(r)
            model[k] = v
        elif op < 0.6:
            r = call(c, 'Get', {'key': '/c%d/%s' % (i, k)})
            want = model.get(k)
            got = base64.b64decode(r['parameters']['value']) if 'error' not in r else None
            if got != want and not (want is None and err(r) == KV + 'NotFound'):
                errors.append(('get', k, r))
        elif op < 0.7 and k in model:
            call(c, 'Remove', {'key': '/c%d/%s' % (i, k)})
            del model[k]
        elif op < 0.8:
            k2 = 'k%d' % rnd.randrange(8)
            r = call(c, 'Rename', {'source': '/c%d/%s' % (i, k), 'dest': '/c%d/%s' % (i, k2)})
            if k in model:
                if k != k2:
                    model[k2] = model.pop(k)
            elif err(r) != KV + 'NotFound':
                errors.append(('rename', r))
        else:
            v = b'%d' % j
            r = call(c, 'Batch', {'operations': [
                {'op': 'set', 'key': '/c%d/%s' % (i, k), 'value': b64(v)},
                {'op': 'set', 'key': '/shared/c%d/n%d' % (i, j), 'value': b64(b'x' * (i + 1))}]})
            if 'error' in r:
                errors.append(r)
            model[k] = v
            model.setdefault('#shared', 0)
            model['#shared'] += 1
    shared = model.pop('#shared', 0)
    r = call(c, 'Digest', {'key': '/c%d' % i})
    if model and r['parameters'].get('digest') != digest_local(model).hex():
        errors.append(('digest', r, sorted(model)))
    results[i] = (errors, shared * (i + 1))


def cmd_concurrent(path, n):
    n = int(n)
    results = {}
    threads = [threading.Thread(target=client_run, args=(path, i, 200, results))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = {i: r[0][:2] for i, r in results.items() if r[0]}
    check('%d clients: every client ran' % n, len(results) == n, sorted(results))
    check('%d clients: each saw its own writes, digests match its model' % n, not bad, bad)
    c = Conn(path)
    want = sum(r[1] for r in results.values())
    r = call(c, 'Size', {'key': '/shared'})
    check('shared subtree: total size %d' % want, r['parameters'].get('size') == want, r)


def cmd_crash_write(path, log):
    """Four connections write /crash/<conn>/<seq>; an acknowledged key goes to LOG
    (written and flushed before the next call) until the daemon dies."""
    start = int(os.environ.get('KV_SEQ', '0'))

    def one(w):
        try:
            c = Conn(path)
            with open('%s.%d' % (log, w), 'a') as f:
                for seq in range(start, start + 100000):
                    key = '/crash/w%d/s%d' % (w, seq)
                    r = call(c, 'Set', {'key': key, 'value': b64(key.encode() * 3)})
                    if r is None or 'error' in r:
                        return
                    f.write(key + '\n')
                    f.flush()
        except (OSError, TimeoutError, ValueError):
            return
    threads = [threading.Thread(target=one, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def cmd_crash_check(path, log):
    keys = []
    for name in glob.glob(log + '*'):
        with open(name) as f:
            keys += [k for k in f.read().split('\n') if k]
    c = Conn(path)
    missing = []
    for i in range(0, len(keys), 256):
        part = keys[i:i + 256]
        for k in part:
            c.call(KV + 'Get', {'key': k})
        for k in part:
            r = c.recv(timeout=60)
            if 'error' in r or base64.b64decode(r['parameters']['value']) != k.encode() * 3:
                missing.append(k)
    check('all %d acknowledged writes present' % len(keys), not missing, missing[:5])


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    {'methods': cmd_methods, 'unprivileged': cmd_unprivileged,
     'concurrent': cmd_concurrent, 'crash-write': cmd_crash_write,
     'crash-check': cmd_crash_check}[cmd](path, *sys.argv[3:])
    sys.exit(1 if FAILED else 0)


if __name__ == '__main__':
    main()
