from django.urls import path

from smsdesk.directory import views

app_name = "directory"
urlpatterns = [
    path("contacts/", views.contacts, name="contacts"),
    path("contacts/new/", views.contact_new, name="contact_new"),
    path("contacts/delete/", views.contacts_delete, name="contacts_delete"),
    path("contacts/export/", views.export, name="export"),
    path("contacts/import/", views.import_upload, name="import"),
    path("contacts/import/<str:token>/", views.import_preview, name="import_preview"),
    path("contacts/invalid/<int:report_id>/", views.invalid_numbers, name="invalid"),
    path("contacts/invalid/<int:report_id>/csv/", views.invalid_csv, name="invalid_csv"),
    path(
        "contacts/invalid/<int:report_id>/cleanup/",
        views.invalid_cleanup,
        name="invalid_cleanup",
    ),
    path("contacts/fields/", views.fields, name="fields"),
    path("contacts/fields/<int:field_id>/delete/", views.field_delete, name="field_delete"),
    path("contacts/<int:contact_id>/", views.contact, name="contact"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("groups/", views.groups, name="groups"),
    path("groups/new/", views.group_new, name="group_new"),
    path("groups/new-dynamic/", views.dynamic_group_new, name="dynamic_group_new"),
    path("groups/rule-count/", views.dynamic_group_count, name="dynamic_group_count"),
    path("groups/pick/", views.group_pick, name="group_pick"),
    path("groups/delete/", views.groups_delete, name="groups_delete"),
    path("groups/<int:group_id>/edit/", views.group_edit, name="group_edit"),
    path("suggest/<str:kind>/", views.suggest, name="suggest"),
]
