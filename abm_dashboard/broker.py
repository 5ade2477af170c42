"""Is the Celery broker (Redis) there? Asked before queuing work and by /healthz.

Callers that are about to queue an import or a metrics run check `broker_available()` first and
raise `BrokerUnavailable` when it is False, so the user is told "try again later" instead of the
request hanging on a dead socket or the work silently never starting.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

from abm_dashboard.celery import app as celery_app

logger = logging.getLogger(__name__)

# Long enough for a healthy Redis on the same network, short enough that a page or a load
# balancer's probe never waits on a dead one.
PING_TIMEOUT_SECONDS = 1.0


class BrokerUnavailable(Exception):
    """The broker needed to queue work is down; nothing was queued."""


def redis_answers(url: str) -> bool:
    """One PING with a short connect and read timeout; the reason for a failure goes to the log."""
    client = None
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=PING_TIMEOUT_SECONDS, socket_timeout=PING_TIMEOUT_SECONDS
        )
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        logger.warning("Redis did not answer a PING", exc_info=True)
        return False
    finally:
        if client is not None:
            client.close()


def broker_available() -> bool:
    """True when queued work would run: tasks run in-process (no REDIS_URL, or eager mode), or Redis answers."""
    if celery_app.conf.task_always_eager or not settings.REDIS_URL:
        return True
    return redis_answers(settings.REDIS_URL)
