from django.urls import path

from smsdesk.optout import views

app_name = "optout"
urlpatterns = [
    path("", views.stop_list, name="list"),
    path("export.csv", views.export_csv, name="export"),
    path("history/", views.history, name="history"),
    path("add/", views.add_number, name="add"),
    path("import/", views.import_numbers, name="import"),
    path("confirmation/", views.confirmation, name="confirmation"),
    path("<int:entry_id>/remove/", views.remove_number, name="remove"),
    path("check/", views.check_numbers, name="blocked_count"),
]
