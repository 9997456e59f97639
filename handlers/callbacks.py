"""Typed, versioned callback data for inline buttons.

Every button carries ``ob1:<action>:<target>[:<arg>]`` — a version prefix, one of the known
actions, a numeric target (a draft, a report) and an optional argument. Data that does not
parse (another bot's, an older version's, forged) yields None and is answered politely. What
parses is still only a claim: handlers re-check it against the database on every press.
Numbers are plain ASCII digits within a database id's range (1 to 2**31 - 1: the primary keys
are PostgreSQL INTEGERs), the target's and a numeric argument's alike, so no forged press can
reach the database with a number it cannot hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PREFIX = "ob1"
MAX_ID = 2**31 - 1  # the largest id a primary key (a PostgreSQL INTEGER) holds


class Act(StrEnum):
    """What a button asks for."""

    # observer, on a draft preview (target: draft id, arg: draft revision)
    SUBMIT = "sub"
    ADD_MORE = "add"
    CHANGE_KIND = "kind"  # arg: revision; then SET_KIND
    SET_KIND = "setk"  # arg: problem|suggestion|sentiment
    CHANGE_CATEGORY = "cat"  # arg: revision; then SET_CATEGORY
    SET_CATEGORY = "setc"  # arg: a tag id of the rules
    CANCEL = "cnl"
    # observer, when a message arrives for a draft left idle (target: draft id, arg: revision)
    JOIN = "join"  # it belongs to the draft
    APART = "apart"  # another matter: submit the draft first
    DROP_FIRST = "drop"  # another matter: drop the draft
    # observer, guided form (target: draft id, arg: choice)
    GUIDE = "g"
    # observer, on a report (target: report id)
    OPEN = "open"
    FOLLOW_UP = "more"
    RATE = "rate"  # arg: satisfied|basic|unsatisfied
    WITHDRAW = "wd"  # 撤回 before it is signed for; arg: "yes" once confirmed
    # URGE (below) in the private chat: the observer presses the department (催办)
    MY_PAGE = "myp"  # target: the page of /my, from 1
    # observer, on a preview that found a similar report (target: draft id, arg: REV_REPORTID)
    JOIN_ISSUE = "jiss"
    # department, on a card (target: report id)
    SIGN = "sign"
    TRANSFER = "xfer"  # shows the departments
    TRANSFER_TO = "xto"  # arg: department id
    RETURN = "ret"
    RESOLVE = "done"
    EXTEND = "ext"  # asks dispatch for more time (延期)
    BACK = "back"  # redraw the card's own buttons
    ANSWER = "ans"  # answer the observer (答复观察员): opens a prompt
    FULL_TEXT = "full"  # send the rest of a long report's text to the group (查看全文)
    MERGE = "mrg"  # shows the reports this card can take in (合并)
    MERGE_WITH = "mrgw"  # arg: the other report's id
    SPLIT = "spl"  # shows the reports joined to this card (拆分)
    SPLIT_OFF = "splo"  # arg: the joined report's id
    # dispatch (target: report id)
    ROUTE_TO = "rto"  # arg: department id
    CLOSE = "close"
    EXTENSION_OK = "exty"  # arg: the request's event id
    EXTENSION_NO = "extn"
    URGE = "urge"  # dispatch or a supervisor presses the department (催办), from a yellow/red card
    # a group's workbench (target: page number)
    LIST_PAGE = "lp"
    QUEUE_PAGE = "qp"


@dataclass(frozen=True, slots=True)
class Press:
    """A parsed button press."""

    act: Act
    target: int
    arg: str = ""

    def encode(self) -> str:
        """Return the callback data string (at most 64 bytes)."""
        data = f"{PREFIX}:{self.act.value}:{self.target}"
        if self.arg:
            data += f":{self.arg}"
        if len(data.encode("utf-8")) > 64:
            raise ValueError(f"callback data over 64 bytes: {data!r}")
        return data


def parse(data: str | None) -> Press | None:
    """Return the press ``data`` describes, or None if it is not one of ours."""
    if not data:
        return None
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX:
        return None
    try:
        act = Act(parts[1])
    except ValueError:
        return None
    target = as_id(parts[2])
    arg = parts[3] if len(parts) == 4 else ""
    if target is None or not (arg == "" or (arg.isascii() and arg.replace("_", "").isalnum())):
        return None
    if arg.isdigit() and (len(arg) > 10 or int(arg) > MAX_ID):
        return None  # a numeric argument (a revision, an extension request's id) is bounded too
    return Press(act, target, arg)


def as_id(text: str) -> int | None:
    """Return ``text`` as a database id (ASCII digits, 1 to MAX_ID), else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
