"""Turn bench/out/results.json into BENCHMARKS.md (and the scaling chart as a PNG)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {"nightly": 3.0, "import": 2.0, "page": 5.0, "account_page_p95_ms": 100.0}
NOTES_FILE = ROOT / "bench" / "NOTES.md"
# Sections written by other scripts (bench/load.py), kept when this report is rewritten.
KEPT_SECTIONS = ("## Load:",)


def _ok(ratio: float | None, target: float) -> str:
    if ratio is None:
        return "–"
    return "met" if ratio <= target else "**not met**"


def _scaling_chart(results: dict, png: Path) -> bool:
    import plotly.graph_objects as go

    scales = sorted(results["scales"], key=int)
    nightly = [results["scales"][s].get("nightly_seconds") for s in scales]
    page = [results["scales"][s].get("pages", {}).get("account health", {}).get("p95_ms") for s in scales]
    fig = go.Figure()
    fig.add_bar(x=[f"{int(s):,}" for s in scales], y=nightly, name="nightly run (s)", marker_color="#e4572e")
    fig.add_scatter(x=[f"{int(s):,}" for s in scales], y=page, name="account page p95 (ms)", yaxis="y2",
                    mode="lines+markers", marker_color="#1f77b4")
    fig.update_layout(
        title="How the cost grows with the number of accounts",
        xaxis_title="accounts", yaxis_title="nightly run, seconds",
        yaxis2={"title": "account page p95, ms", "overlaying": "y", "side": "right", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.25}, width=760, height=420, template="plotly_white",
    )
    try:
        os.environ.setdefault("BROWSER_PATH", "/usr/bin/chromium")
        fig.write_image(str(png))
        return True
    except Exception as exc:  # noqa: BLE001 - the chart is optional; the table carries the figures
        print(f"scaling chart not written ({exc})", file=sys.stderr)
        return False


def _section_bounds(lines: list[str], prefix: str) -> tuple[int, int] | None:
    """First and past-last line of the `## ` section whose title starts with `prefix`."""
    start = next((i for i, line in enumerate(lines) if line.startswith(prefix)), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def section(markdown: str, prefix: str) -> str | None:
    """The `## ` section titled `prefix…`, up to the next `## ` title, or None."""
    lines = markdown.splitlines()
    bounds = _section_bounds(lines, prefix)
    return "\n".join(lines[bounds[0]:bounds[1]]).strip() if bounds else None


def replace_section(markdown: str, prefix: str, text: str) -> str:
    """`markdown` with the section titled `prefix…` replaced by `text`, or `text` added before "## Reproduce"."""
    lines = markdown.splitlines()
    bounds = _section_bounds(lines, prefix)
    if bounds is None:
        at = next((i for i, line in enumerate(lines) if line.startswith("## Reproduce")), len(lines))
        bounds = (at, at)
    start, end = bounds
    return "\n".join([*lines[:start], *text.strip().splitlines(), "", *lines[end:]]).rstrip("\n") + "\n"


def write_report(results: dict, path: Path, png: Path) -> None:
    m = results["machine"]
    scales = sorted(results["scales"], key=int)
    largest = results["scales"][scales[-1]]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py). Every figure is measured in the same run as its baseline,",
        "on the same machine and database, and reported as a ratio to it.",
        "",
        f"**Machine:** {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, PostgreSQL {m['postgresql']}. ",
        f"**As-of date:** {results['as_of']}.",
        "",
        "## Data sizes",
        "",
        "| accounts | contacts | touchpoints | opportunities | programs | seed time |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scales:
        c = results["scales"][s]["counts"]
        seed = results["scales"][s].get("seed_seconds")
        lines.append(
            f"| {c['account']:,} | {c['contact']:,} | {c['touchpoint']:,} | {c['opportunity']:,} | {c['program']:,} "
            f"| {f'{seed:.0f} s' if seed else 'reused'} |"
        )

    lines += [
        "",
        "## 1. Nightly computation (all five families, one as-of date)",
        "",
        "Baseline: one hand-written `SELECT … GROUP BY account_id` over the 90-day window of touchpoints",
        "(count, sum of default-weight minutes, distinct contacts), best of 3 after a warm-up.",
        "",
        f"| accounts | nightly run | baseline | ratio (target ≤ {TARGETS['nightly']:g}) | peak RSS |",
        "|---:|---:|---:|---:|---:|",
    ]
    for s in [s for s in scales if "nightly_seconds" in results["scales"][s]]:
        r = results["scales"][s]
        ratio = r["nightly_seconds"] / r["baseline_seconds"]
        lines.append(
            f"| {int(s):,} | {r['nightly_seconds']:.1f} s | {r['baseline_seconds']:.2f} s | {ratio:.1f} "
            f"({_ok(ratio, TARGETS['nightly'])}) | {r['nightly_peak_rss_mb']:.0f} MB |"
        )
    if "workers_seconds" in largest:
        w = largest["workers_seconds"]
        lines += [
            "",
            f"Through real Celery workers on Redis at {int(scales[-1]):,} accounts: "
            + ", ".join(f"{n} worker process{'es' if int(n) > 1 else ''}: {sec:.1f} s" for n, sec in w.items())
            + ".",
        ]

    import_scales = [s for s in scales if "import_seconds" in results["scales"][s]]
    if import_scales:
        lines += [
            "",
            "## 2. Import of a touchpoint CSV",
            "",
            "`import_csv touchpoints FILE` (validate every row, resolve accounts, contacts and programs, upsert",
            "on (source, external_id)) against PostgreSQL `COPY` of the same file into a table of the file's",
            "shape with the same unique key and indexes.",
            "",
            f"| accounts | rows | import_csv | rows/s | COPY | ratio (target ≤ {TARGETS['import']:g}) | peak RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in import_scales:
            r = results["scales"][s]
            ratio = r["import_seconds"] / r["copy_seconds"]
            lines.append(
                f"| {int(s):,} | {r['import_rows']:,} | {r['import_seconds']:.1f} s | "
                f"{r['import_rows'] / r['import_seconds']:,.0f} | {r['copy_seconds']:.1f} s | {ratio:.1f} "
                f"({_ok(ratio, TARGETS['import'])}) | {r['import_peak_rss_mb']:.0f} MB |"
            )

    if "pages" in largest:
        lines += [
            "",
            f"## 3. Pages at {int(scales[-1]):,} accounts",
            "",
            "Server time through Django's test client (middleware, view, queries, template), 40 requests",
            "each after 5 warm-ups, against a trivial view in the same process.",
            "",
            f"| page | median | p95 | queries | median ÷ trivial (target ≤ {TARGETS['page']:g}) |",
            "|---|---:|---:|---:|---:|",
        ]
        trivial = largest["pages"]["trivial view"]["median_ms"]
        for name, p in largest["pages"].items():
            ratio = p["median_ms"] / trivial
            verdict = "" if name == "trivial view" else f" ({_ok(ratio, TARGETS['page'])})"
            lines.append(
                f"| {name} | {p['median_ms']:.1f} ms | {p['p95_ms']:.1f} ms | {p['queries']} | {ratio:.1f}{verdict} |"
            )
        account_p95 = largest["pages"]["account health"]["p95_ms"]
        lines += [
            "",
            f"Account page p95: {account_p95:.0f} ms (target < {TARGETS['account_page_p95_ms']:.0f} ms: "
            f"{'met' if account_p95 < TARGETS['account_page_p95_ms'] else '**not met**'}).",
        ]

    lines += [
        "",
        "## 4. Memory",
        "",
        "Peak resident memory of the whole process tree (sampled every 50 ms). Both jobs work in fixed-size",
        "chunks, so memory should stay flat as the data grows.",
        "",
        "| accounts | nightly run | import (rows) |",
        "|---:|---:|---:|",
    ]
    for s in scales:
        r = results["scales"][s]
        imp = f"{r['import_peak_rss_mb']:.0f} MB ({r['import_rows']:,})" if "import_peak_rss_mb" in r else "–"
        nightly = f"{r['nightly_peak_rss_mb']:.0f} MB" if "nightly_peak_rss_mb" in r else "–"
        lines.append(f"| {int(s):,} | {nightly} | {imp} |")

    lines += [
        "",
        "## How the cost grows",
        "",
        "| accounts | nightly run | account page p95 |",
        "|---:|---:|---:|",
    ]
    for s in scales:
        r = results["scales"][s]
        p95 = r.get("pages", {}).get("account health", {}).get("p95_ms")
        nightly = f"{r['nightly_seconds']:.1f} s" if "nightly_seconds" in r else "–"
        lines.append(f"| {int(s):,} | {nightly} | {f'{p95:.0f} ms' if p95 else '–'} |")
    if _scaling_chart(results, png):
        lines += ["", f"![Scaling chart]({png.relative_to(path.parent)})"]

    if NOTES_FILE.exists():
        lines += ["", NOTES_FILE.read_text().strip()]
    lines += [
        "",
        "## Reproduce",
        "",
        "```sh",
        "make bench                                     # all scales; seeds abm_bench_<n> databases once",
        "make bench BENCH_ARGS='--scales 1000,10000'    # smaller",
        "make bench BENCH_ARGS='--fresh'                # re-seed",
        "```",
        "",
        "Needs PostgreSQL at 127.0.0.1:5432 (`BENCH_PG` to change) and Redis (`BENCH_REDIS`) for the worker",
        "figures; raw figures are kept in bench/out/results.json.",
        "",
    ]
    report = "\n".join(lines)
    previous = path.read_text() if path.exists() else ""
    for prefix in KEPT_SECTIONS:
        if kept := section(previous, prefix):
            report = replace_section(report, prefix, kept)
    path.write_text(report)


if __name__ == "__main__":
    write_report(json.loads((ROOT / "bench/out/results.json").read_text()), ROOT / "BENCHMARKS.md",
                 ROOT / "docs" / "bench-scaling.png")
