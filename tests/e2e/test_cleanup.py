"""test_cleanup - the cleanup service end to end, on real instances.

The instances run cleanup and lookup only (their own master.cf): without
qmgr every queued message stays in incoming/, where the test reads it.
Messages are submitted through queue/private/cleanup directly, with the
IPC wire format (ipc_util.py) and a content descriptor, as smtpd and
pickup do.  Also postcat, on the files cleanup wrote.
"""

import os
import pwd
import re
import signal
import stat
import subprocess
import threading
import time
import unittest

from harness import BIN, Instance, main, proc_info, run, wait_for
from ipc_util import (CLEANUP_F_ANNOUNCE, CLEANUP_F_EXTRACT, CLEANUP_F_LOCAL,
                      CLEANUP_REP, CLEANUP_REP_QID, CLEANUP_REQ_LOGGED, CLEANUP_REQ_SUBMIT,
                      cleanup_submit, connect, content_file, n, recv, reply_dict,
                      s, send, submit_records)
from smtp_util import QueueFile

MASTER = """\
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
"""

QID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{15}$")
SMTP_ATTRS = {"client_name": "client.example.org", "client_addr": "192.0.2.7",
              "helo": "client.example.org", "protocol": "ESMTP"}


def cleanup_pids(inst):
    pids = []
    for pid in inst.instance_pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv0 = f.read().split(b"\0")[0]
        except OSError:
            continue
        if os.path.basename(argv0) == b"cleanup":
            pids.append(pid)
    return pids


SPARE = re.compile(r"^\.tmp-(\d+)-\d+$")


def incoming_all(inst):
    """Every name in incoming/ (dot files too), but the spare file each
    cleanup process keeps for its next message: one per live cleanup
    process, empty."""
    d = os.path.join(inst.queue, "incoming")
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return []
    live = set(cleanup_pids(inst))
    out, spares = [], set()
    for n in names:
        m = SPARE.match(n)
        if m and int(m.group(1)) in live and m.group(1) not in spares:
            try:
                empty = os.stat(os.path.join(d, n)).st_size == 0
            except OSError:
                continue		# taken or removed meanwhile
            if empty:
                spares.add(m.group(1))
                continue
        out.append(n)
    return out


def postcat(*args, check=False):
    return run([os.path.join(BIN, "postcat")] + list(args), check=check)


class CleanupTest(unittest.TestCase):

    def instance(self, main_cf=None, start=True, before_start=None):
        inst = Instance(self, master_cf=MASTER, main_cf=main_cf)
        if before_start:
            before_start(inst)
        if start:
            inst.start()
        return inst

    def submit(self, inst, content, sender="alice@example.org",
               rcpts=("bob@example.com",), flags=0, attrs=SMTP_ATTRS):
        return cleanup_submit(inst.queue, content, sender, list(rcpts), flags, attrs)

    def queued(self, inst, reply):
        self.assertEqual(reply["status"], 0, reply)
        self.assertRegex(reply["queue_id"], QID)
        path = os.path.join(inst.queue, "incoming", reply["queue_id"])
        self.assertTrue(os.path.exists(path), incoming_all(inst))
        return QueueFile(path)

    # -- the common case ----------------------------------------------

    def test_submit_writes_a_complete_queue_file(self):
        inst = self.instance()
        msg = b"Subject: hello\nFrom: alice@example.org\n\nbody line\n"
        r = self.submit(inst, msg)
        qf = self.queued(inst, r)
        qid = r["queue_id"]
        path = os.path.join(inst.queue, "incoming", qid)
        st = os.stat(path)
        owner = pwd.getpwnam("postern")
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (owner.pw_uid, 0o600))
        self.assertEqual(qf.sender, "alice@example.org")
        self.assertEqual(qf.rcpts, ["bob@example.com"])
        self.assertEqual(qf.attrs["client_addr"], "192.0.2.7")
        self.assertEqual(qf.body, b"body line\n")
        hdr = qf.header.decode()
        self.assertTrue(hdr.startswith(
            "Received: from client.example.org (client.example.org [192.0.2.7])\n"
            "\tby "), hdr)
        self.assertIn("(postern) with ESMTP id %s\n\tfor <bob@example.com>; " % qid, hdr)
        self.assertRegex(hdr, r"\nMessage-ID: <\d{14}\.%s@[^>]+>\n" % qid)
        self.assertRegex(hdr, r"\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4}")
        # No temporary file left behind.
        self.assertEqual(incoming_all(inst), [qid])
        # The log lines that pflogsumm reads: cleanup logs the message-id;
        # the from=/size=/nrcpt= line is qmgr's, logged once per message.
        inst.wait_log("%s: message-id=" % qid)
        log = inst.log()
        self.assertRegex(log, r"%s: message-id=<\d{14}\.%s@" % (qid, qid))
        self.assertNotIn("%s: from=<alice@example.org>, size=" % qid, log)
        # cleanup runs chrooted and unprivileged.
        pid, = cleanup_pids(inst)
        uid, gid, root = proc_info(pid)
        self.assertEqual((uid, gid), (owner.pw_uid, owner.pw_gid))
        self.assertEqual(os.path.realpath(root), os.path.realpath(inst.queue))

    def test_several_requests_on_one_connection(self):
        inst = self.instance()
        sock = connect(os.path.join(inst.queue, "private", "cleanup"))
        ids = []
        for i in range(3):
            r = cleanup_submit(inst.queue, b"Subject: %d\n\nb\n" % i, "a@example.org",
                               ["b@example.org"], sock=sock)
            self.assertEqual(r["status"], 0, r)
            ids.append(r["queue_id"])
        sock.close()
        self.assertEqual(sorted(ids), sorted(inst.queue_files("incoming")))
        self.assertEqual(len(set(ids)), 3)

    def test_queue_id_first(self):
        # CLEANUP_F_ANNOUNCE: the queue ID comes before the file is in
        # incoming/, and the file goes there only once the client
        # confirmed (it logged its client= line first: pflogsumm).
        inst = self.instance()
        msg = b"Subject: first\n\nb\n"
        for confirm in (False, True):
            sock = connect(os.path.join(inst.queue, "private", "cleanup"))
            fd = content_file(msg)
            try:
                send(sock, CLEANUP_REQ_SUBMIT,
                     submit_records("a@example.org", ["b@example.org"], len(msg),
                                    CLEANUP_F_ANNOUNCE, 0, SMTP_ATTRS), fd)
                told = reply_dict(recv(sock))
                self.assertEqual(told["type"], CLEANUP_REP_QID, told)
                qid = told["queue_id"]
                self.assertRegex(qid, QID)
                time.sleep(0.3)             # cleanup waits, the file stays hidden
                self.assertNotIn(qid, incoming_all(inst))
                if confirm:
                    send(sock, CLEANUP_REQ_LOGGED, [])
                    r = reply_dict(recv(sock))
                    self.assertEqual((r["type"], r["status"], r["queue_id"]),
                                     (CLEANUP_REP, 0, qid), r)
                    self.queued(inst, r)
            finally:
                os.close(fd)
                sock.close()
            if not confirm:
                # Gone without confirming: nothing queued, nothing left.
                inst.wait_log("%s: not queued: the client did not confirm" % qid)
                self.assertEqual([f for f in incoming_all(inst) if f == qid
                                  or f.startswith(".")], [])

    def test_local_submission(self):
        inst = self.instance(main_cf={"myorigin": "origin.example"})
        msg = b"To: x@example.net, bare\nBcc: hidden@example.net\nSubject: s\n\nb\n"
        r = self.submit(inst, msg, sender="joe", rcpts=["cmd@example.net"],
                        flags=CLEANUP_F_LOCAL | CLEANUP_F_EXTRACT,
                        attrs={"uid": 1234, "fullname": "Joe User"})
        qf = self.queued(inst, r)
        myorigin = "origin.example"
        self.assertEqual(qf.sender, "joe@" + myorigin)
        self.assertEqual(qf.rcpts, ["cmd@example.net", "x@example.net",
                                    "bare@" + myorigin, "hidden@example.net"])
        hdr = qf.header.decode()
        self.assertNotIn("Bcc", hdr)
        self.assertIn("(postern, from userid 1234)\n\tid %s; " % r["queue_id"], hdr)
        self.assertIn("\nFrom: Joe User <joe@%s>\n" % myorigin, hdr)
        # The uid= line is pickup's (test_submission); cleanup logs the rest.
        inst.wait_log("%s: message-id=" % r["queue_id"])

    def test_stray_cr_replaced(self):
        inst = self.instance()
        msg = (b"Subject: a\rb\r\nX-Test: x\r\n\r\n"
               b"line\rMAIL FROM:<evil@example.net>\r\nend\r\n")
        qf = self.queued(inst, self.submit(inst, msg))
        self.assertNotIn(b"\r", qf.header)
        self.assertNotIn(b"\r", qf.body)
        self.assertIn(b"\nSubject: a b\nX-Test: x\n", qf.header)
        self.assertEqual(qf.body, b"line MAIL FROM:<evil@example.net>\nend\n")

    # -- refusals --------------------------------------------------------

    def test_permanent_and_temporary_refusals(self):
        inst = self.instance(main_cf={"message_size_limit": "2000",
                                      "hopcount_limit": "5"})
        r = self.submit(inst, b"Subject: big\n\n" + b"x" * 2000)
        self.assertEqual((r["status"], r["reason"]),
                         (5, "5.3.4 Message size exceeds fixed limit"))
        r = self.submit(inst, b"Subject: s\n\nb\n", rcpts=["not an address"])
        self.assertEqual(r["status"], 5, r)
        self.assertTrue(r["reason"].startswith("5.1.3 "), r)
        r = self.submit(inst, b"Subject: s\n\nb\n", sender="bad sender@x")
        self.assertTrue(r["reason"].startswith("5.1.7 "), r)
        r = self.submit(inst, b"Received: a\n" * 5 + b"\nloop\n")
        self.assertEqual(r["status"], 5, r)
        self.assertTrue(r["reason"].startswith("5.4.6 "), r)
        r = self.submit(inst, b"Received: a\n" * 4 + b"\nnot yet\n")
        self.assertEqual(r["status"], 0, r)
        # Only the last one was queued; no temporary file anywhere.
        self.assertEqual(incoming_all(inst), [r["queue_id"]])

    def test_bad_requests_close_the_connection(self):
        inst = self.instance()
        path = os.path.join(inst.queue, "private", "cleanup")
        # An attribute out of order: a 4.3.0 reply, then the connection ends.
        sock = connect(path)
        fd = content_file(b"S: s\n\nb\n")
        recs = [n("flags", 0), n("offset", 0), n("length", 8), s("helo", "x.org"),
                s("client_name", "x.org"), s("sender", "a@b.org"), s("rcpt", "c@d.org")]
        send(sock, CLEANUP_REQ_SUBMIT, recs, fd)
        os.close(fd)
        r = reply_dict(recv(sock))
        self.assertEqual((r["status"], r["reason"]), (4, "4.3.0 Error: malformed request"))
        self.assertEqual(sock.recv(1), b"")
        sock.close()
        # A control character in the HELO name.
        sock = connect(path)
        fd = content_file(b"S: s\n\nb\n")
        send(sock, CLEANUP_REQ_SUBMIT, submit_records(
            "a@b.org", ["c@d.org"], 8, attrs={"helo": "evil\r\nX-Injected: 1"}), fd)
        os.close(fd)
        self.assertEqual(reply_dict(recv(sock))["status"], 4)
        sock.close()
        # Garbage, and a SUBMIT without a descriptor.
        sock = connect(path)
        sock.sendall(b"HELO I am not a postern daemon\r\n")
        try:
            self.assertEqual(sock.recv(100), b"")
        except ConnectionResetError:
            pass                # closed with our bytes unread: a reset
        sock.close()
        sock = connect(path)
        send(sock, CLEANUP_REQ_SUBMIT, submit_records("a@b.org", ["c@d.org"], 8))
        self.assertEqual(reply_dict(recv(sock))["status"], 4)
        sock.close()
        # The service still works, and nothing was queued by the above.
        self.assertEqual(incoming_all(inst), [])
        self.queued(inst, self.submit(inst, b"S: s\n\nb\n"))
        inst.wait_log("bad request from a client")

    def test_length_beyond_the_file(self):
        inst = self.instance()
        sock = connect(os.path.join(inst.queue, "private", "cleanup"))
        fd = content_file(b"Subject: short\n\nb\n")
        send(sock, CLEANUP_REQ_SUBMIT,
             submit_records("a@b.org", ["c@d.org"], 1000000), fd)
        os.close(fd)
        r = reply_dict(recv(sock))
        sock.close()
        self.assertEqual(r["status"], 4, r)
        self.assertEqual(incoming_all(inst), [])

    # -- tables through the lookup service -----------------------------

    def test_virtual_and_canonical_through_lookup(self):
        def tables(inst):
            with open(os.path.join(inst.etc, "virtual"), "w") as f:
                f.write("team@example.org  ann@example.net, lead@example.org\n"
                        "lead@example.org  boss@example.net\n"
                        "loop1@example.org loop2@example.org\n"
                        "loop2@example.org loop1@example.org\n")
            with open(os.path.join(inst.etc, "canonical"), "w") as f:
                f.write("old@example.org new@example.org\n")
            for t in ("virtual", "canonical"):
                run([os.path.join(BIN, "postmap"), "hash:" + os.path.join(inst.etc, t)])
            inst.set_main({
                "virtual_alias_maps": "hash:" + os.path.join(inst.etc, "virtual"),
                "canonical_maps": "hash:" + os.path.join(inst.etc, "canonical"),
            })
        inst = self.instance(before_start=tables)
        r = self.submit(inst, b"Subject: s\n\nb\n", sender="old@example.org",
                        rcpts=["team@example.org", "ann@example.net"])
        qf = self.queued(inst, r)
        self.assertEqual(qf.sender, "new@example.org")
        self.assertEqual(qf.rcpts, ["ann@example.net", "boss@example.net"])
        self.assertIn(("O", b"team@example.org"), qf.records)
        # A loop is a temporary failure, as in Postfix, and logged.
        r = self.submit(inst, b"Subject: s\n\nb\n", rcpts=["loop1@example.org"])
        self.assertEqual(r["status"], 4, r)
        self.assertTrue(r["reason"].startswith("4.6.0 "), r)
        inst.wait_log("virtual_alias_maps:")

    def test_lookup_down_is_a_temporary_failure(self):
        master = "cleanup unix - - y - 0 cleanup\n"
        inst = Instance(self, master_cf=master,
                        main_cf={"virtual_alias_maps": "inline:{a@b.org=c@d.org}"})
        inst.start()
        r = self.submit(inst, b"Subject: s\n\nb\n", rcpts=["a@b.org"])
        self.assertEqual(r["status"], 4, r)
        self.assertEqual(r["reason"], "4.3.0 Temporary lookup failure (virtual_alias_maps)")
        self.assertEqual(incoming_all(inst), [])

    # -- qmgr wake-up ---------------------------------------------------

    def test_wakes_qmgr(self):
        inst = self.instance()
        fifo = os.path.join(inst.queue, "public", "qmgr")
        os.mkfifo(fifo, 0o600)
        owner = pwd.getpwnam("postern")
        os.chown(fifo, owner.pw_uid, owner.pw_gid)
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self.queued(inst, self.submit(inst, b"S: s\n\nb\n"))
            got = wait_for(lambda: _read_nb(rfd), 5, what="a wake-up byte")
            self.assertEqual(got, b"W")
            self.queued(inst, self.submit(inst, b"S: s\n\nb\n"))
            self.assertEqual(wait_for(lambda: _read_nb(rfd), 5, what="a second one"), b"W")
        finally:
            os.close(rfd)

    # -- resources and crashes -------------------------------------------

    def tmpfs_incoming(self, inst, size="4m"):
        path = os.path.join(inst.queue, "incoming")
        owner = pwd.getpwnam("postern")
        run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700,uid=%d,gid=%d"
             % (size, owner.pw_uid, owner.pw_gid), "tmpfs", path])
        self.addCleanup(lambda: run(["umount", "-l", path], check=False))
        return path

    def test_full_queue_file_system(self):
        holder = {}

        def mount(inst):
            holder["dir"] = self.tmpfs_incoming(inst)
        # Default queue_minfree: 1.5 x message_size_limit (10 MB) > 4 MB.
        inst = self.instance(before_start=mount)
        r = self.submit(inst, b"Subject: s\n\nb\n")
        self.assertEqual((r["status"], r["reason"]), (4, "4.3.1 Insufficient system storage"))
        self.assertEqual(incoming_all(inst), [])
        inst.wait_log("NOQUEUE: not queued:")

    def test_disk_full_during_the_write(self):
        holder = {}

        def mount(inst):
            holder["dir"] = self.tmpfs_incoming(inst)
            inst.set_main({"queue_minfree": "1", "message_size_limit": "0"})
        inst = self.instance(before_start=mount)
        d = holder["dir"]
        # Fill the file system to about 1 MB free (a dot file: not a queue file).
        vfs = os.statvfs(d)
        free = vfs.f_bavail * vfs.f_frsize
        with open(os.path.join(d, ".fill"), "wb") as f:
            f.write(b"\0" * (free - (1 << 20)))
        vfs = os.statvfs(d)
        free = vfs.f_bavail * vfs.f_frsize
        # Passes the free-space check (free >= 1 + length) but the queue
        # file (headers added, records) does not fit.
        length = free - 300
        body = b"Subject: fill\n\n" + (b"y" * 99 + b"\n") * (length // 100)
        body += b"z" * (length - len(body))
        r = self.submit(inst, body)
        self.assertEqual((r["status"], r["reason"]), (4, "4.3.1 Insufficient system storage"), r)
        self.assertEqual(incoming_all(inst), [".fill"])
        inst.wait_log("the queue file system is full")
        # Room again: mail flows again.
        os.unlink(os.path.join(d, ".fill"))
        self.queued(inst, self.submit(inst, b"S: s\n\nb\n"))

    def test_kill_after_reply_leaves_a_valid_file(self):
        inst = self.instance()
        r = self.submit(inst, b"Subject: durable\n\n" + b"data\n" * 1000)
        for pid in cleanup_pids(inst):
            os.kill(pid, signal.SIGKILL)
        qf = self.queued(inst, r)
        self.assertEqual(qf.body, b"data\n" * 1000)
        p = postcat(os.path.join(inst.queue, "incoming", r["queue_id"]))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_kill_during_the_write_leaves_no_queue_file(self):
        inst = self.instance(main_cf={"message_size_limit": "0"})
        size = 64 << 20
        content = b"Subject: big\n\n" + (b"x" * 1023 + b"\n") * (size // 1024)
        fd = content_file(content, directory=inst.dir)
        result = {}

        def client():
            sock = connect(os.path.join(inst.queue, "private", "cleanup"), 60)
            try:
                send(sock, CLEANUP_REQ_SUBMIT,
                     submit_records("a@b.org", ["c@d.org"], len(content)), fd)
                result["reply"] = reply_dict(recv(sock))
            except (EOFError, OSError) as e:
                result["error"] = e
            finally:
                sock.close()

        t = threading.Thread(target=client)
        t.start()
        # Catch cleanup while its temporary file exists, and freeze it.
        inc = os.path.join(inst.queue, "incoming")
        end = time.monotonic() + 30
        tmp = None
        while tmp is None and time.monotonic() < end and t.is_alive():
            for name in os.listdir(inc):
                if name.startswith(".tmp-"):
                    tmp = name
                    break
        self.assertIsNotNone(tmp, "never saw the temporary file (result %r)" % result)
        pid = int(tmp.split("-")[1])
        os.kill(pid, signal.SIGSTOP)
        names = os.listdir(inc)
        # Before the reply, nothing carries a queue ID.
        self.assertEqual([x for x in names if QID.match(x)], [], names)
        os.kill(pid, signal.SIGKILL)
        t.join(30)
        os.close(fd)
        self.assertNotIn("reply", result, "a reply came from a killed cleanup")
        names = os.listdir(inc)
        self.assertEqual([x for x in names if QID.match(x)], [], names)
        # The next cleanup process removes what the killed one left, at
        # its start, when kill(PID, 0) says the process is gone: only once
        # the master has reaped it (a zombie still "exists"), and a busy
        # master may start the next process first.
        inst.wait_log("pid %d killed by signal %d" % (pid, signal.SIGKILL))
        self.queued(inst, self.submit(inst, b"S: s\n\nb\n"))
        self.assertNotIn(tmp, os.listdir(inc))
        inst.wait_log("removed incomplete file incoming/%s" % tmp)

    # -- postcat -----------------------------------------------------------

    def test_postcat_shows_and_rejects(self):
        inst = self.instance()
        r = self.submit(inst, b"Subject: cat me\n\nthe body\n",
                        rcpts=[("bob@example.com", "rfc822;bob@example.com", "SUCCESS")])
        qid = r["queue_id"]
        path = os.path.join(inst.queue, "incoming", qid)
        p = postcat(path)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        name = "incoming/" + qid
        for line in ("*** ENVELOPE RECORDS %s ***" % name, "queue_id: " + qid,
                     "sender: alice@example.org", "recipient: bob@example.com",
                     "original_recipient: rfc822;bob@example.com", "notify: SUCCESS",
                     "named_attribute: client_addr=192.0.2.7",
                     "*** MESSAGE CONTENTS %s ***" % name,
                     "*** HEADER EXTRACTED %s ***" % name,
                     "*** MESSAGE FILE END %s ***" % name):
            self.assertIn(line + "\n", out)
        self.assertIn("\nSubject: cat me\n", out)
        self.assertIn("\n\nthe body\n*** HEADER EXTRACTED", out)
        self.assertRegex(out, r"message_arrival_time: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n")
        # -h and -b: the sections alone, no markers.
        self.assertTrue(postcat("-h", path).stdout.decode().startswith("Received: "))
        self.assertEqual(postcat("-b", path).stdout, b"the body\n")
        # -q finds it by queue ID in the instance's queue.
        p = postcat("-c", inst.etc, "-q", qid)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode(), out)
        p = postcat("-c", inst.etc, "-q", "0000000000000ZZ")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such message", p.stderr.decode())
        p = postcat("-c", inst.etc, "-q", "../../etc/passwd")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a queue ID", p.stderr.decode())

        # A corrupted copy: reported with the reason, nothing printed.
        with open(path, "rb") as f:
            orig = f.read()
        data = bytearray(orig)
        bad = os.path.join(inst.dir, qid)
        data[0] = ord("X")                      # not the V record
        with open(bad, "wb") as f:
            f.write(data)
        p = postcat(bad)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        self.assertIn("malformed queue file", p.stderr.decode())
        # Cut short inside the core section.
        with open(bad, "wb") as f:
            f.write(orig[:len(orig) // 2])
        p = postcat(bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn("malformed queue file", p.stderr.decode())
        # A file whose name says another queue ID.
        other = os.path.join(inst.dir, "0000000000000ZZ")
        with open(other, "wb") as f:
            f.write(orig)
        p = postcat(other)
        self.assertEqual(p.returncode, 1)
        self.assertIn("malformed queue file", p.stderr.decode())
        p = postcat(os.path.join(inst.dir, "nonexistent"))
        self.assertEqual(p.returncode, 1)


def _read_nb(fd):
    try:
        return os.read(fd, 1)
    except BlockingIOError:
        return b""


if __name__ == "__main__":
    main()
