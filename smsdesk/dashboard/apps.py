from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "smsdesk.dashboard"
    label = "dashboard"
