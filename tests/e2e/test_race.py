"""test_race - the root master against a hostile mail_owner, by racing.

Every chrooted daemon runs as mail_owner, and mail_owner owns private/
and public/, where the master creates the UNIX sockets and FIFOs of the
services.  A daemon taken over by an attacker may put anything there at
any moment.  The master (root) must never act by path on what it finds
there: it once bound a socket and then changed its owner and mode by
name, following a symbolic link swapped in between, so the attacker
could have any file on the system given to mail_owner or made mode 0666.

Here a racer (tests/testsvc/racer.c) runs as mail_owner and swaps every
socket and FIFO of the instance for a symbolic link to a root-owned
canary file, without pause, while the master is started, reloaded with
services that come and go, and stopped: at least 200 cycles.  The
canary's owner, mode and content must never change; after the racer
stops, the links it left behind must not keep the next start from
working, and every endpoint must then be what it should be.

Takes about 10 s (the racer spins on one core meanwhile).
"""

import os
import pwd
import re
import signal
import stat
import subprocess
import sys
import unittest

from harness import Instance, TESTLIBEXEC, main, wait_for

RACER = os.path.join(TESTLIBEXEC, "racer")
STARTS = 60
RELOADS_PER_START = 3

# Two sets of services the reloads alternate between, so that every
# reload creates endpoints (an unchanged one is kept, not created again).
# testsvc is started only on demand, so nothing else runs meanwhile.
SET_A = ["ra_pub_sock", "ra_priv_sock", "ra_pub_fifo", "ra_priv_fifo"]
SET_B = ["rb_pub_sock", "rb_priv_sock", "rb_pub_fifo", "rb_priv_fifo"]


def master_cf(names):
    lines = []
    for n in names:
        kind = "fifo" if n.endswith("fifo") else "unix"
        private = "-" if "_priv_" in n else "n"
        lines.append("%s %s %s - y - 1 testsvc" % (n, kind, private))
    return "\n".join(lines) + "\n"


def endpoint(inst, name):
    return os.path.join(inst.queue, "private" if "_priv_" in name else "public", name)


def want_mode(name):
    if "_priv_" in name:
        return 0o600
    return 0o622 if name.endswith("fifo") else 0o666


class RootNeverActsOnMailOwnerPaths(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(self, master_cf=master_cf(SET_A), extra_libexec=["testsvc"])
        self.owner = pwd.getpwnam("postern")
        self.canary = os.path.join(self.inst.dir, "canary")
        self.canary_text = ("root's canary %d\n" % os.getpid()).encode()
        with open(self.canary, "wb") as f:
            f.write(self.canary_text)
        os.chmod(self.canary, 0o600)
        self.canary_st = os.stat(self.canary)

    def check_canary(self, when):
        st = os.lstat(self.canary)
        with open(self.canary, "rb") as f:
            text = f.read()
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), text),
                         (0, 0, 0o600, self.canary_text),
                         "the root-owned canary changed %s: uid %d gid %d mode %o "
                         "content %r" % (when, st.st_uid, st.st_gid,
                                         stat.S_IMODE(st.st_mode), text))

    def as_owner(self):
        os.setgroups([])
        os.setgid(self.owner.pw_gid)
        os.setuid(self.owner.pw_uid)

    def stop(self):
        """SIGTERM to the master; done when it has removed its pid file.

        (postern stop also waits for the process to be reaped, which
        here is up to whoever adopted it.)"""
        pid = self.inst.master_pid()
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: self.inst.master_pid() is None, 15, what="the master to stop")

    def reload_to(self, names):
        """True when the master took the new generation.

        postern reload waits for the master's answer; the racer may
        win a name for a moment, and then the reload is refused and the
        running generation stays."""
        self.inst.write_master(master_cf(names))
        return self.inst.postern("reload", check=False).returncode == 0

    def test_racer_during_starts_and_reloads(self):
        inst = self.inst
        paths = [endpoint(inst, n) for n in SET_A + SET_B]
        racer = inst.spawn([RACER, self.canary] + paths, preexec_fn=self.as_owner,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        starts_ok = reloads_ok = cycles = 0
        for i in range(2 * STARTS):
            if starts_ok >= STARTS:
                break
            inst.write_master(master_cf(SET_A))
            p = inst.postern("start", check=False)
            cycles += 1
            self.check_canary("after start %d" % i)
            if p.returncode != 0:
                # The racer may win a name for a moment: a refused start,
                # never a changed canary.
                continue
            starts_ok += 1
            for k in range(RELOADS_PER_START):
                reloads_ok += self.reload_to(SET_B if k % 2 == 0 else SET_A)
                cycles += 1
                self.check_canary("after reload %d of start %d" % (k, i))
            self.stop()
            self.check_canary("after stop %d" % i)
        racer.send_signal(signal.SIGTERM)
        out, err = racer.communicate(timeout=10)
        counts = dict(re.findall(r"(\w+)=(\d+)", out.decode()))
        sys.stderr.write("race: %d cycles (%d starts and %d reloads taken, %d refused "
                         "while the racer held a name), racer: %s\n"
                         % (cycles, starts_ok, reloads_ok,
                            cycles - starts_ok - reloads_ok, out.decode().strip()))
        self.assertGreaterEqual(cycles, 200)
        self.assertGreater(int(counts.get("swaps", 0)), 0,
                           "the racer never swapped an endpoint: %r %r" % (out, err))
        self.assertEqual(starts_ok, STARTS, "most starts must succeed while the racer "
                         "runs: %d of %d attempts did" % (starts_ok, i + 1))
        self.assertGreater(reloads_ok, STARTS * RELOADS_PER_START // 2,
                           "most reloads must succeed while the racer runs")
        self.check_canary("after the race")

        # What the racer left (links to the canary, in both sets) must not
        # stop the next start; every endpoint is then what it should be.
        for path in paths:
            if not os.path.lexists(path):
                os.symlink(self.canary, path)
                os.lchown(path, self.owner.pw_uid, self.owner.pw_gid)
        inst.write_master(master_cf(SET_A + SET_B))
        inst.start()
        self.check_canary("after the start with stale links")
        for n in SET_A + SET_B:
            st = os.lstat(endpoint(inst, n))
            kind = stat.S_ISFIFO if n.endswith("fifo") else stat.S_ISSOCK
            self.assertTrue(kind(st.st_mode), "%s is not a %s: mode %o"
                            % (n, "FIFO" if n.endswith("fifo") else "socket", st.st_mode))
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                             (self.owner.pw_uid, want_mode(n)), n)


if __name__ == "__main__":
    main()
