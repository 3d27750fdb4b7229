"""Run ids stay unique across fork() (issue 11: forked workers repeated their parent's random
stream and produced identical run ids in the same millisecond)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from otelchain.callbacks._ids import uuid7


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_workers_make_distinct_run_ids() -> None:
    uuid7()  # the parent's generator is in use before the fork, as in a preloading server
    ids_by_child: list[set[str]] = []
    for _ in range(30):
        start_ms = time.time_ns() // 1_000_000 + 20  # both children start in the same millisecond
        children = []
        for _ in range(2):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: 50 ids, written to the pipe, then exit without cleanup
                try:
                    os.close(read)
                    while time.time_ns() // 1_000_000 < start_ms:
                        pass
                    os.write(write, "\n".join(str(uuid7()) for _ in range(50)).encode())
                finally:
                    os._exit(0)
            os.close(write)
            children.append((pid, read))
        for pid, read in children:
            chunks = []
            while chunk := os.read(read, 65536):
                chunks.append(chunk)
            os.close(read)
            os.waitpid(pid, 0)
            ids_by_child.append(set(b"".join(chunks).decode().split("\n")))
    all_ids = [i for ids in ids_by_child for i in ids]
    assert all(len(ids) == 50 for ids in ids_by_child)
    assert len(set(all_ids)) == len(all_ids), "two forked workers made the same run id"
    assert sys.platform != "win32"
