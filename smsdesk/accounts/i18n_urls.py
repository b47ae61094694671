"""The language switch at /i18n/setlang/ (name `set_language`, as Django's own), kept on
the account of a logged-in user (accounts.views.set_language)."""

from django.urls import path

from smsdesk.accounts import views

urlpatterns = [
    path("setlang/", views.set_language, name="set_language"),
]
