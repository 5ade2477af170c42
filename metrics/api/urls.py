from rest_framework.routers import SimpleRouter

from metrics.api import views

# SimpleRouter: accounts.api's DefaultRouter already serves the /api/v1/ root.
router = SimpleRouter()
router.register("metrics/account-snapshots", views.AccountSnapshotViewSet, basename="account-snapshot")
router.register("metrics/segment-snapshots", views.SegmentSnapshotViewSet, basename="segment-snapshot")
router.register("metrics/program-snapshots", views.ProgramSnapshotViewSet, basename="program-snapshot")
router.register("metrics/channel-snapshots", views.ChannelSnapshotViewSet, basename="channel-snapshot")
router.register("metrics/outcome-groups", views.OutcomeGroupViewSet, basename="outcome-group")
router.register("metrics/influence-summaries", views.InfluenceSummaryViewSet, basename="influence-summary")
router.register("metrics/attribution-credits", views.AttributionCreditViewSet, basename="attribution-credit")
router.register("metrics/contact-snapshots", views.ContactSnapshotViewSet, basename="contact-snapshot")

urlpatterns = router.urls
