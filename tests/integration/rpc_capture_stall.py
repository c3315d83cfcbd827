#!/usr/bin/env python3
"""A Capture to a pipe whose reader stalls, then reads part of the backlog (rpc_sockets.sh):
the daemon's 1 MiB buffer fills during a ping flood and frames are dropped (RpcFdDrops),
never the pings; once the reader has taken 384 KiB, the room it freed takes new records
at once (it used to take none until the whole backlog was read). The stream stays a valid
pcap throughout: every record whole, in order.
Usage: rpc_capture_stall.py SOCK NETNS TARGET_IP"""
import os
import select
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlink_client import Conn  # noqa: E402

path, netns, target = sys.argv[1], sys.argv[2], sys.argv[3]
MARK = bytes.fromhex('c0ffee') * 4  # in the data of the pings sent after the partial read


def fd_drops():
    c = Conn(path)
    c.call('io.ustack.Stack.Stats')
    return c.recv()['parameters']['counters']['RpcFdDrops']


def ping(*args):
    subprocess.run(['ip', 'netns', 'exec', netns, 'ping', '-q', *args, target],
                   stdout=subprocess.DEVNULL, check=True, timeout=60)


class Records:
    """The pcap stream as it is read: the file header, then whole records."""

    def __init__(self):
        self.buf = b''
        self.header = False
        self.records = 0
        self.marked = 0

    def feed(self, data):
        self.buf += data
        if not self.header and len(self.buf) >= 24:
            magic, _, _, _, _, snaplen, link = struct.unpack('=IHHiIII', self.buf[:24])
            assert magic == 0xa1b2c3d4 and link == 1, 'bad file header'
            self.snaplen, self.header, self.buf = snaplen, True, self.buf[24:]
        while self.header and len(self.buf) >= 16:
            _, _, incl, orig = struct.unpack('=IIII', self.buf[:16])
            assert 14 <= incl <= min(orig, self.snaplen), 'bad record %d: %d/%d' % (
                self.records, incl, orig)
            if len(self.buf) < 16 + incl:
                break
            self.records += 1
            self.marked += MARK in self.buf[16:16 + incl]
            self.buf = self.buf[16 + incl:]


rd, wr = os.pipe()
c = Conn(path)
c.call('io.ustack.Stack.Capture', {}, more=True, fds=[wr])
os.close(wr)
first = c.recv()
assert 'error' not in first and first.get('continues'), first
drops0 = fd_drops()
# 2400 frames of 1458 bytes with their record headers: 3.4 MB, the buffer and the pipe
# hold 1.1 MB. The reader reads nothing meanwhile.
ping('-f', '-c', '1200', '-s', '1400')
time.sleep(0.5)
drops = fd_drops() - drops0
assert drops > 0, 'the flood did not fill the capture buffer: nothing tested'
rec = Records()
want = 384 << 10
while want > 0:
    data = os.read(rd, min(want, 1 << 16))
    assert data, 'EOF: the capture ended'
    want -= len(data)
    rec.feed(data)
time.sleep(0.5)  # the daemon refills the pipe: a quarter of its buffer is written now
ping('-c', '20', '-i', '0.05', '-s', '100', '-p', 'c0ffee')
deadline = time.monotonic() + 20
while rec.marked < 40 and time.monotonic() < deadline:
    r, _, _ = select.select([rd], [], [], 1)
    if r:
        data = os.read(rd, 1 << 16)
        assert data, 'EOF: the capture ended'
        rec.feed(data)
print('%d frames dropped during the flood, %d records read, %d of the 40 later pings' %
      (drops, rec.records, rec.marked))
assert rec.marked == 40, 'the pings sent after the reader freed room were dropped'
