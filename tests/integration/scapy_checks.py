#!/usr/bin/python3
"""Hand-made frames against ustackd (design.md §2 reassembly and ICMP rules).

Run inside the network namespace of the kernel's end of the link:
    scapy_checks.py --iface IF --dst 10.203.0.2 --dst-mac MAC --snmp FILE [--only NAME]
Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, N failed"; exit 1 on failure.
"""
import argparse
import logging
import random
import sys
import threading
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (ICMP, IP, UDP, AsyncSniffer, Ether, IPerror, Raw,  # noqa: E402
                       conf, fragment, get_if_addr, get_if_hwaddr, sendp)

conf.verb = 0

RESULTS = {"passed": 0, "failed": 0}


def report(name, ok, why=""):
    if ok:
        RESULTS["passed"] += 1
        print(f"ok - {name}", flush=True)
    else:
        RESULTS["failed"] += 1
        print(f"not ok - {name}", flush=True)
        if why:
            print(f"#   {why}", flush=True)


def snmp(path):
    """The counters of a /proc/net/snmp-format file as {"IpReasmFails": n, ...}."""
    out, hdr = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            group = parts[0].rstrip(":")
            if group not in hdr:
                hdr[group] = parts[1:]
            else:
                for name, value in zip(hdr[group], parts[1:]):
                    out[group + name] = int(value)
    return out


class Link:
    def __init__(self, a):
        self.iface = a.iface
        self.dst = a.dst
        self.dst_mac = a.dst_mac
        self.src = get_if_addr(a.iface)
        self.src_mac = get_if_hwaddr(a.iface)
        self.snmp_path = a.snmp

    def ether(self):
        return Ether(src=self.src_mac, dst=self.dst_mac)

    def counters(self, until=None, timeout=6.0):
        """The counters once the daemon has rewritten its file (at most once a second):
        after 1.3 s, or as soon as until(counters) holds, waiting up to timeout."""
        time.sleep(1.3)
        end = time.monotonic() + timeout
        c = snmp(self.snmp_path)
        while until is not None and not until(c) and time.monotonic() < end:
            time.sleep(0.2)
            c = snmp(self.snmp_path)
        return c

    def exchange(self, frames, lfilter, timeout):
        """Sends frames, returns what matched lfilter within timeout seconds."""
        started = threading.Event()
        sn = AsyncSniffer(iface=self.iface, lfilter=lfilter, store=True,
                          started_callback=started.set)
        sn.start()
        if not started.wait(10):
            raise RuntimeError("the sniffer did not start")
        time.sleep(0.1)
        self.last_sent = time.time()  # packet timestamps are wall-clock
        sendp(frames, iface=self.iface)
        time.sleep(timeout)
        sn.stop()
        return list(sn.results or [])


def from_daemon(link):
    return lambda p: IP in p and p[IP].src == link.dst and p[IP].dst == link.src


def is_echo_reply(link, ident):
    f = from_daemon(link)
    return lambda p: (f(p) and p[IP].frag == 0 and ICMP in p and p[ICMP].type == 0
                      and p[ICMP].id == ident)


def echo(link, ident, size):
    payload = bytes(random.getrandbits(8) for _ in range(size))
    return IP(src=link.src, dst=link.dst, id=random.randint(1, 65535), proto=1) / \
        ICMP(type=8, id=ident, seq=1) / Raw(payload)


def check_overlap(link):
    ident = 0x7101
    pkt = IP(bytes(echo(link, ident, 2000)))  # checksums computed
    raw = bytes(pkt[IP].payload)
    # Fragments [0, 1480) and [1400, 2008): they overlap by 80 bytes.
    f1 = IP(src=link.src, dst=link.dst, id=pkt.id, proto=1, flags="MF", frag=0) / Raw(raw[:1480])
    f2 = IP(src=link.src, dst=link.dst, id=pkt.id, proto=1, frag=1400 // 8) / Raw(raw[1400:])
    before = snmp(link.snmp_path)
    got = link.exchange([link.ether() / f1, link.ether() / f2], is_echo_reply(link, ident), 2)
    after = link.counters(lambda c: c["IpReasmOverlaps"] > before["IpReasmOverlaps"])
    report("overlapping fragments get no reply", not got, f"{len(got)} replies")
    report("overlap counted (IpReasmOverlaps, IpReasmFails)",
           after["IpReasmOverlaps"] > before["IpReasmOverlaps"]
           and after["IpReasmFails"] > before["IpReasmFails"],
           f"before {before['IpReasmOverlaps']}/{before['IpReasmFails']} "
           f"after {after['IpReasmOverlaps']}/{after['IpReasmFails']}")


def check_17_fragments(link):
    ident = 0x7102
    # 16 fragments of 128 bytes and a 17th: over the 16-fragment limit.
    pkt = IP(bytes(echo(link, ident, 16 * 128 + 64 - 8)))
    frags = fragment(pkt, fragsize=128)
    assert len(frags) == 17, len(frags)
    before = snmp(link.snmp_path)
    got = link.exchange([link.ether() / f for f in frags], is_echo_reply(link, ident), 2)
    after = link.counters(lambda c: c["IpReasmFails"] > before["IpReasmFails"])
    report("17 fragments get no reply", not got, f"{len(got)} replies")
    report("17 fragments counted (IpReasmFails)",
           after["IpReasmFails"] > before["IpReasmFails"])
    # 16 fragments are within the limit and answered.
    ident = 0x7103
    pkt = IP(bytes(echo(link, ident, 15 * 128 + 64 - 8)))
    frags = fragment(pkt, fragsize=128)
    got = link.exchange([link.ether() / f for f in frags], is_echo_reply(link, ident), 2)
    report(f"{len(frags)} fragments get a reply", len(frags) == 16 and len(got) == 1,
           f"{len(frags)} fragments, {len(got)} replies")


def check_shuffled(link):
    ident = 0x7104
    pkt = IP(bytes(echo(link, ident, 8000)))
    frags = fragment(pkt, fragsize=1000)
    random.shuffle(frags)
    if IP(bytes(frags[0])).frag == 0:  # make sure the first does not come first
        frags.append(frags.pop(0))
    got = link.exchange([link.ether() / f for f in frags], is_echo_reply(link, ident), 2)
    ok = len(got) == 1
    report(f"shuffled fragments ({len(frags)}) get a reply", ok, f"{len(got)} replies")


def check_lone_first_fragment(link):
    ident = 0x7105
    pkt = IP(bytes(echo(link, ident, 2000)))
    first = fragment(pkt, fragsize=1000)[0]
    f = from_daemon(link)
    got = link.exchange([link.ether() / first],
                        lambda p: f(p) and ICMP in p and p[ICMP].type == 11, 14)
    if not got:
        report("lone first fragment gets ICMP 11/1 after ~10 s", False, "no time exceeded")
        return
    p = got[0]
    delay = p.time - link.last_sent
    quoted = p[ICMP].payload
    ok = (p[ICMP].code == 1 and 8.5 <= delay <= 12.5 and IPerror in quoted
          and quoted[IPerror].id == pkt.id)
    report("lone first fragment gets ICMP 11/1 after ~10 s", ok,
           f"type {p[ICMP].type} code {p[ICMP].code} after {delay:.1f} s")


def check_udp_closed_port(link):
    sport, dport = 40123, 9876
    u = IP(src=link.src, dst=link.dst, id=4242) / UDP(sport=sport, dport=dport) / Raw(b"x" * 20)
    f = from_daemon(link)
    got = link.exchange([link.ether() / u], lambda p: f(p) and ICMP in p and p[ICMP].type == 3,
                        2)
    if not got:
        report("UDP to a closed port gets ICMP 3/3 quoting the header", False, "no reply")
        return
    p = got[0][ICMP]
    q = IP(bytes(p.payload))
    ok = (p.code == 3 and q.src == link.src and q.dst == link.dst and q.id == 4242
          and UDP in q and q[UDP].sport == sport and q[UDP].dport == dport)
    report("UDP to a closed port gets ICMP 3/3 quoting the header", ok,
           f"code {p.code}, quoted {q.summary()}")


def check_bad_checksums(link):
    ident = 0x7106
    before = snmp(link.snmp_path)
    bad_ip = IP(src=link.src, dst=link.dst, chksum=0x1234) / ICMP(type=8, id=ident, seq=1) / \
        Raw(b"a" * 32)
    bad_icmp = IP(src=link.src, dst=link.dst) / ICMP(type=8, id=ident, seq=2, chksum=0x4321) / \
        Raw(b"b" * 32)
    got = link.exchange([link.ether() / bad_ip, link.ether() / bad_icmp],
                        is_echo_reply(link, ident), 2)
    after = link.counters(lambda c: c["IpInCsumErrors"] > before["IpInCsumErrors"]
                          and c["IcmpInCsumErrors"] > before["IcmpInCsumErrors"])
    report("bad IPv4 and ICMP checksums get no reply", not got, f"{len(got)} replies")
    report("bad IPv4 checksum counted (IpInCsumErrors)",
           after["IpInCsumErrors"] == before["IpInCsumErrors"] + 1,
           f"{before['IpInCsumErrors']} -> {after['IpInCsumErrors']}")
    report("bad ICMP checksum counted (IcmpInCsumErrors)",
           after["IcmpInCsumErrors"] == before["IcmpInCsumErrors"] + 1,
           f"{before['IcmpInCsumErrors']} -> {after['IcmpInCsumErrors']}")
    # And a good one right after is answered: nothing got stuck.
    good = link.ether() / echo(link, ident, 32)
    got = link.exchange([good], is_echo_reply(link, ident), 1.5)
    report("a good echo after bad checksums is answered", len(got) == 1)


CHECKS = {
    "overlap": check_overlap,
    "17frags": check_17_fragments,
    "shuffled": check_shuffled,
    "udp3": check_udp_closed_port,
    "csum": check_bad_checksums,
    "timeout": check_lone_first_fragment,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--snmp", required=True)
    ap.add_argument("--only", action="append")
    a = ap.parse_args()
    random.seed(862)
    link = Link(a)
    for name, fn in CHECKS.items():
        if a.only and name not in a.only:
            continue
        try:
            fn(link)
        except Exception as e:  # a crash is a failure, never a skip
            report(name, False, f"exception: {e!r}")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
