"""The operations portal: a server-rendered Starlette app over pm4ml's store.

Every page needs a signed-in, active user (a local one, or one the OpenID Connect provider
vouched for: :mod:`pm4ml.ops.oidc`); sessions end after ``ops_idle_timeout_seconds`` without a
request. Every POST carries the session's CSRF token. Jinja2 autoescapes every
value, so anything a peer or customer typed (a party name, an error description) is text.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pm4ml.config import Settings
from pm4ml.fspiop.errors import ErrorCode
from pm4ml.ops import actions, connections, queries, resend
from pm4ml.ops.oidc import PENDING_COOKIE, PENDING_SECONDS, OidcError, OidcProvider
from pm4ml.ops.schema import ROLES
from pm4ml.ops.security import (
    LOGIN_FAILURES_MAX,
    LoginThrottle,
    csrf_token,
    csrf_valid,
    session_secret,
)
from pm4ml.ops.users import audit, audit_entries, authenticate, find_user, oidc_user
from pm4ml.store.repo import Store
from pm4ml.store.schema import Transfer


def _ui_dir() -> Path:
    """The portal's templates and CSS: ``ui/`` beside the package in a checkout (editable
    install), else where a wheel installs them (``data-files`` in pyproject.toml)."""
    checkout = Path(__file__).resolve().parents[2] / "ui"
    return checkout if checkout.is_dir() else Path(sys.prefix) / "share" / "pm4ml" / "ui"


UI_DIR = _ui_dir()
WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(days=1)}
Handler = Callable[[Request], Awaitable[Response]]
#: What the transfer page says after an action (``?done=``); anything else says nothing.
DONE = {
    "asked": "asked the hub; its answer is applied",
    "unanswered": "asked the hub; no final answer yet, the transfer still waits for it",
    "proposed": "proposed",
    "approved": "approved",
    "rejected": "rejected",
    "resent": "resent",
}
#: Asks the hub for a transfer's state and applies the answer (``PayerTransfers.refresh``).
Refresh = Callable[[str], Awaitable[Transfer | None]]
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the headers that keep pages out of frames, caches and foreign scripts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _error_meaning(code: str | None) -> str:
    if not code:
        return ""
    for member in ErrorCode:
        if member.code == code:
            return member.description
    return ""


def _shown_headers(headers: dict[str, Any]) -> list[tuple[str, str]]:
    """Message headers for display; credentials a client may have sent are hidden."""
    hidden = {"authorization", "cookie", "proxy-authorization", "x-api-key"}
    return sorted(
        (name, "**********" if name.lower() in hidden else str(value))
        for name, value in headers.items()
    )


class Portal:
    """The portal's handlers, bound to one store and one set of settings."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        refresh: Refresh | None,
        cbs_operation: resend.CbsOperation | None,
        secret: str,
    ) -> None:
        self.settings = settings
        self.store = store
        self.refresh = refresh
        self.cbs_operation = cbs_operation
        self.oidc = OidcProvider(settings, secret) if settings.ops_oidc_issuer else None
        # How long an approved re-send may run: the CBS's time limit, plus slack to record it.
        self._resend_window = timedelta(seconds=settings.connector_timeout_seconds + 30)
        self.user_throttle = LoginThrottle(LOGIN_FAILURES_MAX)
        # Staff often share one address (an office NAT), so an address gets more tries.
        self.address_throttle = LoginThrottle(LOGIN_FAILURES_MAX * 4)
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(UI_DIR / "templates"), autoescape=True
        )
        environment.globals["error_meaning"] = _error_meaning
        environment.globals["shown_headers"] = _shown_headers
        self.templates = Jinja2Templates(env=environment)

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> Response:
        context.update(
            user=request.scope.get("ops_user"),
            csrf=csrf_token(request),
            dfsp_id=self.settings.dfsp_id,
            oidc_name=self.oidc.name if self.oidc else None,
        )
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    # --- access control -------------------------------------------------------------------

    def page(self, role: str = "viewer") -> Callable[[Handler], Handler]:
        """Wrap a handler: a signed-in active user with at least ``role``; CSRF on POST."""
        needed = ROLES.index(role)

        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            async def guarded(request: Request) -> Response:
                username = request.session.get("user")
                seen = request.session.get("seen", 0)
                now = time.time()
                if not isinstance(username, str) or not isinstance(seen, int | float):
                    return RedirectResponse("/login", status_code=303)
                if now - seen > self.settings.ops_idle_timeout_seconds:
                    request.session.clear()
                    return RedirectResponse("/login?expired=1", status_code=303)
                async with self.store.reading() as session:
                    user = await find_user(session, username)
                if user is None or not user.active:
                    request.session.clear()
                    return RedirectResponse("/login", status_code=303)
                request.session["seen"] = now
                request.scope["ops_user"] = user
                if ROLES.index(user.role) < needed:
                    return self.render(request, "forbidden.html", 403, needed=role)
                if request.method == "POST":
                    form = await request.form()
                    if not csrf_valid(request, form.get("csrf_token")):
                        return Response("CSRF token missing or wrong", status_code=403)
                return await handler(request)

            return guarded

        return decorate

    # --- sign-in --------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        expired = request.query_params.get("expired") == "1"
        return self.render(request, "login.html", expired=expired, error=None)

    async def login(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_valid(request, form.get("csrf_token")):
            return Response("CSRF token missing or wrong", status_code=403)
        username = str(form.get("username", ""))[:64]
        password = str(form.get("password", ""))[:1024]
        address = request.client.host if request.client else "unknown"
        name_key = username.lower()
        if self.user_throttle.blocked(name_key) or self.address_throttle.blocked(address):
            async with self.store.transaction() as session:
                await audit(session, username, "login_throttled", source_ip=address)
            return self.render(
                request,
                "login.html",
                429,
                expired=False,
                error="Too many failed sign-ins. Wait 15 minutes and try again.",
            )
        async with self.store.transaction() as session:
            user = await authenticate(session, username, password)
            await audit(
                session,
                username,
                "login" if user else "login_failed",
                source_ip=address,
            )
        if user is None:
            self.user_throttle.failed(name_key)
            self.address_throttle.failed(address)
            return self.render(
                request,
                "login.html",
                401,
                expired=False,
                error="Wrong username or password, or the account is disabled.",
            )
        self.user_throttle.succeeded(name_key)
        # A fresh session on sign-in: a token planted before sign-in is worthless after it.
        request.session.clear()
        request.session.update(user=user.username, seen=time.time())
        csrf_token(request)
        return RedirectResponse("/", status_code=303)

    async def oidc_login(self, request: Request) -> Response:
        """Send the browser to the provider, remembering the sign-in in its own cookie."""
        assert self.oidc is not None  # the route exists only with a provider
        redirect_uri = self.oidc.redirect_uri or str(request.url_for("oidc_callback"))
        try:
            url, pending = await self.oidc.begin(redirect_uri)
        except OidcError as exc:
            return await self._oidc_failed(request, exc)
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(
            PENDING_COOKIE,
            pending,
            max_age=PENDING_SECONDS,
            path="/oidc",
            httponly=True,
            samesite="lax",
            secure=self.settings.ops_secure_cookies,
        )
        return response

    async def oidc_callback(self, request: Request) -> Response:
        """The provider sends the browser back here with a code (or an error)."""
        assert self.oidc is not None
        address = request.client.host if request.client else None
        try:
            identity = await self.oidc.finish(
                request.cookies.get(PENDING_COOKIE), request.query_params
            )
        except OidcError as exc:
            response = await self._oidc_failed(request, exc)
            response.delete_cookie(PENDING_COOKIE, path="/oidc")
            return response
        # A user's first sign-in from two browsers at once: both insert the user, one insert
        # loses on the unique (issuer, subject) and its retry finds the winner's row.
        for attempt in (1, 2):
            try:
                async with self.store.transaction() as session:
                    user = await oidc_user(
                        session, identity.issuer, identity.subject, identity.name, identity.role
                    )
                    username, active = user.username, user.active
                    if active:
                        await audit(
                            session,
                            username,
                            "login",
                            after={
                                "method": "oidc",
                                "role": identity.role,
                                "subject": identity.subject,
                            },
                            source_ip=address,
                        )
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        if not active:
            disabled = OidcError("the account is disabled", who=username)
            response = await self._oidc_failed(request, disabled)
            response.delete_cookie(PENDING_COOKIE, path="/oidc")
            return response
        request.session.clear()
        request.session.update(user=username, seen=time.time())
        csrf_token(request)
        # The provider's redirect made this a cross-site navigation: a redirect from here
        # would still be one, and the browser would not send the (SameSite=Strict) session
        # cookie with it. A page that moves on by itself is a same-site navigation.
        response = self.render(request, "signed_in.html")
        response.delete_cookie(PENDING_COOKIE, path="/oidc")
        return response

    async def _oidc_failed(self, request: Request, exc: OidcError) -> Response:
        async with self.store.transaction() as session:
            await audit(
                session,
                exc.who or "oidc",
                "login_failed",
                after={"method": "oidc", "reason": str(exc)},
                source_ip=request.client.host if request.client else None,
            )
        assert self.oidc is not None
        error = f"Sign-in with {self.oidc.name} failed: {exc}"
        return self.render(request, "login.html", 401, expired=False, error=error)

    async def logout(self, request: Request) -> Response:
        user = request.scope["ops_user"]
        async with self.store.transaction() as session:
            await audit(session, user.username, "logout")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # --- pages ----------------------------------------------------------------------------

    async def dashboard(self, request: Request) -> Response:
        window_name = request.query_params.get("window", "1h")
        window = WINDOWS.get(window_name, WINDOWS["1h"])
        async with self.store.reading() as session:
            stats = await queries.dashboard(session, window)
        peak = max((count for _, count in stats.buckets), default=0)
        return self.render(
            request,
            "dashboard.html",
            stats=stats,
            peak=max(peak, 1),
            window_name=window_name if window_name in WINDOWS else "1h",
            windows=list(WINDOWS),
        )

    def _criteria(self, request: Request) -> tuple[queries.TransferFilter, list[str]]:
        params = request.query_params
        problems: list[str] = []

        def text(name: str) -> str | None:
            value = params.get(name, "").strip()
            return value[:128] or None

        def day(name: str) -> datetime | None:
            value = text(name)
            if value is None:
                return None
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                problems.append(f"{name}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM")
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        amount: Decimal | None = None
        if (raw := text("amount")) is not None:
            try:
                amount = Decimal(raw)
                if not amount.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                problems.append("amount: not a number")
                amount = None
        state = text("state")
        if state is not None and state not in queries.STATES:
            problems.append("state: unknown state")
            state = None
        direction = text("direction")
        if direction is not None and direction not in queries.DIRECTIONS:
            problems.append("direction: INBOUND or OUTBOUND")
            direction = None
        criteria = queries.TransferFilter(
            transfer_id=text("transfer_id"),
            home_transaction_id=text("home_transaction_id"),
            quote_id=text("quote_id"),
            party_id=text("party_id"),
            state=state,
            direction=direction,
            counterparty=text("counterparty"),
            amount=amount,
            since=day("since"),
            until=day("until"),
        )
        return criteria, problems

    async def transfers(self, request: Request) -> Response:
        criteria, problems = self._criteria(request)
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            page = 1
        async with self.store.reading() as session:
            result = await queries.search_transfers(session, criteria, page)
        query = request.url.include_query_params().query
        return self.render(
            request,
            "transfers.html",
            page=result,
            params=request.query_params,
            problems=problems,
            states=queries.STATES,
            directions=queries.DIRECTIONS,
            export_query=query,
            status_code=400 if problems else 200,
        )

    async def transaction_requests(self, request: Request) -> Response:
        """Requests to pay, either role, with their state and the transfers that paid them."""
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            page = 1
        wanted = request.query_params.get("id", "").strip()[:64] or None
        async with self.store.reading() as session:
            result = await queries.transaction_requests(session, page, wanted)
        return self.render(request, "transaction_requests.html", page=result, wanted=wanted)

    async def transfers_csv(self, request: Request) -> Response:
        criteria, problems = self._criteria(request)
        if problems:
            return Response("; ".join(problems), status_code=400)
        async with self.store.reading() as session:
            rows = await queries.all_matching(session, criteria)
        columns = [
            "transfer_id",
            "direction",
            "state",
            "amount",
            "currency",
            "payer_fsp",
            "payer_id_type",
            "payer_id_value",
            "payee_fsp",
            "payee_id_type",
            "payee_id_value",
            "home_transaction_id",
            "quote_id",
            "last_error_code",
            "created_at",
            "completed_at",
        ]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(getattr(row, column)) for column in columns])
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="transfers.csv"'},
        )

    async def transfer(
        self, request: Request, problem: str | None = None, status_code: int = 200
    ) -> Response:
        transfer_id = request.path_params["transfer_id"]
        async with self.store.reading() as session:
            row = await self.store.transfer(session, transfer_id)
            timeline = [] if row is None else await queries.transfer_timeline(session, row)
            proposals = await actions.proposals_for(session, transfer_id)
            work = await queries.transfer_work(session, transfer_id)
        if row is None:
            return self.render(request, "not_found.html", 404, what=f"transfer {transfer_id}")
        return self.render(
            request,
            "transfer.html",
            status_code,
            transfer=row,
            timeline=timeline,
            work=work,
            proposals=proposals,
            action_names=actions.ACTIONS,
            can_resend=self._can_resend(row),
            can_ask_hub=self.refresh is not None
            and row.direction == "OUTBOUND"
            and row.state == "TRANSFER_SENT",
            problem=problem,
            done=DONE.get(request.query_params.get("done", "")),
        )

    def _can_resend(self, row: Transfer) -> bool:
        if self.cbs_operation is None:
            return False
        try:
            resend.final_notification(row)
        except actions.ActionError:
            return False
        return True

    def _back(self, transfer_id: str, done: str) -> Response:
        return RedirectResponse(f"/transfers/{quote(transfer_id)}?done={done}", status_code=303)

    async def ask_hub(self, request: Request) -> Response:
        transfer_id = request.path_params["transfer_id"]
        user = request.scope["ops_user"]
        async with self.store.reading() as session:
            before = await self.store.transfer(session, transfer_id)
        if before is None:
            return self.render(request, "not_found.html", 404, what=f"transfer {transfer_id}")
        assert self.refresh is not None  # the route exists only with a refresh function
        after = await self.refresh(transfer_id)
        async with self.store.transaction() as session:
            await audit(
                session,
                user.username,
                "ask_hub",
                transfer_id,
                before={"state": before.state},
                after={"state": after.state if after else None},
                source_ip=request.client.host if request.client else None,
            )
        changed = after is not None and after.state != before.state
        return self._back(transfer_id, "asked" if changed else "unanswered")

    async def _final_notification(
        self, session: AsyncSession, transfer_id: str
    ) -> tuple[Transfer, resend.FinalNotification]:
        """The transfer and the notification re-sending would send; ActionError if none."""
        if self.cbs_operation is None:
            raise actions.ActionError("re-sending to the CBS is not available in this process")
        row = await self.store.transfer(session, transfer_id)
        if row is None:
            raise actions.ActionError(f"no transfer {transfer_id}")
        notification = resend.final_notification(row)
        # The CBS takes one transfer's calls one at a time (the connector contract): while
        # the outbox still has one to make, it is the outbox's to deliver.
        if await queries.cbs_call_pending(session, transfer_id):
            raise actions.ActionError(
                "a CBS call for this transfer is still pending in the outbox; wait until it "
                "is done or has failed for good"
            )
        return row, notification

    def proposer(self, action: str) -> Handler:
        """The handler proposing ``action`` on the transfer in the path."""

        async def propose(request: Request) -> Response:
            transfer_id = request.path_params["transfer_id"]
            reason = str((await request.form()).get("reason", ""))
            user = request.scope["ops_user"]
            try:
                async with self.store.transaction() as session:
                    if action == actions.RESEND:
                        await self._final_notification(session, transfer_id)
                        if await actions.resend_running(session, transfer_id, self._resend_window):
                            raise actions.ActionError("a re-send of this transfer is running now")
                    elif await self.store.transfer(session, transfer_id) is None:
                        raise actions.ActionError(f"no transfer {transfer_id}")
                    await actions.propose(session, transfer_id, action, reason, user.username)
            except actions.ActionError as exc:
                return await self.transfer(request, str(exc), 400)
            return self._back(transfer_id, "proposed")

        return propose

    async def decide(self, request: Request) -> Response:
        transfer_id = request.path_params["transfer_id"]
        approve = (await request.form()).get("decision") == "approve"
        user = request.scope["ops_user"]
        run: tuple[Transfer, resend.FinalNotification] | None = None
        try:
            proposal_id = int(request.path_params["proposal_id"])
            async with self.store.transaction() as session:
                proposal = await actions.decide(session, proposal_id, user.username, approve)
                if proposal.transfer_id != transfer_id:
                    raise actions.ActionError("the proposal is about another transfer")
                if approve and proposal.action == actions.RESEND:
                    # Checked again in the approving transaction: nothing is approved that
                    # cannot run.
                    run = await self._final_notification(session, transfer_id)
        except actions.ActionError as exc:
            return await self.transfer(request, str(exc), 400)
        if run is None:
            return self._back(transfer_id, "approved" if approve else "rejected")
        row, notification = run
        assert self.cbs_operation is not None  # _final_notification checked it
        # The approval is committed before the CBS is called: a crash in between leaves an
        # approved proposal without an outcome, and an operator proposes it again (the CBS
        # takes the repeat idempotently).
        outcome = await resend.send(
            self.cbs_operation,
            notification,
            row.direction,
            self.settings.connector_timeout_seconds,
        )
        async with self.store.transaction() as session:
            await actions.record_outcome(session, proposal_id, str(outcome))
            await audit(
                session,
                user.username,
                "resend_notification",
                transfer_id,
                before={
                    "proposal": proposal_id,
                    "state": row.state,
                    "operation": notification.operation,
                },
                after=outcome.as_audit(),
                source_ip=request.client.host if request.client else None,
            )
        if not outcome.ok:
            return await self.transfer(request, f"The CBS did not take it: {outcome}", 502)
        return self._back(transfer_id, "resent")

    async def connections(self, request: Request) -> Response:
        peer = await connections.reach(self.settings.peer_endpoint)
        keys, keys_problem = connections.peer_keys(self.settings.jws_verification_keys_dir)
        return self.render(
            request,
            "connections.html",
            peer=peer,
            certificates=connections.certificates(self.settings),
            own_key=connections.own_key(self.settings.jws_signing_key_path),
            peer_keys=keys,
            peer_keys_problem=keys_problem,
            configuration=connections.configuration(self.settings),
        )

    async def audit_log(self, request: Request) -> Response:
        async with self.store.reading() as session:
            entries = await audit_entries(session)
        return self.render(request, "audit.html", entries=entries)

    async def audit_csv(self, request: Request) -> Response:
        async with self.store.reading() as session:
            entries = await audit_entries(session, limit=100_000)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at", "actor", "action", "target", "before", "after", "source_ip"])
        for entry in entries:
            writer.writerow(
                [
                    _csv_cell(value)
                    for value in (
                        entry.at,
                        entry.actor,
                        entry.action,
                        entry.target,
                        entry.before,
                        entry.after,
                        entry.source_ip,
                    )
                ]
            )
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="audit.csv"'},
        )


def _csv_cell(value: object) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    # A leading =, +, - or @ makes spreadsheets run the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def create_ops_app(
    settings: Settings,
    store: Store,
    refresh: Refresh | None = None,
    cbs_operation: resend.CbsOperation | None = None,
) -> Starlette:
    """The portal as an ASGI app (served by ``pm4ml serve`` on ``ops_host``:``ops_port``).
    ``refresh`` (the payer flows' ``refresh``) enables "ask the hub"; ``cbs_operation`` (the
    outbox's ``Jobs.cbs_operation``) enables "re-send the final notification to the CBS"."""
    secret = session_secret(settings)
    portal = Portal(settings, store, refresh, cbs_operation, secret)
    viewer, operator, admin = portal.page("viewer"), portal.page("operator"), portal.page("admin")
    routes = [
        Route("/login", portal.login_form, methods=["GET"]),
        Route("/login", portal.login, methods=["POST"]),
        Route("/logout", viewer(portal.logout), methods=["POST"]),
        Route("/", viewer(portal.dashboard), methods=["GET"]),
        Route("/transfers", viewer(portal.transfers), methods=["GET"]),
        Route("/transfers.csv", viewer(portal.transfers_csv), methods=["GET"]),
        Route("/transaction-requests", viewer(portal.transaction_requests), methods=["GET"]),
        Route("/transfers/{transfer_id}", viewer(portal.transfer), methods=["GET"]),
        Route(
            "/transfers/{transfer_id}/resolve",
            operator(portal.proposer(actions.RESOLVE)),
            methods=["POST"],
        ),
        Route(
            "/transfers/{transfer_id}/resend",
            operator(portal.proposer(actions.RESEND)),
            methods=["POST"],
        ),
        Route(
            "/transfers/{transfer_id}/proposals/{proposal_id}",
            operator(portal.decide),
            methods=["POST"],
        ),
        Route("/connections", viewer(portal.connections), methods=["GET"]),
        Route("/audit", admin(portal.audit_log), methods=["GET"]),
        Route("/audit.csv", admin(portal.audit_csv), methods=["GET"]),
        Mount("/static", StaticFiles(directory=UI_DIR / "static"), name="static"),
    ]
    if portal.oidc is not None:
        routes.append(Route("/oidc/login", portal.oidc_login, methods=["GET"]))
        routes.append(
            Route("/oidc/callback", portal.oidc_callback, methods=["GET"], name="oidc_callback")
        )
    if refresh is not None:
        routes.append(
            Route("/transfers/{transfer_id}/ask-hub", operator(portal.ask_hub), methods=["POST"])
        )
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="pm4ml_ops",
                max_age=None,
                same_site="strict",
                https_only=settings.ops_secure_cookies,
            ),
        ],
    )
