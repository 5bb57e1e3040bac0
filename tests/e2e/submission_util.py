"""submission_util - helpers for the local submission and queue tool tests:
run a program as a test user, read mailboxes, find processes."""

import os
import subprocess
import time

from harness import BIN, _s, wait_for

SENDMAIL = os.path.join(BIN, "sendmail")
POSTDROP = os.path.join(BIN, "postdrop")
POSTQUEUE = os.path.join(BIN, "postqueue")
POSTSUPER = os.path.join(BIN, "postsuper")
MAILQ = os.path.join(BIN, "mailq")
NEWALIASES = os.path.join(BIN, "newaliases")


def user_argv(user, argv):
    """argv run as user (real and effective uid and gid, no other groups)."""
    if user is None:
        return list(argv)
    return ["setpriv", "--reuid=%s" % user, "--regid=%s" % user, "--clear-groups"] + list(argv)


def user_env(inst, extra=None):
    env = {"PATH": "/usr/bin:/bin", "MAIL_CONFIG": inst.etc, "LANG": "C"}
    # Sanitizer settings of `make asan` reach the programs under test.
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if extra:
        env.update(extra)
    return env


def run_as(user, argv, inst, input=b"", env=None, cwd="/", timeout=60):
    """Run argv as user; returns the CompletedProcess (never raises on status)."""
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run(user_argv(user, argv), input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env if env is not None else user_env(inst),
                          cwd=cwd, timeout=timeout)


def describe(p):
    return "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, _s(p.stdout), _s(p.stderr))


def mailbox_path(inst, user):
    return os.path.join(inst.dir, "mail", user)


def mailbox(inst, user):
    try:
        with open(mailbox_path(inst, user), "rb") as f:
            return f.read()
    except OSError:
        return b""


def wait_mailbox(inst, user, needle, timeout=15.0):
    """Wait until user's mailbox holds needle (bytes); returns the mailbox."""
    if isinstance(needle, str):
        needle = needle.encode()
    try:
        return wait_for(lambda: needle in mailbox(inst, user) and mailbox(inst, user),
                        timeout, what="%r in the mailbox of %s" % (needle, user))
    except AssertionError:
        raise AssertionError("%r not delivered to %s\n---- mailbox ----\n%s\n"
                             "---- maillog ----\n%s" % (
                                 needle, user, _s(mailbox(inst, user))[-2000:],
                                 "\n".join(inst.log().splitlines()[-40:])))


def messages(box):
    """Split an mbox into messages (bytes), each from its From_ line."""
    out, cur = [], []
    for line in box.split(b"\n"):
        if line.startswith(b"From ") and (not cur or cur[-1] == b""):
            if cur:
                out.append(b"\n".join(cur))
            cur = [line]
        elif cur:
            cur.append(line)
    if cur:
        out.append(b"\n".join(cur))
    return out


def header_of(msg):
    """The header section of one mbox message (without the From_ line)."""
    head = msg.split(b"\n\n", 1)[0]
    return head.split(b"\n", 1)[1] if b"\n" in head else b""


def children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...
        rest = st.rsplit(")", 1)[1].split()
        if int(rest[1]) == pid:
            out.append(int(d))
    return out


def maildrop(inst):
    """Names in maildrop/ (root can list it)."""
    try:
        return sorted(os.listdir(os.path.join(inst.queue, "maildrop")))
    except OSError:
        return []


def wake_pickup(inst):
    """One byte to public/pickup, as postdrop does."""
    fd = os.open(os.path.join(inst.queue, "public", "pickup"), os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"W")
    finally:
        os.close(fd)


def wait_gone(path, timeout=15.0):
    wait_for(lambda: not os.path.exists(path), timeout, what="%s to go away" % path)


def settle(seconds):
    time.sleep(seconds)
