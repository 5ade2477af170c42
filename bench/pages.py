"""Server time of the dashboard pages against a trivial Django view, in one process.

Run by bench/run.py with DATABASE_URL pointing at a seeded and computed database; prints JSON.
Each page is requested through Django's test client (the whole middleware, view, template and
query path, without network), after warm-up requests, cycling through different accounts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abm_dashboard.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from accounts.models import Account, Segment  # noqa: E402
from bench.measure import median, percentile  # noqa: E402

WARMUP = 5
REPEAT = int(os.environ.get("BENCH_PAGE_REPEAT", "40"))
BOOK = 200  # a realistic book: target accounts per rep (bench/run.py seeds reps to match)


def _time(client: Client, urls: list[str]) -> dict[str, float]:
    for url in urls[:WARMUP]:
        client.get(url)
    timings, queries = [], []
    for i in range(REPEAT):
        url = urls[i % len(urls)]
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        queries.append(len(connection.queries))
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return {"median_ms": median(timings), "p95_ms": percentile(timings, 95), "queries": max(queries)}


@override_settings(ROOT_URLCONF="bench.urls", DEBUG=True, ALLOWED_HOSTS=["testserver"])
def main() -> None:
    settings.DEBUG = True  # record queries for the per-page query count
    from django.contrib.auth.models import User

    # Reps' books (their target accounts): My accounts for a realistic book (the one nearest BOOK
    # accounts) and for the largest one; the other pages as the largest book's rep.
    books = list(
        Account.objects.filter(is_target=True, owner__isnull=False)
        .values("owner")
        .annotate(n=Count("id"))
        .order_by("-n", "owner")
    )
    largest = books[0]
    typical = min(books, key=lambda b: (abs(b["n"] - BOOK), b["owner"]))
    clients = {}
    for book in (largest, typical):
        clients[book["owner"]] = Client()
        clients[book["owner"]].force_login(User.objects.get(pk=book["owner"]))
    client = clients[largest["owner"]]
    account_ids = list(Account.objects.filter(is_target=True).order_by("?").values_list("id", flat=True)[:50])
    segment = Segment.objects.annotate(n=Count("accounts")).order_by("-n").first()
    pages = {
        "trivial view": ["/bench/trivial/"],
        "account health": [f"/accounts/{pk}/" for pk in account_ids],
        "account list (filtered, sorted)": [
            "/accounts/?target=true&tier=1&sort=-minutes_90d",
            "/accounts/?stage=engaged&sort=-minutes_30d",
            "/accounts/?spike=true&sort=-minutes_7d",
        ],
        "segment": [f"/segments/{segment.pk}/"],
        "influence summary": ["/influence/"],
    }
    results = {name: _time(client, urls) for name, urls in pages.items()}
    for label, book in (("typical", typical), ("largest", largest)):
        name = f"my accounts ({label} book: {book['n']:,} target accounts)"
        results[name] = {**_time(clients[book["owner"]], ["/me/"]), "book": book["n"], "kind": f"my accounts {label}"}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
