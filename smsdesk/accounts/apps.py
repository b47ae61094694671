from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "smsdesk.accounts"
    label = "accounts"
