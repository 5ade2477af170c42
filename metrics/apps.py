from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"

    def ready(self) -> None:
        # The accounts app tells of new touches with a signal (it must not import metrics).
        from accounts.signals import touchpoints_changed
        from metrics.tasks import queue_refresh

        touchpoints_changed.connect(queue_refresh, dispatch_uid="metrics.refresh_after_new_touches")
