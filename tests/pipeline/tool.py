"""Small programs the pipeline tests run as stage commands: ``python tool.py CMD ARGS...``.

Plain standard library (fast to start); every command works in the current directory (the
job's folder).
"""

import json
import os
import sys
import time


def _append(path: str, line: str) -> None:
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def _write(path: str, doc: object) -> None:
    with open(path, "w") as f:
        json.dump(doc, f)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def main(cmd: str, *args: str) -> int:
    if cmd == "argv":  # every argument as received, and the environment variable DETOPT_T
        _write("argv.json", {"argv": list(args), "env": os.environ.get("DETOPT_T")})
    elif cmd == "metrics":  # metrics x -> f1 = x^2, f2 = (x - 1)^2 (+ the sem keys)
        x = float(args[0])
        _write("metrics.json", {"f1": [x * x, 0.01], "f2": (x - 1) ** 2, "nested": {"v": [1, 2, x]}})
    elif cmd == "mark":  # mark LOG NAME SECONDS [WAIT_FILE or -]: start/end lines around a sleep
        log, name, seconds = args[0], args[1], float(args[2])
        _append(log, f"start {name} {time.time():.6f}")
        if len(args) > 3 and args[3] != "-":
            while not os.path.exists(args[3]):
                time.sleep(0.05)
        time.sleep(seconds)
        with open("value.txt", "w") as f:
            f.write(f"value = {len(name)}\n")
        _append(log, f"end {name} {time.time():.6f}")
    elif cmd == "barrier":  # barrier LOG NAME N: wait (at most 120 s) until N jobs have started
        log, name, n = args[0], args[1], int(args[2])
        _append(log, f"start {name} {time.time():.6f}")
        deadline = time.time() + 120
        while _read(log).count("start ") < n:
            if time.time() > deadline:
                print(f"only some of the {n} jobs ever ran at the same time", file=sys.stderr)
                return 7
            time.sleep(0.05)
        with open("value.txt", "w") as f:
            f.write(f"value = {len(name)}\n")
        _append(log, f"end {name} {time.time():.6f}")
    elif cmd == "fail-once":  # fail-once COUNTER: exit 3 on the first run, 0 after
        counter = args[0]
        runs = _read(counter).count("\n") if os.path.exists(counter) else 0
        _append(counter, "run")
        if runs == 0:
            print("first run fails on purpose", file=sys.stderr)
            return 3
        _write("ok.json", {"ok": 1.0})
    elif cmd == "overlaps":  # overlaps LOG N: print a checkOverlaps-like summary, count the run
        _append(args[0], "overlaps")
        print(f"Checking overlaps ...\nNumber of illegal overlaps/extrusions : {args[1]}")
    elif cmd == "exit":
        return int(args[0])
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
