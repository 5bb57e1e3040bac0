"""remote_util - stand-ins for other people's mail servers in end-to-end
tests of postern's SMTP client: a scripted SMTP server on a loopback
address (STARTTLS and AUTH optional) that records every command, whether
it came inside TLS, and every message; and throw-away certificates made
with openssl(1): a CA and server certificates for chosen names.

Everything listens on 127.0.0.0/8 only.  A server is stopped by the
test's cleanup (its threads end, its sockets close)."""

import base64
import os
import socket
import ssl
import subprocess
import threading
import time


class Certs:
    """A CA and leaf certificates signed by it, in a directory."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_key = os.path.join(directory, "ca.key")
        self.ca_cert = os.path.join(directory, "ca.pem")
        self._run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.ca_key,
                   "-out", self.ca_cert, "-days", "2", "-subj", "/CN=postern test CA",
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        os.chmod(self.ca_cert, 0o644)

    def _run(self, argv):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if p.returncode != 0:
            raise AssertionError("%s failed: %s" % (" ".join(argv[:3]), p.stderr.decode()))

    def leaf(self, name):
        """(certificate file, key file) for DNS name `name`, signed by the CA."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        crt = os.path.join(self.dir, name + ".pem")
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n" % name)
        self._run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                   "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % name])
        self._run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_cert,
                   "-CAkey", self.ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
                   "-extfile", ext])
        return crt, key

    def server_context(self, name):
        crt, key = self.leaf(name)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        return ctx


class Message:
    def __init__(self, conn, sender, rcpts, data):
        self.conn = conn
        self.sender = sender
        self.rcpts = rcpts
        self.data = data
        self.tls = conn.tls
        self.cipher = conn.cipher
        self.auth_user = conn.auth_user


class Conn:
    def __init__(self, server, sock, peer):
        self.server = server
        self.sock = sock
        self.peer = peer
        self.tls = False
        self.cipher = None
        self.auth_user = None
        self.commands = []          # (command, inside TLS)
        self.buf = b""

    def send(self, text):
        if isinstance(text, str):
            text = text.encode()
        self.sock.sendall(text)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r")


class Server:
    """An SMTP server on host:port (port 0: any free one).

    greeting: text after "220 " (None: never says anything; a string
    starting with a code, like "421 busy", is sent as it is, and a 4xx
    or 5xx greeting ends the connection after it).  ehlo: the
    keywords offered.  tls: an ssl.SSLContext to offer STARTTLS with.
    wrapper: an ssl.SSLContext for TLS from the first byte (port 465).
    auth: {user: password}, offered (PLAIN LOGIN) once TLS is up.
    rcpt(addr) / mail(addr) / data(): return a reply line to send
    instead of the default 250 (None: the default).  busy and most_busy
    count transactions (from an accepted MAIL to the end of DATA, RSET
    or the connection) in progress now and at most, for concurrency
    limits; conns lists every connection accepted.  greeting may be
    changed while it runs (for connections that come later)."""

    def __init__(self, test, host="127.0.0.1", port=0, name="mx.remote.test",
                 greeting="", ehlo=("PIPELINING", "SIZE 10240000", "8BITMIME",
                                    "ENHANCEDSTATUSCODES", "DSN"),
                 tls=None, auth=None, rcpt=None, mail=None, data=None, wrapper=None):
        self.name = name
        self.greeting = greeting if greeting is None or greeting[:3].isdigit() else \
            "220 %s ESMTP test server" % name
        self.ehlo = list(ehlo)
        self.tls = tls
        self.wrapper = wrapper
        self.auth = auth
        self.on_rcpt = rcpt
        self.on_mail = mail
        self.on_data = data
        self.messages = []
        self.conns = []
        self.busy = 0               # transactions in progress (MAIL .. end of DATA)
        self.most_busy = 0          # the most there ever were at once
        self.lock = threading.Lock()
        self.stopped = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    def stop(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.sock.close()
            except OSError:
                pass
        self.thread.join(5)

    def _accept(self):
        while not self.stopped:
            try:
                s, peer = self.sock.accept()
            except OSError:
                return
            c = Conn(self, s, peer)
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def commands(self):
        with self.lock:
            return [cmd for c in self.conns for cmd in c.commands]

    def wait_messages(self, n, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError("%s: %d message(s) after %ds, wanted %d; commands: %r" % (
            self.name, len(self.messages), timeout, n, self.commands()))

    def _transaction(self, c, on):
        """Count c's transaction as begun (on) or over; idempotent."""
        if getattr(c, "in_tx", False) == on:
            return
        c.in_tx = on
        with self.lock:
            self.busy += 1 if on else -1
            self.most_busy = max(self.most_busy, self.busy)

    def _serve(self, c):
        try:
            self._talk(c)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            self._transaction(c, False)
            try:
                c.sock.close()
            except OSError:
                pass

    def _ehlo_lines(self, c):
        kw = list(self.ehlo)
        if self.tls and not c.tls:
            kw.append("STARTTLS")
        if self.auth and c.tls:
            kw.append("AUTH PLAIN LOGIN")
        lines = [self.name] + kw
        return "".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", l)
                       for i, l in enumerate(lines))

    def _talk(self, c):
        if self.wrapper:
            c.sock = self.wrapper.wrap_socket(c.sock, server_side=True)
            c.tls = True
            c.cipher = c.sock.cipher()
        if self.greeting is None:
            while c.line() is not None:     # silent: read, never answer
                pass
            return
        c.send(self.greeting + "\r\n")
        if self.greeting[0] in "45":
            return
        sender, rcpts = None, []
        while True:
            raw = c.line()
            if raw is None:
                return
            cmd = raw.decode("utf-8", "replace")
            c.commands.append((cmd, c.tls))
            verb = cmd.split(" ")[0].upper().split(":")[0]
            if verb in ("EHLO", "HELO"):
                c.send(self._ehlo_lines(c) if verb == "EHLO" else "250 %s\r\n" % self.name)
            elif verb == "STARTTLS" and self.tls and not c.tls:
                c.send("220 2.0.0 Ready to start TLS\r\n")
                c.sock = self.tls.wrap_socket(c.sock, server_side=True)
                c.tls = True
                c.cipher = c.sock.cipher()
                c.buf = b""
            elif verb == "AUTH" and self.auth and c.tls:
                c.auth_user = self._auth(c, cmd)
                c.send("235 2.7.0 Authentication successful\r\n" if c.auth_user
                       else "535 5.7.8 Authentication credentials invalid\r\n")
            elif verb == "MAIL":
                if self.auth and not c.auth_user:
                    c.send("530 5.7.0 Authentication required\r\n")
                    continue
                sender = cmd[10:].split(">")[0].lstrip("<")
                rcpts = []
                r = self.on_mail and self.on_mail(sender)
                if r:
                    sender = None       # refused: no transaction
                else:
                    self._transaction(c, True)
                c.send(r or "250 2.1.0 Ok\r\n")
            elif verb == "RCPT" and sender is None:
                c.send("503 5.5.1 Error: need MAIL command\r\n")
            elif verb == "RCPT":
                addr = cmd[8:].split(">")[0].lstrip("<")
                r = self.on_rcpt and self.on_rcpt(addr)
                if not r:
                    rcpts.append(addr)
                c.send(r or "250 2.1.5 Ok\r\n")
            elif verb == "DATA":
                if not rcpts:
                    c.send("554 5.5.1 No valid recipients\r\n")
                    continue
                c.send("354 End data with <CR><LF>.<CR><LF>\r\n")
                data = b""
                while True:
                    ln = c.line()
                    if ln is None:
                        return
                    if ln == b".":
                        break
                    data += ln + b"\r\n"
                r = self.on_data and self.on_data()
                self._transaction(c, False)
                if r:
                    c.send(r)
                else:
                    with self.lock:
                        self.messages.append(Message(c, sender, rcpts, data))
                        n = len(self.messages)
                    c.send("250 2.0.0 Ok: queued as TEST%d\r\n" % n)
            elif verb == "RSET":
                sender, rcpts = None, []
                self._transaction(c, False)
                c.send("250 2.0.0 Ok\r\n")
            elif verb == "NOOP":
                c.send("250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                c.send("221 2.0.0 Bye\r\n")
                return
            else:
                c.send("502 5.5.2 Error: command not recognized\r\n")

    def _auth(self, c, cmd):
        parts = cmd.split()
        mech = parts[1].upper() if len(parts) > 1 else ""
        try:
            if mech == "PLAIN":
                if len(parts) > 2:
                    blob = parts[2]
                else:
                    c.send("334 \r\n")
                    blob = c.line().decode()
                _, user, pw = base64.b64decode(blob).decode().split("\0")
            elif mech == "LOGIN":
                c.send("334 VXNlcm5hbWU6\r\n")
                user = base64.b64decode(c.line()).decode()
                c.send("334 UGFzc3dvcmQ6\r\n")
                pw = base64.b64decode(c.line()).decode()
            else:
                return None
        except (ValueError, UnicodeDecodeError, AttributeError):
            return None
        return user if self.auth.get(user) == pw else None
