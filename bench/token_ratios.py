#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs lifetime_token_bench and prints lifetime's cost against std::stop_token's, case by case.

    python3 bench/token_ratios.py [--binary build/release/bench/lifetime_token_bench]
                                  [--repetitions 5] [--min-time 0.2]

Each benchmark runs --repetitions times; the median of each is used. A ratio is lifetime's time
divided by the baseline's (lower is better); it is marked "ok" at or below its target, "within
noise" when above it by less than the run's spread (the larger (max - min) / median of the two
sides), and MISSED otherwise. Repetitions are interleaved at random, so that drift in the
machine's load hits both sides alike. Times are CPU time, except for the
benchmarks that time themselves (manual_time) or run on several threads (real_time), which use
wall-clock time. Always exits 0: the table is the result.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

# (label, numerator case/impl, denominator case/impl, target or None for information only)
RATIOS = [
    ("polling: is_cancellation_requested / stop_requested",
     ("poll", "lifetime"), ("poll", "std"), 1.0),
    ("register + unregister / std::stop_callback",
     ("register_unregister", "lifetime"), ("register_unregister", "std"), 1.0),
    ("register + unregister on 2 threads / std::stop_callback",
     ("contended_register_unregister", "lifetime"), ("contended_register_unregister", "std"), 1.0),
    ("cancel, 1 callback / request_stop",
     ("cancel/1", "lifetime"), ("cancel/1", "std"), 1.2),
    ("cancel, 1,000 callbacks / request_stop",
     ("cancel/1000", "lifetime"), ("cancel/1000", "std"), 1.2),
    ("cancel, 1,000,000 callbacks / request_stop",
     ("cancel/1000000", "lifetime"), ("cancel/1000000", "std"), 1.2),
    ("linked source, 2 parents / plain source",
     ("linked2", "lifetime"), ("plain_source", "lifetime"), 3.0),
    ("linked source, 2 parents / std::stop_source + 2 stop_callbacks",
     ("linked2", "lifetime"), ("linked2", "std"), None),
    ("plain source / std::stop_source",
     ("plain_source", "lifetime"), ("plain_source", "std"), None),
]

NAME = re.compile(r"^(?P<case>.+?)/(?P<impl>lifetime|std)(?:/|$)")
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def find_binary(root):
    for candidate in ("build/release", "build/lt-release", "build/debug", "build"):
        path = os.path.join(root, candidate, "bench", "lifetime_token_bench")
        if os.access(path, os.X_OK):
            return path
    for dirpath, _, files in os.walk(os.path.join(root, "build")):
        if "lifetime_token_bench" in files:
            return os.path.join(dirpath, "lifetime_token_bench")
    return None


def run(binary, repetitions, min_time):
    command = [binary, "--benchmark_format=json",
               f"--benchmark_repetitions={repetitions}",
               f"--benchmark_min_time={min_time}",
               "--benchmark_enable_random_interleaving=true"]
    print("$ " + " ".join(shlex.quote(c) for c in command), flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE, check=False, text=True)
    if result.returncode != 0:
        print(f"lifetime_token_bench exited with {result.returncode}", file=sys.stderr)
    return json.loads(result.stdout)


def collect(report):
    """{(case, impl): {"median": ns, "min": ns, "max": ns}} from the per-repetition runs."""
    samples = {}
    for entry in report.get("benchmarks", []):
        if entry.get("run_type") != "iteration" or entry.get("error_occurred"):
            continue
        run_name = entry.get("run_name", entry["name"])
        match = NAME.match(run_name)
        if not match:
            continue
        wall = "manual_time" in run_name or "real_time" in run_name
        value = entry["real_time" if wall else "cpu_time"] * UNIT_NS[entry.get("time_unit", "ns")]
        samples.setdefault((match["case"], match["impl"]), []).append(value)
    stats = {}
    for key, values in samples.items():
        values.sort()
        n = len(values)
        median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
        stats[key] = {"median": median, "min": values[0], "max": values[-1]}
    return stats


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.2f} ns"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=None)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args()

    binary = args.binary or find_binary(os.path.dirname(here))
    if binary is None or not os.access(binary, os.X_OK):
        print("lifetime_token_bench not found: build it (cmake --preset release && "
              "cmake --build --preset release) or pass --binary", file=sys.stderr)
        return 0
    try:
        report = run(binary, args.repetitions, args.min_time)
    except (OSError, json.JSONDecodeError) as error:
        print(f"could not run {binary}: {error}", file=sys.stderr)
        return 0
    context = report.get("context", {})
    print(f"{context.get('num_cpus', '?')} CPUs, load average "
          f"{', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}; "
          f"library built as {context.get('library_build_type', '?')}; "
          f"median of {args.repetitions} repetitions\n")

    stats = collect(report)
    rows = [("ratio", "lifetime", "baseline", "value", "target", "spread", "verdict")]
    missed = 0
    for label, num, den, target in RATIOS:
        if num not in stats or den not in stats:
            rows.append((label, "-", "-", "-", "-", "-", "not run"))
            continue
        a, b = stats[num], stats[den]
        ratio = a["median"] / b["median"]
        spread = max((s["max"] - s["min"]) / s["median"] for s in (a, b))
        if target is None:
            verdict, target_text = "(information)", "-"
        else:
            target_text = f"<= {target:g}"
            if ratio <= target:
                verdict = "ok"
            elif ratio <= target * (1 + spread):
                verdict = "within noise"
            else:
                verdict = "MISSED"
            missed += verdict == "MISSED"
        rows.append((label, fmt_ns(a["median"]), fmt_ns(b["median"]), f"{ratio:.3f}",
                     target_text, f"{spread * 100:.0f}%", verdict))

    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                        for i, cell in enumerate(row)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\n{missed} target(s) missed" if missed else "\nevery target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
