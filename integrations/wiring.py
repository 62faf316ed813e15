"""How the integrations plug into the server: extra HTTP routes, and background tasks started/stopped with it."""
from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

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
    """Without Twilio credentials: outbound texts go to whatever notifier the server has (a recording one)."""

    def __init__(self, ctx: Any):
        self.ctx = ctx

    async def send_sms(self, to: str, body: str, **_: Any) -> str:
        return await self.ctx.services["notifier"].send_sms(to, body)

    async def call(self, to: str, message: str, **_: Any) -> str:
        return await self.ctx.services["notifier"].call(to, message)


class Integrations:
    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.after = AfterWork()
        config = ctx.config
        if config.twilio_account_sid and config.twilio_auth_token:
            notifier = TwilioNotifier(config, ctx.pool)
            ctx.services["notifier"] = notifier  # the escalation ladder's CrewNotifier
        else:
            notifier = DomainNotifier(ctx)
        self.notifier = notifier
        ctx.services["twilio"] = TwilioChannel(ctx, notifier, self.after)
        ctx.services["panic"] = self.panic = PanicService(ctx)
        ctx.services["apps"] = AppKeys(ctx)
        ctx.services["line"] = LineChannel(ctx)
        ctx.services["hospital_alerts"] = self.hospital_alerts = HospitalAlerts(ctx, notifier, self.after)
        self.mqtt = MqttListener(config.mqtt_url or "mqtt://127.0.0.1:1883", self.panic, config.mqtt_retry_s,
                                 identifier=mqtt_client_id(config), restart_max_s=config.mqtt_restart_max_s,
                                 signed_only=config.mqtt_signed_only, max_payload_bytes=config.max_body_bytes)
        ctx.services["mqtt_listener"] = self.mqtt  # /healthz fails while it is down
        self.tasks: list[asyncio.Task] = []

    def routes(self) -> list[tuple]:
        """Extra (pattern, handler[, kwargs]) routes, added to the Tornado application."""
        return [
            (r"/twilio/voice", twilio_handlers.VoiceHandler),
            (r"/twilio/sms", twilio_handlers.SmsHandler),
            (r"/twilio/status", twilio_handlers.StatusHandler),
            (r"/twilio/queue", twilio_handlers.QueueResultHandler),
            (r"/twilio/recording", twilio_handlers.RecordingHandler),
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
        self.mqtt.start()
        config = self.ctx.config
        self.tasks += [
            asyncio.create_task(self._every(config.device_check_interval_s, self.panic.check_heartbeats,
                                            "heartbeat check")),
            asyncio.create_task(self._every(config.hospital_alert_poll_s, self.hospital_alerts.deliver_pending,
                                            "hospital alerts")),
            asyncio.create_task(self._every(config.call_queue_check_s, self.ctx.services["twilio"].calls.alert_overdue,
                                            "call queue check")),
        ]

    async def stop(self) -> None:
        """Stop what start() started."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.mqtt.stop()
        await self.after.drain()

    @staticmethod
    async def _every(interval_s: float, job, what: str) -> None:
        """Run `job` every `interval_s`; a failure is logged once per outage (e.g. PostgreSQL restarting)."""
        failing = False
        while True:
            await asyncio.sleep(interval_s)
            try:
                await job()
                if failing:
                    log.info("periodic %s recovered", what)
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception:
                if not failing:
                    log.exception("periodic %s failed; retrying every %.1f s", what, interval_s)
                failing = True
