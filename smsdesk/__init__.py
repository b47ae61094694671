"""smsdesk: a self-hosted SMS platform."""

__version__ = "0.1.0"
