"""Injected faults: what can go wrong between a bot and Telegram, on demand.

A ``Fault`` matches calls by method (or ``"*"``) and optionally chat, fires for the next
``count`` matching calls or with a ``probability``, and is served before the call is executed
(``when="before"``: nothing happened) or after it (``when="after"``: the call took effect but the
bot never hears so, as with a timeout after delivery).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["500", "502", "429", "timeout", "drop", "migrate"]
KINDS: tuple[str, ...] = ("500", "502", "429", "timeout", "drop", "migrate")


@dataclass
class Fault:
    """One injection rule; see the module docstring."""

    kind: FaultKind
    method: str = "*"
    count: int | None = 1
    probability: float = 1.0
    chat_id: int | None = None
    retry_after: int = 1
    migrate_to_chat_id: int | None = None
    hang: float = 65.0  # longer than PTB's 5 s and aiogram's 60 s default timeouts
    when: Literal["before", "after"] = "before"
    served: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view."""
        return asdict(self)


@dataclass
class FaultPlan:
    """The active faults; ``pick`` is called once per Bot API call."""

    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        """Activate a fault."""
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        self.faults.clear()

    def pick(self, method: str, chat_id: int | None) -> Fault | None:
        """The fault to serve for this call, if any (consumes one use of it)."""
        if not self.faults:
            return None
        lowered = method.lower()
        for fault in self.faults:
            if fault.method != "*" and fault.method.lower() != lowered:
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            fault.served += 1
            self.served[fault.kind] = self.served.get(fault.kind, 0) + 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
            return fault
        return None
