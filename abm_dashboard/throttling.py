"""API rate limits whose counts every web process shares, and which never take the API down."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis
from django.core.cache import BaseCache, caches
from rest_framework.throttling import UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# settings.CACHES alias: Redis when REDIS_URL is set, else a file cache (see settings.py).
THROTTLE_CACHE = "throttle"


class SharedUserRateThrottle(UserRateThrottle):
    """DRF's per-user rate limit, counted in the shared "throttle" cache.

    DRF's default counts in the default cache, which without Redis is per-process memory: with
    three gunicorn workers a user got three times the rate. When the cache itself is down the
    request is let through and a warning logged: a Redis outage must not turn every API read
    into an error (reads need only the database), and losing the limit for the outage is the
    smaller harm.
    """

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]
        # Looked up per request, not at import, so a settings change (tests) is seen.
        return caches[THROTTLE_CACHE]

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except (redis.RedisError, OSError) as exc:
            logger.warning("API throttle cache unavailable, request allowed without a rate check: %s",
                           type(exc).__name__)
            return True
