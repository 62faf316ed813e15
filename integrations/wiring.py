"""How the integrations plug into the server: extra HTTP routes, and background tasks started/stopped with it."""
from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from app_context import Core
from dispatch.loops import BackgroundLoop
from dispatch.ports import RecordingNotifier
from integrations import openapi as _openapi  # noqa: F401 - adds the integrations' paths to the document
from integrations.apps import handlers as app_handlers
from integrations.apps.service import AppKeys
from integrations.background import AfterWork
from integrations.fhir import handlers as fhir_handlers
from integrations.fhir.service import HospitalAlerts
from integrations.line.handlers import LineWebhookHandler
from integrations.line.service import LineChannel
from integrations.panic import handlers as panic_handlers
from integrations.panic.mqtt import MqttListener
from integrations.panic.service import PanicService
from integrations.twilio import handlers as twilio_handlers
from integrations.twilio.notifier import TwilioNotifier
from integrations.twilio.service import TwilioChannel

log = logging.getLogger("ems.integrations")

INCIDENT = r"/api/v1/incidents/([0-9]{1,18})"


def mqtt_client_id(config: Any) -> str:
    """One persistent MQTT session per server process (host and port), kept across its restarts."""
    return f"ems-{socket.gethostname()}-{config.port}"


class DomainNotifier:
    """Without Twilio credentials: outbound texts go to the server's crew notifier (a recording one); the
    Twilio-only keyword purpose is accepted and dropped."""

    def __init__(self, notifier: Any):
        self.notifier = notifier

    async def send_sms(self, to: str, body: str, *, incident_id: int | None = None, **_: Any) -> str:
        """Text `body` to `to` through the crew notifier; returns its message id."""
        return await self.notifier.send_sms(to, body, incident_id=incident_id)

    async def call(self, to: str, message: str, *, incident_id: int | None = None, **_: Any) -> str:
        """Ring `to` with `message` through the crew notifier; returns its call id."""
        return await self.notifier.call(to, message, incident_id=incident_id)


def crew_notifier(config: Any, pool: Any) -> Any:
    """The escalation ladder's CrewNotifier: Twilio when its credentials are configured, else a recording one."""
    if config.twilio_account_sid and config.twilio_auth_token:
        return TwilioNotifier(config, pool)
    return RecordingNotifier()


class Integrations:
    """The channels (Twilio, LINE, panic buttons, app keys, hospital alerts), built once from the core by
    bootstrap.build, plus their routes and background work."""

    def __init__(self, ctx: Core):
        self.ctx = ctx
        self.after = AfterWork()
        config = ctx.config
        notifier = ctx.notifier if isinstance(ctx.notifier, TwilioNotifier) else DomainNotifier(ctx.notifier)
        self.notifier = notifier
        self.twilio = TwilioChannel(ctx, notifier, self.after)
        self.panic = PanicService(ctx)
        self.apps = AppKeys(ctx)
        self.line = LineChannel(ctx)
        self.hospital_alerts = HospitalAlerts(ctx, notifier, self.after, config.fhir_retry_s)
        self.mqtt = MqttListener(config.mqtt_url or "mqtt://127.0.0.1:1883", self.panic, config.mqtt_retry_s,
                                 identifier=mqtt_client_id(config), restart_max_s=config.mqtt_restart_max_s,
                                 signed_only=config.mqtt_signed_only, max_payload_bytes=config.max_body_bytes,
                                 press_retry_s=config.panic_press_retry_s)
        self.loops = [
            BackgroundLoop("heartbeat check", self.panic.check_heartbeats, interval_s=config.device_check_interval_s,
                           logger=log, delay_first=True),
            BackgroundLoop("hospital alerts", self.hospital_alerts.deliver_pending,
                           interval_s=config.hospital_alert_poll_s, logger=log, delay_first=True),
            BackgroundLoop("call queue check", self.twilio.calls.alert_overdue, interval_s=config.call_queue_check_s,
                           logger=log, delay_first=True),
        ]

    def routes(self) -> list[tuple]:
        """Extra (pattern, handler[, kwargs]) routes, added to the Tornado application."""
        return [
            (r"/twilio/voice", twilio_handlers.VoiceHandler),
            (r"/twilio/sms", twilio_handlers.SmsHandler),
            (r"/twilio/status", twilio_handlers.StatusHandler),
            (r"/twilio/queue", twilio_handlers.QueueResultHandler),
            (r"/twilio/recording", twilio_handlers.RecordingHandler),
            (r"/twilio/call-back", twilio_handlers.CallBackResultHandler),
            (r"/recordings/([A-Za-z0-9_-]{20,100})", twilio_handlers.RecordingMediaHandler),
            (r"/line/webhook", LineWebhookHandler),
            (r"/api/v1/share/location", twilio_handlers.ShareLocationHandler),
            (INCIDENT + r"/messages", twilio_handlers.MessagesHandler),
            (INCIDENT + r"/caller-history", twilio_handlers.CallerHistoryHandler),
            (r"/api/v1/devices", panic_handlers.DevicesHandler),
            (r"/api/v1/app/incidents", app_handlers.AppIncidentsHandler),
            (r"/api/v1/app-keys", app_handlers.AppKeysHandler),
            (r"/api/v1/app-keys/(app_[0-9a-f]{12})", app_handlers.AppKeyHandler),
            (r"/api/v1/hospitals/([A-Za-z0-9_.-]{1,60})/fhir-endpoint", fhir_handlers.HospitalEndpointHandler),
            (r"/api/v1/devices/([A-Za-z0-9_.-]{1,64})/(press|heartbeat)", panic_handlers.DeviceWebhookHandler),
        ]

    async def start(self) -> None:
        """Start background work (e.g. the MQTT listener). Must not block start-up if a broker is absent."""
        await self.hospital_alerts.start()
        self.mqtt.start()
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        """Stop what start() started."""
        await asyncio.gather(*(loop.stop() for loop in self.loops))
        await self.mqtt.stop()
        await self.after.drain()
