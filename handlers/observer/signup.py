"""Registration: /start with an invite code, or the observer's own shared phone number."""

from __future__ import annotations

from bot.core.messages import t
from bot.core.roster import mask_phone
from bot.services import people
from bot.services.reports import Refused
from handlers.actions import REMOVE_KEYBOARD, contact_keyboard
from handlers.context import Ctx
from handlers.events import Event
from handlers.observer.preview import preview
from handlers.observer.rows import draft_of, menu
from storage import reports as report_queries
from storage.models import Observer, ObserverStatus, Station


def on_start(event: Event, ctx: Ctx, observer: Observer | None) -> None:
    """Greets a registered observer, redeems an invite code, or asks for the phone number."""
    code = event.args.strip()
    if observer is not None and observer.status == ObserverStatus.SUSPENDED:
        ctx.out.send(event.chat_id, t("observer.suspended"))
        return
    if observer is not None:
        station = ctx.session.get(Station, observer.station_code)
        ctx.out.send(
            event.chat_id,
            t("observer.welcome_back", name=observer.name, station=station.name if station else ""),
            markup=menu(),
        )
        draft = draft_of(ctx, observer)
        if draft is not None and draft.step == "compose":
            ctx.out.send(event.chat_id, t("observer.idle_draft_offer"))
            preview(ctx, observer, draft)
        return
    if code:
        try:
            registered = people.register_by_invite(
                ctx.session,
                user_id=event.user_id or 0,
                name=event.user_name,
                code=code,
                now=ctx.now,
            )
        except Refused as refused:
            ctx.out.send(event.chat_id, t(refused.key))
            return
        ctx.out.send(
            event.chat_id,
            t(
                "observer.registered",
                name=registered.observer.name,
                station=registered.station.name,
            ),
            markup=menu(),
        )
        return
    ctx.out.send(
        event.chat_id,
        t("observer.welcome_new"),
        markup=contact_keyboard(t("observer.share_phone_button")),
    )


def on_contact(event: Event, ctx: Ctx, observer: Observer | None) -> None:
    """Accepts the sender's own shared phone number and binds them to the roster."""
    assert event.contact is not None
    if event.contact.user_id != event.user_id or event.forwarded:
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"user:{event.user_id}",
            action="contact_refused",
            at=ctx.now,
            details={"reason": "not_own_contact", "phone": mask_phone(event.contact.phone)},
        )
        ctx.out.send(
            event.chat_id,
            t("observer.not_own_contact"),
            markup=contact_keyboard(t("observer.share_phone_button")),
        )
        return
    if observer is not None:
        ctx.out.send(event.chat_id, t("observer.already_registered"), markup=menu())
        return
    try:
        registered = people.register_by_phone(
            ctx.session, user_id=event.user_id or 0, phone=event.contact.phone, now=ctx.now
        )
    except Refused as refused:
        ctx.out.send(event.chat_id, t(f"{refused.key}"), markup=REMOVE_KEYBOARD)
        return
    ctx.out.send(
        event.chat_id,
        t("observer.registered", name=registered.observer.name, station=registered.station.name),
        markup=menu(),
    )
