"""Draw latency versus load from a bench/results JSON file.

    python bench/chart.py bench/results/<file>.json docs/performance-latency.png

Contract: one line per set-up, x = persisted messages/s measured in each saturation step,
y = visitor→agent p50 (dashed) and p99 (solid) in ms, log scale. Needs matplotlib (a
benchmark-only dependency: ``pip install matplotlib``); the Agg backend, no display.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def draw(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for name, entry in result["setups"].items():
        if "saturation" not in entry:
            continue
        steps = entry["saturation"]["steps"]
        xs = [s["persisted_per_s"] for s in steps]
        p99 = [s["latency_ms"]["p99"] for s in steps]
        p50 = [s["latency_ms"]["p50"] for s in steps]
        (line,) = ax.plot(xs, p99, marker="o", label=f"{name} p99")
        ax.plot(xs, p50, marker=".", linestyle="--", color=line.get_color(), label=f"{name} p50")
    ax.axhline(25, color="grey", linewidth=0.8, linestyle=":")
    ax.text(ax.get_xlim()[0], 27, "target p99 25 ms (at 1,000 msg/s)", fontsize=8, color="grey")
    ax.set_yscale("log")
    ax.set_xlabel("persisted messages/s (measured)")
    ax.set_ylabel("visitor → agent latency, ms")
    m = result["machine"]
    ax.set_title(
        f"Bastion {result['commit'][:8]}, {m['nproc']} cores, load avg {m['load_average'][0]}",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
