from django.urls import path

from smsdesk.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("statistics/", views.statistics_page, name="statistics"),
    path("statistics/export/", views.statistics_csv, name="statistics_csv"),
]
