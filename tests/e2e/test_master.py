"""End-to-end tests of the master and `postern`: privilege, supervision,
throttling, wedge detection, reload without quiescing, stop and abort.

The services here are the small test service (tests/testsvc) on the real
skeleton, plus the real daemons where they matter; the instance is real:
master as root, children chrooted and unprivileged.
"""

import math
import os
import pwd
import re
import signal
import socket
import time
import unittest

from harness import Instance, main, proc_info, run, wait_for, free_port, BIN

ECHO_MASTER = """\
127.0.0.1:PORT inet n - y - - testsvc
echo unix - - y - - testsvc
"""


def hello(port, timeout=10):
    """Connect to the echo service; return (socket, pid, generation, uid)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")
    line = f.readline().decode()
    m = re.match(r"testsvc pid=(\d+) generation=(\d+) uid=(\d+)", line)
    if not m:
        raise AssertionError("unexpected greeting %r" % line)
    return s, f, int(m.group(1)), int(m.group(2)), int(m.group(3))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


class MasterTest(unittest.TestCase):

    def instance(self, master=ECHO_MASTER, main_cf=None):
        inst = Instance(self, master_cf=master, extra_libexec=["testsvc"], main_cf=main_cf)
        return inst

    def test_master_environment_taken_and_cleared(self):
        """The skeleton removes POSTERN_CONFIG_FD and the rest of what the
        master passed once it has used them: the configuration snapshot's
        descriptor is closed and its number reused, and a later getenv()
        must not find it."""
        inst = self.instance()
        inst.start()
        s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
        try:
            line = s.makefile("rb").readline().decode()
        finally:
            s.close()
        m = re.search(r" env=(\S+)$", line.strip())
        self.assertIsNotNone(m, "greeting without env=: %r" % line)
        self.assertEqual(m.group(1), "-", "left in the environment: %s" % m.group(1))

    def test_privileges_from_proc_and_status(self):
        inst = self.instance()
        inst.start()
        s, f, pid, gen, uid = hello(inst.port)
        owner = pwd.getpwnam("postern")
        cuid, cgid, root = proc_info(pid)
        self.assertEqual((cuid, cgid), (owner.pw_uid, owner.pw_gid))
        self.assertEqual(root, inst.queue)
        self.assertEqual(uid, owner.pw_uid)
        mpid = inst.master_pid()
        self.assertEqual(proc_info(mpid), (0, 0, "/"))
        rows = inst.status()
        self.assertEqual(rows[0]["role"], "master")
        mine = [r for r in rows if r["pid"] == str(pid)]
        self.assertEqual(len(mine), 1, rows)
        self.assertEqual(mine[0]["uid"], str(owner.pw_uid))
        self.assertEqual(mine[0]["root"], inst.queue)
        self.assertEqual(mine[0]["state"], "busy")
        s.close()

    def test_killed_daemon_is_replaced(self):
        inst = self.instance()
        inst.start()
        s, f, pid, gen, uid = hello(inst.port)
        os.kill(pid, signal.SIGKILL)
        s.close()
        wait_for(lambda: not pid_alive(pid), what="killed child to go")
        s2, f2, pid2, gen2, uid2 = hello(inst.port)
        self.assertNotEqual(pid, pid2)
        s2.sendall(b"ping\n")
        self.assertEqual(f2.readline(), b"ping\n")
        s2.close()

    def test_crashing_daemon_is_throttled(self):
        port2 = free_port()
        inst = self.instance(ECHO_MASTER + "127.0.0.1:%d inet n - y - - testsvc crash\n" % port2)
        inst.start()
        # A waiting client keeps the listener readable, so the master keeps
        # trying to start the crashing service.
        t0 = time.monotonic()
        c = socket.create_connection(("127.0.0.1", port2))
        wait_for(lambda: inst.log().count("crashing on purpose") >= 4, 60,
                 what="four starts of the crashing service")
        elapsed = time.monotonic() - t0
        starts = inst.log().count("crashing on purpose")
        c.close()
        # Delays 1, 2, 4 s between the starts, each twice the last ...
        delays = [int(d) for d in re.findall(r"process exited abnormally \(\d+ in a row\) "
                                             r"-- throttling restarts for (\d+) s", inst.log())]
        self.assertEqual(delays[:3], [1, 2, 4], inst.log()[-2000:])
        # ... and never a storm: start k comes 2^(k-1) - 1 s after the
        # first at the earliest, so in `elapsed` seconds there can be at
        # most 1 + log2(elapsed + 1) starts (one more for the start that
        # may be under way).  A slow machine makes fewer, never more.
        allowed = 2 + int(math.log2(elapsed + 1))
        self.assertLessEqual(starts, allowed, "%d starts in %.1f s%s"
                             % (starts, elapsed, inst.log()[-2000:]))

    def test_wedged_daemon_is_killed(self):
        inst = self.instance(main_cf={"daemon_wedge_time": "10s"})
        inst.start()
        s, f, pid, gen, uid = hello(inst.port)
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(lambda: not pid_alive(pid), timeout=25, what="wedged child killed")
        finally:
            s.close()
        self.assertIn("made no progress", inst.log())
        s2, f2, pid2, _, _ = hello(inst.port)
        self.assertNotEqual(pid2, pid)
        s2.close()

    def test_reload_keeps_held_session(self):
        inst = self.instance()
        inst.start()
        a, fa, pid_a, gen_a, _ = hello(inst.port)
        self.assertEqual(gen_a, 1)
        inst.set_main({"max_idle": "200s"})
        inst.postern("reload")
        # A new connection is served by the new generation at once.
        b, fb, pid_b, gen_b, _ = wait_for(lambda: _new_gen(inst.port, 2), what="generation 2")
        self.assertNotEqual(pid_a, pid_b)
        # The held session continues under its old process ...
        a.sendall(b"still here\n")
        self.assertEqual(fa.readline(), b"still here\n")
        self.assertTrue(pid_alive(pid_a))
        states = {r["pid"]: r["state"] for r in inst.status()}
        self.assertIn(states.get(str(pid_a)), ("stopping", "retiring"))
        # ... and the old process exits when its session ends.
        a.sendall(b"quit\n")
        a.close()
        wait_for(lambda: not pid_alive(pid_a), what="old process to exit")
        b.close()

    def test_table_change_rolls_generation(self):
        inst = self.instance()
        inst.start()
        a, fa, pid_a, gen_a, _ = hello(inst.port)
        with open(os.path.join(inst.etc, "aliases"), "a") as f:
            f.write("newname: root\n")
        run([os.path.join(BIN, "postalias"), "hash:" + os.path.join(inst.etc, "aliases")])
        b, fb, pid_b, gen_b, _ = wait_for(lambda: _new_gen(inst.port, 2), what="generation 2")
        self.assertIn("changed", inst.log())
        a.sendall(b"x\n")
        self.assertEqual(fa.readline(), b"x\n")
        a.close()
        b.close()

    def test_broken_main_cf_on_reload_keeps_running(self):
        inst = self.instance()
        inst.start()
        with open(os.path.join(inst.etc, "main.cf")) as f:
            nlines = len(f.read().splitlines())
        inst.set_main({"message_size_limit": "banana"})
        p = inst.postern("reload", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"line %d" % (nlines + 1), p.stderr)
        # The master itself refuses too, and says where.
        os.kill(inst.master_pid(), signal.SIGHUP)
        inst.wait_log("reload refused: ")
        self.assertRegex(inst.log(), r"main\.cf, line %d" % (nlines + 1))
        s, f, pid, gen, _ = hello(inst.port)
        self.assertEqual(gen, 1)
        s.close()

    def test_one_master_per_instance_and_stop(self):
        inst = self.instance()
        inst.start()
        p = inst.postern("start", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"already running", p.stderr)
        s, f, pid, _, _ = hello(inst.port)
        mpid = inst.master_pid()
        inst.stop()
        wait_for(lambda: not pid_alive(mpid), what="master to exit")
        wait_for(lambda: not pid_alive(pid), what="child to exit")
        self.assertEqual(inst.instance_pids(), [])
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", inst.port), timeout=2)

    def test_abort_stops_at_once(self):
        inst = self.instance()
        inst.start()
        s, f, pid, _, _ = hello(inst.port)
        t = time.monotonic()
        inst.postern("abort")
        self.assertLess(time.monotonic() - t, 5)
        self.assertFalse(pid_alive(pid))
        s.close()

    def test_check_reports_problems_and_start_refuses(self):
        inst = self.instance()
        p = inst.postern("check")
        self.assertIn(b"OK", p.stdout)
        os.chmod(os.path.join(inst.queue, "incoming"), 0o777)
        with open(os.path.join(inst.etc, "master.cf"), "a") as f:
            f.write("bogus unix - - y - - no-such-daemon\n")
        p = inst.postern("check", check=False)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertIn("incoming: mode 0777, want 0700", err)
        self.assertIn("no-such-daemon", err)
        p = inst.postern("start", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIsNone(inst.master_pid() if inst.instance_pids() else None)

    def test_check_inet_protocols_and_compat_warnings(self):
        inst = self.instance()
        inst.set_main({"inet_protocols": "ipx", "biff": "yes",
                       "resolver_servers": "127.0.0.1:99999",
                       "mynetworks": "127.0.0.0/8, 10.0.0.0/99",
                       "smtpd_client_event_limit_exceptions": "192.0.2.0/40",
                       "smtpd_forbid_bare_newline": "maybe"})
        p = inst.postern("check", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"inet_protocols = ipx", p.stderr)
        self.assertIn(b"resolver_servers = 127.0.0.1:99999", p.stderr)
        self.assertIn(b"biff = yes is not supported", p.stderr)
        # Values smtpd would refuse to start on are refused before it runs.
        self.assertIn(b'mynetworks = 127.0.0.0/8, 10.0.0.0/99: bad network "10.0.0.0/99"',
                      p.stderr)
        self.assertIn(b"smtpd_client_event_limit_exceptions = 192.0.2.0/40", p.stderr)
        self.assertIn(b"smtpd_forbid_bare_newline = maybe: want normalize or reject",
                      p.stderr)
        inst.set_main({"inet_protocols": "ipv4", "biff": "no", "resolver_servers": "",
                       "mynetworks": "127.0.0.0/8",
                       "smtpd_client_event_limit_exceptions": "$mynetworks",
                       "smtpd_forbid_bare_newline": "Reject"})
        p = inst.postern("check")
        self.assertNotIn(b"biff", p.stderr)


def _new_gen(port, gen):
    try:
        s, f, pid, g, uid = hello(port, timeout=2)
    except OSError:
        return None
    if g == gen:
        return s, f, pid, g, uid
    s.close()
    return None


if __name__ == "__main__":
    main()
