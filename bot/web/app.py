"""The console's HTTP application (FastAPI, server-rendered Jinja2 pages).

``create_app(services)`` builds it on the same ``Services`` the bot runs on. Every page asks
who the person is now (``bot.services.viewers``); every form carries the session's CSRF token; every
action opens one transaction in which the same service is called and the same Telegram
messages are queued as a card's button would (``bot.web.actions``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.core.messages import catalogue, t
from bot.services import Services
from bot.services.viewers import Viewer, viewer_of, visible
from bot.web import actions, auth, directory, export, pages, queries
from storage import reports as report_queries

HERE = Path(__file__).parent
COOKIE = "obsbot_console"


def create_app(services: Services) -> FastAPI:
    """Return the console application for ``services``."""
    secret = services.settings.require_console_secret()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=_membership(services))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["t"] = t
    known = catalogue()

    def render(request: Request, name: str, status: int = 200, **values: Any) -> Response:
        """Render a template (with the viewer and the CSRF token when signed in)."""
        return templates.TemplateResponse(request, name, values, status_code=status)

    def signed_in(request: Request) -> auth.Signed | None:
        """Return who the session cookie names, or None."""
        return auth.read_session(secret, request.cookies.get(COOKIE), now=services.clock())

    def guarded(
        handler: Callable[[Request, Session, Viewer, auth.Signed], Response],
    ) -> Callable[[Request], Response]:
        """Wrap a page: signed in, holding some role now; else the sign-in or no-access page."""

        def page(request: Request) -> Response:
            who = signed_in(request)
            if who is None:
                return render(request, "signed_out.html", 401)
            with Session(services.engine, expire_on_commit=False) as session:
                viewer = viewer_of(session, services, who.user_id, who.name)
                if not viewer.has_role:
                    return render(request, "message.html", 403, text=t("web.no_role"))
                return handler(request, session, viewer, who)

        return page

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Answer the platform's health check."""
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse)
    def login(request: Request, token: str = "") -> Response:
        """Use a one-time sign-in link: set the session cookie, or say why not."""
        now = services.clock()
        with Session(services.engine, expire_on_commit=False) as session:
            result = auth.redeem(session, secret, token, now=now)
            actor = f"user:{result.user_id}" if isinstance(result, auth.Signed) else "anonymous"
            report_queries.add_event(
                session=session,
                report_id=None,
                actor=actor,
                action="console_sign_in" if isinstance(result, auth.Signed) else "console_refused",
                at=now,
                details={"reason": result} if isinstance(result, str) else {},
            )
            session.commit()
        if isinstance(result, str):
            return render(request, "message.html", 400, text=t(f"web.link_{result}"))
        response = RedirectResponse("/", status_code=303)
        hours = services.settings.console_session_hours
        response.set_cookie(
            COOKIE,
            auth.session_cookie(secret, result, now=now, hours=hours),
            max_age=int(hours * 3600),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        """Sign out: the cookie is removed (a forged form changes nothing)."""
        who = signed_in(request)
        if who is None or not auth.csrf_ok(who, csrf):
            return render(request, "message.html", 403, text=t("web.bad_form"))
        now = services.clock()
        with Session(services.engine) as session:
            report_queries.add_event(
                session=session,
                report_id=None,
                actor=f"user:{who.user_id}",
                action="console_sign_out",
                at=now,
            )
            session.commit()
        response = render(request, "message.html", text=t("web.signed_out"))
        response.delete_cookie(COOKIE, httponly=True, samesite="lax")
        return response

    def view(name: str, build: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
        """Return a page that renders ``name`` with what ``build`` reads."""

        def handler(
            request: Request, session: Session, viewer: Viewer, who: auth.Signed
        ) -> Response:
            values = build(request, session, viewer, services)
            if values.get("status") == 404:
                return render(
                    request,
                    "message.html",
                    404,
                    text=t("web.not_found"),
                    viewer=viewer,
                    csrf=who.csrf,
                )
            query = request.query_params
            notice = query.get("notice", "")
            counts = {k: query.get(k, "0") for k in ("done", "refused")}
            return render(
                request,
                name,
                viewer=viewer,
                csrf=who.csrf,
                notice=t(notice, **counts) if notice in known else "",
                **values,
            )

        return guarded(handler)

    app.get("/", response_class=HTMLResponse)(view("dashboard.html", pages.dashboard))
    app.get("/queue", response_class=HTMLResponse)(view("queue.html", pages.dispatch_queue))
    app.get("/reports", response_class=HTMLResponse)(view("reports.html", pages.report_list))
    app.get("/stations", response_class=HTMLResponse)(view("stations.html", directory.stations))
    app.get("/observers", response_class=HTMLResponse)(view("observers.html", directory.observers))
    app.get("/rules", response_class=HTMLResponse)(view("rules.html", directory.rules))
    app.get("/reports/{report_id}", response_class=HTMLResponse)(
        view("report.html", pages.one_report)
    )

    def download(kind: str) -> Callable[[Request], Response]:
        """Return the download of the list's current filter as ``kind`` (csv or xlsx)."""

        def handler(
            request: Request, session: Session, viewer: Viewer, who: auth.Signed
        ) -> Response:
            now = services.clock()
            filters = pages.list_filters(request, services)
            seen = visible(viewer, services.rules.dispatch)
            rows = queries.everything(session, seen, filters, now)
            report_queries.add_event(
                session=session,
                report_id=None,
                actor=f"user:{who.user_id}",
                action="console_export",
                at=now,
                details={"format": kind, "rows": len(rows), "filter": filters.query_string()},
            )
            session.commit()
            stamp = now.astimezone(services.tz).strftime("%Y%m%d-%H%M")
            return Response(
                export.table(services, rows, now, kind),
                media_type=export.MEDIA[kind],
                headers={"Content-Disposition": f'attachment; filename="reports-{stamp}.{kind}"'},
            )

        return guarded(handler)

    app.get("/reports.csv")(download("csv"))
    app.get("/reports.xlsx")(download("xlsx"))

    async def posted(request: Request) -> tuple[Any, auth.Signed | None]:
        """Return a posted form and who sent it, or the page refusing it (signed out or a
        forged CSRF token) in place of the form."""
        form = await request.form()
        who = signed_in(request)
        if who is None:
            return render(request, "signed_out.html", 401), None
        if not auth.csrf_ok(who, str(form.get("csrf", ""))):
            return render(request, "message.html", 403, text=t("web.bad_form")), who
        return form, who

    @app.post("/queue/bulk")
    async def bulk(request: Request) -> Response:
        """Route or close several queued reports at once, each as if done one by one."""
        form, who = await posted(request)
        if who is None or isinstance(form, Response):
            return form if isinstance(form, Response) else render(request, "signed_out.html", 401)
        action = str(form.get("action", ""))
        ids = [int(str(v)) for v in form.getlist("ids") if str(v).isdigit()][:100]
        if action not in ("route", "close") or not ids:
            return RedirectResponse("/queue?notice=web.bulk_none", status_code=303)
        done = 0
        for report_id in ids:
            result = await run_in_threadpool(
                actions.perform, services, who, report_id, action, dict(form)
            )
            done += result.status == 303
        return RedirectResponse(
            f"/queue?notice=web.bulk_done&done={done}&refused={len(ids) - done}", status_code=303
        )

    @app.post("/reports/{report_id}/{action}")
    async def act(request: Request, report_id: int, action: str) -> Response:
        """Take an action on a report from its page or the queue, then go back."""
        form, who = await posted(request)
        if who is None or isinstance(form, Response):
            return form if isinstance(form, Response) else render(request, "signed_out.html", 401)
        result = await run_in_threadpool(
            actions.perform, services, who, report_id, action, dict(form)
        )
        if result.status != 303:
            return render(request, "message.html", result.status, text=t(result.notice))
        back = str(form.get("back", "")) or f"/reports/{report_id}"
        if not back.startswith("/") or back.startswith("//"):
            back = f"/reports/{report_id}"
        joiner = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{joiner}notice={result.notice}", status_code=303)

    return app


def _membership(services: Services) -> Callable[[FastAPI], Any]:
    """Return the app's lifespan: where a bot token is set and nobody asks Telegram yet, ask
    it whether people are members of bound groups (``getChatMember``, briefly cached).

    Pages run in worker threads, which wait on this loop for Telegram's answer.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = services.settings
        if services.membership is not None or settings.telegram_bot_token is None:
            yield
            return
        from bot.infra.membership import bot_api_membership
        from bot.telegram.bot_api import open_bot_api

        api = open_bot_api(
            settings.bot_runtime,
            settings.require_token(),
            api_base=settings.telegram_api_base,
        )
        services.membership = bot_api_membership(api, asyncio.get_running_loop())
        try:
            yield
        finally:
            services.membership = None
            await api.close()

    return lifespan
