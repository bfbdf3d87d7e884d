"""Medians, ratios and the printed tables of the ingest benchmark."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

Row = dict[str, Any]
KEY = ("server", "kind", "associations")


def progress_line(sample: Row) -> str:
    """One line per measurement, printed as the benchmark goes."""
    return (
        f"  r{sample['repeat']} {sample['server']:<9} {sample['kind']:<4} "
        f"x{sample['associations']}: {sample['instances_per_s']:>7.1f} inst/s "
        f"{sample['mb_per_s']:>6.1f} MB/s  peak RSS {sample['peak_rss_mb']:>6.1f} MB  "
        f"stored {sample['stored']}/{sample['instances']}"
    )


def summarize(samples: Iterable[Row]) -> list[Row]:
    """Medians over the repeats of each (server, kind, associations)."""
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for sample in samples:
        groups.setdefault(tuple(sample[key] for key in KEY), []).append(sample)
    summary = []
    for key, runs in groups.items():
        rates = [run["instances_per_s"] for run in runs]
        median = statistics.median(rates)
        summary.append(
            {
                **dict(zip(KEY, key, strict=True)),
                "runs": len(runs),
                "instances_per_s": round(median, 1),
                "mb_per_s": round(statistics.median(run["mb_per_s"] for run in runs), 1),
                "peak_rss_mb": round(statistics.median(run["peak_rss_mb"] for run in runs), 1),
                "peak_pss_mb": round(statistics.median(run["peak_pss_mb"] for run in runs), 1),
                "spread_pct": round(100 * (max(rates) - min(rates)) / median, 1),
                "failed_runs": sum(run["stored"] != run["instances"] for run in runs),
            }
        )
    return summary


def ratios(summary: Sequence[Row]) -> list[Row]:
    """Vesalius divided by each peer, per kind and number of associations."""
    found = {tuple(row[key] for key in KEY): row for row in summary}
    out = []
    for (server, kind, associations), row in found.items():
        ours = found.get(("vesalius", kind, associations))
        if server == "vesalius" or ours is None:
            continue
        out.append(
            {
                "peer": server,
                "kind": kind,
                "associations": associations,
                "throughput": round(ours["instances_per_s"] / row["instances_per_s"], 2),
                "peak_rss": round(ours["peak_rss_mb"] / row["peak_rss_mb"], 2),
            }
        )
    return out


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain text table (also valid Markdown)."""
    cells = [list(map(str, headers)), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]

    def line(row: list[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(cells[0]), rule, *map(line, cells[1:])])


def render(results: Row) -> str:
    """Everything worth printing at the end of a run."""
    machine = results["machine"]
    parts = [
        f"{machine['date']}, {machine['cores']} cores, load at start {machine['load_at_start']}",
        f"command: {machine['command']}",
        "",
        table(
            ["server", "kind", "assoc", "inst/s", "MB/s", "peak RSS MB", "spread %", "failed"],
            (
                [
                    r["server"],
                    r["kind"],
                    r["associations"],
                    r["instances_per_s"],
                    r["mb_per_s"],
                    r["peak_rss_mb"],
                    r["spread_pct"],
                    r["failed_runs"],
                ]
                for r in sorted(results["summary"], key=_order)
            ),
        ),
    ]
    if results["ratios"]:
        parts += [
            "",
            "Vesalius / peer (throughput above 1: Vesalius faster; RSS above 1: Vesalius bigger)",
            "",
            table(
                ["peer", "kind", "assoc", "throughput", "peak RSS"],
                (
                    [r["peer"], r["kind"], r["associations"], r["throughput"], r["peak_rss"]]
                    for r in results["ratios"]
                ),
            ),
        ]
    check = results.get("rss_check")
    if check:
        verdict = "within" if check["within_target"] else "ABOVE"
        parts += [
            "",
            f"RSS check: Vesalius, {check['instances']} CT instances over "
            f"{check['associations']} associations: peak RSS {check['peak_rss_mb']} MB "
            f"(sum over {check['peak_processes']} processes; PSS {check['peak_pss_mb']} MB), "
            f"{verdict} the {check['target_mb']} MB target; {check['instances_per_s']} inst/s, "
            f"stored {check['stored']}/{check['instances']}",
        ]
    parts += _log_notes(results)
    return "\n".join(parts)


def _order(row: Row) -> tuple[Any, ...]:
    servers = ["vesalius", "storescp", "bare", "orthanc"]
    return (row["kind"], row["associations"], servers.index(row["server"]))


def _log_notes(results: Row) -> list[str]:
    """What the Vesalius logs said beyond one INFO line per instance and association."""
    runs = [s for s in results["samples"] if "log" in s]
    if "rss_check" in results:
        runs.append(results["rss_check"])
    if not runs:
        return []
    levels: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    unusual: list[str] = []
    for run in runs:
        for level, count in run["log"]["levels"].items():
            levels[level] = levels.get(level, 0) + count
        for outcome, count in run["log"]["outcomes"].items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
        unusual += [line for line in run["log"]["unusual"] if line not in unusual]
    splits: dict[str, int] = {}
    for run in runs:
        if run["associations"] > 1:
            split = "+".join(map(str, run["log"].get("storescu_per_process", [])))
            splits[split] = splits.get(split, 0) + 1
    lines = ["", f"Vesalius logs of {len(runs)} runs: lines by level {levels}; stores {outcomes}"]
    if splits:
        shares = ", ".join(f"{split} in {count} run(s)" for split, count in sorted(splits.items()))
        lines.append(f"  parallel associations per receiving process: {shares}")
    lines += [f"  {line}" for line in unusual[:10]]
    return lines
