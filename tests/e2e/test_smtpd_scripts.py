"""test_smtpd_scripts - SMTP dialogues from tests/smtpd/*.script against
`smtpd -s` (standalone: one session on stdin/stdout, messages written to
a directory with -D).  Needs no root and no running instance.

Script format, one directive per line (blank lines and lines starting
with '#' are ignored):

  @main NAME = VALUE   a main.cf line for this script (before the dialogue)
  @client ADDR         the client's address (default 192.0.2.1)
  @pregreet TEXT       TEXT + CR LF is already waiting when smtpd starts
  @sleep SECONDS       wait
  >TEXT                send TEXT + CR LF
  >>TEXT               send TEXT as is, after Python escape decoding
                       (\\r \\n \\x00 ...), without CR LF
  <REGEX               the next reply line must match REGEX (whole line)
  <EOF                 smtpd must close the connection now
  =queued N            N message files exist in the -D directory
  =file REGEX          the newest message file matches REGEX (re.S search)
  =nofile REGEX        ... and does not match this one
  =elapsed>= SECONDS   the last reply came at least SECONDS after the
                       last line sent before it
  =elapsed< SECONDS    ... at most SECONDS after it
  =log REGEX           smtpd's log (stderr) matches REGEX, checked when
                       the session is over
  =nolog REGEX         ... does not match

After the last directive the driver closes smtpd's input; any reply
line that no '<' directive consumed is a failure.
"""

import glob
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("POSTERN_BUILD", os.path.join(TOP, "build"))
SMTPD = os.path.join(BUILD, "libexec", "smtpd")
SCRIPTS = os.path.join(TOP, "tests", "smtpd")

BASE_MAIN_CF = """\
myhostname = mx.example.com
mydomain = example.com
mydestination = example.com, localhost
mynetworks = 127.0.0.0/8
relay_domains = relay.example.net
recipient_delimiter = +
alias_maps =
local_recipient_maps = inline:{alice=x, bob=x, postmaster=x}
virtual_alias_maps = inline:{sales@example.com=bob}
smtpd_error_sleep_time = 0
smtpd_peername_lookup = no
"""

READ_TIMEOUT = 10.0


class ScriptError(AssertionError):
    pass


class Session:
    """One smtpd -s process and its transcript."""

    def __init__(self, workdir, client, pregreet, main_cf):
        self.etc = os.path.join(workdir, "etc")
        self.out = os.path.join(workdir, "out")
        os.makedirs(self.etc)
        os.makedirs(self.out)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(BASE_MAIN_CF)
            f.write("queue_directory = %s\n" % self.out)
            for line in main_cf:
                f.write(line + "\n")
        self.transcript = []
        self.pending = b""
        self.eof = False
        self.last_send = time.monotonic()
        self.last_reply = None
        r, w = os.pipe()
        if pregreet:
            os.write(w, pregreet)
            self.transcript.append("C(pregreet): %r" % pregreet)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [SMTPD, "-s", client, "-c", self.etc, "-D", self.out],
            stdin=r, stdout=subprocess.PIPE, stderr=self.stderr)
        os.close(r)
        self.w = w

    def send(self, data):
        self.transcript.append("C: %r" % data)
        self.last_send = time.monotonic()
        try:
            os.write(self.w, data)
        except BrokenPipeError:
            self.transcript.append("(smtpd closed its input)")

    def line(self):
        """The next reply line without CR LF, or None at EOF."""
        end = time.monotonic() + READ_TIMEOUT
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.pending and not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                raise ScriptError("no reply within %.0fs" % READ_TIMEOUT)
            rd, _, _ = select.select([fd], [], [], left)
            if rd:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.eof = True
                self.pending += chunk
        if b"\n" in self.pending:
            ln, self.pending = self.pending.split(b"\n", 1)
            self.last_reply = time.monotonic()
            if not ln.endswith(b"\r"):
                raise ScriptError("reply line without CR LF: %r" % ln)
            text = ln[:-1].decode("ascii", "replace")
            self.transcript.append("S: %s" % text)
            return text
        if self.pending:
            raise ScriptError("partial reply line at EOF: %r" % self.pending)
        self.transcript.append("S: (EOF)")
        return None

    def close(self):
        try:
            os.close(self.w)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=READ_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise ScriptError("smtpd did not exit after its input was closed")
        rest = self.proc.stdout.read()
        self.proc.stdout.close()
        self.pending += rest
        self.stderr.seek(0)
        self.log = self.stderr.read().decode("utf-8", "replace")
        self.stderr.close()

    def files(self):
        # Queue IDs sort by arrival time.
        return sorted((os.path.basename(p), p) for p in glob.glob(os.path.join(self.out, "*"))
                      if not os.path.basename(p).startswith("."))


def decode_raw(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def parse(path):
    """Header directives (@main, @client, @pregreet) and the dialogue."""
    main_cf, client, pregreet, steps = [], "192.0.2.1", b"", []
    with open(path, encoding="utf-8") as f:
        for no, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith("@main "):
                main_cf.append(line[6:])
            elif line.startswith("@client "):
                client = line[8:].strip()
            elif line.startswith("@pregreet "):
                pregreet += line[10:].encode() + b"\r\n"
            else:
                steps.append((no, line))
    return main_cf, client, pregreet, steps


def run_script(path):
    main_cf, client, pregreet, steps = parse(path)
    work = tempfile.mkdtemp(prefix="smtpd-script-")
    s = Session(work, client, pregreet, main_cf)
    late = []                   # (no, kind, regex) checked after exit
    try:
        try:
            for no, line in steps:
                where = "%s:%d: %s" % (os.path.basename(path), no, line)
                try:
                    step(s, line, late, no)
                except ScriptError as e:
                    raise ScriptError("%s\n  %s" % (where, e))
            s.close()
            if s.pending:
                raise ScriptError("unexpected replies after the script: %r" % s.pending)
            for no, kind, rx in late:
                found = re.search(rx, s.log, re.M) is not None
                if found != (kind == "log"):
                    raise ScriptError("%s:%d: log %s /%s/" % (
                        os.path.basename(path), no,
                        "lacks" if kind == "log" else "has", rx))
        except ScriptError as e:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
            if not hasattr(s, "log"):
                s.stderr.seek(0)
                s.log = s.stderr.read().decode("utf-8", "replace")
                s.stderr.close()
                s.proc.stdout.close()
            msg = "%s\n---- transcript ----\n%s\n---- smtpd log ----\n%s" % (
                e, "\n".join(s.transcript[-60:]), s.log[-4000:])
            raise ScriptError(msg) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def step(s, line, late, no):
    if line.startswith(">>"):
        s.send(decode_raw(line[2:]))
    elif line.startswith(">"):
        s.send(line[1:].encode("utf-8") + b"\r\n")
    elif line == "<EOF":
        got = s.line()
        if got is not None:
            raise ScriptError("expected EOF, got %r" % got)
    elif line.startswith("<"):
        got = s.line()
        if got is None:
            raise ScriptError("expected /%s/, got EOF" % line[1:])
        if not re.fullmatch(line[1:], got):
            raise ScriptError("expected /%s/, got %r" % (line[1:], got))
    elif line.startswith("@sleep "):
        time.sleep(float(line[7:]))
    elif line.startswith("=queued "):
        want = int(line[8:])
        got = len(s.files())
        if got != want:
            raise ScriptError("%d message files, want %d" % (got, want))
    elif line.startswith("=file ") or line.startswith("=nofile "):
        neg = line.startswith("=nofile ")
        rx = line[8:] if neg else line[6:]
        files = s.files()
        if not files:
            raise ScriptError("no message file")
        with open(files[-1][1], "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if (re.search(rx, text, re.S) is not None) == neg:
            raise ScriptError("newest message file %s /%s/:\n%s" % (
                "matches" if neg else "does not match", rx, text[:3000]))
    elif line.startswith("=elapsed>= ") or line.startswith("=elapsed< "):
        ge = line.startswith("=elapsed>= ")
        limit = float(line.split(None, 1)[1])
        took = (s.last_reply or 0) - s.last_send
        if (took >= limit) != ge:
            raise ScriptError("reply came after %.2fs" % took)
    elif line.startswith("=log ") or line.startswith("=nolog "):
        kind, rx = line[1:].split(" ", 1)
        late.append((no, kind, rx))
    else:
        raise ScriptError("unknown directive")


class SmtpdScripts(unittest.TestCase):
    pass


def _make(path):
    def test(self):
        run_script(path)
    return test


for _p in sorted(glob.glob(os.path.join(SCRIPTS, "*.script"))):
    _name = "test_" + os.path.basename(_p)[:-len(".script")].replace("-", "_")
    setattr(SmtpdScripts, _name, _make(_p))


class ScriptsExist(unittest.TestCase):
    def test_scripts_and_binary_present(self):
        self.assertTrue(os.access(SMTPD, os.X_OK), "%s missing: run make" % SMTPD)
        self.assertGreater(len(glob.glob(os.path.join(SCRIPTS, "*.script"))), 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
