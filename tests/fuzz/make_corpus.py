#!/usr/bin/python3
"""Writes the seed corpus of fuzz_frame (tests/fuzz/corpus/frame/) in its input format.

Byte 0 selects the mode (see fuzz_frame.c): 0x00 then one Ethernet frame, or N (1..15)
then N records [len: u16 BE][dt: u8, 100 ms units][frame]. The stack under test is
10.203.0.2/24, MAC 02:00:00:00:00:02, gateway 10.203.0.1; the peer here is 10.203.0.1,
MAC 02:00:00:00:00:01. Plain struct packing, standard library only.

    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "frame")

STACK_MAC = bytes.fromhex("020000000002")
PEER_MAC = bytes.fromhex("020000000001")
BCAST = b"\xff" * 6
STACK_IP = bytes([10, 203, 0, 2])
PEER_IP = bytes([10, 203, 0, 1])
FAR_IP = bytes([192, 0, 2, 7])  # TEST-NET-1, reached through the gateway

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806


def csum(data):
    """RFC 1071 checksum, as bytes ready to store."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("!H", ~s & 0xFFFF)


def eth(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, ETH_IPV4, 6, 4, op) + sha + spa + tha + tpa


def ipv4(src, dst, proto, payload, ident=0x1234, ttl=64, df=False, mf=False, off=0,
         options=b"", total_len=None):
    ihl = 5 + len(options) // 4
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (off // 8)
    tl = total_len if total_len is not None else ihl * 4 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tl, ident, flags, ttl, proto, 0,
                    src, dst) + options
    h = h[:10] + csum(h) + h[12:]
    return h + payload


def icmp(typ, code, rest, data):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    return m[:2] + csum(m) + m[4:]


def echo(ident, seq, data):
    return icmp(8, 0, struct.pack("!HH", ident, seq), data)


def udp(src, dst, sport, dport, data):
    ulen = 8 + len(data)
    h = struct.pack("!HHHH", sport, dport, ulen, 0)
    ph = src + dst + struct.pack("!BBH", 0, 17, ulen)
    c = csum(ph + h + data)
    if c == b"\0\0":
        c = b"\xff\xff"  # RFC 768: a computed 0 is sent as all ones
    return h[:6] + c + data


def tcp_syn(src, dst, sport, dport, seq):
    opts = struct.pack("!BBH", 2, 4, 1460) + b"\x01\x01\x04\x02"  # MSS, NOP NOP SACKOK
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, off << 4, 0x02, 64240, 0, 0) + opts
    ph = src + dst + struct.pack("!BBH", 0, 6, len(h))
    c = csum(ph + h)
    return h[:16] + c + h[18:]


def ping_data(n):
    """What iputils ping sends: a timestamp then 0x10, 0x11, ..."""
    return struct.pack("!II", 0x5f7e6b09, 0x000de275)[:min(8, n)] + \
        bytes((0x10 + i) & 0xFF for i in range(max(0, n - 8)))


def to_stack(payload, src=PEER_IP, proto=1, src_mac=PEER_MAC, **kw):
    return eth(STACK_MAC, src_mac, ETH_IPV4, ipv4(src, STACK_IP, proto, payload, **kw))


def fragments(datagram_payload, proto, ident, size, order=None, src=PEER_IP):
    """Splits an upper-layer payload into IPv4 fragments of `size` payload bytes
    (a multiple of 8), returned as Ethernet frames in the given order."""
    frames = []
    for off in range(0, len(datagram_payload), size):
        part = datagram_payload[off:off + size]
        mf = off + size < len(datagram_payload)
        frames.append(to_stack(part, src=src, proto=proto, ident=ident, mf=mf, off=off))
    if order:
        frames = [frames[i] for i in order]
    return frames


def single(frame):
    return b"\x00" + frame


def multi(frames, dts=None, mode_bits=0):
    assert 1 <= len(frames) <= 15
    out = bytes([len(frames) | mode_bits])
    for i, f in enumerate(frames):
        dt = dts[i] if dts else 0
        out += struct.pack("!HB", len(f), dt) + f
    return out


def main():
    seeds = {}
    seeds["arp_request"] = single(eth(BCAST, PEER_MAC, ETH_ARP,
                                      arp(1, PEER_MAC, PEER_IP, b"\0" * 6, STACK_IP) +
                                      b"\0" * 18))  # padded to 60 as on a real wire
    seeds["arp_reply"] = single(eth(STACK_MAC, PEER_MAC, ETH_ARP,
                                    arp(2, PEER_MAC, PEER_IP, STACK_MAC, STACK_IP)))
    seeds["arp_gratuitous"] = single(eth(BCAST, PEER_MAC, ETH_ARP,
                                         arp(1, PEER_MAC, PEER_IP, b"\0" * 6, PEER_IP)))
    seeds["icmp_echo"] = single(to_stack(echo(0x1a7d, 1, ping_data(56)), df=True))
    seeds["icmp_echo_far"] = single(to_stack(echo(0x1a7e, 2, ping_data(56)), src=FAR_IP))
    seeds["icmp_echo_broadcast"] = single(
        eth(BCAST, PEER_MAC, ETH_IPV4,
            ipv4(PEER_IP, bytes([10, 203, 0, 255]), 1, echo(7, 1, ping_data(16)))))
    rr = b"\x01\x07\x27\x08" + PEER_IP + b"\0" * 32  # NOP, record route with one hop
    seeds["ipv4_options_rr"] = single(to_stack(echo(0x1a7f, 1, ping_data(56)), options=rr))
    seeds["udp_echo"] = single(to_stack(udp(PEER_IP, STACK_IP, 40000, 7, b"hello, ustack\n"),
                                        proto=17))
    dns = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + \
        b"\x07example\x03com\x00" + struct.pack("!HH", 1, 1)
    seeds["udp_dns_closed_port"] = single(to_stack(udp(PEER_IP, STACK_IP, 40001, 53, dns),
                                                   proto=17))
    nock = bytearray(udp(PEER_IP, STACK_IP, 40002, 7, b"no checksum"))
    nock[6:8] = b"\0\0"
    seeds["udp_no_checksum"] = single(to_stack(bytes(nock), proto=17))
    seeds["ip_unknown_proto"] = single(to_stack(b"\0" * 16, proto=99))
    seeds["tcp_syn"] = single(to_stack(tcp_syn(PEER_IP, STACK_IP, 40003, 7, 0x01020304),
                                       proto=6))
    # An ICMP port unreachable about a UDP datagram the stack sent (ours to theirs).
    quoted = ipv4(STACK_IP, PEER_IP, 17, udp(STACK_IP, PEER_IP, 7, 40000, b"x" * 8))
    seeds["icmp_port_unreach"] = single(to_stack(icmp(3, 3, b"\0" * 4, quoted[:28])))
    seeds["icmp_frag_needed"] = single(to_stack(icmp(3, 4, struct.pack("!HH", 0, 1280),
                                                     quoted[:28])))

    big = echo(0x2001, 1, ping_data(2992))  # 3000 bytes of ICMP: 3 fragments at 1480
    seeds["frag_in_order"] = multi(fragments(big, 1, 0x4242, 1480))
    seeds["frag_reversed"] = multi(fragments(big, 1, 0x4243, 1480, order=[2, 1, 0]))
    seeds["frag_small_shuffled"] = multi(fragments(big, 1, 0x4244, 256,
                                                   order=[3, 0, 11, 5, 1, 7, 2, 9, 4,
                                                          10, 6, 8]))
    dup = fragments(big, 1, 0x4245, 1480)
    seeds["frag_duplicate"] = multi([dup[0], dup[1], dup[1], dup[2]])
    ov = fragments(big, 1, 0x4246, 1480)
    overlap = to_stack(big[1000:1480 + 1000], proto=1, ident=0x4246, mf=True, off=1000)
    seeds["frag_overlap"] = multi([ov[0], overlap, ov[1], ov[2]])
    # First fragment only, then 11 s of silence: reassembly timeout, ICMP 11/1.
    to = fragments(big, 1, 0x4247, 1480)
    seeds["frag_timeout"] = multi([to[0], to[1]], dts=[0, 110])
    udp_big = udp(PEER_IP, STACK_IP, 40004, 7, bytes(range(256)) * 8)
    seeds["frag_udp_echo_mtu576"] = multi(fragments(udp_big, 17, 0x4248, 1480),
                                          mode_bits=0x10)
    seeds["mixed_arp_then_echo"] = multi([
        eth(BCAST, PEER_MAC, ETH_ARP, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, STACK_IP)),
        to_stack(echo(0x1a80, 1, ping_data(56))),
        to_stack(echo(0x1a80, 2, ping_data(56))),
    ], dts=[0, 10, 10], mode_bits=0x20)

    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), os.path.relpath(OUT)))


if __name__ == "__main__":
    main()
