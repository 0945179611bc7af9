"""DNS messages for the python clients of the shell tests (tests/lib.sh
puts this directory on their path): a query, and what a test checks in
an answer."""
import socket
import struct


def query(qid, name, qtype=1):
    """A query for name (presentation text, no final dot), RD set."""
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def _skip_name(m, i):
    while True:
        n = m[i]
        if n >= 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += n + 1


def answer(m):
    """The id, the rcode and the sorted A addresses of the answer section
    of message m; IndexError or struct.error when m is cut short."""
    qid, flags, qd, an = struct.unpack(">HHHH", m[:8])
    i = 12
    for _ in range(qd):
        i = _skip_name(m, i) + 4
    addrs = []
    for _ in range(an):
        i = _skip_name(m, i)
        rtype, _, _, rdlen = struct.unpack(">HHIH", m[i:i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(m[i:i + 4]))
        i += rdlen
    return qid, flags & 0xF, sorted(addrs)
