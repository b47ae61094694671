import os

import django

from smsdesk.core.handler import SmsdeskWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsdesk.settings")
django.setup(set_prefix=False)
# Django's WSGIHandler, with the API's own middleware chain for programs (core/handler.py)
application = SmsdeskWSGIHandler()
