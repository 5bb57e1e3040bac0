"""test_durability - "never loses a message it accepted", under load and
kill -9.

Four SMTP clients send messages, each with its own Message-ID, to one
local user's Maildir, retrying a message until it gets "250" (a lost
connection or a 4xx means "try again"), for as long as the killing goes
on and at least PER_CLIENT each.  Meanwhile daemons are killed with
SIGKILL, in turn, ROUNDS times over: smtpd, cleanup, qmgr, local,
lookup.  master replaces them.  Afterwards every Message-ID that ever got "250"
must be in the Maildir (at least once: a message whose "250" was lost
with its connection may come twice, which is the promise), no file may be
half written, and nothing that was never sent may appear.
"""

import email
import os
import signal
import smtplib
import threading
import time
import unittest

from harness import Instance, main, wait_for
from delivery_util import flush, maildir_files

CLIENTS = 4
PER_CLIENT = 40
ROUNDS = 3
ROLES = ["smtpd", "cleanup", "qmgr", "local", "lookup"]


class DurabilityTest(unittest.TestCase):

    def test_kill_9_under_load_loses_nothing(self):
        inst = Instance(self, main_cf={
            "home_mailbox": "Maildir/",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
        })
        user, uid, gid, home = inst.add_user()
        inst.start()
        rcpt = "%s@localhost" % user
        acked = set()
        sent = set()
        lock = threading.Lock()
        stop_killing = threading.Event()
        errors = []

        def client(n):
            i = -1
            while i + 1 < PER_CLIENT or not stop_killing.is_set():
                i += 1
                mid = "<chaos-%d-%d@test.example>" % (n, i)
                body = ("From: c%d@example.org\r\nTo: %s\r\nSubject: chaos %d %d\r\n"
                        "Message-ID: %s\r\n\r\n%s\r\n" % (n, rcpt, n, i, mid,
                                                         "payload line\r\n" * (1 + i % 40)))
                with lock:
                    sent.add(mid)
                deadline = time.monotonic() + 120
                while True:
                    try:
                        with smtplib.SMTP("127.0.0.1", inst.port, timeout=20) as s:
                            s.sendmail("c%d@example.org" % n, [rcpt], body.encode())
                        with lock:
                            acked.add(mid)
                        break
                    except (smtplib.SMTPException, OSError):
                        if time.monotonic() > deadline:
                            errors.append("%s: no 250 within 120 s" % mid)
                            return
                        time.sleep(0.1)

        kills = []

        def killer():
            time.sleep(0.3)
            for role in ROLES * ROUNDS:
                time.sleep(0.3)
                try:
                    pids = [int(r["pid"]) for r in inst.procs(role)]
                except Exception:
                    continue
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        kills.append(role)
                    except ProcessLookupError:
                        pass
            stop_killing.set()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        k = threading.Thread(target=killer)
        for t in threads:
            t.start()
        k.start()
        k.join(120)
        stop_killing.set()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [], inst.log()[-3000:])
        self.assertEqual(acked, sent)
        self.assertEqual(set(kills), set(ROLES), "kills: %r" % kills)

        def delivered():
            ids = []
            for path in maildir_files(home):
                with open(path, "rb") as f:
                    msg = email.message_from_binary_file(f)
                ids.append(msg["Message-ID"])
            return ids

        def all_there():
            flush(inst)
            return acked <= set(delivered())

        wait_for(all_there, 120, what="every acknowledged message in the Maildir")
        ids = delivered()
        self.assertLessEqual(set(ids), sent, "a message that was never sent")
        for path in maildir_files(home):
            with open(path, "rb") as f:
                data = f.read()
            self.assertTrue(data.rstrip().endswith(b"payload line"),
                            "a half-written message: %s" % path)
        print("\n%d acknowledged, %d files (%d duplicates), %d kills: %s"
              % (len(acked), len(ids), len(ids) - len(set(ids)), len(kills),
                 ", ".join("%s %d" % (r, kills.count(r)) for r in ROLES)))


if __name__ == "__main__":
    main()
