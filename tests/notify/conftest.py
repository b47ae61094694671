from tests.mail.conftest import smtp_server  # noqa: F401  (the same real SMTP server)
