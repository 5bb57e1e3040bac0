"""powercut_disk - a disk that can lose its power, for test_powercut.

    python3 powercut_disk.py MOUNTPOINT SIZE_BYTES IMAGE STATUS

Serves one file, MOUNTPOINT/disk, of SIZE_BYTES, through FUSE (the
kernel's /dev/fuse protocol, spoken here directly: no library), opened
with direct I/O so that every write reaches this process.  A loop device
on that file is a block device whose writes and cache flushes this
process sees one by one: the kernel's loop driver turns each write of
the device into a write of the file, and each flush (what a file
system's fsync or journal commit ends with) into an fsync of the file.

It keeps two images of the disk: what has been written ("current",
which reads see) and what a flush has made durable ("durable").  A
write changes the current image and is remembered as pending; a flush
copies the pending writes into the durable image.  That is the promise
of a disk with a volatile write cache: a completed write may be lost at
a power cut until a flush after it completed.

SIGUSR1 cuts the power, between two requests: the durable image, plus a random subset of the
pending writes (the ones a real disk may or may not have put on its
platters; the subset is drawn from a seed printed in STATUS), is written
to IMAGE, and from then on every request fails with EIO, as a disk
without power would.  STATUS gets one line: "cut seed=S pending=N
kept=K flushes=F writes=W".  SIGTERM unmounts and exits.

This is as close to a power cut as a test can get without the kernel's
dm-flakey or dm-log-writes: the file system above sees exactly the
write and flush ordering of a real disk, and the crash image holds only
what such a disk could hold.  What it does not model: torn sectors (a
write is kept whole or not at all) and a disk that lies about flushes.
"""

import ctypes
import errno
import os
import random
import select
import signal
import struct
import sys

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR = 1, 2, 3, 4
FUSE_OPEN, FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE = 14, 15, 16, 17, 18
FUSE_FSYNC, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR = 20, 25, 26, 27
FUSE_RELEASEDIR, FUSE_ACCESS, FUSE_INTERRUPT, FUSE_DESTROY = 29, 34, 36, 38
FUSE_BATCH_FORGET = 42
FUSE_BIG_WRITES = 1 << 5
FUSE_MAX_PAGES = 1 << 22
FOPEN_DIRECT_IO = 1 << 0
ROOT_ID, DISK_ID = 1, 2
MAX_WRITE = 1 << 20
IN_HDR = struct.Struct("<IIQQIIIHH")       # fuse_in_header, 40 bytes
OUT_HDR = struct.Struct("<IiQ")            # fuse_out_header, 16 bytes
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr, 88 bytes


class Disk:
    def __init__(self, size, image, status):
        self.size = size
        self.current = bytearray(size)
        self.durable = bytearray(size)
        self.pending = []
        self.image = image
        self.status = status
        self.dead = False
        self.cut_asked = False
        self.flushes = 0
        self.writes = 0

    def write(self, off, data):
        self.current[off:off + len(data)] = data
        self.pending.append((off, bytes(data)))
        self.writes += 1

    def flush(self):
        for off, data in self.pending:
            self.durable[off:off + len(data)] = data
        self.pending = []
        self.flushes += 1

    def cut(self):
        seed = int.from_bytes(os.urandom(4), "big")
        rng = random.Random(seed)
        kept = 0
        for off, data in self.pending:
            if rng.random() < 0.5:
                self.durable[off:off + len(data)] = data
                kept += 1
        with open(self.image, "wb") as f:
            f.write(self.durable)
            f.flush()
            os.fsync(f.fileno())
        self.dead = True
        with open(self.status, "w") as f:
            f.write("cut seed=%d pending=%d kept=%d flushes=%d writes=%d\n"
                    % (seed, len(self.pending), kept, self.flushes, self.writes))


def attr(nodeid, size):
    if nodeid == ROOT_ID:
        mode, nlink, size = 0o040755, 2, 0
    else:
        mode, nlink = 0o100600, 1
    return ATTR.pack(nodeid, size, (size + 511) // 512, 0, 0, 0, 0, 0, 0,
                     mode, nlink, 0, 0, 0, 4096, 0)


def serve(fd, disk):
    buf_size = MAX_WRITE + 4096
    while True:
        # The cut happens between two requests, never inside one: a
        # request is answered by the disk that was there when it began.
        if disk.cut_asked and not disk.dead:
            disk.cut()
        try:
            if not select.select([fd], [], [], 0.05)[0]:
                continue
            req = os.read(fd, buf_size)
        except InterruptedError:
            continue
        except OSError as e:
            if e.errno == errno.ENODEV:     # unmounted
                return
            if e.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                continue
            raise
        if len(req) < IN_HDR.size:
            continue
        (length, opcode, unique, nodeid, _uid, _gid, _pid, _ext, _pad) = IN_HDR.unpack_from(req)
        body = req[IN_HDR.size:length]
        reply = None
        err = 0
        if opcode in (FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT):
            continue                        # no reply
        if opcode == FUSE_INIT:
            major, minor, max_readahead, flags = struct.unpack_from("<IIII", body)
            want = flags & (FUSE_BIG_WRITES | FUSE_MAX_PAGES)
            reply = struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 38), max_readahead,
                                want, 16, 12, MAX_WRITE, 1, MAX_WRITE // 4096, 0, 0,
                                *([0] * 7))
        elif disk.dead and opcode not in (FUSE_RELEASE, FUSE_RELEASEDIR, FUSE_DESTROY):
            err = errno.EIO
        elif opcode == FUSE_LOOKUP:
            name = body.split(b"\0", 1)[0]
            if nodeid == ROOT_ID and name == b"disk":
                reply = struct.pack("<QQQQII", DISK_ID, 1, 3600, 3600, 0, 0) + attr(DISK_ID, disk.size)
            else:
                err = errno.ENOENT
        elif opcode in (FUSE_GETATTR, FUSE_SETATTR):
            if opcode == FUSE_SETATTR:
                valid, _p, _fh, size = struct.unpack_from("<IIQQ", body)
                if valid & (1 << 3) and size != disk.size:     # FATTR_SIZE
                    err = errno.EPERM
            if not err:
                reply = struct.pack("<QII", 3600, 0, 0) + attr(nodeid, disk.size)
        elif opcode in (FUSE_OPEN, FUSE_OPENDIR):
            reply = struct.pack("<QII", 0, FOPEN_DIRECT_IO if opcode == FUSE_OPEN else 0, 0)
        elif opcode == FUSE_READ:
            _fh, off, size = struct.unpack_from("<QQI", body)
            reply = bytes(disk.current[off:min(off + size, disk.size)])
        elif opcode == FUSE_WRITE:
            _fh, off, size = struct.unpack_from("<QQI", body)
            data = body[40:40 + size]
            if off + len(data) > disk.size:
                err = errno.ENOSPC
            else:
                disk.write(off, data)
                reply = struct.pack("<II", len(data), 0)
        elif opcode in (FUSE_FSYNC, FUSE_FLUSH):
            if opcode == FUSE_FSYNC:
                disk.flush()
            reply = b""
        elif opcode == FUSE_STATFS:
            reply = struct.pack("<QQQQQIIII6I", 0, 0, 0, 0, 0, 4096, 255, 4096, 0, *([0] * 6))
        elif opcode in (FUSE_RELEASE, FUSE_RELEASEDIR, FUSE_ACCESS):
            reply = b""
        elif opcode == FUSE_DESTROY:
            reply = b""
        else:
            err = errno.ENOSYS
        out = reply if reply is not None and not err else b""
        try:
            os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(out), -err, unique) + out)
        except OSError as e:
            if e.errno == errno.ENOENT:     # the request was interrupted
                continue
            if e.errno == errno.ENODEV:
                return
            raise
        if opcode == FUSE_DESTROY:
            return


def main():
    mountpoint, size, image, status = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    disk = Disk(size, image, status)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/dev/fuse", os.O_RDWR)
    opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
    if libc.mount(b"powercut", mountpoint.encode(), b"fuse", ctypes.c_ulong(6),  # nosuid, nodev
                  opts.encode()) != 0:
        e = ctypes.get_errno()
        sys.stderr.write("mount %s: %s\n" % (mountpoint, os.strerror(e)))
        sys.exit(1)
    signal.signal(signal.SIGUSR1, lambda s, f: setattr(disk, "cut_asked", True))

    def term(s, f):
        libc.umount2(mountpoint.encode(), 2)   # MNT_DETACH
        os._exit(0)
    signal.signal(signal.SIGTERM, term)
    serve(fd, disk)


if __name__ == "__main__":
    main()
