"""`python no_reap_init.py CMD...`: stand in for a container's PID 1 that never reaps children.

It becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so the processes CMD leaves behind when it
dies are reparented to it, as to PID 1 in a container without an init. It starts CMD in a
process group of its own (the group a container runtime kills) and then only sleeps: whatever
dies under it stays a zombie, whose PID still answers os.kill(pid, 0).
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36

if __name__ == "__main__":
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
    child = subprocess.Popen(sys.argv[1:], start_new_session=True)
    print(child.pid, flush=True)
    while True:
        time.sleep(3600)  # never wait(): zombies stay
