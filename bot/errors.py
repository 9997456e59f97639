"""The project's exceptions, one documented tree.

    ObserverBotError
    ├── ConfigError          a setting is missing or wrong; the message names the variable
    ├── SchemaError          the database schema is missing or older than the code
    ├── RosterError          a roster file cannot be read at all (bad rows are reported, not raised)
    └── DomainError          a business rule refuses an action (wrong state, wrong department)
        └── Refused          an action refused to a person; ``key`` names the answer to give

Each message is one line a person can act on. The CLI prints it to stderr and exits non-zero;
the bot answers the user in plain Chinese and logs the traceback.
"""

from __future__ import annotations


class ObserverBotError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(ObserverBotError):
    """A setting is missing or has a value that is not allowed."""


class SchemaError(ObserverBotError):
    """The database schema is missing or out of date."""


class RosterError(ObserverBotError):
    """A roster file cannot be read at all."""


class DomainError(ObserverBotError):
    """A business rule refuses the requested action."""


class Refused(DomainError):
    """An action the rules do not allow now; ``key`` names the answer in the catalogue."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key
