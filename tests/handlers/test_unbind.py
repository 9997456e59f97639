"""/unbind: an administrator frees a phone number bound to the wrong Telegram account."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.core.messages import t
from storage.models import Draft, Observer, ReportEvent
from tests.handlers.conftest import ADMIN, OBSERVER, STRANGER, register
from tests.handlers.harness import World, texts

PHONE = "+8613800138001"  # 陈晓明's


def _observer(world: World) -> Observer:
    with Session(world.services.engine) as session:
        return session.exec(select(Observer).where(Observer.phone == PHONE)).one()


def _events(world: World, action: str) -> list[ReportEvent]:
    with Session(world.services.engine) as session:
        query = select(ReportEvent).where(ReportEvent.action == action)
        return list(session.exec(query.order_by(col(ReportEvent.id))).all())


def test_a_phone_bound_to_the_wrong_account_is_freed_and_audited(world: World) -> None:
    # Someone else's Telegram account registered with 陈晓明's number and began a report.
    register(world, STRANGER, PHONE)
    world.message(STRANGER, "小区路灯坏了")
    refused = world.message(
        OBSERVER, contact={"phone_number": PHONE, "user_id": OBSERVER, "first_name": "x"}
    )
    assert texts(refused) == [t("observer.phone_taken")]

    sent = world.message(ADMIN, "/unbind 138 0013 8001")
    observer = _observer(world)
    assert texts(sent, ADMIN) == [
        t("admin.unbound", name="陈晓明", id=observer.id, phone="+86138****8001")
    ]
    assert texts(sent, STRANGER) == [t("observer.unbound_notice")]
    assert observer.telegram_user_id is None and observer.bound_at is None
    with Session(world.services.engine) as session:
        assert session.exec(select(Draft)).all() == []  # the wrong account's draft went too
    (event,) = _events(world, "observer_unbound")
    assert event.actor == f"user:{ADMIN}"
    assert event.details == {
        "observer": observer.id,
        "telegram_user_id": STRANGER,
        "phone": "+86138****8001",
    }

    # The right person registers; the wrong account is a stranger again.
    registered = world.message(
        OBSERVER, contact={"phone_number": PHONE, "user_id": OBSERVER, "first_name": "x"}
    )
    assert "核验成功" in texts(registered)[0]
    assert _observer(world).telegram_user_id == OBSERVER
    assert texts(world.message(STRANGER, "停水了")) == [t("observer.register_first")]


def test_unbind_by_observer_id_and_its_refusals(world: World) -> None:
    register(world)
    observer = _observer(world)
    usage = t("admin.unbind_usage")
    assert texts(world.message(ADMIN, "/unbind")) == [usage]
    unknown = t("admin.unbind_unknown") + "\n" + usage
    for who in ("13900000000", "999999", "99999999999999999999", "abc"):
        assert texts(world.message(ADMIN, f"/unbind {who}")) == [unknown], who
    sent = world.message(ADMIN, f"/unbind {observer.id}")
    assert "已解除观察员 陈晓明" in texts(sent, ADMIN)[0]
    again = world.message(ADMIN, f"/unbind {observer.id}")
    assert texts(again) == [t("admin.unbind_not_bound") + "\n" + usage]
    assert len(_events(world, "observer_unbound")) == 1


def test_only_administrators_may_unbind(world: World) -> None:
    register(world)
    for user in (OBSERVER, STRANGER):
        assert texts(world.message(user, f"/unbind {PHONE}")) == [t("common.admins_only")]
    assert _observer(world).telegram_user_id == OBSERVER
    refusals = _events(world, "admin_refused")
    assert [e.details["command"] for e in refusals] == ["unbind", "unbind"]
    assert _events(world, "observer_unbound") == []
