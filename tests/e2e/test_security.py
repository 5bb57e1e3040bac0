"""test_security - attacks from the 2026-11 security review, end to end.

Each test is an attack that once worked (or a boundary that must keep
holding), run against a real instance as root: what a remote client, a
local user or a user's .forward can make postern do.  The unit and
script tests that go with them are named in each test's docstring.
"""

import grp
import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

from delivery_util import (mbox_messages, read_bytes, send, spool_box, wait_log_re,
                           write_aliases, write_file)
from harness import BIN, Instance, main, wait_for
from smtp_util import RawSMTP
from submission_util import (SENDMAIL, POSTDROP, MAILQ, describe, maildrop, run_as,
                             wait_gone, wait_mailbox, wake_pickup)

SMTP_ONLY = """\
127.0.0.1:PORT inet n - y - 1 smtpd
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
"""


class HeloReachesCleanup(unittest.TestCase):
    """Every HELO/EHLO argument smtpd takes, cleanup must take too.

    smtpd accepted any argument without control characters, cleanup
    stores only printable ASCII without spaces (helo= attribute): a
    client that said "EHLO my host" got 250 and then "451 4.3.0
    Error: malformed request" for every message, retried for ever.
    See also tests/smtpd/helo_syntax.script.
    """

    HELOS = [b"foo bar", "caf\u00e9.example.org".encode(), b"[192.0.2.1]",
             b"[IPv6:2001:db8::1]", b"x", b"odd_name!#$%.example", b"-dash-",
             b'"quoted"', b"a" * 255, b"tab\there", b"semi;colon(paren)"]

    def test_no_helo_accepted_then_refused_at_data(self):
        inst = Instance(self, main_cf={"smtpd_error_sleep_time": "0"},
                        master_cf=SMTP_ONLY)
        inst.start()
        seen = []
        for helo in self.HELOS:
            c = RawSMTP(inst.port)
            self.assertEqual(c.reply()[0], 220)
            c.send(b"EHLO " + helo + b"\r\n")
            code, lines = c.reply()
            if code != 250:
                self.assertEqual(code, 501, "%r: %r" % (helo, lines))
                seen.append((helo, "refused"))
                c.cmd("QUIT")
                continue
            self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<postmaster>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: helo test\r\n\r\nbody\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 250, "EHLO %r was taken, the message was not: %r\n%s"
                             % (helo, lines, inst.log()[-2000:]))
            seen.append((helo, "queued"))
            c.cmd("QUIT")
        # The ordinary ones still work.
        self.assertIn((b"[192.0.2.1]", "queued"), seen)
        self.assertIn((b"odd_name!#$%.example", "queued"), seen)
        self.assertIn((b"foo bar", "refused"), seen)


class IncludeIsNotReadAsRoot(unittest.TestCase):
    """An :include: of a root-owned alias table is opened as default_privs.

    It was opened as root.  With "list: :include:/home/alice/lists/members"
    (a list the administrator lets alice keep), alice replaced her
    directory "lists" by a symbolic link to a root-only directory: local
    read the root-only "members" there and bounced its first line to the
    sender as "bad address syntax".  See also
    tests/unit/local_expand_test.c test_include_never_opened_as_root.
    """

    def test_symlinked_directory_leaks_nothing(self):
        inst = Instance(self)
        alice, auid, agid, ahome = inst.add_user()
        bob = inst.add_user()
        secret_dir = os.path.join(inst.dir, "rootonly")
        os.mkdir(secret_dir, 0o700)
        write_file(os.path.join(secret_dir, "members"),
                   "s3cr3t-line-%d: hunter2\n" % os.getpid(), mode=0o644)
        os.symlink(secret_dir, os.path.join(ahome, "lists"))
        os.lchown(os.path.join(ahome, "lists"), auid, agid)
        write_aliases(inst, "list: :include:%s/lists/members\n" % ahome)
        inst.start()
        send(inst, "%s@localhost" % bob[0], "list@localhost", subject="to the list")
        wait_log_re(inst, r"to=<list@localhost>, relay=local, .*status=(deferred|bounced)")
        # Settled: the attempt is over (and a notification, had there
        # been one, delivered), so the log holds all it will.
        inst.wait_queue_settled(deferred=1 if "status=deferred" in inst.log() else 0)
        log = inst.log()
        self.assertNotIn("s3cr3t-line", log, "a root-only file was read for an :include:")
        self.assertIn("to=<list@localhost>", log)
        self.assertRegex(log, r"to=<list@localhost>, relay=local, .*status=deferred "
                              r"\(:include: .*Permission denied")
        box = read_bytes(spool_box(inst, bob[0]))
        self.assertNotIn(b"s3cr3t-line", box)


def proc_stat(pid):
    """(state, ppid, uid) of a process, or None when it is gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(") ", 1)[1].split()
        with open("/proc/%d/status" % pid) as f:
            uid = [int(l.split()[1]) for l in f if l.startswith("Uid:")][0]
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    return fields[0], int(fields[1]), uid


def kept_children(inst, uid):
    """Delivery children running as uid whose parent is one of inst's local processes."""
    locals_ = {int(r["pid"]) for r in inst.procs("local")}
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st is not None and st[2] == uid and st[1] in locals_:
            found.append(int(d))
    return found


class StoppedKeptChild(unittest.TestCase):
    """A user who stops the delivery child kept for them cannot wedge local.

    The child kept for a user runs with the user's ids, so the user may
    signal it.  local retired an idle child by closing its socket and
    waiting for it to exit; a child stopped with SIGSTOP never exits, so
    local (root) waited in waitpid() for ever, holding its process slot.
    One message to oneself and one kill -STOP per local process took
    local delivery down for every user.
    """

    def test_sigstop_by_the_user(self):
        inst = Instance(self)
        user, uid, gid, home = inst.add_user()
        other = inst.add_user()
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % user, subject="first")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*status=sent" % user)
        kids = wait_for(lambda: kept_children(inst, uid), 5, what="the kept child")
        parent = proc_stat(kids[0])[1]
        # The user stops it: their own process, as far as the kernel knows.
        p = subprocess.run(["kill", "-STOP", str(kids[0])], preexec_fn=lambda: (
            os.setgroups([]), os.setgid(gid), os.setuid(uid)), capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        wait_for(lambda: (proc_stat(kids[0]) or ("gone",))[0] in ("T", "gone"), 5,
                 what="the child stopped")
        # local retires it after KEPT_IDLE_MS (2 s) of idleness: it must not
        # wait for a stopped child for ever.
        try:
            wait_for(lambda: proc_stat(kids[0]) is None, 8,
                     what="the stopped kept child retired")
        finally:
            if proc_stat(kids[0]) is not None:
                os.kill(kids[0], signal.SIGKILL)
        self.assertIsNotNone(proc_stat(parent), "local died")
        with open("/proc/%d/wchan" % parent) as f:
            self.assertNotEqual(f.read(), "do_wait", "local waits for its child")
        send(inst, "x@example.org", "%s@localhost" % other[0], subject="second")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*status=sent" % other[0])


def mrec(t, data):
    """One maildrop record: type byte, 32-bit big-endian length, data."""
    return t + len(data).to_bytes(4, "big") + data


class MaildropValuesCleanupRefuses(unittest.TestCase):
    """A local user cannot stall pickup with values cleanup will not store.

    postdrop took any attribute without control characters; cleanup
    refuses an empty or non-UTF-8 fullname (and a spaced envid, a
    non-UTF-8 ORCPT, a bad NOTIFY) as a malformed request, a temporary
    failure.  pickup keeps such a file and its scan stops at the first
    temporary failure, so "sendmail -F '' user" (a script with an empty
    variable) was never delivered and held back, for ever, every local
    submission that came after it in maildrop/.  See also
    tests/unit/maildrop_test.c and tests/unit/pickup_file_test.c.
    """

    def test_fullname_values(self):
        inst = Instance(self, main_cf={"maildrop_grace_time": "5s"})
        sender = inst.add_user()
        rcpt = inst.add_user()
        inst.start()
        uid = pwd.getpwnam(sender[0]).pw_uid

        # An empty -F is no name: delivered.
        tag = "empty-fullname-%d" % time.monotonic_ns()
        p = run_as(sender[0], [SENDMAIL, "-F", "", rcpt[0]], inst,
                   input="Subject: %s\n\nx\n" % tag)
        self.assertEqual(p.returncode, 0, describe(p))
        wait_mailbox(inst, rcpt[0], tag)

        # A name cleanup cannot store is refused at once, with the reason.
        p = run_as(sender[0], [SENDMAIL.encode(), b"-F", b"Jos\xe9", rcpt[0].encode()], inst,
                   input="Subject: latin1\n\nx\n")
        self.assertNotEqual(p.returncode, 0, describe(p))
        self.assertIn(b"fullname", p.stderr)

        # A file with such a value (not made by postdrop) is set aside,
        # and what comes after it is delivered.
        name = "%032x" % int.from_bytes(os.urandom(16), "big")
        path = os.path.join(inst.queue, "maildrop", name)
        data = (mrec(b"V", b"1") + mrec(b"T", b"1700000000.000001")
                + mrec(b"A", b"login=" + sender[0].encode()) + mrec(b"A", b"fullname=Jos\xe9")
                + mrec(b"S", b"") + mrec(b"R", rcpt[0].encode())
                + mrec(b"M", b"Subject: poison\n\nx\n") + mrec(b"E", b""))
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, uid, -1)
        os.chmod(path, 0o644)
        wake_pickup(inst)
        wait_gone(path)
        self.assertTrue(os.path.exists(os.path.join(inst.queue, "corrupt", name)),
                        inst.log()[-2000:])
        tag = "after-poison-%d" % time.monotonic_ns()
        p = run_as(sender[0], [SENDMAIL, rcpt[0]], inst, input="Subject: %s\n\nx\n" % tag)
        self.assertEqual(p.returncode, 0, describe(p))
        wait_mailbox(inst, rcpt[0], tag)
        self.assertNotIn("malformed request", inst.log())


def link_local_address():
    """(address, interface) of a link-local IPv6 address of this host, or None."""
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                hexaddr, _, _, scope, _, ifname = line.split()
                if scope == "20":       # IPV6_ADDR_LINKLOCAL
                    a = ":".join(hexaddr[i:i + 4] for i in range(0, 32, 4))
                    return a, ifname
    except OSError:
        pass
    return None


class ScopedClientAddress(unittest.TestCase):
    """A link-local IPv6 client is named without its scope.

    getnameinfo() writes a link-local peer as "fe80::1%eth0"; smtpd
    passed that to cleanup as client_addr, and cleanup, which stores
    only addresses inet_pton() reads, refused every message from such
    a client with "451 4.3.0 Error: malformed request", for ever (and
    mynetworks could never match it).
    """

    def test_link_local_client_is_queued(self):
        ll = link_local_address()
        if ll is None:
            self.skipTest("this host has no link-local IPv6 address to connect from")
        inst = Instance(self, main_cf={"inet_protocols": "all",
                                       "smtpd_error_sleep_time": "0"},
                        master_cf="[::]:PORT inet n - y - 1 smtpd\n" + SMTP_ONLY.split("\n", 1)[1])
        inst.start()
        sock = wait_for(lambda: _connect(("%s%%%s" % ll, inst.port)), 10,
                        what="smtpd on [::]:%d" % inst.port)
        c = SockSMTP(sock)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<postmaster>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: scoped\r\n\r\nbody\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, "%r\n%s" % (lines, inst.log()[-2000:]))
        c.cmd("QUIT")
        self.assertIn("connect from unknown[%s]" % _canon6(ll[0]), inst.log())


class SockSMTP(RawSMTP):
    """RawSMTP on a socket connected elsewhere than 127.0.0.1."""

    def __init__(self, sock):
        self.sock, self.buf, self.timeout = sock, b"", 10.0


def _connect(addr):
    import socket
    try:
        return socket.create_connection(addr, timeout=10)
    except OSError:
        return None


def _canon6(a):
    import socket
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a))


def owner_ids():
    pw = pwd.getpwnam("postern")
    return pw.pw_uid, pw.pw_gid


class RootToolsInMailOwnerDirectories(unittest.TestCase):
    """Root's tools act in the queue with mail_owner's rights, or by descriptor.

    The queue directories belong to mail_owner, so a compromised daemon
    may put anything there.  postsuper used to rename, remove and touch
    entries there as root, and postcat -q opened them as root and
    blocked for ever on a FIFO planted in place of a queue file.
    """

    def test_postsuper_touches_nothing_as_root(self):
        # Not started: no queue manager to take the released file away.
        inst = Instance(self)
        # A root-only file in hold/ under a queue ID, as a hard link to a
        # root file would be (the kernel's protected_hardlinks stops a
        # real one; postsuper must not depend on it).
        qid = "0PZ1K8Q3F7M2W9X"
        path = os.path.join(inst.queue, "hold", qid)
        write_file(path, "root's\n", mode=0o600)
        old = 1000000000
        os.utime(path, (old, old))
        p = subprocess.run([os.path.join(BIN, "postsuper"), "-c", inst.etc, "-H", qid],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        # qmgr, woken by postsuper, may already have set the root-owned
        # file aside in corrupt/ (a rename keeps its time).
        moved = [os.path.join(inst.queue, q, qid) for q in ("deferred", "corrupt")]
        moved = [m for m in moved if os.path.exists(m)]
        self.assertEqual(len(moved), 1, "the file is in neither deferred/ nor corrupt/")
        st = os.stat(moved[0])
        self.assertEqual(st.st_mtime, old, "postsuper changed the time of a root-only "
                         "file in the queue: it acted as root")
        self.assertIn("cannot set the time of the next attempt", inst.log())

    def test_postcat_refuses_a_fifo(self):
        inst = Instance(self)
        qid = "0PZ1K8Q3F7M2W9Y"
        path = os.path.join(inst.queue, "deferred", qid)
        os.mkfifo(path, 0o600)
        os.chown(path, *owner_ids())
        try:
            p = subprocess.run([os.path.join(BIN, "postcat"), "-c", inst.etc, "-q", qid],
                               capture_output=True, timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("postcat -q blocked on a FIFO in the queue")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"not a regular file", p.stderr)


class LocalForwardsAsMailOwner(unittest.TestCase):
    """local (root) reaches private/cleanup only as mail_owner could.

    An alias to another domain makes local submit a new message to
    cleanup through private/cleanup, a name in mail_owner's directory.
    local connected as root: a link planted there (here to a socket in
    a root-only directory) led root's connection, and the message with
    it, to any socket on the system.
    """

    def test_planted_link_to_a_root_socket(self):
        inst = Instance(self)
        write_aliases(inst, "fwd: someone@example.org\n")
        full = inst.master_cf()
        inst.write_master("".join(l + "\n" for l in full.splitlines()
                                  if not l.startswith("qmgr ")))
        inst.start()
        send(inst, "x@example.org", "fwd@localhost", subject="to forward")
        wait_for(lambda: inst.queue_files("incoming"), 10, what="the message queued")

        rootonly = os.path.join(inst.dir, "rootonly")
        os.mkdir(rootonly, 0o700)
        sock_path = os.path.join(rootonly, "sock")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(sock_path)
        lsock.listen(8)
        lsock.settimeout(0.2)
        reached = []
        stop = threading.Event()

        def accept_loop():
            while not stop.is_set():
                try:
                    c, _ = lsock.accept()
                except OSError:
                    continue
                reached.append(c.recv(64))
                c.close()
        t = threading.Thread(target=accept_loop)
        t.start()
        self.addCleanup(lambda: (stop.set(), t.join(), lsock.close()))

        link = os.path.join(inst.queue, "private", "cleanup")
        os.unlink(link)
        os.symlink(sock_path, link)
        os.lchown(link, *owner_ids())
        inst.write_master(full)
        inst.postern("reload")
        wait_log_re(inst, r"to=<fwd@localhost>, relay=local, .*status=deferred "
                          r"\(cannot forward")
        self.assertEqual(reached, [], "local reached a socket in a root-only directory "
                         "through a link in private/: %r" % reached)
        self.assertRegex(inst.log(), r"cannot forward to <someone@example.org>: .*"
                                     r"[Pp]ermission denied")


class IncludeFromForward(unittest.TestCase):
    """An :include: named in a .forward never makes its owner run anything.

    With allow_mail_to_commands = alias, forward, include, bob's .forward
    naming alice's world-readable list of commands made alice run them
    (local_expand.c took the include file's owner as who runs).  From a
    .forward, files and commands run as the .forward's owner, and only
    from include files of theirs or root's.  See also
    tests/unit/local_expand_test.c.
    """

    def test_bobs_forward_includes_alices_commands(self):
        inst = Instance(self, main_cf={"allow_mail_to_commands": "alias, forward, include",
                                       "allow_mail_to_files": "alias, forward, include"})
        alice, auid, agid, ahome = inst.add_user()
        bob, buid, bgid, bhome = inst.add_user()
        marker = os.path.join(ahome, "ran-as-alice")
        cmds = os.path.join(ahome, "cmds")
        write_file(cmds, "|/usr/bin/touch %s\n" % marker, uid=auid, gid=agid, mode=0o644)
        write_file(os.path.join(bhome, ".forward"), ":include:%s\n" % cmds,
                   uid=buid, gid=bgid, mode=0o644)
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % bob, subject="run it")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*status=bounced" % bob)
        self.assertFalse(os.path.exists(marker), "bob's .forward made alice run a command")
        self.assertRegex(inst.log(), r"mail to command is refused: .*belongs to %s, "
                                     r"not to %s" % (alice, bob))
        # bob's own list runs, as bob.
        own = os.path.join(bhome, "cmds")
        bmarker = os.path.join(bhome, "ran-as-bob")
        write_file(own, "|/usr/bin/touch %s\n" % bmarker, uid=buid, gid=bgid, mode=0o644)
        write_file(os.path.join(bhome, ".forward"), ":include:%s\n" % own,
                   uid=buid, gid=bgid, mode=0o644)
        send(inst, "x@example.org", "%s@localhost" % bob, subject="run mine")
        wait_for(lambda: os.path.exists(bmarker), 20, what="bob's own command")
        self.assertEqual(os.stat(bmarker).st_uid, buid)


class ForwardFileOwner(unittest.TestCase):
    """A .forward that belongs to someone else is ignored.

    The owner check of local_lookup.c had no test that failed without
    it: here alice's ~/.forward belongs to bob (who could have written
    it to take her mail) and names bob; the mail must stay with alice.
    """

    def test_forward_of_another_owner(self):
        inst = Instance(self)
        alice, auid, agid, ahome = inst.add_user()
        bob, buid, bgid, bhome = inst.add_user()
        write_file(os.path.join(ahome, ".forward"), "%s@localhost\n" % bob,
                   uid=buid, gid=bgid, mode=0o644)
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % alice, subject="for alice")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*status=sent" % alice)
        self.assertRegex(inst.log(), r"ignoring forward file .*\.forward of %s: "
                                     r"has the wrong owner" % alice)
        self.assertEqual([m["Subject"] for m in mbox_messages(spool_box(inst, alice))],
                         ["for alice"])
        # A forwarded copy would be queued before alice's message leaves
        # the queue, and in bob's mailbox once nothing is in flight.
        inst.wait_queue_settled()
        self.assertEqual(mbox_messages(spool_box(inst, bob)), [])


class LocalChecksItsCaller(unittest.TestCase):
    """local takes requests from mail_owner and root only (SO_PEERCRED).

    private/ keeps other users away from private/local, so the check in
    local.c had no test that failed without it.  Here the socket is made
    reachable on purpose and another user connects: local must close
    the connection at once, before a byte, and say why.
    """

    def test_other_user_is_refused(self):
        inst = Instance(self)
        user, uid, gid, home = inst.add_user()
        inst.start()
        priv = os.path.join(inst.queue, "private")
        sock = os.path.join(priv, "local")
        wait_for(lambda: os.path.exists(sock), 10, what="private/local")
        os.chmod(priv, 0o711)
        os.chmod(sock, 0o666)
        got = None

        def connect_as_user():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        code = ("import socket, sys\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                "s.settimeout(10)\n"
                "s.connect(%r)\n"
                "try:\n"
                "    d = s.recv(4096)\n"
                "    print('EOF' if d == b'' else 'DATA %%r' %% d)\n"
                "except socket.timeout:\n"
                "    print('TIMEOUT')\n" % sock)
        try:
            p = subprocess.run(["/usr/bin/python3", "-c", code], preexec_fn=connect_as_user,
                               capture_output=True, timeout=30)
            got = p.stdout.decode().strip()
        finally:
            os.chmod(sock, 0o600)
            os.chmod(priv, 0o700)
        self.assertEqual(got, "EOF", "local answered another user: %r %r" % (got, p.stderr))
        wait_log_re(inst, r"refusing a delivery request from uid %d \(not mail_owner\)" % uid)


class MailSpool(unittest.TestCase):
    """No user can stop another's mail through the mail spool.

    postern init made the spool 1777: any local user could create
    mail/USER.lock or a link mail/USER, and the sticky bit then kept USER
    (and so USER's delivery child) from removing it: mail for USER
    waited for ever.  The spool is now root:mail 2775, as Debian's
    /var/mail; in a spool an administrator made 1777 anyway, a stale lock
    of another user is removed by local (as that user) after
    stale_lock_time, and a planted mailbox is a deferral that says what
    and whose it is, with a warning.
    """

    def test_init_makes_root_mail_2775(self):
        inst = Instance(self)
        alice = inst.add_user()
        bob, buid, bgid, bhome = inst.add_user()
        spool = os.path.join(inst.dir, "mail")
        st = os.stat(spool)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777),
                         (0, grp.getgrnam("mail").gr_gid, 0o2775))
        p = run_as(bob, ["/usr/bin/touch", os.path.join(spool, "%s.lock" % alice[0])], inst)
        self.assertNotEqual(p.returncode, 0, "a user made a lock for another in the spool")
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % alice[0], subject="spool")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*status=sent" % alice[0])
        box = os.stat(spool_box(inst, alice[0]))
        self.assertEqual(box.st_uid, alice[1])

    def test_sticky_spool_stale_lock_and_planted_link(self):
        inst = Instance(self, main_cf={"stale_lock_time": "60s",
                                       "deliver_lock_attempts": "1"})
        alice, auid, agid, ahome = inst.add_user()
        bob, buid, bgid, bhome = inst.add_user()
        carol = inst.add_user()
        spool = os.path.join(inst.dir, "mail")
        os.chmod(spool, 0o1777)
        inst.start()

        # bob's lock for alice, an hour old: alice cannot remove it.
        lock = os.path.join(spool, "%s.lock" % alice)
        p = run_as(bob, ["/usr/bin/touch", "-d", "1 hour ago", lock], inst)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertEqual(os.lstat(lock).st_uid, buid)
        send(inst, "x@example.org", "%s@localhost" % alice, subject="past the lock")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*status=sent" % alice)
        self.assertRegex(inst.log(), r"removed %s: a lock of uid %d" % (re.escape(lock), buid))
        self.assertFalse(os.path.lexists(lock))

        # bob's link in place of carol's mailbox: a deferral that says so.
        target = os.path.join(bhome, "catch")
        write_file(target, "", uid=buid, gid=bgid, mode=0o666)
        link = os.path.join(spool, carol[0])
        p = run_as(bob, ["/bin/ln", "-s", target, link], inst)
        self.assertEqual(p.returncode, 0, describe(p))
        send(inst, "x@example.org", "%s@localhost" % carol[0], subject="not through a link")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*status=deferred \(mailbox "
                          r"%s is a symbolic link of uid %d" % (carol[0], re.escape(link), buid))
        self.assertRegex(inst.log(), r"warning: mailbox %s of %s is a symbolic link"
                         % (re.escape(link), carol[0]))
        self.assertEqual(os.path.getsize(target), 0)


class LogIsPrintable(unittest.TestCase):
    """Nothing a client or a command writes reaches the log as a control.

    The sanitiser replaced C0 controls only: a command's output quoted in
    "status=bounced (...)" (or pre-greeting junk) put U+009B, CSI, in
    UTF-8 form into the log, where a terminal showing it starts an escape
    sequence.  See also tests/unit/log_test.c test_sanitise_c1_and_bidi.
    """

    def test_command_output_with_c1(self):
        inst = Instance(self)
        # \302\233 is U+009B (CSI) in UTF-8, \233 alone the 8-bit CSI.
        write_aliases(inst, "noisy: |printf '\\302\\2332J\\233" "0m\\303\\251'; exit 67\n")
        inst.start()
        send(inst, "x@example.org", "noisy@localhost", subject="c1")
        wait_log_re(inst, r"to=<noisy@localhost>, relay=local, .*status=bounced")
        with open(inst.maillog, "rb") as f:
            raw = f.read()
        line = [l for l in raw.split(b"\n") if b"to=<noisy@localhost>" in l
                and b"status=bounced" in l][0]
        self.assertNotIn(b"\xc2\x9b", raw)
        self.assertNotIn(b"\x9b", raw)
        self.assertIn(b"?2J?0m\xc3\xa9", line)


class ShowqNotHostage(unittest.TestCase):
    """One local user cannot keep mailq from everyone else.

    showq served one client per process: 150 idle connections to
    public/showq took every showq process (each waited a minute for a
    request), and mailq waited until they let go.  showq is now one
    event-driven process that bounds connections per uid (SO_PEERCRED).
    """

    HOLDER = ("import socket, sys, time\n"
              "socks = []\n"
              "for i in range(150):\n"
              "    s = socket.socket(socket.AF_UNIX)\n"
              "    try:\n"
              "        s.connect(sys.argv[1])\n"
              "    except OSError:\n"
              "        break\n"
              "    socks.append(s)\n"
              "time.sleep(1)\n"
              "closed = 0\n"
              "for s in socks:\n"
              "    s.setblocking(False)\n"
              "    try:\n"
              "        closed += s.recv(1) == b''\n"
              "    except BlockingIOError:\n"
              "        pass\n"
              "print('open=%d closed=%d' % (len(socks), closed), flush=True)\n"
              "time.sleep(600)\n")

    def test_idle_connections_of_one_user(self):
        inst = Instance(self)
        holder, huid, hgid, _ = inst.add_user()
        other = inst.add_user()
        inst.start()
        sock = os.path.join(inst.queue, "public", "showq")

        def as_holder():
            os.setgroups([])
            os.setgid(hgid)
            os.setuid(huid)
        p = inst.spawn(["/usr/bin/python3", "-c", self.HOLDER, sock], preexec_fn=as_holder,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = p.stdout.readline().decode()
        m = re.match(r"open=(\d+) closed=(\d+)", line)
        self.assertIsNotNone(m, "holder said %r" % line)
        try:
            q = run_as(other[0], [MAILQ], inst, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("mailq waited while another user held showq's connections")
        self.assertEqual(q.returncode, 0, describe(q))
        self.assertIn(b"Mail queue is empty", q.stdout)
        # All but a few of the holder's connections were closed at once.
        self.assertGreaterEqual(int(m.group(2)), int(m.group(1)) - 4, line)
        self.assertIn("refusing a listing for uid %d" % huid, inst.log())


if __name__ == "__main__":
    main()
