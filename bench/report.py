"""Turning runs into the figures people read: medians, ratios, a table, JSON and a chart.

A *run* is one scenario against one server in one repeat, as ``run.py`` records it:
``{"repeat", "scenario", "server", "ok", "error", "metrics": {key: value}, ...}``.
The summary keeps, per scenario, server and metric, the median over the successful
repeats with its minimum and maximum; every ratio is to the baseline server's median.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from catalog import BASELINE, Scenario, ServerSpec

Summary = dict[str, dict[str, dict[str, dict[str, float]]]]

#: Above this share of one core in its window, the load generator may be the bottleneck.
LOADGEN_BUSY = 0.9
#: Above this many cores kept busy by other processes during a window, the figures are noisy.
OTHERS_BUSY = 0.25


def summarize(runs: Iterable[dict[str, Any]]) -> Summary:
    """Return ``{scenario: {server: {metric: {"median", "min", "max", "n"}}}}``."""
    values: dict[tuple[str, str, str], list[float]] = {}
    for run in runs:
        if not run["ok"]:
            continue
        for key, value in run["metrics"].items():
            if value is not None:
                values.setdefault((run["scenario"], run["server"], key), []).append(value)
    summary: Summary = {}
    for (scenario, server, key), found in values.items():
        summary.setdefault(scenario, {}).setdefault(server, {})[key] = {
            "median": statistics.median(found),
            "min": min(found),
            "max": max(found),
            "n": len(found),
        }
    return summary


def median(summary: Summary, scenario: str, server: str, key: str) -> float | None:
    """The median of one figure, or ``None`` when no run produced it."""
    return summary.get(scenario, {}).get(server, {}).get(key, {}).get("median")


def ratio(summary: Summary, scenario: str, server: str, key: str) -> float | None:
    """One figure's median divided by the baseline server's, or ``None``."""
    value = median(summary, scenario, server, key)
    base = median(summary, scenario, BASELINE, key)
    if value is None or not base:
        return None
    return value / base


def format_value(value: float) -> str:
    """Three significant figures, with thousands separators for large numbers."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(
    summary: Summary,
    scenarios: Sequence[Scenario],
    servers: Sequence[ServerSpec],
    status: dict[str, str],
) -> str:
    """Render the medians as a text table, one block per scenario, one column per server.

    :param status: the servers that did not run (or ``"scenario/server"`` pairs not
        run), mapped to the word shown where they have no figure.
    """
    label_width = 38
    width = 22
    lines = []
    header = " " * label_width + "".join(s.label.rjust(width) for s in servers)
    for scenario in scenarios:
        lines.append(f"{scenario.name}: {scenario.description}")
        lines.append(header)
        for metric in scenario.metrics:
            arrow = "↑" if metric.higher_is_better else "↓"
            label = f"  {metric.label} ({metric.unit}) {arrow}"
            cells = []
            for server in servers:
                value = median(summary, scenario.name, server.name, metric.key)
                if value is None:
                    cell = status.get(
                        f"{scenario.name}/{server.name}", status.get(server.name, "failed")
                    )
                else:
                    cell = format_value(value)
                    share = ratio(summary, scenario.name, server.name, metric.key)
                    cell += f" ({share:.2f}x)" if share is not None else " (—)"
                cells.append(cell.rjust(width))
            lines.append(label.ljust(label_width) + "".join(cells))
        lines.append("")
    return "\n".join(lines)


def notes(runs: Sequence[dict[str, Any]], skipped: dict[str, str]) -> list[str]:
    """Say what the reader must know beside the table: skips, failures, a busy load generator."""
    found = [f"{name} skipped: {reason}" for name, reason in skipped.items()]
    for run in runs:
        where = f"{run['scenario']} against {run['server']} (repeat {run['repeat'] + 1})"
        if not run["ok"]:
            found.append(f"{where} failed: {run['error']}")
            continue
        util = run["result"].get("client_cpu_util") or 0.0
        if util > LOADGEN_BUSY:
            found.append(
                f"{where}: the load generator used {util:.0%} of a core; the figure may be "
                "the load generator's limit, not the server's"
            )
    crowded = [r["samples"]["other_cpu_util"] for r in runs if r["ok"]]
    crowded = [others for others in crowded if others > OTHERS_BUSY]
    if crowded:
        found.append(
            f"in {len(crowded)} of {len(runs)} runs, other processes kept more than "
            f"{OTHERS_BUSY} cores busy (up to {max(crowded):.2f}); times and rates are noisy, "
            "CPU per event and RSS per connection much less so"
        )
    return found


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write the raw results, the summary and the run's context as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


def chart(
    path: Path,
    summary: Summary,
    scenarios: Sequence[Scenario],
    servers: Sequence[ServerSpec],
    title: str,
) -> None:
    """Draw one bar panel per charted figure: medians, with min-max whiskers and ratios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(s, m) for s in scenarios for m in s.metrics if m.key in s.chart]
    if not panels:
        return
    columns = min(4 if len(panels) <= 12 else 5, len(panels))
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.4 * rows + 0.8), squeeze=False
    )
    palette = plt.get_cmap("tab10")
    colors = [palette(i) for i in range(10)]
    for index, (scenario, metric) in enumerate(panels):
        ax = axes[index // columns][index % columns]
        names, heights, low, high, tints, labels = [], [], [], [], [], []
        for number, server in enumerate(servers):
            stats = summary.get(scenario.name, {}).get(server.name, {}).get(metric.key)
            if stats is None:
                continue
            names.append(server.label)
            heights.append(stats["median"])
            low.append(stats["median"] - stats["min"])
            high.append(stats["max"] - stats["median"])
            tints.append(colors[number % len(colors)])
            share = ratio(summary, scenario.name, server.name, metric.key)
            labels.append(format_value(stats["median"]) + (f"\n{share:.2f}x" if share else ""))
        positions = range(len(names))
        bars = ax.bar(positions, heights, color=tints, yerr=[low, high], capsize=3)
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
        ax.set_xticks(list(positions), names, rotation=20, ha="right", fontsize=8)
        better = "higher" if metric.higher_is_better else "lower"
        ax.set_title(f"{scenario.name}\n{metric.label} ({better} is better)", fontsize=9)
        ax.set_ylabel(metric.unit, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.margins(y=0.25)
        ax.grid(axis="y", alpha=0.3)
    for index in range(len(panels), rows * columns):
        axes[index // columns][index % columns].axis("off")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
