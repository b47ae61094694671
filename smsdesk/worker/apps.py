from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "smsdesk.worker"
    label = "worker"
