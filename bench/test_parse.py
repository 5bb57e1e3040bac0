#!/usr/bin/python3
"""test_parse - smoke test of the harness's own parsing (no timing).

    python3 bench/test_parse.py

Checks the parsers of /proc files, cgroup statistics, inotify records,
smtp-sink and diskprobe output, strace -ff files, SMTP replies and the
median/cell logic of the report, on fixed inputs.  Runs as any user and
starts nothing.
"""

import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import idle_client  # noqa: E402
import load         # noqa: E402
import measure      # noqa: E402
import report       # noqa: E402


class ProcTest(unittest.TestCase):
    def test_stat_with_odd_comm(self):
        # comm may contain spaces and ')'.
        line = ("1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 "
                "250 130 40 60 20 0 1 0 100 1000 200 18446744073709551615\n")
        comm, ppid, ut, st, cut, cst = measure.parse_proc_stat(line)
        self.assertEqual(comm, "a) b (c")
        self.assertEqual(ppid, 1)
        tck = measure.CLK_TCK
        self.assertAlmostEqual(ut, 250 / tck)
        self.assertAlmostEqual(st, 130 / tck)
        self.assertAlmostEqual(cut, 40 / tck)
        self.assertAlmostEqual(cst, 60 / tck)

    def test_smaps_rollup(self):
        text = ("55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:  4096 kB\n"
                "Pss:  1234 kB\nPss_Anon: 1000 kB\n")
        self.assertEqual(measure.parse_smaps_rollup(text), 1234 * 1024)
        self.assertEqual(measure.parse_smaps_rollup(""), 0)

    def test_cpu_stat(self):
        st = measure.parse_cpu_stat("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
                                    "nr_periods 0\nbogus line here\n")
        self.assertEqual(st["user_usec"], 1000)
        self.assertEqual(st["system_usec"], 500)
        self.assertNotIn("bogus", st)

    def test_proc_stat_cpu_line(self):
        tck = measure.CLK_TCK
        line = "cpu  100 5 50 9999 7 3 2 1 40 0\n"	# guest (40) is inside user
        self.assertAlmostEqual(measure.parse_proc_stat_cpu(line), (100 + 5 + 50 + 3 + 2 + 1) / tck)
        self.assertAlmostEqual(measure.parse_proc_stat_cpu("cpu 1 2 3 4\n"), 6 / tck)
        with self.assertRaises(ValueError):
            measure.parse_proc_stat_cpu("cpu0 1 2 3 4\n")

    def test_cpu_delta_master_gets_the_rest(self):
        a = {"total": (1.0, 2.0), "daemons": {"smtpd": (0.5, 0.5)}}
        b = {"total": (3.0, 5.0), "daemons": {"smtpd": (1.5, 2.0), "local": (0.5, 0.5)}}
        d = measure.Accountant.cpu_delta(a, b)
        self.assertAlmostEqual(d["total"], 5.0)
        self.assertAlmostEqual(d["daemons"]["smtpd"]["user"], 1.0)
        self.assertAlmostEqual(d["daemons"]["local"]["sys"], 0.5)
        self.assertAlmostEqual(d["daemons"]["master+spawn"]["user"], 0.5)
        self.assertAlmostEqual(d["daemons"]["master+spawn"]["sys"], 1.0)


class InotifyTest(unittest.TestCase):
    def ev(self, mask, name=b""):
        pad = (len(name) + 15) // 16 * 16 if name else 0
        return struct.pack("iIII", 1, mask, 0, pad) + name.ljust(pad, b"\0")

    def test_counts_create_and_moved_to(self):
        data = (self.ev(measure.IN_CREATE, b"1.M1") + self.ev(measure.IN_MOVED_TO, b"2")
                + self.ev(0x2, b"modified"))
        self.assertEqual(measure.parse_inotify(data), (2, False))

    def test_overflow(self):
        self.assertEqual(measure.parse_inotify(self.ev(measure.IN_Q_OVERFLOW)), (0, True))

    def test_truncated_tail_ignored(self):
        self.assertEqual(measure.parse_inotify(self.ev(measure.IN_CREATE, b"x")[:10]), (0, False))

    def test_counter_on_a_real_directory(self):
        with tempfile.TemporaryDirectory() as d:
            c = measure.MaildirCounter(d)
            for i in range(5):
                open(os.path.join(d, "f%d" % i), "w").close()
            os.rename(os.path.join(d, "f0"), os.path.join(d, "g0"))
            n = 0
            for _ in range(20):
                n = c.poll(0.05)
                if n >= 6:
                    break
            c.close()
            self.assertEqual(n, 6)		# 5 creates + 1 rename into it
            self.assertEqual(measure.count_files(d), 5)


class OutputParsers(unittest.TestCase):
    def test_sink_counter(self):
        text = "\rsess=1 quit=1 mesg=1\rsess=2 quit=2 mesg=27\rsess=3 quit=2 mesg=28"
        self.assertEqual(load.parse_sink_count(text), 28)
        self.assertEqual(load.parse_sink_count(""), 0)

    def test_diskprobe(self):
        r = load.parse_diskprobe("ops=4642 seconds=3.001 threads=1 size=4096 dirsync=0 "
                                 "rate=1547.1\n")
        self.assertEqual(r["ops"], 4642)
        self.assertEqual(r["threads"], 1)
        self.assertAlmostEqual(r["rate"], 1547.1)

    def test_strace_file(self):
        text = "\n".join([
            'execve("/x/usr/lib/postfix/sbin/smtpd", ["smtpd", "-n"], 0x7ff /* 3 vars */) = 0',
            'read(3, "abc", 4096)                  = 3',
            'read(3, "", 4096)                     = 0',
            'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, '
            'child_tidptr=0x7f) = 4321',
            'epoll_wait(5,  <unfinished ...>) = ?',
            '<... epoll_wait resumed>[], 1, 100) = 0',
            '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---',
            '+++ exited with 0 +++',
        ])
        p = load.parse_strace_file(text)
        self.assertEqual(p["exec"], "smtpd")
        self.assertEqual(p["children"], [4321])
        self.assertEqual(p["calls"], {"execve": 1, "read": 2, "clone": 1, "epoll_wait": 1})

    def test_strace_summary_names(self):
        with tempfile.TemporaryDirectory() as d:
            files = {}
            texts = {
                10: 'clone3({flags=CLONE_VM, exit_signal=SIGCHLD}, 88) = 11\nwrite(1, "x", 1) = 1\n',
                11: 'execve("/b/libexec/local", ["local"], 0x1) = 0\n'
                    'clone(child_stack=NULL, flags=SIGCHLD) = 12\n',
                12: 'openat(AT_FDCWD, "m", O_WRONLY) = 3\nfsync(3) = 0\n',
                13: 'read(0, "", 1) = 0\n',
            }
            for pid, t in texts.items():
                files[pid] = os.path.join(d, "t.%d" % pid)
                with open(files[pid], "w") as f:
                    f.write(t)
            s = load.strace_summary(files, {13: "qmgr"}, master_pid=10)
            self.assertEqual(set(s["daemons"]), {"master", "local", "qmgr"})
            self.assertEqual(s["daemons"]["local"], {"execve": 1, "clone": 1, "openat": 1,
                                                     "fsync": 1})
            self.assertEqual(sum(s["total"].values()), 7)
            self.assertEqual(s["processes"], 4)


class SmtpReplies(unittest.TestCase):
    def test_final_reply(self):
        self.assertIsNone(idle_client.final_reply(b""))
        self.assertIsNone(idle_client.final_reply(b"220 incomplete"))
        self.assertIsNone(idle_client.final_reply(b"250-one\r\n250-two\r\n"))
        self.assertEqual(idle_client.final_reply(b"250-one\r\n250 two\r\n"), 250)
        self.assertEqual(idle_client.final_reply(b"421 4.3.2 busy\r\n"), 421)


class ReportTest(unittest.TestCase):
    def test_summarize(self):
        self.assertIsNone(report.summarize([]))
        self.assertIsNone(report.summarize([None]))
        s = report.summarize([3.0, 1.0, 2.0])
        self.assertEqual((s["median"], s["min"], s["max"], s["n"]), (2.0, 1.0, 3.0, 3))

    def test_failed_runs_are_not_averaged(self):
        runs = [{"accepted_per_s": 100.0}, {"error": "boom"}, {"accepted_per_s": 300.0}]
        s = report.summarize_runs(runs, ["accepted_per_s", "cpu_s_per_1000"])
        self.assertEqual(s["accepted_per_s"]["median"], 200.0)
        self.assertNotIn("cpu_s_per_1000", s)
        side = {"runs": runs, "summary": s}
        self.assertIn("1 of 3 runs failed", report.cell(side, "accepted_per_s"))
        self.assertTrue(report.cell(side, "cpu_s_per_1000").startswith("not measured"))

    def test_not_measured_side(self):
        side = {"not_measured": "no outbound client"}
        self.assertTrue(report.cell(side, "accepted_per_s").startswith("not measured"))
        self.assertEqual(report.side_reason(side), "no outbound client")
        self.assertIsNone(report.ratio(side, {"summary": {}}, "accepted_per_s"))


if __name__ == "__main__":
    unittest.main(verbosity=1)
