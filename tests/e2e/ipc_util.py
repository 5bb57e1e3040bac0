"""ipc_util - speak postern's IPC wire format (lib/ipc/ipc.h) from tests.

A message is a 12-byte header "PM", u8 version, u8 flags (1: one
descriptor travels with it), u16 type, u16 record count, u32 payload
length, then records: u8 kind ('s' string with its NUL, 'n' 8-byte
number, 'b' blob), u8 name length, u32 data length, name, data.  All
integers are big-endian.

Clients for the cleanup service (CLEANUP_REQ_SUBMIT) and the lookup
service (LOOKUP_REQ_GET) are here, so tests can talk to a real daemon
through its socket with exactly the bytes they choose.
"""

import array
import os
import socket
import struct
import tempfile

IPC_VERSION = 1
IPC_F_FD = 1

LOOKUP_REQ_GET = 0x0101
LOOKUP_REP = 0x0102
CLEANUP_REQ_SUBMIT = 0x0201
CLEANUP_REP = 0x0202

CLEANUP_F_EXTRACT = 1
CLEANUP_F_LOCAL = 2
CLEANUP_F_BOUNCE = 4
CLEANUP_F_ANNOUNCE = 8
CLEANUP_REP_QID = 0x0203
CLEANUP_REQ_LOGGED = 0x0204


def s(name, value):
    """A string record."""
    if isinstance(value, str):
        value = value.encode()
    return ("s", name, value)


def n(name, value):
    """A number record."""
    return ("n", name, value)


def encode(mtype, records, with_fd=False):
    payload = b""
    for kind, name, value in records:
        nb = name.encode()
        if kind == "s":
            data = value + b"\0"
        elif kind == "n":
            data = struct.pack(">Q", value)
        else:
            data = value
        payload += struct.pack(">cBI", kind.encode(), len(nb), len(data)) + nb + data
    hdr = b"PM" + struct.pack(">BBHHI", IPC_VERSION, IPC_F_FD if with_fd else 0,
                              mtype, len(records), len(payload))
    return hdr + payload


def send(sock, mtype, records, fd=None):
    data = encode(mtype, records, fd is not None)
    if fd is None:
        sock.sendall(data)
        return
    # The descriptor rides on the first byte.
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
    sent = sock.sendmsg([data], anc)
    if sent < len(data):
        sock.sendall(data[sent:])


def _read(sock, count):
    out = b""
    while len(out) < count:
        chunk = sock.recv(count - len(out))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(out), count))
        out += chunk
    return out


def recv(sock):
    """One message: (type, [(kind, name, value), ...]); EOFError at EOF."""
    hdr = _read(sock, 12)
    if hdr[:2] != b"PM":
        raise ValueError("bad magic %r" % hdr[:2])
    _ver, _flags, mtype, count, length = struct.unpack(">BBHHI", hdr[2:])
    payload = _read(sock, length)
    recs = []
    pos = 0
    for _ in range(count):
        kind, nl, dl = struct.unpack(">cBI", payload[pos:pos + 6])
        name = payload[pos + 6:pos + 6 + nl].decode()
        data = payload[pos + 6 + nl:pos + 6 + nl + dl]
        pos += 6 + nl + dl
        if kind == b"s":
            recs.append(("s", name, data[:-1]))
        elif kind == b"n":
            recs.append(("n", name, struct.unpack(">Q", data)[0]))
        else:
            recs.append(("b", name, data))
    return mtype, recs


def connect(path, timeout=30.0):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def content_file(data, directory=None):
    """An unnamed file holding data; returns its descriptor (the caller closes)."""
    fd, path = tempfile.mkstemp(dir=directory)
    os.unlink(path)
    os.write(fd, data)
    return fd


def submit_records(sender, rcpts, length, flags=0, offset=0, attrs=None):
    """The records of a SUBMIT request; rcpts are strings or (addr, orcpt, notify)."""
    recs = [n("flags", flags), n("offset", offset), n("length", length)]
    order = ["client_name", "client_addr", "helo", "protocol", "sasl_method",
             "sasl_username", "uid", "fullname", "envid", "ret", "smtputf8"]
    for key in order:
        if attrs and key in attrs:
            v = attrs[key]
            recs.append(n(key, v) if isinstance(v, int) else s(key, v))
    recs.append(s("sender", sender))
    for r in rcpts:
        if isinstance(r, tuple):
            addr, orcpt, notify = r
            if orcpt:
                recs.append(s("orcpt", orcpt))
            if notify:
                recs.append(s("notify", notify))
            recs.append(s("rcpt", addr))
        else:
            recs.append(s("rcpt", r))
    return recs


def reply_dict(msg):
    mtype, recs = msg
    d = {"type": mtype}
    for kind, name, value in recs:
        d[name] = value.decode() if isinstance(value, bytes) else value
    return d


def cleanup_submit(queue_dir, content, sender, rcpts, flags=0, attrs=None,
                   sock=None, timeout=30.0):
    """Submit content to queue_dir/private/cleanup; returns the reply as a dict
    (status, queue_id, reason)."""
    own = sock is None
    if own:
        sock = connect(os.path.join(queue_dir, "private", "cleanup"), timeout)
    fd = content_file(content)
    try:
        send(sock, CLEANUP_REQ_SUBMIT,
             submit_records(sender, rcpts, len(content), flags, 0, attrs), fd)
        return reply_dict(recv(sock))
    finally:
        os.close(fd)
        if own:
            sock.close()


class LookupClient:
    """A persistent connection to queue_dir/private/lookup."""

    def __init__(self, queue_dir, timeout=10.0):
        self.sock = connect(os.path.join(queue_dir, "private", "lookup"), timeout)

    def get(self, param, key):
        """(status, value): 0 found, 1 not found, 2 temporary error."""
        send(self.sock, LOOKUP_REQ_GET, [s("param", param), s("key", key)])
        d = reply_dict(recv(self.sock))
        if d["type"] != LOOKUP_REP:
            raise ValueError("unexpected reply type %#x" % d["type"])
        return d["status"], d["value"]

    def close(self):
        self.sock.close()
