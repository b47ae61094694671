"""One date format per language, used on every page (FORMAT_MODULE_PATH in settings).

Django's English defaults mix "11/25/2026 3 p.m." and "2:56 p.m."; we show a 24-hour clock
in both languages: "25/11/2026 15:02" in French, "25 Nov 2026, 15:02" in English. Templates
show dates with the `when` filter (core/templatetags/smsdesk.py), which adds "today 15:02".
The API is not concerned: it answers ISO 8601."""
