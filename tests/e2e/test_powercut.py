"""test_powercut - "a crash at any instant loses nothing acknowledged",
with the power cut under the file system, not just the processes killed.

The instance's queue directory and the recipient's home (its Maildir)
live on an ext4 file system (with its journal, ordered data, barriers)
on a loop device whose backing file is served by powercut_disk.py: a
disk with a volatile write cache, whose writes and cache flushes the
test process can see.  Four SMTP clients send messages with their own
Message-IDs to one user, in batches that make cleanup and local commit
several messages together.  At a random moment under load the disk
loses its power: what it holds from then on is what the last completed
flush made durable, plus a random half of the writes completed since
(a real disk may have put any of them on its platters), and every later
request fails with an I/O error, so nothing can be acknowledged on a
sync that did not happen.  Then every process is killed, the crash
image is mounted (the journal replays, as after a reboot) and checked:

  - every Message-ID that got "250" is in the Maildir or in a queue
    file (incoming/, active/, deferred/): accepted mail is never lost;
  - every file in the Maildir's new/ and cur/ and every queue file under
    a queue ID name is complete (a queue file ends with its end record,
    a delivered message with its whole body): a reader after the crash
    sees a complete file or none;
  - e2fsck finds the replayed file system clean.

It found two ways a kernel reports a sync that did not happen, which
postern now guards against: a file system that remounted itself
read-only after an I/O error answers fsync with 0 (lib/util/safefile.c
sf_sync() checks the file system is still writable after the sync), and
after a journal commit failed, the process that waited for it gets the
error while the next fsync of the same directory, by another process,
returns 0 for renames that never reached the disk (cleanup's commit
board counts failed syncs and refuses every commit that was under way,
cleanup/cleanup_commit.c).  Before those, about one run in four lost an
acknowledged message here.

What this proves: that postern says "250" and "delivered" only after
the writes that make the message durable were flushed by the disk, in
the order a journaling file system needs, for the fsync pattern it
really issues (group commits included).  What it does not prove: that
the kernel or a real disk keep their promises (a disk that acknowledges
a flush it did not do loses data whatever the software does), torn
sector writes (a write is kept whole or not at all here), and other file
systems than ext4.  This kernel has no device-mapper (dm-flakey,
dm-log-writes), so the disk is modelled in user space (FUSE) instead;
the file system above it cannot tell the difference.

PowerCutNoJournalTest does the same three times on ext4 without a
journal (mkfs.ext4 -O ^has_journal,^dir_index): nothing replays, the boot's
e2fsck -fy repairs the crash image before the mount.  There a rename()
across directories is two independent directory writes: before qmgr
moved files by link, fsync, unlink (qmgr/qmgr_move.c), 5 of 6 cuts
left 5 to 34 acknowledged queue files nameless in lost+found.  Names of
finished queue files whose removal the cut undid may point at reused
inodes (not that queue file): counted as stale, not as queue files
(qmgr's recovery removes them, or sets them aside in corrupt/).  The
variant's directories are linear (-O ^dir_index): what a journal-less
file system cannot promise to anyone is a hashed directory's block
split, which moves names that were durable into a new block; a cut that
keeps the old block's rewrite but not the new block loses them, whoever
wrote them (docs/INTERNALS.md, "Queue files").

The test takes about 5 s, 15 s with the no-journal variant.
"""

import email
import os
import random
import re
import signal
import smtplib
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import Instance, accounts_lock, main, run, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
DISK_BYTES = 96 * 1024 * 1024
CLIENTS = 4
MIN_ACKED = 60
QID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{15}$")


def payload(n, i):
    return "payload %d %d line\r\n" % (n, i) * (1 + i % 30)


def queue_file_records(data, most=12):
    """The first record types and lengths of a queue file, for a report."""
    out, pos = [], 0
    while pos + 5 <= len(data) and len(out) < most:
        (length,) = struct.unpack(">I", data[pos + 1:pos + 5])
        out.append("%r:%d" % (data[pos:pos + 1], length))
        pos += 5 + length
    return " ".join(out)


def queue_file_qid(data):
    """The data of a queue file's Q record, or None."""
    pos = 0
    while pos + 5 <= len(data):
        rtype = data[pos:pos + 1]
        (length,) = struct.unpack(">I", data[pos + 1:pos + 5])
        if rtype == b"Q":
            return data[pos + 5:pos + 5 + length].decode("ascii", "replace")
        if rtype == b"E":
            break
        pos += 5 + length
    return None


def queue_file_ok(data):
    """True when data is a complete queue file: records up to 'E'."""
    pos = 0
    while pos + 5 <= len(data):
        rtype = data[pos:pos + 1]
        (length,) = struct.unpack(">I", data[pos + 1:pos + 5])
        pos += 5 + length
        if pos > len(data):
            return False
        if rtype == b"E":
            return True
    return False


class PowerCutTest(unittest.TestCase):
    maxDiff = None
    MKFS_FEATURES = []          # mkfs.ext4 -O ... (none: ext4's defaults)
    JOURNAL = True              # False: e2fsck -fy repairs before the mount
    RUNS = 1                    # power cuts per test

    def setUp(self):
        for need in ("/dev/fuse", "/usr/sbin/mkfs.ext4", "/usr/sbin/losetup",
                     "/usr/sbin/e2fsck"):
            if not os.path.exists(need):
                self.fail("%s is missing: this test needs FUSE, loop devices and "
                          "e2fsprogs (tools/deps)" % need)
        self.work = tempfile.mkdtemp(prefix="postern-powercut-")
        os.chmod(self.work, 0o755)
        self.addCleanup(run, ["rm", "-rf", "--one-file-system", self.work], check=False)
        self.fuse = os.path.join(self.work, "fuse")
        self.fs = os.path.join(self.work, "fs")
        self.after = os.path.join(self.work, "after")
        self.image = os.path.join(self.work, "crash.img")
        self.status = os.path.join(self.work, "status")
        for d in (self.fuse, self.fs, self.after):
            os.mkdir(d, 0o755)
        self.mounts = []
        self.loops = []
        self.addCleanup(self.teardown_devices)

    def teardown_devices(self):
        for m in reversed(self.mounts):
            run(["umount", "-l", m], check=False)
        for dev in self.loops:
            run(["losetup", "-d", dev], check=False)
        self.mounts, self.loops = [], []

    def loop(self, path):
        dev = run(["losetup", "--find", "--show", path]).stdout.decode().strip()
        self.loops.append(dev)
        return dev

    def mount(self, dev, where, opts="nodiscard"):
        run(["mount", "-o", opts, dev, where])
        self.mounts.append(where)

    def start_disk(self):
        disk = subprocess.Popen([sys.executable, os.path.join(HERE, "powercut_disk.py"),
                                 self.fuse, str(DISK_BYTES), self.image, self.status],
                                stderr=subprocess.PIPE)

        def stop():
            if disk.poll() is None:
                disk.terminate()
                try:
                    disk.wait(10)
                except subprocess.TimeoutExpired:
                    disk.kill()
                    disk.wait()
            run(["umount", "-l", self.fuse], check=False)
        self.addCleanup(stop)
        wait_for(lambda: os.path.exists(os.path.join(self.fuse, "disk")), 10,
                 what="the FUSE disk")
        return disk

    def test_power_cut_under_load_loses_nothing_acknowledged(self):
        for n in range(self.RUNS):
            if n > 0:
                self.doCleanups()
                self.setUp()
            with self.subTest(run=n):
                self.one_cut()

    def one_cut(self):
        disk = self.start_disk()
        dev = self.loop(os.path.join(self.fuse, "disk"))
        run(["mkfs.ext4", "-q", "-F", "-E",
             "lazy_itable_init=0,lazy_journal_init=0,nodiscard"]
            + self.MKFS_FEATURES + [dev])
        self.mount(dev, self.fs)

        inst = Instance(self, main_cf={
            "home_mailbox": "Maildir/",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
        })
        queue = os.path.join(self.fs, "queue")
        run(["cp", "-a", inst.queue, queue])
        inst.set_main({"queue_directory": queue})
        name = "pc" + "".join(random.choice("abcdefghijklmnop") for _ in range(6))
        os.makedirs(os.path.join(self.fs, "home"), mode=0o755)
        home = os.path.join(self.fs, "home", name)
        with accounts_lock():
            run(["/usr/sbin/useradd", "--create-home", "--home-dir", home,
                 "--shell", "/bin/sh", name])
        inst.users.append(name)
        inst.start()
        # The queue and the home were made long before the cut: on disk.
        run(["sync", "-f", queue])
        rcpt = "%s@localhost" % name

        acked = {}
        lock = threading.Lock()
        cut = threading.Event()

        def client(n):
            i = -1
            while not cut.is_set():
                i += 1
                mid = "<cut-%d-%d@test.example>" % (n, i)
                body = ("From: c%d@example.org\r\nTo: %s\r\nSubject: cut %d %d\r\n"
                        "Message-ID: %s\r\n\r\n%s" % (n, rcpt, n, i, mid, payload(n, i)))
                try:
                    with smtplib.SMTP("127.0.0.1", inst.port, timeout=20) as s:
                        s.sendmail("c%d@example.org" % n, [rcpt], body.encode())
                    with lock:
                        acked[mid] = payload(n, i).replace("\r\n", "\n").encode()
                except (smtplib.SMTPException, OSError):
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(acked) >= MIN_ACKED, 120,
                     what="%d acknowledged messages" % MIN_ACKED)
            time.sleep(random.uniform(0, 1.5))
            with lock:
                before_cut = len(acked)
            disk.send_signal(signal.SIGUSR1)
            wait_for(lambda: os.path.exists(self.status), 30, what="the power cut")
        finally:
            cut.set()
            for t in threads:
                t.join(60)
        with open(self.status) as f:
            cut_line = f.read().strip()

        # Everything stops as after a power loss: killed, never flushed.
        inst.postern("abort", check=False)
        inst.kill_all()
        self.teardown_devices()

        # The machine comes back: mount the crash image (the journal replays).
        repair = ""
        if not self.JOURNAL:
            # Nothing replays: the boot's fsck repairs what the cut left.
            fix = run(["e2fsck", "-fy", self.image], check=False)
            repair = fix.stdout.decode(errors="replace")
            self.assertLess(fix.returncode, 4, "e2fsck -fy could not repair the "
                            "crash image:\n%s" % repair)
        dev2 = self.loop(self.image)
        self.mount(dev2, self.after)
        after_home = os.path.join(self.after, "home", name)
        found = {}
        problems = []
        for sub in ("new", "cur"):
            d = os.path.join(after_home, "Maildir", sub)
            for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                with open(os.path.join(d, fn), "rb") as f:
                    data = f.read()
                mid = email.message_from_bytes(data)["Message-ID"]
                if mid in acked and not data.endswith(acked[mid]):
                    problems.append("half-written in the Maildir: %s (%s)" % (fn, mid))
                found.setdefault(mid, []).append("Maildir/%s/%s" % (sub, fn))
        stale = []
        for state in ("incoming", "active", "deferred", "hold"):
            d = os.path.join(self.after, "queue", state)
            for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                if not QID.match(fn):
                    continue
                with open(os.path.join(d, fn), "rb") as f:
                    data = f.read()
                links = os.stat(os.path.join(d, fn)).st_nlink
                if (not self.JOURNAL
                        and (not data.startswith(b"V") or queue_file_qid(data) != fn)):
                    # Without a journal, the removal of a finished queue
                    # file may be lost while its inode, reused by a newer
                    # file (a maildir file, another queue file), is not.
                    # It holds nothing of its own: qmgr's recovery removes
                    # the name when the file has another (qmgr_stale_name()),
                    # else sets it aside in corrupt/.  A queue file cut
                    # short still starts with V and its own Q: reported.
                    stale.append("%s/%s (%d links)" % (state, fn, links))
                    continue
                if not queue_file_ok(data):
                    problems.append("incomplete queue file %s/%s (%d bytes, %d links: %s)"
                                    % (state, fn, len(data), links,
                                       queue_file_records(data)))
                for m in re.findall(rb"<cut-\d+-\d+@test\.example>", data):
                    found.setdefault(m.decode(), []).append("%s/%s" % (state, fn))
        lost = sorted(set(acked) - set(found))
        # Where a lost message went: fsck puts a file without a name in lost+found.
        orphans = {}
        lf = os.path.join(self.after, "lost+found")
        for fn in sorted(os.listdir(lf)) if lost and os.path.isdir(lf) else []:
            path = os.path.join(lf, fn)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            kind = "queue file" if queue_file_ok(data) else "file"
            for m in re.findall(rb"<cut-\d+-\d+@test\.example>", data):
                if m.decode() in lost:
                    orphans.setdefault(m.decode(), []).append("lost+found/%s (%s)"
                                                              % (fn, kind))
        self.teardown_devices()
        fsck = run(["e2fsck", "-fn", self.image], check=False)

        report = ("%s; %d acknowledged (%d when the power went), %d found after the "
                  "cut (%d in the Maildir); %d stale queue file names" % (
                      cut_line, len(acked), before_cut, len(set(found) & set(acked)),
                      sum(1 for v in found.values() if any("Maildir" in p for p in v)),
                      len(stale)))
        print("\n" + report)
        if repair and (lost or problems):
            print("e2fsck -fy before the mount:\n" + repair)
        self.assertEqual(lost, [], "acknowledged and lost after the power cut: %r\n"
                         "found in lost+found: %r\n%s" % (lost, orphans, report))
        self.assertEqual(problems, [], report)
        self.assertEqual(fsck.returncode, 0, "e2fsck of the crash image:\n%s"
                         % fsck.stdout.decode(errors="replace"))


class PowerCutNoJournalTest(PowerCutTest):
    """The same on ext4 without a journal: after the cut the boot's
    e2fsck -fy repairs the file system (nothing replays) and every
    acknowledged message must still be in the Maildir or under its
    queue ID name in a queue directory, never only in lost+found."""
    # Linear directories (^dir_index): a hashed directory's block split
    # moves durable names into a new block, and without a journal a cut
    # can keep the old block's rewrite and lose the new one, whoever
    # made those names (seen in 2 cuts of 75 on Maildir/new/); no order
    # of syncs avoids it, so that case is documented, not tested.
    MKFS_FEATURES = ["-O", "^has_journal,^dir_index"]
    JOURNAL = False
    RUNS = 3


if __name__ == "__main__":
    main()
