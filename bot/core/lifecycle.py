"""The life of a report, declared once: which action may follow which status, and what it leads to.

Every status change of a report is one of the steps below, and every place that asks "may this
happen now?" or "what comes next?" — the services that change state, the cards that show
buttons, the authority policy — reads this table and nothing else. ::

    created ──► routed ──sign──► signed ──resolve──► resolved ──rate──► closed
       │          │  ▲             │  ▲                  │
       │          │  └──transfer───┘  └──────reopen──────┘
       │          └──return──┐     │
       │                     ▼     ▼ return
       ├─────────────────► dispatch ──route──► routed
       │                     └──close──► closed
       │   routed, dispatch ──withdraw (the observer, before signing)──► closed
       └─ sentiment ──► recorded

A suggestion is answered rather than resolved: ``resolve`` closes it at once. Actions that do
not move the report (an internal note, an answer to the observer, an extension request or
decision, a follow-up) are steps too, so their allowed statuses live here as well.

Who may take a step is the ``role``; whether a given person in a given chat holds that role
for a given report is decided by ``bot.core.authority``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Where a report stands (stored in ``Report.status``)."""

    ROUTED = "routed"  # waiting to be signed for by the department
    DISPATCH = "dispatch"  # waiting for the dispatch department (unrouted or returned)
    SIGNED = "signed"  # signed for, being handled
    RESOLVED = "resolved"  # the department closed it (办结); the observer may rate
    CLOSED = "closed"  # final: rated, answered, or closed by dispatch
    RECORDED = "recorded"  # a sentiment record: no handling


class Action(StrEnum):
    """What somebody (or the system) does to a report."""

    SIGN = "sign"  # 签收
    TRANSFER = "transfer"  # 转办 to another department
    RETURN = "return"  # 退回 to dispatch
    RESOLVE = "resolve"  # 办结 (a suggestion: 答复)
    EXTEND = "extend"  # ask dispatch for more time (申请延期)
    ANSWER = "answer"  # answer the observer (答复观察员)
    NOTE = "note"  # an internal note in the handling group, never sent to the observer
    ROUTE = "route"  # dispatch sends it to a department (分拨)
    CLOSE = "close"  # dispatch closes it without handling
    DECIDE_EXTENSION = "decide_extension"  # dispatch approves or refuses an extension
    RATE = "rate"  # the observer is satisfied (满意 / 基本满意)
    REOPEN = "reopen"  # the observer is not satisfied: handled again (重办)
    FOLLOW_UP = "follow_up"  # the observer adds to it (补充)
    FALL_BACK = "fall_back"  # no group is bound for its department: dispatch takes it
    URGE = "urge"  # dispatch or a supervisor presses the department (催办) on an overdue report
    REMIND = "remind"  # the observer presses (催办) once a deadline has passed, once per deadline
    WITHDRAW = "withdraw"  # the observer takes it back (撤回) before anyone has signed for it
    GROUP_LOST = "group_lost"  # the bot is out of the holding group: dispatch takes it
    GROUP_BACK = "group_back"  # that group is bound again: it goes back there
    JOIN = "join"  # the observer adds a new report to a similar one (补充到该反映)
    MERGE = "merge"  # the holding group merges another card into this one (合并)
    SPLIT = "split"  # the holding group splits a wrongly joined report off (拆分)
    WITH_PRIMARY = "with_primary"  # a joined report follows its primary: resolved or closed


class Role(StrEnum):
    """Who may take a step."""

    HOLDER = "holder"  # a member of the group that holds the report's current card
    REGION_DISPATCH = "region_dispatch"  # a member of the dispatch group of the report's region
    OBSERVER = "observer"  # the observer who filed it
    OVERSEER = "overseer"  # the region's dispatch group, or a supervisor of its escalation
    SYSTEM = "system"  # the bot itself


@dataclass(frozen=True, slots=True)
class Step:
    """One allowed action: the statuses it may start from, where it leads, and who takes it."""

    sources: frozenset[Status]
    target: Status | None  # None: the status stays as it is
    role: Role
    event: str  # the audit trail's name for it


OPEN = frozenset({Status.ROUTED, Status.SIGNED, Status.DISPATCH})
WITH_DEPARTMENT = frozenset({Status.ROUTED, Status.SIGNED})
HANDLED = frozenset({Status.RESOLVED, Status.CLOSED})

STEPS: dict[Action, Step] = {
    Action.SIGN: Step(frozenset({Status.ROUTED}), Status.SIGNED, Role.HOLDER, "signed"),
    Action.TRANSFER: Step(WITH_DEPARTMENT, Status.ROUTED, Role.HOLDER, "transferred"),
    Action.RETURN: Step(WITH_DEPARTMENT, Status.DISPATCH, Role.HOLDER, "returned"),
    Action.RESOLVE: Step(frozenset({Status.SIGNED}), Status.RESOLVED, Role.HOLDER, "resolved"),
    Action.EXTEND: Step(frozenset({Status.SIGNED}), None, Role.HOLDER, "extension_requested"),
    Action.ANSWER: Step(OPEN, None, Role.HOLDER, "replied"),
    Action.NOTE: Step(OPEN | HANDLED, None, Role.HOLDER, "note"),
    Action.ROUTE: Step(
        frozenset({Status.DISPATCH}), Status.ROUTED, Role.HOLDER, "routed_by_dispatch"
    ),
    Action.CLOSE: Step(
        frozenset({Status.DISPATCH}), Status.CLOSED, Role.HOLDER, "closed_by_dispatch"
    ),
    Action.DECIDE_EXTENSION: Step(
        frozenset({Status.SIGNED}), None, Role.REGION_DISPATCH, "extension_decided"
    ),
    Action.RATE: Step(frozenset({Status.RESOLVED}), Status.CLOSED, Role.OBSERVER, "rated"),
    Action.REOPEN: Step(frozenset({Status.RESOLVED}), Status.SIGNED, Role.OBSERVER, "reopened"),
    Action.FOLLOW_UP: Step(OPEN | frozenset({Status.RESOLVED}), None, Role.OBSERVER, "follow_up"),
    Action.FALL_BACK: Step(frozenset({Status.ROUTED}), Status.DISPATCH, Role.SYSTEM, "no_group"),
    Action.URGE: Step(WITH_DEPARTMENT, None, Role.OVERSEER, "urged"),
    Action.REMIND: Step(WITH_DEPARTMENT, None, Role.OBSERVER, "reminded_by_observer"),
    Action.WITHDRAW: Step(
        frozenset({Status.ROUTED, Status.DISPATCH}), Status.CLOSED, Role.OBSERVER, "withdrawn"
    ),
    # Recorded as a return and a routing, so deadlines pause and resume as for those.
    Action.GROUP_LOST: Step(WITH_DEPARTMENT, Status.DISPATCH, Role.SYSTEM, "returned"),
    Action.GROUP_BACK: Step(
        frozenset({Status.DISPATCH}), Status.ROUTED, Role.SYSTEM, "routed_by_dispatch"
    ),
    # One problem, one card (bot.services.joining). JOIN is asked of the new report (its
    # observer's own), MERGE of both cards (one group must hold both), SPLIT of the primary.
    Action.JOIN: Step(OPEN, None, Role.OBSERVER, "joined"),
    Action.MERGE: Step(OPEN, None, Role.HOLDER, "merged"),
    Action.SPLIT: Step(OPEN, None, Role.HOLDER, "split"),
    # The target is the primary's new status (signed, resolved or closed), set by the caller.
    Action.WITH_PRIMARY: Step(OPEN, Status.RESOLVED, Role.SYSTEM, "with_primary"),
}


def step(action: Action) -> Step:
    """Return the declared step of ``action``."""
    return STEPS[action]


def allows(status: str, action: Action) -> bool:
    """Return True if ``action`` may be taken on a report in ``status``."""
    return status in STEPS[action].sources


def sources(action: Action) -> tuple[str, ...]:
    """Return the statuses ``action`` may start from, in a stable order."""
    return tuple(sorted(STEPS[action].sources))


def next_status(status: str, action: Action, *, kind: str) -> str:
    """Return the status a report of ``kind`` in ``status`` has after ``action``.

    Raises ``ValueError`` if the action is not allowed from ``status``. A suggestion is closed
    when it is answered (``resolve``): there is nothing for the observer to rate.
    """
    declared = STEPS[action]
    if status not in declared.sources:
        raise ValueError(f"{action} is not allowed from {status}")
    if action == Action.RESOLVE and kind == "suggestion":
        return Status.CLOSED
    return declared.target or status


def running_deadline(status: str) -> str | None:
    """Return which deadline runs in ``status``: "sign" (签收), "resolve" (办结), or None."""
    return {Status.ROUTED: "sign", Status.SIGNED: "resolve"}.get(Status(status))


def initial_status(*, kind: str, dispatched: bool) -> Status:
    """Return the status a new report starts in."""
    if kind == "sentiment":
        return Status.RECORDED
    return Status.DISPATCH if dispatched else Status.ROUTED


# The buttons a card shows in each status, row by row: what its holder can do there.
CARD_BUTTONS: dict[Status, tuple[tuple[Action, ...], ...]] = {
    Status.ROUTED: ((Action.SIGN,), (Action.TRANSFER, Action.RETURN), (Action.ANSWER,)),
    Status.SIGNED: (
        (Action.RESOLVE, Action.EXTEND),
        (Action.TRANSFER, Action.RETURN),
        (Action.ANSWER,),
    ),
    # Dispatch's card adds one 分拨 button per candidate department above these.
    Status.DISPATCH: ((Action.ROUTE, Action.CLOSE), (Action.ANSWER,)),
}


def card_buttons(status: str) -> tuple[tuple[Action, ...], ...]:
    """Return the rows of actions a card offers in ``status`` (none once handled)."""
    try:
        rows = CARD_BUTTONS.get(Status(status), ())
    except ValueError:
        return ()
    return tuple(tuple(a for a in row if allows(status, a)) for row in rows)
