"""delivery_util - helpers for the local delivery and queue manager
end-to-end tests: sending, reading mbox and maildir mailboxes, aliases,
wake-ups, and waiting for log lines with context on failure."""

import email
import email.policy
import mailbox
import os
import re
import smtplib
import subprocess
import time

from harness import BIN, _s, run, wait_for

POSTALIAS = os.path.join(BIN, "postalias")
POSTQUEUE = os.path.join(BIN, "postqueue")


def send(inst, sender, rcpts, subject="test", body="hello\n", headers=None, msgid=None):
    """One message over SMTP with smtplib; returns its Message-ID."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    msgid = msgid or "<%s.%d@test.example>" % (time.time(), os.getpid())
    lines = ["From: %s" % (sender or "MAILER-DAEMON@test.example"),
             "To: %s" % ", ".join(rcpts), "Subject: %s" % subject,
             "Message-ID: %s" % msgid]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    text = "\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        refused = s.sendmail(sender, rcpts, text.encode())
        if refused:
            raise AssertionError("recipients refused: %r" % refused)
    return msgid


def spool_box(inst, user):
    return os.path.join(inst.dir, "mail", user)


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def mbox_messages(path):
    """Messages of an mbox file as email.message.Message objects."""
    if not os.path.exists(path):
        return []
    box = mailbox.mbox(path, create=False)
    try:
        return [m for m in box]
    finally:
        box.close()


def maildir_files(home):
    d = os.path.join(home, "Maildir", "new")
    try:
        return sorted(os.path.join(d, n) for n in os.listdir(d))
    except OSError:
        return []


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


def log_context(inst, n=40):
    return "\n---- maillog ----\n" + "\n".join(inst.log().splitlines()[-n:])


def wait_count(fn, n, inst, what, timeout=20.0):
    """Wait until len(fn()) >= n; fail with the log when it does not."""
    try:
        wait_for(lambda: len(fn()) >= n, timeout, what=what)
    except AssertionError as e:
        raise AssertionError("%s (have %d)%s" % (e, len(fn()), log_context(inst)))
    return fn()


def wait_log_re(inst, pattern, timeout=20.0):
    """Wait for a log line matching pattern; returns the match."""
    rx = re.compile(pattern)
    try:
        return wait_for(lambda: rx.search(inst.log()), timeout,
                        what="log line matching %r" % pattern)
    except AssertionError as e:
        raise AssertionError("%s%s" % (e, log_context(inst)))


def write_aliases(inst, text, path=None, owner=None):
    """Write an aliases file (default: the instance's) and build it."""
    path = path or os.path.join(inst.etc, "aliases")
    with open(path, "w") as f:
        f.write(text)
    if owner is not None:
        os.chown(path, owner[0], owner[1])
    run([POSTALIAS, "-c", inst.etc, "hash:" + path])


def flush(inst):
    """postqueue -f (TRIGGER_FLUSH to public/qmgr)."""
    p = subprocess.run([POSTQUEUE, "-c", inst.etc, "-f"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        # The byte postqueue writes, written directly.
        fd = os.open(os.path.join(inst.queue, "public", "qmgr"), os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, b"F")
        finally:
            os.close(fd)


def mailq(inst):
    p = subprocess.run([POSTQUEUE, "-c", inst.etc, "-p"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return _s(p.stdout) + _s(p.stderr)


def write_file(path, text, uid=None, gid=None, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if uid is not None:
        os.chown(path, uid, gid)
