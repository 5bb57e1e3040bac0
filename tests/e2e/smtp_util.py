"""smtp_util - helpers for the SMTP end-to-end tests: a raw SMTP client
that sends exact bytes, and a reader for queue files (docs/INTERNALS.md,
"Queue files": records of u8 type, u32 big-endian length, data)."""

import os
import socket
import struct
import time


class QueueFile:
    """The core section of one queue file."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.path = path
        self.records = []
        pos = 0
        while pos < len(data):
            if pos + 5 > len(data):
                raise ValueError("%s: truncated record header at %d" % (path, pos))
            t = chr(data[pos])
            n = struct.unpack(">I", data[pos + 1:pos + 5])[0]
            body = data[pos + 5:pos + 5 + n]
            if len(body) != n:
                raise ValueError("%s: truncated record %s at %d" % (path, t, pos))
            self.records.append((t, body))
            pos += 5 + n
            if t == "E":
                break
        self.attrs = {}
        self.rcpts = []
        self.sender = None
        self.header = b""
        self.body = b""
        for t, b in self.records:
            if t == "A":
                k, _, v = b.decode("utf-8", "replace").partition("=")
                self.attrs[k] = v
            elif t == "S":
                self.sender = b.decode("utf-8", "replace")
            elif t == "R":
                self.rcpts.append(b.decode("utf-8", "replace"))
            elif t == "H":
                self.header = b
            elif t == "B":
                self.body = b
            elif t == "Q":
                self.qid = b.decode()

    def headers(self):
        """Header lines, unfolded, as (name, value) pairs."""
        out = []
        for line in self.header.decode("utf-8", "replace").split("\n"):
            if not line:
                continue
            if line[0] in " \t" and out:
                out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
            else:
                name, _, value = line.partition(":")
                out.append((name, value.strip()))
        return out

    def __repr__(self):
        return "<QueueFile %s sender=%r rcpts=%d>" % (self.path, self.sender, len(self.rcpts))


class RawSMTP:
    """A client that sends exact bytes and reads whole replies."""

    def __init__(self, port, timeout=10.0, source=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        self.timeout = timeout

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """One reply line (without CR LF), or None at EOF."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buf:
                    rest, self.buf = self.buf, b""
                    return rest.decode("latin-1")
                return None
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r").decode("latin-1")

    def reply(self):
        """A whole (multi-line) reply: (code, [lines]) or (None, []) at EOF."""
        lines = []
        while True:
            ln = self.line()
            if ln is None:
                return (None, lines)
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return (int(ln[:3]) if ln[:3].isdigit() else None, lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def eof(self, timeout=10.0):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
            if not chunk:
                return True
            self.buf += chunk
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def queue(inst, state="incoming"):
    """Parsed queue files of one queue directory of an instance."""
    d = os.path.join(inst.queue, state)
    return [QueueFile(os.path.join(d, n)) for n in inst.queue_files(state)]
