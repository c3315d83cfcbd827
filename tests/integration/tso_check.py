#!/usr/bin/python3
"""Checks a capture of the probe's TCP super-segment (tso_probe.c) for tap_tso.sh.

  tso_check.py wire PCAP GSO DATA_LEN   the segments the kernel cut, as a receiver sees
                                        them: one per GSO_SIZE bytes of data (the last
                                        shorter), each with correct IPv4 and TCP
                                        checksums, DF, consecutive IP IDs, the sequence
                                        numbers advancing, PSH and FIN on the last only,
                                        and the data joining up to the probe's pattern
  tso_check.py super PCAP GSO DATA_LEN  one frame holding the whole super-segment (what
                                        went to the device, or what the kernel received)

Reads classic pcap (tcpdump -w, ustackd's pcap wrapper); plain Python, no Scapy."""
import struct
import sys

FIN, PSH, ACK = 0x01, 0x08, 0x10


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data)[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link = struct.unpack_from(end + "I", data, 20)[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack_from(end + "IIII", data, off)
        off += 16
        yield link, data[off:off + incl], orig
        off += incl


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ip_of(link, fr):
    """The IPv4 datagram in a frame (Ethernet, or Linux cooked capture)."""
    if link == 1 and fr[12:14] == b"\x08\x00":
        return fr[14:]
    if link == 113 and fr[14:16] == b"\x08\x00":
        return fr[16:]
    return None


def pattern(n):
    return bytes((i * 13 + (i >> 9) + 1) & 0xFF for i in range(n))


def tcp_segments(path):
    out = []
    for link, fr, orig in frames(path):
        ip = ip_of(link, fr)
        if ip is None or ip[9] != 6 or len(fr) != orig:
            continue
        out.append(ip[:struct.unpack("!H", ip[2:4])[0]])
    return out


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    mode, path, gso, data_len = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    segs = tcp_segments(path)
    if mode == "super":
        if len(segs) != 1:
            fail("%d TCP frames, want 1 super-segment" % len(segs))
        ip = segs[0]
        if len(ip) != 40 + data_len:
            fail("super-segment of %d bytes, want %d" % (len(ip), 40 + data_len))
        if ip[20 + 40 - 20:] != pattern(data_len):
            fail("super-segment data differs")
        print("one super-segment of %d bytes" % len(ip))
        return
    want = (data_len + gso - 1) // gso
    if len(segs) != want:
        fail("%d segments, want %d" % (len(segs), want))
    data = b""
    id0 = struct.unpack("!H", segs[0][4:6])[0]
    for i, ip in enumerate(segs):
        ihl = (ip[0] & 15) * 4
        th = ip[ihl:]
        thl = (th[12] >> 4) * 4
        payload = th[thl:]
        last = i == want - 1
        if csum(ip[:ihl]) != 0xFFFF:
            fail("segment %d: bad IPv4 header checksum" % i)
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(th))
        if csum(pseudo + th) != 0xFFFF:
            fail("segment %d: bad TCP checksum" % i)
        if struct.unpack("!H", ip[6:8])[0] != 0x4000:
            fail("segment %d: not DF or a fragment" % i)
        if struct.unpack("!H", ip[4:6])[0] != (id0 + i) & 0xFFFF:
            fail("segment %d: IP ID %d, want %d" % (i, struct.unpack("!H", ip[4:6])[0], id0 + i))
        if struct.unpack("!I", th[4:8])[0] != 1000 + i * gso:
            fail("segment %d: seq %d" % (i, struct.unpack("!I", th[4:8])[0]))
        flags = th[13]
        want_flags = ACK | (PSH | FIN if last else 0)
        if flags != want_flags:
            fail("segment %d: flags %#x, want %#x" % (i, flags, want_flags))
        if len(payload) != (data_len - i * gso if last else gso):
            fail("segment %d: %d data bytes" % (i, len(payload)))
        data += payload
    if data != pattern(data_len):
        fail("the segments' data does not join up to what was sent")
    print("%d segments, checksums, IDs, sequence numbers, flags and data right" % want)


main()
