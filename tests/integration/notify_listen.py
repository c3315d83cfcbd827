#!/usr/bin/python3
"""A stand-in for systemd's notification socket: prints every sd_notify(3) message that
arrives on the datagram socket PATH until SECONDS have passed (one line per assignment)."""
import os
import socket
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
print("listening", flush=True)
end = time.monotonic() + seconds
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        msg = s.recv(4096)
    except socket.timeout:
        break
    for line in msg.decode(errors="replace").splitlines():
        print(line, flush=True)
