"""test_lookup - the lookup service end to end, on real instances.

The instances run lookup (and cleanup) only.  The test talks to
queue/private/lookup with the IPC wire format (ipc_util.LookupClient),
as the chrooted daemons do.
"""

import os
import pwd
import signal
import unittest

from harness import BIN, Instance, main, proc_info, run, wait_for
from ipc_util import LOOKUP_REQ_GET, LookupClient, connect, recv, reply_dict, s, send

LOOKUP_REQ_ADDR = 0x0103

MASTER = """\
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
"""

FOUND, NOTFOUND, TEMP = 0, 1, 2


def lookup_pids(inst):
    pids = []
    for pid in inst.instance_pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv0 = f.read().split(b"\0")[0]
        except OSError:
            continue
        if os.path.basename(argv0) == b"lookup":
            pids.append(pid)
    return pids


def closed(sock):
    """True when the server closed the connection."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


class LookupTest(unittest.TestCase):

    def instance(self, main_cf=None):
        inst = Instance(self, master_cf=MASTER, main_cf=main_cf)
        inst.start()
        return inst

    def client(self, inst):
        c = LookupClient(inst.queue)
        self.addCleanup(c.close)
        return c

    def test_aliases_users_and_privilege(self):
        inst = self.instance()
        c = self.client(inst)
        # postern init's aliases: postmaster: root.
        self.assertEqual(c.get("alias_maps", "postmaster"), (FOUND, "root"))
        self.assertEqual(c.get("alias_maps", "POSTMASTER"), (FOUND, "root"))
        self.assertEqual(c.get("alias_maps", "nobody-here"), (NOTFOUND, ""))
        # local_recipient_maps = unix:passwd.byname $alias_maps
        status, value = c.get("local_recipient_maps", "root")
        self.assertEqual(status, FOUND)
        self.assertTrue(value.startswith("root:x:0:0:"), value)
        self.assertEqual(c.get("local_recipient_maps", "postmaster"), (FOUND, "root"))
        self.assertEqual(c.get("local_recipient_maps", "no-such-user-xyz")[0], NOTFOUND)
        # Empty parameters have no tables.
        self.assertEqual(c.get("virtual_alias_maps", "a@b"), (NOTFOUND, ""))
        # Unprivileged, not chrooted (it reads tables and the user database).
        pid, = lookup_pids(inst)
        owner = pwd.getpwnam("postern")
        uid, gid, root = proc_info(pid)
        self.assertEqual((uid, gid, root), (owner.pw_uid, owner.pw_gid, "/"))

    def test_new_alias_is_found_at_once(self):
        inst = self.instance({"lookup_reopen_check_time": "0"})
        # The master also notices the new table (once a second) and rolls
        # the services over; should that land between postalias and the
        # query, the connection is gone and the round is tried again.
        for attempt in range(3):
            c = self.client(inst)
            pid, = wait_for(lambda: lookup_pids(inst) if len(lookup_pids(inst)) == 1
                            else None, 10, what="one lookup process")
            name = "newbie%d" % attempt
            self.assertEqual(c.get("alias_maps", name)[0], NOTFOUND)
            with open(os.path.join(inst.etc, "aliases"), "a") as f:
                f.write("%s: root, other@example.org\n" % name)
            run([os.path.join(BIN, "postalias"), "-c", inst.etc,
                 "hash:" + os.path.join(inst.etc, "aliases")])
            try:
                got = c.get("alias_maps", name)
            except (EOFError, OSError):
                continue
            # Same connection, so the same process: no reload was needed.
            self.assertEqual(got, (FOUND, "root, other@example.org"))
            return
        self.fail("the lookup connection was closed three times in a row")

    def test_address_request(self):
        """LOOKUP_REQ_ADDR: the service tries the address's keys itself."""
        inst = self.instance({"recipient_delimiter": "+"})
        path = os.path.join(inst.queue, "private", "lookup")
        sock = connect(path)
        self.addCleanup(sock.close)

        def addr(param, address, kname="address"):
            send(sock, LOOKUP_REQ_ADDR, [s("param", param), s(kname, address)])
            d = reply_dict(recv(sock))
            return d["status"], d["value"]
        # root@localhost: not a key itself; "root" in a local domain is.
        status, value = addr("local_recipient_maps", "root@localhost")
        self.assertEqual(status, FOUND)
        self.assertTrue(value.startswith("root:x:0:0:"), value)
        # An alias with an extension: found without it, the extension kept.
        self.assertEqual(addr("local_recipient_maps", "postmaster+x@localhost"),
                         (FOUND, "root+x"))
        self.assertEqual(addr("alias_maps", "POSTMASTER@localhost"), (FOUND, "root"))
        self.assertEqual(addr("local_recipient_maps", "no-such-user-xyz@localhost")[0],
                         NOTFOUND)
        # The bare user is tried only in a local domain.
        self.assertEqual(addr("local_recipient_maps", "root@elsewhere.example")[0],
                         NOTFOUND)
        # A GET for the whole address does not find it: the keys are the point.
        send(sock, LOOKUP_REQ_GET, [s("param", "local_recipient_maps"),
                                    s("key", "root@localhost")])
        self.assertEqual(reply_dict(recv(sock))["status"], NOTFOUND)
        # The record is "address"; anything else drops the client.
        bad = connect(path)
        send(bad, LOOKUP_REQ_ADDR, [s("param", "alias_maps"), s("key", "root@localhost")])
        self.assertTrue(closed(bad))
        bad.close()
        bad = connect(path)
        send(bad, LOOKUP_REQ_ADDR, [s("param", "mynetworks"), s("address", "a@b")])
        self.assertTrue(closed(bad))
        bad.close()
        self.assertEqual(addr("alias_maps", "postmaster"), (FOUND, "root"))

    def test_missing_table_is_a_temporary_error(self):
        inst = self.instance({"virtual_alias_maps": "hash:" + os.path.join(
            "/nonexistent-dir", "virtual")})
        c = self.client(inst)
        # A table that cannot be opened: temporary errors, with the reason.
        status, value = c.get("virtual_alias_maps", "a@example.org")
        self.assertEqual(status, TEMP)
        self.assertIn("virtual", value)
        inst.wait_log("lookups of virtual_alias_maps fail with a temporary error")

    def test_postmap_rebuild_seen_within_check_time(self):

        inst = Instance(self, master_cf=MASTER)
        vpath = os.path.join(inst.etc, "virtual")
        with open(vpath, "w") as f:
            f.write("a@example.org b@example.net\n")
        run([os.path.join(BIN, "postmap"), "hash:" + vpath])
        inst.set_main({"virtual_alias_maps": "hash:" + vpath})
        inst.start()
        c = self.client(inst)
        self.assertEqual(c.get("virtual_alias_maps", "a@example.org"), (FOUND, "b@example.net"))
        with open(vpath, "w") as f:
            f.write("a@example.org changed@example.net\n")
        run([os.path.join(BIN, "postmap"), "hash:" + vpath])
        # Default lookup_reopen_check_time: 1 s.  The master may also roll
        # the services over: the client reconnects, as lookup_clnt does.
        def changed():
            nonlocal c
            try:
                return c.get("virtual_alias_maps", "a@example.org") == (FOUND, "changed@example.net")
            except (EOFError, OSError):
                c = LookupClient(inst.queue)
                self.addCleanup(c.close)
                return False
        wait_for(changed, 5, what="the rebuilt table")

    def test_bad_requests_drop_only_that_client(self):
        inst = self.instance()
        good = self.client(inst)
        path = os.path.join(inst.queue, "private", "lookup")
        # A parameter that is not a served table list.
        bad = connect(path)
        send(bad, LOOKUP_REQ_GET, [s("param", "mynetworks"), s("key", "x")])
        self.assertTrue(closed(bad))
        bad.close()
        # A table spec instead of a parameter.
        bad = connect(path)
        send(bad, LOOKUP_REQ_GET, [s("param", "hash:/etc/shadow"), s("key", "root")])
        self.assertTrue(closed(bad))
        bad.close()
        # A missing key, an unknown type, garbage.
        bad = connect(path)
        send(bad, LOOKUP_REQ_GET, [s("param", "alias_maps")])
        self.assertTrue(closed(bad))
        bad.close()
        bad = connect(path)
        send(bad, 0x0777, [s("param", "alias_maps"), s("key", "x")])
        self.assertTrue(closed(bad))
        bad.close()
        bad = connect(path)
        bad.sendall(b"GET /etc/passwd HTTP/1.0\r\n\r\n")
        self.assertTrue(closed(bad))
        bad.close()
        # A key over 1,024 bytes.
        bad = connect(path)
        send(bad, LOOKUP_REQ_GET, [s("param", "alias_maps"), s("key", "k" * 1025)])
        self.assertTrue(closed(bad))
        bad.close()
        self.assertEqual(good.get("alias_maps", "k" * 1024), (NOTFOUND, ""))
        # The well-behaved client was never disturbed.
        self.assertEqual(good.get("alias_maps", "postmaster"), (FOUND, "root"))
        inst.wait_log("lookup: dropping a client: request for parameter \"mynetworks\"")

    def test_many_clients_and_pipelining(self):
        inst = self.instance()
        clients = [LookupClient(inst.queue) for _ in range(50)]
        try:
            for c in clients:
                send(c.sock, LOOKUP_REQ_GET, [s("param", "alias_maps"), s("key", "postmaster")])
                send(c.sock, LOOKUP_REQ_GET, [s("param", "alias_maps"), s("key", "nobody-x")])
            for c in clients:
                self.assertEqual(recv(c.sock)[1][0][2], FOUND)
                self.assertEqual(recv(c.sock)[1][0][2], NOTFOUND)
        finally:
            for c in clients:
                c.close()

    def test_stop_closes_clients(self):
        inst = self.instance()
        c = self.client(inst)
        self.assertEqual(c.get("alias_maps", "postmaster")[0], FOUND)
        pid, = lookup_pids(inst)
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(closed(c.sock))
        wait_for(lambda: pid not in lookup_pids(inst), 10, what="lookup to exit")


if __name__ == "__main__":
    main()
