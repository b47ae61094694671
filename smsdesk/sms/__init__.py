"""The pure SMS domain: GSM 03.38 text analysis, phone numbers, opt-out keywords.

No Django and no I/O here: small total functions, errors are typed (`errors.py`).
"""
