"""test_slow_lookup - a slow table lookup holds up only its own session.

smtpd asks the lookup service about every local recipient.  Here the
lookup service is played by the test (a socket at private/lookup that
speaks the IPC protocol), which holds back its answer about one address
until the test lets it go: while one session waits for that answer,
another session completes a whole message on the same smtpd process.
Nothing is timed: the order of events is what is checked.
"""

import os
import select
import socket
import threading
import unittest

from harness import Instance, main, wait_for
from ipc_util import encode, n, recv, s

LOOKUP_REP = 0x0102
LOOKUP_REQ_ADDR = 0x0103

MASTER = """\
127.0.0.1:PORT inet n - y - 1 smtpd
cleanup unix - - y - 0 cleanup
"""


class FakeLookup:
    """private/lookup: "fast..." found at once, "slow..." found when
    released, anything else not found; one thread per connection."""

    def __init__(self, test, path):
        self.release = threading.Event()
        self.slow_seen = threading.Event()
        self.asked = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        self.stop = False
        t = threading.Thread(target=self.accept, daemon=True)
        t.start()
        test.addCleanup(self.close)

    def close(self):
        self.stop = True
        self.release.set()
        self.sock.close()

    def accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        with c:
            while True:
                try:
                    mtype, recs = recv(c)
                except (EOFError, OSError):
                    return
                d = {name: v.decode() for kind, name, v in recs if kind == "s"}
                addr = d.get("address", d.get("key", ""))
                self.asked.append(addr)
                if addr.startswith("slow"):
                    self.slow_seen.set()
                    self.release.wait(60)
                found = addr.startswith("slow") or addr.startswith("fast")
                c.sendall(encode(LOOKUP_REP, [n("status", 0 if found else 1),
                                              s("value", "x" if found else "")]))


def readable(sock):
    return bool(select.select([sock], [], [], 0)[0])


class SlowLookupTest(unittest.TestCase):

    def test_one_slow_lookup_stalls_only_its_session(self):
        inst = Instance(self, master_cf=MASTER)
        inst.start()
        fake = FakeLookup(self, os.path.join(inst.queue, "private", "lookup"))

        slow = inst.smtp()
        self.addCleanup(slow.close)
        slow.ehlo("slow.example")
        self.assertEqual(slow.mail("a@example.org")[0], 250)
        slow.putcmd("rcpt", "TO:<slow@localhost>")
        self.assertTrue(fake.slow_seen.wait(30), "the slow lookup never came")

        # Another session on the same smtpd process goes all the way.
        fast = inst.smtp()
        self.addCleanup(fast.close)
        fast.ehlo("fast.example")
        self.assertEqual(fast.mail("b@example.org")[0], 250)
        self.assertEqual(fast.rcpt("fast@localhost")[0], 250)
        self.assertEqual(fast.rcpt("nobody@localhost")[0], 550)
        code, text = fast.data(b"Subject: fast\r\n\r\nfast\r\n")
        self.assertEqual(code, 250, text)
        self.assertIn(b"queued as", text)
        fast.quit()
        # ... while the first still has no answer to its RCPT.
        self.assertFalse(readable(slow.sock), "the slow session got a reply early")

        fake.release.set()
        code, text = slow.getreply()
        self.assertEqual(code, 250, text)
        code, text = slow.data(b"Subject: slow\r\n\r\nslow\r\n")
        self.assertEqual(code, 250, text)
        slow.quit()
        wait_for(lambda: len(inst.queue_files("incoming")) + len(inst.queue_files("active"))
                 + len(inst.queue_files("deferred")) >= 2, 10,
                 what="both messages queued")
        self.assertIn("slow@localhost", fake.asked)
        self.assertIn("fast@localhost", fake.asked)


if __name__ == "__main__":
    main()
