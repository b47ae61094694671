from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "smsdesk.tenants"
    label = "tenants"
