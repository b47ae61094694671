from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "smsdesk.directory"
    label = "directory"
