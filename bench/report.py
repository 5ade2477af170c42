"""Turn bench/out/results.json into BENCHMARKS.md (and the scaling chart as a PNG)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The targets of issue 13, each a ratio to its baseline measured in the same run (the account page
# also has an absolute limit at the largest scale).
TARGETS = {
    "nightly": 3.0, "backfill": 3.0, "refresh": 0.1, "import": 2.0, "page": 5.0, "account_page_p95_ms": 50.0,
}
NOTES_FILE = ROOT / "bench" / "NOTES.md"
# Sections written by other scripts (bench/load.py), kept when this report is rewritten.
KEPT_SECTIONS = ("## Load:",)


def _ok(ratio: float | None, target: float) -> str:
    if ratio is None:
        return "–"
    return "met" if ratio <= target else "**not met**"


def _page(pages: dict, kind: str) -> tuple[str, dict] | None:
    """The (name, figures) of a page by its name, or of My accounts by its kind ("my accounts typical")."""
    for name, figures in pages.items():
        if name == kind or figures.get("kind") == kind:
            return name, figures
    return None


def _page_ratio(pages: dict, kind: str) -> float | None:
    """The page's p95 over the trivial view's p95 (the issue's "page p95 / trivial view")."""
    found = _page(pages, kind)
    trivial = pages.get("trivial view")
    return found[1]["p95_ms"] / trivial["p95_ms"] if found and trivial else None


def ratios(r: dict) -> dict[str, float | None]:
    """One scale's figures as ratios to their baselines (None where not measured)."""
    pages = r.get("pages", {})
    return {
        "nightly": r["nightly_seconds"] / r["baseline_seconds"] if "nightly_seconds" in r else None,
        "backfill": r["backfill_seconds"] / r["backfill_baseline_seconds"] if "backfill_seconds" in r else None,
        "refresh": r["refresh"]["seconds"] / r["nightly_seconds"] if "refresh" in r and "nightly_seconds" in r
        else None,
        "import": r["import_seconds"] / r["copy_seconds"] if "import_seconds" in r else None,
        "account page": _page_ratio(pages, "account health"),
        "my accounts": _page_ratio(pages, "my accounts typical"),
    }


# (panel title, unit, the cost, its baseline or None) per scale's results, for the scaling chart.
COSTS = (
    ("nightly run (one day)", "s", lambda r: r.get("nightly_seconds"), lambda r: r.get("baseline_seconds")),
    ("backfill (90 days)", "s", lambda r: r.get("backfill_seconds"), lambda r: r.get("backfill_baseline_seconds")),
    ("refresh after touches at 1 % of accounts", "s", lambda r: r.get("refresh", {}).get("seconds"),
     lambda r: r.get("nightly_seconds")),
    ("import of the touchpoint CSV", "s", lambda r: r.get("import_seconds"), lambda r: r.get("copy_seconds")),
    ("account page p95", "ms", lambda r: (_page(r.get("pages", {}), "account health") or (0, {}))[1].get("p95_ms"),
     lambda r: r.get("pages", {}).get("trivial view", {}).get("p95_ms")),
    ("My accounts p95 (typical book)", "ms",
     lambda r: (_page(r.get("pages", {}), "my accounts typical") or (0, {}))[1].get("p95_ms"),
     lambda r: r.get("pages", {}).get("trivial view", {}).get("p95_ms")),
)


def _scaling_chart(results: dict, png: Path) -> bool:
    """One panel per cost against the number of accounts (log–log), its baseline dashed beside it."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    scales = sorted(results["scales"], key=int)
    fig = make_subplots(rows=2, cols=3, subplot_titles=[title for title, *_ in COSTS], horizontal_spacing=0.09,
                        vertical_spacing=0.2)
    shown: set[str] = set()
    for i, (title, unit, cost, baseline) in enumerate(COSTS):
        row, col = divmod(i, 3)
        for name, get, style in (("measured", cost, {"color": "#e4572e"}),
                                 ("baseline (the refresh's: the nightly run)", baseline,
                                  {"color": "#8a94a6", "dash": "dash"})):
            points = [(int(s), get(results["scales"][s])) for s in scales]
            points = [(x, y) for x, y in points if y]
            if not points:
                continue
            fig.add_scatter(x=[x for x, _ in points], y=[y for _, y in points], name=name, mode="lines+markers",
                            line=style, showlegend=name not in shown, legendgroup=name, row=row + 1, col=col + 1)
            shown.add(name)
        fig.update_xaxes(type="log", title_text="accounts", tickvals=[int(s) for s in scales],
                         ticktext=[f"{int(s):,}" for s in scales], row=row + 1, col=col + 1)
        fig.update_yaxes(type="log", title_text=unit, row=row + 1, col=col + 1)
    fig.update_layout(
        title="How each cost grows with the number of accounts (log–log; baseline of the same run dashed)",
        width=1100, height=640, template="plotly_white", legend={"orientation": "h", "y": -0.12},
        font={"size": 11},
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


def _ratio_cell(ratio: float | None, target: str) -> str:
    return "–" if ratio is None else f"{ratio:.2f} ({_ok(ratio, TARGETS[target])})"


def _fmt(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


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
        "Each rep owns a realistic book: the seed adds reps until there are about 200 target accounts",
        "each (`seed_demo --reps`); at 1,000 accounts the demo's four reps own fewer.",
        "",
        "| accounts | contacts | touchpoints | opportunities | programs | reps | target accounts per rep | seed time |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scales:
        c = results["scales"][s]["counts"]
        seed = results["scales"][s].get("seed_seconds")
        books = c.get("books")
        book = f"{books['min']:,}–{books['max']:,} (median {books['median']:,})" if books else "–"
        lines.append(
            f"| {c['account']:,} | {c['contact']:,} | {c['touchpoint']:,} | {c['opportunity']:,} | {c['program']:,} "
            f"| {c.get('reps', '–')} | {book} | {f'{seed:.0f} s' if seed else 'reused'} |"
        )

    # The targets at a glance: every ratio at every scale measured.
    names = {
        "nightly": "nightly run ÷ one GROUP BY pass over the 90-day window",
        "backfill": "backfill of 90 days ÷ 90 such passes",
        "refresh": "refresh after touches at 1 % of accounts ÷ the nightly run",
        "import": "import_csv ÷ COPY into a table of the same shape, indexes and rows",
        "account page": "account page p95 ÷ trivial view p95",
        "my accounts": "My accounts p95, a ≈ 200-account book ÷ trivial view p95",
    }
    targets = {"nightly": "nightly", "backfill": "backfill", "refresh": "refresh", "import": "import",
               "account page": "page", "my accounts": "page"}
    per_scale = {s: ratios(results["scales"][s]) for s in scales}
    lines += [
        "",
        "## Targets",
        "",
        "| figure | " + " | ".join(f"{int(s):,}" for s in scales) + " | target |",
        "|---|" + "---:|" * len(scales) + "---:|",
    ]
    for key, label in names.items():
        target = TARGETS[targets[key]]
        cells = []
        for s in scales:
            ratio = per_scale[s][key]
            cells.append("–" if ratio is None else f"{ratio:.2f}× ({_ok(ratio, target)})")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | ≤ {target:g}× |")
    def account_page_p95(r: dict) -> float | None:
        return (_page(r.get("pages", {}), "account health") or ("", {}))[1].get("p95_ms")

    account_p95 = account_page_p95(largest)
    if account_p95 is not None:
        limit = TARGETS["account_page_p95_ms"]
        cells = [account_page_p95(results["scales"][s]) for s in scales]
        lines.append(
            "| account page p95 | " + " | ".join("–" if c is None else f"{c:.0f} ms" for c in cells)
            + f" | < {limit:.0f} ms at {int(scales[-1]):,} ({'met' if account_p95 < limit else '**not met**'}) |"
        )
    memory = (("nightly_peak_rss_mb", "peak memory, nightly run"), ("import_peak_rss_mb", "peak memory, import"))
    for key, label in memory:
        cells = [results["scales"][s].get(key) for s in scales]
        measured = [c for c in cells if c is not None]
        if len(measured) < 2:
            continue
        # Flat: the largest scale needs at most a quarter more than the smallest one measured.
        flat = measured[-1] <= 1.25 * measured[0]
        lines.append(
            f"| {label} | " + " | ".join("–" if c is None else f"{c:.0f} MB" for c in cells)
            + f" | flat ({'met' if flat else '**not met**'}: ≤ 1.25× the smallest scale's) |"
        )

    lines += [
        "",
        "## 1. Nightly computation (all five families, one as-of date)",
        "",
        "Baseline: one hand-written `SELECT … GROUP BY account_id` over the 90-day window of touchpoints",
        "(count, sum of default-weight minutes, distinct contacts), best of 3 after a warm-up. The nightly",
        "run is `manage.py compute_metrics --as-of D`, the whole process (start-up included).",
        "",
        f"| accounts | nightly run | baseline | ratio (target ≤ {TARGETS['nightly']:g}) | peak RSS |",
        "|---:|---:|---:|---:|---:|",
    ]
    for s in [s for s in scales if "nightly_seconds" in results["scales"][s]]:
        r = results["scales"][s]
        ratio = per_scale[s]["nightly"]
        lines.append(
            f"| {int(s):,} | {_fmt(r['nightly_seconds'])} | {r['baseline_seconds']:.2f} s | {ratio:.1f} "
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

    backfill_scales = [s for s in scales if "backfill_seconds" in results["scales"][s]]
    if backfill_scales:
        lines += [
            "",
            "## 2. Backfill",
            "",
            "`compute_metrics --as-of D --days N`: the N days ending with D, as a new installation's history,",
            "against N baseline passes (each day's own 90-day window, one after the other).",
            "",
            f"| accounts | days | backfill | per day | N baseline passes | ratio (target ≤ {TARGETS['backfill']:g}) "
            "| peak RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in backfill_scales:
            r = results["scales"][s]
            ratio = per_scale[s]["backfill"]
            lines.append(
                f"| {int(s):,} | {r['backfill_days']} | {_fmt(r['backfill_seconds'])} | "
                f"{_fmt(r['backfill_seconds'] / r['backfill_days'])} | {_fmt(r['backfill_baseline_seconds'])} | "
                f"{_ratio_cell(ratio, 'backfill')} | {r['backfill_peak_rss_mb']:.0f} MB |"
            )
    missing = [s for s in scales if s not in backfill_scales]
    if backfill_scales and missing:
        lines += ["", "Not measured at " + ", ".join(f"{int(s):,}" for s in missing) + " accounts in this run."]

    refresh_scales = [s for s in scales if "refresh" in results["scales"][s]]
    if refresh_scales:
        lines += [
            "",
            "## 3. Refresh after an import",
            "",
            "New touches on day D (five each) for 1 % of the accounts, imported with `import_csv` (its refresh",
            "queued), then the refresh that import queues (`metrics.tasks.refresh_pending`: the waiting refresh",
            "request's accounts, their snapshots of every published day their touches change, and those days'",
            "rollups), run synchronously in a started process and timed alone (bench/refresh.py), against the",
            "whole nightly run of section 1.",
            "",
            f"| accounts | touched accounts | days refreshed | refresh | nightly run | ratio "
            f"(target ≤ {TARGETS['refresh']:g}) | import of the touches |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in refresh_scales:
            r = results["scales"][s]
            f = r["refresh"]
            ratio = per_scale[s]["refresh"]
            lines.append(
                f"| {int(s):,} | {f['accounts']:,} | {len(f['days'])} | {_fmt(f['seconds'])} | "
                f"{_fmt(r.get('nightly_seconds'))} | "
                f"{_ratio_cell(ratio, 'refresh')} | "
                f"{_fmt(f['import_seconds'])} |"
            )

    import_scales = [s for s in scales if "import_seconds" in results["scales"][s]]
    if import_scales:
        lines += [
            "",
            "## 4. Import of a touchpoint CSV",
            "",
            "`import_csv touchpoints FILE` (validate every row, resolve accounts, contacts and programs, upsert",
            "on (source, external_id)) with a broker configured, as in production: the metrics refresh it",
            "triggers is queued for the workers (section 3 measures it), not run inside the import. Baseline:",
            "PostgreSQL `COPY` of the same rows, in the table's own columns (ids already resolved), into a",
            "table of the touchpoint table's shape — `LIKE accounts_touchpoint INCLUDING ALL`, with the same",
            "partitions when it is partitioned — that already holds the same rows (not an empty table).",
            "",
            f"| accounts | rows | into | import_csv | rows/s | COPY | ratio (target ≤ {TARGETS['import']:g}) "
            "| peak RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in import_scales:
            r = results["scales"][s]
            ratio = per_scale[s]["import"]
            lines.append(
                f"| {int(s):,} | {r['import_rows']:,} | {r['counts']['touchpoint']:,} | {_fmt(r['import_seconds'])} | "
                f"{r['import_rows'] / r['import_seconds']:,.0f} | {_fmt(r['copy_seconds'])} | {ratio:.1f} "
                f"({_ok(ratio, TARGETS['import'])}) | {r['import_peak_rss_mb']:.0f} MB |"
            )

    if "pages" in largest:
        lines += [
            "",
            f"## 5. Pages at {int(scales[-1]):,} accounts",
            "",
            "Server time through Django's test client (middleware, view, queries, template), 40 requests",
            "each after 5 warm-ups, against a trivial view in the same process. My accounts is measured for",
            "the rep whose book is nearest 200 target accounts and for the rep with the largest book.",
            "",
            f"| page | median | p95 | queries | p95 ÷ trivial p95 (target ≤ {TARGETS['page']:g}) |",
            "|---|---:|---:|---:|---:|",
        ]
        trivial = largest["pages"]["trivial view"]["p95_ms"]
        for name, p in largest["pages"].items():
            ratio = p["p95_ms"] / trivial
            verdict = "" if name == "trivial view" else f" ({_ok(ratio, TARGETS['page'])})"
            lines.append(
                f"| {name} | {p['median_ms']:.1f} ms | {p['p95_ms']:.1f} ms | {p['queries']} | {ratio:.1f}{verdict} |"
            )
        if account_p95 is not None:
            lines += [
                "",
                f"Account page p95: {account_p95:.0f} ms (target < {TARGETS['account_page_p95_ms']:.0f} ms: "
                f"{'met' if account_p95 < TARGETS['account_page_p95_ms'] else '**not met**'}).",
            ]

    lines += [
        "",
        "## 6. Memory",
        "",
        "Peak resident memory of the whole process tree (sampled every 50 ms). Both jobs work in fixed-size",
        "chunks, so memory should stay flat as the data grows.",
        "",
        "| accounts | nightly run | backfill | import (rows) |",
        "|---:|---:|---:|---:|",
    ]
    for s in scales:
        r = results["scales"][s]
        imp = f"{r['import_peak_rss_mb']:.0f} MB ({r['import_rows']:,})" if "import_peak_rss_mb" in r else "–"
        nightly = f"{r['nightly_peak_rss_mb']:.0f} MB" if "nightly_peak_rss_mb" in r else "–"
        back = f"{r['backfill_peak_rss_mb']:.0f} MB" if "backfill_peak_rss_mb" in r else "–"
        lines.append(f"| {int(s):,} | {nightly} | {back} | {imp} |")

    lines += [
        "",
        "## How each cost grows",
        "",
        "| accounts | " + " | ".join(title for title, *_ in COSTS) + " |",
        "|---:|" + "---:|" * len(COSTS),
    ]
    for s in scales:
        r = results["scales"][s]
        cells = []
        for _, unit, cost, _ in COSTS:
            value = cost(r)
            cells.append("–" if value is None else (f"{value:.0f} ms" if unit == "ms" else _fmt(value)))
        lines.append(f"| {int(s):,} | " + " | ".join(cells) + " |")
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
        "make bench BENCH_ARGS='--backfill-scales 10000' # the 90-day backfill at 10,000 accounts only",
        "make bench BENCH_ARGS='--fresh'                # re-seed",
        "```",
        "",
        "Needs PostgreSQL at 127.0.0.1:5432 (`BENCH_PG` to change) and Redis (`BENCH_REDIS`) for the worker",
        "figures and the import's queued refresh; raw figures are kept in bench/out/results.json.",
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
