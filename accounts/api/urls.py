from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet)
router.register("contacts", views.ContactViewSet)
router.register("segments", views.SegmentViewSet)
router.register("programs", views.ProgramViewSet)
router.register("opportunities", views.OpportunityViewSet)

urlpatterns = [
    path("touchpoints/bulk", views.TouchpointBulkView.as_view(), name="touchpoints-bulk"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    *router.urls,
]
