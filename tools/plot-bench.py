#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Plot ferry-bench-suite's JSON: time of every variant relative to PoCL.

usage: plot-bench.py IN.json OUT.png|OUT.svg

One panel per working-set size (as a multiple of Ferry's device memory), a
group of bars per workload, one bar per Ferry variant: its time divided by
the time of the same workload at the same size on PoCL directly (explicit
buffers), on a logarithmic axis; 1 = as fast as PoCL, lower is better. Bars
of runs whose results were wrong are hatched and labelled.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

VARIANTS = ["explicit", "fault", "prefetch", "advice"]
COLOURS = {"explicit": "#4c72b0", "fault": "#dd8452", "prefetch": "#55a868", "advice": "#8172b3"}


def main(argv):
    if len(argv) != 3 or not argv[2].endswith((".png", ".svg")):
        sys.stderr.write("usage: plot-bench.py IN.json OUT.png|OUT.svg\n")
        return 2
    with open(argv[1]) as f:
        data = json.load(f)
    results = data.get("results", [])
    if not results:
        sys.stderr.write("plot-bench.py: %s holds no results\n" % argv[1])
        return 1

    workloads = []
    sizes = []
    for r in results:
        if r["workload"] not in workloads:
            workloads.append(r["workload"])
        if r["size_factor"] not in sizes:
            sizes.append(r["size_factor"])
    sizes.sort()
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in results)]

    cap_mib = data.get("device_global_mem_size", 0) / 2**20
    fig, axes = plt.subplots(len(sizes), 1, figsize=(max(8, 1.3 * len(workloads) + 2),
                                                      3.2 * len(sizes)), squeeze=False)
    width = 0.8 / max(1, len(variants))
    for ax, size in zip(axes[:, 0], sizes):
        for vi, v in enumerate(variants):
            xs, ys, bad = [], [], []
            for wi, w in enumerate(workloads):
                row = [r for r in results
                       if r["workload"] == w and r["size_factor"] == size and r["variant"] == v]
                if not row or row[0].get("ratio_to_pocl") is None:
                    continue
                xs.append(wi - 0.4 + width * (vi + 0.5))
                ys.append(row[0]["ratio_to_pocl"])
                bad.append(not row[0].get("correct", True))
            bars = ax.bar(xs, ys, width, label=v, color=COLOURS.get(v))
            for b, is_bad in zip(bars, bad):
                if is_bad:
                    b.set_hatch("xx")
                    ax.annotate("wrong", (b.get_x() + b.get_width() / 2, b.get_height()),
                                ha="center", va="bottom", fontsize=7, color="red")
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(
            [2.0**e for e in range(-6, 8)]))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: "%g" % y))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(range(len(workloads)))
        ax.set_xticklabels(workloads)
        mib = [r["bytes"] / 2**20 for r in results if r["size_factor"] == size]
        ax.set_title("working set %.2gx device memory (%.0f MiB of %.0f MiB)"
                     % (size, max(mib) if mib else 0, cap_mib), fontsize=10)
        ax.set_ylabel("time / PoCL time")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0, 0].legend(ncol=len(variants), fontsize=8, loc="upper left")
    title = "ferry-bench-suite%s: Ferry variants against PoCL (lower is better)" % (
        " --quick" if data.get("quick") else "")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(argv[2])
    print("plot: %s" % argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
