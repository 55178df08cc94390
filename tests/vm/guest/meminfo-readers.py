#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Reader load for the restart checks: N processes loop open/read/close on a
# meminfo file (a bind mount of nestbox-fs's) until STOP_FILE exists, then one
# JSON line sums them up: reads, errors by errno, wrong MemTotal values, and
# reads slower than 2 s (a reader blocked by a restart).
# Usage: meminfo-readers.py FILE READERS STOP_FILE EXPECTED_MEMTOTAL_KB
import errno
import json
import multiprocessing
import os
import sys
import time


def reader(path, stop_file, expected, out):
    reads = wrong = slow = 0
    errors = {}
    longest = 0.0
    while not os.path.exists(stop_file):
        start = time.monotonic()
        try:
            with open(path, "rb", buffering=0) as f:
                text = f.read(65536)
            value = None
            for line in text.split(b"\n"):
                if line.startswith(b"MemTotal:"):
                    value = int(line.split()[1])
            if value != expected:
                wrong += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            errors[name] = errors.get(name, 0) + 1
        took = time.monotonic() - start
        longest = max(longest, took)
        if took > 2.0:
            slow += 1
        reads += 1
    out.put({"reads": reads, "errors": errors, "wrong": wrong, "slow": slow, "longest": longest})


def main():
    path, n, stop_file, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=reader, args=(path, stop_file, expected, out)) for _ in range(n)]
    for p in procs:
        p.start()
    total = {"readers": n, "reads": 0, "errors": {}, "wrong": 0, "slow": 0, "longest": 0.0}
    for _ in procs:
        r = out.get()
        total["reads"] += r["reads"]
        total["wrong"] += r["wrong"]
        total["slow"] += r["slow"]
        total["longest"] = max(total["longest"], r["longest"])
        for k, v in r["errors"].items():
            total["errors"][k] = total["errors"].get(k, 0) + v
    for p in procs:
        p.join()
    print(json.dumps(total), flush=True)


if __name__ == "__main__":
    main()
