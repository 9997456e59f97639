"""observer-bot: the reporting channel of Guangdong's social work observation stations."""

__version__ = "0.1.0"
