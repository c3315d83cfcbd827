#!/usr/bin/env python3
"""Capture to a pipe whose reader stalls (rpc_sockets.sh).
room: the daemon's 1 MiB buffer fills during a ping flood and frames are dropped
  (RpcFdDrops), never the pings; once the reader has taken 384 KiB, the room it freed
  takes new records at once (it used to take none until the whole backlog was read).
count: the count is reached with 250 KiB still waiting for the reader; the totals come
  once the reader has every record, all of them (the rest used to be lost, though counted
  in frames).
gone: as count, but the client goes while the daemon waits for the reader: it ends.
The stream stays a valid pcap throughout: every record whole, in order.
Usage: rpc_capture_stall.py SOCK NETNS TARGET_IP room|count|gone"""
import os
import select
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from varlink_client import Conn  # noqa: E402

path, netns, target, mode = sys.argv[1:5]
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


def capture(params):
    """A Capture to a pipe: its connection (started) and the pipe's read end."""
    rd, wr = os.pipe()
    c = Conn(path)
    c.call('io.ustack.Stack.Capture', params, more=True, fds=[wr])
    os.close(wr)
    first = c.recv()
    assert 'error' not in first and first.get('continues'), first
    return c, rd


def room():
    c, rd = capture({})
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


def count():
    c, rd = capture({'count': 300})
    # 400 frames of 1058 bytes with their record headers: the 300th comes with 250 KiB
    # more than the pipe holds in the buffer. The reader reads nothing until the end.
    ping('-f', '-c', '200', '-s', '1000')
    time.sleep(1)
    rec = Records()
    while True:
        r, _, _ = select.select([rd], [], [], 20)
        assert r, 'the capture neither ended nor wrote for 20 s'
        data = os.read(rd, 1 << 16)
        if not data:
            break
        rec.feed(data)
    end = c.recv(timeout=20)
    assert end and 'error' not in end and not end.get('continues'), end
    totals = end['parameters']
    print('totals %s, %d records read' % (totals, rec.records))
    assert totals['frames'] == 300 and totals['dropped'] == 0, totals
    assert rec.records == 300 and not rec.buf, 'records lost at the end of the capture'



def gone():
    """The count reached, the reader not reading: the client that goes meanwhile ends it
    (the daemon closes the pipe, nothing of it is kept)."""
    c, rd = capture({'count': 300})
    ping('-f', '-c', '200', '-s', '1000')
    time.sleep(1)
    c.s.close()
    deadline = time.monotonic() + 10
    while True:
        r, _, _ = select.select([rd], [], [], max(0, deadline - time.monotonic()))
        assert r, 'the pipe still open 10 s after the client went'
        if not os.read(rd, 1 << 16):
            break
    print('the pipe closed after the client went')


{'room': room, 'count': count, 'gone': gone}[mode]()
