"""Deterministic, realistic demo data (`manage.py seed_demo`).

generator.py draws the data (pure, no database); writers.py stores it in bulk (COPY on
PostgreSQL); loader.py ties them together chunk by chunk.
"""

from .loader import DemoDataExists, SeedResult, demo_data_present, seed_demo

__all__ = ["DemoDataExists", "SeedResult", "demo_data_present", "seed_demo"]
