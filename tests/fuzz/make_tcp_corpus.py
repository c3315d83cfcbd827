#!/usr/bin/python3
"""Writes the seed corpus of fuzz_tcp (tests/fuzz/corpus/tcp/) in its input format.

Byte 0 selects the mode (see fuzz_tcp.c). Most seeds use the "near the window" mode
(bit 0 set): records [flags: u8][dseq: s16][dack: s16][wnd: u16][ctl: u8][optlen: u8]
[options][paylen: u16][dt: u8, 10 ms units][payload], seq and ack relative to the two
ends' SND.NXT; the connection was opened with window scale 7 and timestamps, and ctl bit 0
adds a valid timestamp. Raw mode (bit 0 clear): [len: u16][dt: u8][TCP segment].

    /usr/bin/python3 tests/fuzz/make_tcp_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "tcp")

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
TS, NOREAD = 0x01, 0x02


def seg(flags, dseq=0, dack=0, wnd=512, ctl=TS, opts=b"", payload=b"", dt=1):
    return (struct.pack("!BhhHBB", flags, dseq, dack, wnd, ctl, len(opts)) + opts +
            struct.pack("!HB", len(payload), dt) + payload)


def sack(*blocks):
    body = b"".join(struct.pack("!II", l, r) for l, r in blocks)
    return bytes([1, 1, 5, 2 + len(body)]) + body


def raw(segment, dt=1):
    return struct.pack("!HB", len(segment), dt) + segment


def raw_tcp(seq, ack, flags, wnd=512, payload=b""):
    return struct.pack("!HHIIBBHHH", 40000, 7, seq, ack, 5 << 4, flags, wnd, 0, 0) + payload


SEEDS = {
    "data-in-order": b"\x01" + seg(ACK | PSH, payload=b"a" * 100)
    + seg(ACK | PSH, dseq=0, payload=b"b" * 1448) + seg(ACK, dt=5),
    "out-of-order": b"\x01" + seg(ACK, dseq=200, payload=b"c" * 100)
    + seg(ACK, dseq=400, payload=b"d" * 100) + seg(ACK, payload=b"e" * 200)
    + seg(ACK, dt=10),
    "fin-then-data": b"\x01" + seg(ACK | PSH, payload=b"hello\n") + seg(ACK | FIN)
    + seg(ACK, payload=b"late") + seg(ACK, dt=50),
    "rst-in-window": b"\x01" + seg(RST, dseq=5) + seg(RST | ACK),
    "rst-exact": b"\x01" + seg(ACK, payload=b"x" * 10) + seg(RST),
    "syn-established": b"\x01" + seg(SYN, dseq=-1000) + seg(SYN | ACK, dseq=3),
    "ack-too-new": b"\x01" + seg(ACK, dack=3000) + seg(ACK, dack=-30000),
    "zero-window": b"\x01" + seg(ACK | PSH, payload=b"z" * 1000, wnd=0)
    + seg(ACK, wnd=0, dt=250) + seg(ACK, wnd=0, dt=250) + seg(ACK, wnd=64, dt=250),
    "sack-dupacks": b"\x01" + seg(ACK | PSH, payload=b"s" * 1448, ctl=TS | NOREAD)
    + seg(ACK, dack=-1000, opts=sack((1, 100))) * 4 + seg(ACK, dt=30),
    "window-full": b"\x01" + b"".join(seg(ACK, payload=bytes([i]) * 1448, ctl=TS | NOREAD)
                                      for i in range(40)) + seg(ACK, dt=100),
    "no-timestamp": b"\x01" + seg(ACK | PSH, ctl=0, payload=b"n" * 50) + seg(ACK, ctl=0),
    "urgent": b"\x01" + seg(ACK | URG | PSH, payload=b"u" * 10),
    "bad-options": b"\x01" + seg(ACK, opts=bytes([8, 10, 0, 0, 0, 1, 0, 0, 0, 0]))
    + seg(ACK, opts=bytes([2, 0])) + seg(ACK, opts=bytes([3, 3, 14, 4, 2])),
    "shut-then-fin": b"\x05" + seg(ACK, dt=2) + seg(ACK | FIN, dt=2) + seg(ACK, dt=250),
    "bad-checksum": b"\x03" + seg(ACK | PSH, payload=b"bad"),
    "flaky-device": b"\x09" + seg(ACK | PSH, payload=b"f" * 3000) + seg(ACK, dt=100),
    "keepalive-idle": b"\x11" + seg(ACK | PSH, payload=b"k" * 10) + seg(ACK, dt=150)
    + seg(ACK, dt=120),
    "nodelay-user-timeout": b"\x61" + seg(ACK | PSH, payload=b"t" * 1000, wnd=0)
    + seg(ACK, wnd=0, dt=200),
    "raw-data": b"\x00" + raw(raw_tcp(1001, 0, ACK | PSH, payload=b"raw"))
    + raw(raw_tcp(1004, 0, FIN | ACK)),
    "raw-garbage": b"\x00" + raw(b"\x9c\x40\x00\x07" + b"\xff" * 30),
    # bit 7: receive batches; dt=0 keeps segments in one batch, dt>0 ends it
    "batch-in-order": b"\x81" + b"".join(seg(ACK, payload=bytes([i]) * 1448, dt=0)
                                         for i in range(8)) + seg(ACK, dt=5),
    "batch-ooo-fin": b"\x85" + seg(ACK, dseq=1448, payload=b"o" * 1448, dt=0)
    + seg(ACK, payload=b"i" * 1448, dt=0) + seg(ACK | FIN, dseq=2896, dt=0) + seg(ACK, dt=50),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {OUT}")


if __name__ == "__main__":
    main()
