#!/usr/bin/python3
"""Runs a command and says how it ended: exit status, wall-clock seconds and peak memory (the
child's own ru_maxrss from wait4, in KiB). Keeps only the last 256 KiB of its stdout and stderr
(OUTDIR/out, OUTDIR/err), so a command that prints without end cannot fill the disk; kills it
after --kill-after seconds (exit status 137).

  measure.py [--kill-after 300] OUTDIR -- CMD [ARGS...]
  prints: rc=N wall=SECONDS maxrss_kib=K
"""
import os
import select
import signal
import subprocess
import sys
import time

KEEP = 256 * 1024


def main():
    args = sys.argv[1:]
    kill_after = 300.0
    if args[:1] == ["--kill-after"]:
        kill_after = float(args[1])
        args = args[2:]
    outdir, sep, cmd = args[0], args[1], args[2:]
    if sep != "--" or not cmd:
        sys.exit("usage: measure.py [--kill-after S] OUTDIR -- CMD [ARGS...]")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    bufs = {p.stdout.fileno(): bytearray(), p.stderr.fileno(): bytearray()}
    open_fds = set(bufs)
    killed = False
    while open_fds:
        left = kill_after - (time.monotonic() - t0)
        if left <= 0 and not killed:
            p.send_signal(signal.SIGKILL)
            killed = True
        ready, _, _ = select.select(list(open_fds), [], [], max(0.05, min(1.0, left)) if not killed else 1.0)
        for fd in ready:
            d = os.read(fd, 1 << 16)
            if not d:
                open_fds.discard(fd)
                continue
            b = bufs[fd]
            b += d
            if len(b) > 2 * KEEP:
                del b[:len(b) - KEEP]
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    for fd, name in ((p.stdout.fileno(), "out"), (p.stderr.fileno(), "err")):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(bytes(bufs[fd][-KEEP:]))
    print("rc=%d wall=%.1f maxrss_kib=%d" % (rc, wall, ru.ru_maxrss))


if __name__ == "__main__":
    main()
