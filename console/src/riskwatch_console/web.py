"""One request's context (the visit): its session, language and formatter; rendering; and the
guard every page goes through (CSRF on unsafe methods, sign-in, the session cookie)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from riskwatch_console import words
from riskwatch_console.actions import may
from riskwatch_console.config import Settings
from riskwatch_console.gateway import ApiProblem, Gateway, SignedIn, SignedOut
from riskwatch_console.i18n import (
    LOCALE_NAMES,
    LOCALES,
    Formatter,
    formatter,
    negotiate,
    translations,
)
from riskwatch_console.labels import label_for
from riskwatch_console.sessions import (
    COOKIE_NAME,
    CSRF_FIELD,
    CSRF_HEADER,
    Session,
    SessionCodec,
)
from riskwatch_console.sso import SsoProvider

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TEMPLATES = __file__.rsplit("/", 1)[0] + "/templates"


def _word_helpers(locale: str) -> dict[str, Any]:
    """The templates' words of one locale: `label(code)`, an alert's `alert_words`, a
    reason's `reason_words`, evidence and scores as `field_rows`, timeline `detail_rows`."""
    label, fmt = label_for(locale), formatter(locale)
    return {
        "label": label,
        "alert_words": partial(words.alert_words, locale=locale),
        "reason_words": partial(words.reason_words, locale=locale),
        "field_rows": partial(words.field_rows, locale=locale, label=label, fmt=fmt),
        "detail_rows": partial(words.detail_rows, label=label, fmt=fmt),
    }


def template_environments() -> dict[str, Environment]:
    """One Jinja2 environment per locale, its catalogue installed (autoescaped everywhere)."""
    environments: dict[str, Environment] = {}
    for locale in LOCALES:
        environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            auto_reload=False,
        )
        environment.install_gettext_translations(  # type: ignore[attr-defined]
            translations(locale), newstyle=True
        )
        environment.globals.update(_word_helpers(locale))
        environments[locale] = environment
    return environments


@dataclass
class Console:
    """What every request shares: settings, the gateway client, the cookie codec, templates."""

    settings: Settings
    gateway: Gateway
    codec: SessionCodec
    environments: dict[str, Environment]
    # Sign-in with the bank's SSO, when configured.
    sso: SsoProvider | None = None


@dataclass
class Visit:
    request: Request
    console: Console
    session: Session
    changed: bool = False
    started: float = field(default_factory=time.time)

    @property
    def locale(self) -> str:
        return self.session.locale or negotiate(self.request.headers.get("accept-language"))

    @property
    def fmt(self) -> Formatter:
        return formatter(self.locale)

    @property
    def token(self) -> str:
        assert self.session.token is not None
        return self.session.token

    def update(self, session: Session) -> None:
        self.session = session
        self.changed = True

    def sign_in(self, signed: SignedIn) -> None:
        """A new session for the person (a new CSRF token: nothing of the one before)."""
        self.update(
            Session(
                locale=self.session.locale,
                token=signed.token,
                token_expires_at=time.time() + signed.expires_in - 5,
                subject=signed.subject,
                name=signed.name,
                roles=signed.roles,
                staff_id=signed.staff_id,
                refresh_token=signed.refresh_token,
            )
        )

    async def refresh(self) -> bool:
        """The next API token (and refresh token) for an active person; False when the
        gateway refuses (disabled, signed out elsewhere, the sign-in's time is up) or cannot
        be reached."""
        if self.session.refresh_token is None:
            return False
        try:
            signed = await self.console.gateway.refresh(self.session.refresh_token)
        except (SignedOut, ApiProblem, httpx.HTTPError):
            return False
        self.update(
            replace(
                self.session,
                token=signed.token,
                token_expires_at=time.time() + signed.expires_in - 5,
                name=signed.name,
                roles=signed.roles,
                staff_id=signed.staff_id,
                refresh_token=signed.refresh_token,
            )
        )
        return True

    def gettext(self, message: str) -> str:
        return str(translations(self.locale).gettext(message))

    def may(self, method: str, path: str) -> bool:
        return may(self.session.roles, method, path)

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        environment = self.console.environments[self.locale]
        html = environment.get_template(template).render(
            visit=self,
            session=self.session,
            fmt=self.fmt,
            csrf_field=CSRF_FIELD,
            locales=LOCALE_NAMES,
            path=self.request.url.path,
            url_query=self.request.url.query,
            **context,
        )
        return HTMLResponse(html, status_code=status_code)


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target of our own (a path on this site), never another site's."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def sign_in_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in SAFE_METHODS:
        here = request.headers.get("referer", "/") or "/"
        here = local_path(urlsplit(here).path, "/")
    return redirect("/sign-in?" + urlencode({"next": here}))


def origin_allowed(request: Request) -> bool:
    """A browser's unsafe request must come from our own pages (Origin, when sent). An opaque
    origin (`null`: privacy settings, no-referrer pages) proves nothing either way: the CSRF
    token decides."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def csrf_passes(request: Request, session: Session) -> bool:
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    return origin_allowed(request) and session.csrf_matches(presented)


Handler = Callable[[Visit], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def open_visit(request: Request) -> Visit:
    console = console_of(request)
    session = console.codec.decode(request.cookies.get(COOKIE_NAME))
    if session is None:
        return Visit(request, console, Session(), changed=True)
    return Visit(request, console, session)


def finish(visit: Visit, response: Response) -> Response:
    if visit.changed:
        settings = visit.console.settings
        response.set_cookie(
            COOKIE_NAME,
            visit.console.codec.encode(visit.session),
            max_age=settings.session_max_age_seconds,
            path="/",
            secure=settings.cookie_secure,
            httponly=True,
            samesite="lax",
        )
    return response


def page(*, signed_in: bool = True) -> Callable[[Handler], Endpoint]:
    """A console endpoint: CSRF checked on every unsafe method, sign-in required (unless said
    otherwise), the API token refreshed while the person is active, the API's refusal of the
    token ends the session, the cookie kept current."""

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            visit = open_visit(request)
            if request.method not in SAFE_METHODS and not await csrf_passes(request, visit.session):
                response: Response = visit.render(
                    "error.html",
                    status_code=403,
                    title=visit.gettext("This form has expired"),
                    message=visit.gettext("Reload the page and try again."),
                )
            elif signed_in:
                response = await _signed_in_page(visit, handler)
            else:
                response = await handler(visit)
            return finish(visit, response)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


async def _signed_in_page(visit: Visit, handler: Handler) -> Response:
    ahead = visit.console.settings.refresh_ahead_seconds
    if visit.session.wants_refresh(time.time(), ahead):
        await visit.refresh()
    if not visit.session.signed_in(time.time()):
        return _ended(visit)
    with contextlib.suppress(SignedOut):
        return await handler(visit)
    # The API refused the token before it expired (a key rotation, a role change): one new
    # token, one more try; a refused refresh ends the session (a disabled user).
    if await visit.refresh():
        with contextlib.suppress(SignedOut):
            return await handler(visit)
    return _ended(visit)


def _ended(visit: Visit) -> Response:
    if visit.session.token is not None:
        visit.update(visit.session.signed_out())
    return sign_in_redirect(visit.request)
