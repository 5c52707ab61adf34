"""Channel adapters built from settings: primary and secondary providers behind failover."""

from __future__ import annotations

import httpx

from riskwatch_notify.channels.base import ChannelAdapter
from riskwatch_notify.channels.email import EmailAdapter, SmtpSecurity, SmtpSettings
from riskwatch_notify.channels.failover import FailoverAdapter
from riskwatch_notify.channels.in_app import InAppAdapter
from riskwatch_notify.channels.sms import GenericHttpSmsAdapter, TwilioSmsAdapter
from riskwatch_notify.channels.webhook import WebhookAdapter
from riskwatch_notify.config import Settings, SmsProviderKind, SmtpSecurityKind
from riskwatch_notify.domain.models import Channel


def _smtp(
    settings: Settings,
    *,
    host: str,
    port: int,
    security: SmtpSecurityKind,
    username: str | None,
    password: str | None,
    provider: str,
) -> EmailAdapter:
    return EmailAdapter(
        SmtpSettings(
            host=host,
            port=port,
            sender=settings.smtp_from,
            security=SmtpSecurity(security),
            username=username,
            password=password,
            timeout_seconds=settings.smtp_timeout_seconds,
            provider=provider,
            pool_size=settings.smtp_pool_size,
        )
    )


def email_adapter(settings: Settings) -> ChannelAdapter | None:
    if not settings.smtp_host:
        return None
    primary = _smtp(
        settings,
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        provider=f"smtp:{settings.smtp_host}:{settings.smtp_port}",
    )
    if not settings.smtp2_host:
        return primary
    secondary = _smtp(
        settings,
        host=settings.smtp2_host,
        port=settings.smtp2_port,
        security=settings.smtp2_security,
        username=settings.smtp2_username,
        password=settings.smtp2_password,
        provider=f"smtp:{settings.smtp2_host}:{settings.smtp2_port}",
    )
    return _failover(settings, primary, secondary)


def _sms(
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    kind: SmsProviderKind,
    url: str | None,
    token: str | None,
    account_sid: str | None,
    auth_token: str | None,
    name: str,
) -> ChannelAdapter | None:
    timeout = settings.http_timeout_seconds
    if kind == "generic" and url:
        return GenericHttpSmsAdapter(
            client,
            url=url,
            token=token or "",
            sender=settings.sms_sender,
            provider=f"sms-gateway:{name}",
            timeout_seconds=timeout,
        )
    if kind == "twilio" and account_sid and auth_token:
        return TwilioSmsAdapter(
            client,
            account_sid=account_sid,
            auth_token=auth_token,
            sender=settings.sms_sender,
            base_url=url or "https://api.twilio.com",
            provider=f"twilio:{name}",
            timeout_seconds=timeout,
        )
    return None


def sms_adapter(client: httpx.AsyncClient, settings: Settings) -> ChannelAdapter | None:
    primary = _sms(
        client,
        settings,
        kind=settings.sms_provider,
        url=settings.sms_url,
        token=settings.sms_token,
        account_sid=settings.sms_account_sid,
        auth_token=settings.sms_auth_token,
        name="primary",
    )
    secondary = _sms(
        client,
        settings,
        kind=settings.sms2_provider,
        url=settings.sms2_url,
        token=settings.sms2_token,
        account_sid=settings.sms2_account_sid,
        auth_token=settings.sms2_auth_token,
        name="secondary",
    )
    if primary is None or secondary is None:
        return primary or secondary
    return _failover(settings, primary, secondary)


def _failover(
    settings: Settings, primary: ChannelAdapter, secondary: ChannelAdapter
) -> FailoverAdapter:
    return FailoverAdapter(
        primary,
        secondary,
        failure_threshold=settings.failover_threshold,
        cooldown_seconds=settings.failover_cooldown_seconds,
    )


def build_adapters(client: httpx.AsyncClient, settings: Settings) -> dict[Channel, ChannelAdapter]:
    """One adapter per configured channel; a channel without a provider is left out."""
    adapters: dict[Channel, ChannelAdapter] = {
        Channel.IN_APP: InAppAdapter(),
        Channel.WEBHOOK: WebhookAdapter(
            client,
            signing_secret=settings.webhook_signing_secret,
            timeout_seconds=settings.http_timeout_seconds,
        ),
    }
    email = email_adapter(settings)
    if email is not None:
        adapters[Channel.EMAIL] = email
    sms = sms_adapter(client, settings)
    if sms is not None:
        adapters[Channel.SMS] = sms
    return adapters
