"""The one answer to "may this person, in this chat, do this to this report now?".

Every door asks it — a button press, a reply to a prompt, a group command, a web page — with
the facts it has gathered (``Actor``: who acts where; ``Holding``: where the report is held
now) and gets a ``Verdict`` naming, when it is no, the catalogue key of the answer to give.
The checks run in a fixed order, so the answer is the most useful one:

1. the role — a department's group acts only on reports whose current card (or, before the
   card is out, whose binding: department *and* region) is that group; a dispatch group only
   on reports waiting at it, and on extension requests of its own region; an observer only on
   their own reports; an overseer (the region's dispatch group, a supervising leader or the
   escalation group) may press the department (催办);
2. membership — the presser must still be a member of the chat (Telegram is asked, briefly
   cached); a lookup that failed asks them to try again;
3. the message — a button is valid only on the report's current card in that chat (an old
   card, or one forged on another bot message, changes nothing);
4. the lifecycle — the action must be allowed from the report's status now
   (``bot.core.lifecycle``).

Plain data in, plain data out: no database, no clock, no Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.lifecycle import Action, Role, Status, allows, step


class Membership(StrEnum):
    """What is known of the actor's membership of the chat they act in."""

    MEMBER = "member"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"  # Telegram was asked and did not answer
    UNCHECKED = "unchecked"  # nobody to ask (no Bot API in this process)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, where, and on which message (for a button press)."""

    chat_id: int
    user_id: int | None = None
    observer_id: int | None = None  # set when the actor is a registered observer
    membership: Membership = Membership.UNCHECKED
    message_id: int | None = None  # the message whose button was pressed
    on_card: bool = False  # the press claims to be on the report's card
    name: str = ""  # how people see them (for the audit trail and cards)


@dataclass(frozen=True, slots=True)
class Holding:
    """Where a report is held now, as far as authority is concerned."""

    status: str
    holder_chat: int | None  # the group holding its current card (or due to get it)
    card_message: int | None  # the card's message id in that group, once known
    region_dispatch_chat: int | None  # the dispatch group of the report's region
    observer_id: int | None  # the observer who filed it
    # The region's dispatch group, and the leaders and group its escalation (督办) goes to.
    overseer_chats: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Yes, or no with the catalogue key of the answer to give."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def decide(action: Action, actor: Actor, holding: Holding) -> Verdict:
    """Return whether ``actor`` may take ``action`` on a report held as ``holding``."""
    role = step(action).role
    if not _holds_role(role, actor, holding):
        key = "common.stale_button" if role == Role.OBSERVER else "authority.not_your_report"
        return Verdict(False, key)
    if actor.membership == Membership.NOT_MEMBER:
        return Verdict(False, "authority.not_member")
    if actor.membership == Membership.UNKNOWN:
        return Verdict(False, "authority.membership_unknown")
    if (
        actor.on_card
        and holding.card_message is not None
        and actor.message_id != holding.card_message
    ):
        return Verdict(False, "common.stale_button")
    if not allows(holding.status, action):
        if action == Action.SIGN and holding.status == Status.SIGNED:
            return Verdict(False, "department.already_signed")
        return Verdict(False, "department.not_allowed_now")
    return ALLOWED


def _holds_role(role: Role, actor: Actor, holding: Holding) -> bool:
    """Return True if ``actor`` holds ``role`` for the report."""
    if role == Role.HOLDER:
        return holding.holder_chat is not None and actor.chat_id == holding.holder_chat
    if role == Role.REGION_DISPATCH:
        return (
            holding.region_dispatch_chat is not None
            and actor.chat_id == holding.region_dispatch_chat
        )
    if role == Role.OBSERVER:
        return actor.observer_id is not None and actor.observer_id == holding.observer_id
    if role == Role.OVERSEER:
        return actor.chat_id in holding.overseer_chats
    return False  # the system's own steps are never taken by a person
