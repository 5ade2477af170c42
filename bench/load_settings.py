"""The project's settings for bench/load.py, with one change: static files are collected under bench/out/.

Production settings serve static files through whitenoise's manifest storage, so `{% static %}`
needs a `collectstatic` first; collecting into the repository's staticfiles/ would overwrite
whatever another checkout user collected there, so the load run keeps its own copy.
"""

from abm_dashboard.settings import *  # noqa: F403
from abm_dashboard.settings import BASE_DIR

STATIC_ROOT = BASE_DIR / "bench" / "out" / "load-static"
