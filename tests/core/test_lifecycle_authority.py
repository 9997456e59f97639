"""The lifecycle table and the authority policy, as plain data."""

from __future__ import annotations

import pytest

from bot.core import lifecycle
from bot.core.authority import Actor, Holding, Membership, decide
from bot.core.lifecycle import Action, Status

GROUP, OTHER, DISPATCH, CARD = -100, -200, -300, 55


def _held(status: str = Status.ROUTED, **values: object) -> Holding:
    facts: dict[str, object] = {
        "status": status,
        "holder_chat": GROUP,
        "card_message": CARD,
        "region_dispatch_chat": DISPATCH,
        "observer_id": 7,
    }
    facts.update(values)
    return Holding(**facts)  # type: ignore[arg-type]


def _in(chat: int = GROUP, **values: object) -> Actor:
    return Actor(chat_id=chat, user_id=1, message_id=CARD, on_card=True, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "action", "kind", "after"),
    [
        (Status.ROUTED, Action.SIGN, "problem", Status.SIGNED),
        (Status.SIGNED, Action.RESOLVE, "problem", Status.RESOLVED),
        (Status.SIGNED, Action.RESOLVE, "suggestion", Status.CLOSED),
        (Status.SIGNED, Action.RETURN, "problem", Status.DISPATCH),
        (Status.ROUTED, Action.TRANSFER, "problem", Status.ROUTED),
        (Status.DISPATCH, Action.ROUTE, "problem", Status.ROUTED),
        (Status.DISPATCH, Action.CLOSE, "problem", Status.CLOSED),
        (Status.RESOLVED, Action.RATE, "problem", Status.CLOSED),
        (Status.RESOLVED, Action.REOPEN, "problem", Status.SIGNED),
        (Status.ROUTED, Action.FALL_BACK, "problem", Status.DISPATCH),
        (Status.SIGNED, Action.EXTEND, "problem", Status.SIGNED),
    ],
)
def test_each_step_leads_where_the_table_says(
    status: str, action: Action, kind: str, after: str
) -> None:
    assert lifecycle.next_status(status, action, kind=kind) == after


def test_a_step_not_in_the_table_is_refused() -> None:
    with pytest.raises(ValueError):
        lifecycle.next_status(Status.ROUTED, Action.RESOLVE, kind="problem")
    assert not lifecycle.allows(Status.CLOSED, Action.SIGN)
    assert not lifecycle.allows(Status.RECORDED, Action.RETURN)


def test_cards_show_only_allowed_actions() -> None:
    for status in Status:
        for row in lifecycle.card_buttons(status):
            assert all(lifecycle.allows(status, action) for action in row)
    assert lifecycle.card_buttons(Status.CLOSED) == ()
    assert lifecycle.card_buttons("nonsense") == ()
    assert (Action.SIGN,) in lifecycle.card_buttons(Status.ROUTED)


def test_the_holder_group_may_act_on_its_current_card() -> None:
    assert decide(Action.SIGN, _in(), _held())


@pytest.mark.parametrize(
    ("actor", "holding", "reason"),
    [
        (_in(OTHER), _held(), "authority.not_your_report"),
        (_in(), _held(holder_chat=None), "authority.not_your_report"),
        (_in(membership=Membership.NOT_MEMBER), _held(), "authority.not_member"),
        (_in(membership=Membership.UNKNOWN), _held(), "authority.membership_unknown"),
        (Actor(chat_id=GROUP, message_id=CARD + 1, on_card=True), _held(), "common.stale_button"),
        (_in(), _held(Status.SIGNED), "department.already_signed"),
        (_in(), _held(Status.CLOSED), "department.not_allowed_now"),
    ],
)
def test_refusals_name_their_reason(actor: Actor, holding: Holding, reason: str) -> None:
    verdict = decide(Action.SIGN, actor, holding)
    assert not verdict and verdict.reason == reason


def test_extension_decisions_belong_to_the_regions_dispatch_group() -> None:
    signed = _held(Status.SIGNED)
    assert decide(Action.DECIDE_EXTENSION, Actor(chat_id=DISPATCH), signed)
    assert not decide(Action.DECIDE_EXTENSION, Actor(chat_id=GROUP), signed)
    assert not decide(Action.DECIDE_EXTENSION, Actor(chat_id=DISPATCH), _held(Status.ROUTED))


def test_observers_act_only_on_their_own_reports() -> None:
    resolved = _held(Status.RESOLVED)
    assert decide(Action.RATE, Actor(chat_id=1, observer_id=7), resolved)
    refused = decide(Action.RATE, Actor(chat_id=1, observer_id=8), resolved)
    assert not refused and refused.reason == "common.stale_button"
    assert not decide(Action.FALL_BACK, _in(), _held())  # the system's step, never a person's


def test_statuses_and_events_keep_their_stored_names() -> None:
    # Stored in Report.status and ReportEvent.action, and read by migrations, digests and the
    # catalogue (status.<name>): renaming one strands every stored row.
    assert [s.value for s in Status] == [
        "routed", "dispatch", "signed", "resolved", "closed", "recorded",
    ]  # fmt: skip
    assert {a.value: lifecycle.step(a).event for a in Action} == {
        "sign": "signed", "transfer": "transferred", "return": "returned",
        "resolve": "resolved", "extend": "extension_requested", "answer": "replied",
        "note": "note", "route": "routed_by_dispatch", "close": "closed_by_dispatch",
        "decide_extension": "extension_decided", "rate": "rated", "reopen": "reopened",
        "follow_up": "follow_up", "fall_back": "no_group", "urge": "urged",
        "remind": "reminded_by_observer", "withdraw": "withdrawn",
        "group_lost": "returned", "group_back": "routed_by_dispatch",
        "join": "joined", "merge": "merged", "split": "split", "with_primary": "with_primary",
    }  # fmt: skip


def test_every_card_row_and_source_set_is_as_declared() -> None:
    assert lifecycle.sources(Action.ANSWER) == ("dispatch", "routed", "signed")
    assert lifecycle.sources(Action.NOTE) == (
        "closed", "dispatch", "resolved", "routed", "signed",
    )  # fmt: skip
    assert lifecycle.sources(Action.FOLLOW_UP) == ("dispatch", "resolved", "routed", "signed")
    assert lifecycle.card_buttons(Status.SIGNED) == (
        (Action.RESOLVE, Action.EXTEND),
        (Action.TRANSFER, Action.RETURN),
        (Action.ANSWER,),
    )
    assert lifecycle.card_buttons(Status.DISPATCH) == (
        (Action.ROUTE, Action.CLOSE),
        (Action.ANSWER,),
    )
    assert lifecycle.card_buttons(Status.RESOLVED) == ()
    assert lifecycle.initial_status(kind="sentiment", dispatched=True) == Status.RECORDED
    assert lifecycle.initial_status(kind="problem", dispatched=True) == Status.DISPATCH
    assert lifecycle.initial_status(kind="suggestion", dispatched=False) == Status.ROUTED
    assert lifecycle.next_status(Status.SIGNED, Action.NOTE, kind="problem") == Status.SIGNED
    for action in Action:
        step = lifecycle.step(action)
        system = action in (
            Action.FALL_BACK,
            Action.GROUP_LOST,
            Action.GROUP_BACK,
            Action.WITH_PRIMARY,
        )
        assert system == (step.role == lifecycle.Role.SYSTEM)
        assert (action == Action.DECIDE_EXTENSION) == (step.role == lifecycle.Role.REGION_DISPATCH)


def test_merging_and_splitting_belong_to_the_holding_group() -> None:
    for action in (Action.MERGE, Action.SPLIT):
        assert decide(action, _in(), _held(Status.SIGNED))
        refused = decide(action, _in(OTHER), _held(Status.SIGNED))
        assert not refused and refused.reason == "authority.not_your_report"
    assert decide(Action.MERGE, _in(DISPATCH), _held(Status.DISPATCH, holder_chat=DISPATCH))
    for action in (Action.MERGE, Action.SPLIT):  # a handled card is left as it was handled
        assert not decide(action, _in(), _held(Status.RESOLVED))
    assert decide(Action.JOIN, Actor(chat_id=1, observer_id=7), _held(Status.ROUTED))
    assert not decide(Action.JOIN, Actor(chat_id=1, observer_id=8), _held(Status.ROUTED))


def test_urging_belongs_to_the_overseers_of_the_report() -> None:
    overseen = _held(Status.SIGNED, overseer_chats=(DISPATCH, -900))
    assert decide(Action.URGE, Actor(chat_id=-900), overseen)
    assert decide(Action.URGE, Actor(chat_id=DISPATCH), overseen)
    refused = decide(Action.URGE, Actor(chat_id=GROUP), overseen)  # the holder cannot urge itself
    assert not refused and refused.reason == "authority.not_your_report"
    assert not decide(Action.URGE, Actor(chat_id=-900), _held(Status.SIGNED))
