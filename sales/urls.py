from django.urls import path

from sales import views_activity, views_trends

app_name = "sales"

urlpatterns: list = [
    path("sales-activity/", views_activity.sales_activity, name="activity"),
    path("trends/", views_trends.trends_page, name="trends"),
    path("trends/export.csv", views_trends.trends_export, name="trends_export"),
]
