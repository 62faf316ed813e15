"""Hospital alerts: each HospitalAlerted (and each arrival at hospital) becomes a FHIR R4 Bundle POSTed to the
hospital's configured endpoint; if that fails (error, timeout, none configured) the hospital gets an SMS instead.

Runs after commit, from the event log (a cursor in relay_cursor), in every process. Delivery is at most once per
alert version: a claim in PostgreSQL (one per event) lets exactly one process send it, and a process dying between
claim and POST loses that one alert (the dispatcher then sees no HospitalNotified for it). A failing endpoint is
retried with exponential backoff (5xx, 408, 429, timeouts, refused connections; other 4xx are final) before the
SMS fallback; the retried Bundle is byte-identical and made of conditional creates, so a POST whose answer was lost
is not stored twice. Alerts about one incident go out in order; a slow hospital never holds up the others.
Hospitals never receive the caller's phone number. Each bundle carries the latest vital signs recorded when it is
built; vital signs recorded once a hospital is chosen go out as one more bundle (FHIR only: no SMS for those).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import tornado.httpclient

from dispatch.channels import HospitalNotified
from dispatch.error_codes import ErrorCode
from dispatch.errors import DomainError, FieldError, Invalid
from dispatch.intake import PHONE_CHARS
from dispatch.model import IncidentStatus
from dispatch.ports import get_or_not_found
from dispatch.vitals import readings
from integrations.background import AfterWork
from integrations.fhir import store
from integrations.fhir.bundle import build_bundle

log = logging.getLogger("ems.fhir")

# The OpenAPI document states the same pattern: ASCII classes only, as Python's and JavaScript's \s differ.
FHIR_URL_PATTERN = r"^https?://[^\x00-\x20\x7f/$.?#][^\x00-\x20\x7f]{0,500}$"
URL = re.compile(FHIR_URL_PATTERN)
RETRYABLE = {408, 425, 429}


class HospitalAlerts:
    def __init__(self, ctx: Any, notifier: Any, after: AfterWork, retry_delays_s: tuple[float, ...]):
        self.ctx = ctx
        self.notifier = notifier
        self.after = after
        self.retry_delays_s = retry_delays_s
        self.http = tornado.httpclient.AsyncHTTPClient()
        self._latest: dict[int, asyncio.Task] = {}  # last delivery per incident, so its alerts go out in order

    async def configure(self, hospital_id: str, body: Any) -> dict[str, Any]:
        """Set where a hospital receives FHIR bundles (`fhir_url`) and fallback texts (`sms_phone`)."""
        await get_or_not_found(self.ctx.store, "hospitals", hospital_id)
        if not isinstance(body, dict):
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        errors = []
        url, phone = body.get("fhir_url"), body.get("sms_phone")
        if url is not None and (not isinstance(url, str) or not URL.fullmatch(url)):
            errors.append(FieldError("fhir_url", ErrorCode.MUST_BE_HTTP_URL))
        if phone is not None and (not isinstance(phone, str) or not 0 < len(phone) <= 32 or not set(phone) <= PHONE_CHARS):
            errors.append(FieldError("sms_phone", ErrorCode.MUST_BE_PHONE_NUMBER))
        if errors:
            raise Invalid(errors)
        await store.set_endpoint(self.ctx.pool, hospital_id, url, phone)
        return {"hospital_id": hospital_id, "fhir_url": url, "sms_phone": phone}

    async def start(self) -> None:
        """Fix where delivery starts before the server takes requests: on a fresh deployment the cursor is the end
        of the log now, so an alert committed before the first delivery round is not skipped as old."""
        await store.start_cursor(self.ctx.pool)

    async def deliver_pending(self) -> int:
        """Start delivering every alert committed since the cursor; returns how many this process claimed."""
        claimed = 0
        after = await store.cursor(self.ctx.pool)
        while events := await store.alert_events(self.ctx.pool, after):
            for event in events:
                if await self._claim(event.seq):
                    self._schedule(event)
                    claimed += 1
                after = event.seq
            await store.advance(self.ctx.pool, after)
        return claimed

    async def _claim(self, seq: int) -> bool:
        async with self.ctx.store.unit_of_work("system:fhir") as uow:
            if await uow.claim_idempotency("hospital-alert", str(seq)) is not None:
                return False
            await uow.remember("hospital-alert", str(seq), {"claimed": True})
        return True

    def _schedule(self, event) -> None:
        incident_id = event.payload["incident_id"]
        previous = self._latest.get(incident_id)
        task = self.after.run(self._deliver_after(previous, event), f"hospital alert {event.seq}")
        self._latest[incident_id] = task
        task.add_done_callback(lambda done: self._forget(incident_id, done))

    def _forget(self, incident_id: int, done: asyncio.Task) -> None:
        if self._latest.get(incident_id) is done:
            del self._latest[incident_id]

    async def _deliver_after(self, previous: asyncio.Task | None, event) -> None:
        try:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self._deliver(event)
        except asyncio.CancelledError:  # shutting down mid-retry: this claimed alert is not sent (at most once)
            log.error("hospital alert abandoned at shutdown", extra={"seq": event.seq,
                                                                    "incident": event.payload["incident_id"]})
            raise

    async def _deliver(self, event) -> None:
        p = event.payload
        incident = await self.ctx.store.get("incidents", p["incident_id"])
        if incident is None:
            return
        vitals_update = event.type == "VitalsRecorded"
        if event.type == "HospitalAlerted":
            hospital_id, stage, eta_s = p["hospital_id"], "planned", p.get("eta_s")
        else:
            hospital_id, eta_s = incident.destination_hospital_id, incident.destination_eta_s
            stage = "planned" if vitals_update and incident.status is not IncidentStatus.AT_HOSPITAL else "arrived"
            if hospital_id is None:
                return
        endpoint = await store.endpoint(self.ctx.pool, hospital_id)
        fhir_url = endpoint["fhir_url"] if endpoint else None
        if vitals_update and not fhir_url:
            return  # new vitals reach a hospital without FHIR through its board, not by another SMS
        bundle = build_bundle(incident, hospital_id, stage=stage, at=event.occurred_at, version=event.seq,
                              eta_s=eta_s, colour=p.get("colour"), summary=p.get("summary"),
                              vitals=readings(incident.vitals[-1]) if incident.vitals else None)
        via, ok, detail = "fhir", True, None
        failure = await self._post_with_retries(fhir_url, bundle) if fhir_url else "no FHIR endpoint configured"
        if failure is not None and vitals_update:
            ok, detail = False, failure
        elif failure is not None:
            via, detail = "sms", failure
            hospital = await self.ctx.store.get("hospitals", hospital_id)
            phone = (endpoint["sms_phone"] if endpoint else None) or (hospital.phone if hospital else None)
            ok = phone is not None and await self._text(phone, incident, stage, p)
            if phone is None:
                via, detail = "none", f"{failure}; no SMS number for the hospital"
        async with self.ctx.store.unit_of_work("system:fhir") as uow:
            await uow.append(HospitalNotified(at=self.ctx.clock.now(), incident_id=incident.id,
                                              hospital_id=hospital_id, via=via, stage=stage, ok=ok, detail=detail))

    async def _post_with_retries(self, url: str, bundle: dict) -> str | None:
        """POST until accepted, waiting `retry_delays_s` between tries; None once accepted, else the last failure."""
        body = json.dumps(bundle, ensure_ascii=False).encode()
        failure, attempts = None, 0
        for delay_s in (0.0, *self.retry_delays_s):
            await asyncio.sleep(delay_s)
            attempts += 1
            failure, retryable = await self._post(url, body)
            if failure is None or not retryable:
                break
        if failure is not None:
            log.warning("fhir delivery failed", extra={"url": url, "attempts": attempts, "error": failure})
            return f"{failure} (after {attempts} attempt{'s' if attempts > 1 else ''})"
        return None

    async def _post(self, url: str, body: bytes) -> tuple[str | None, bool]:
        """One POST: (None, _) on 2xx, else (why it failed, whether a retry may succeed)."""
        try:
            response = await self.http.fetch(
                url, method="POST", body=body, raise_error=False, follow_redirects=False,
                headers={"Content-Type": "application/fhir+json; charset=utf-8", "Accept": "application/fhir+json"},
                request_timeout=self.ctx.config.fhir_timeout_s, connect_timeout=self.ctx.config.fhir_timeout_s)
        except Exception as exc:
            return f"FHIR endpoint unreachable: {type(exc).__name__}", True
        if 200 <= response.code < 300:
            return None, False
        if response.code == 599:  # tornado's code for a timeout or a refused connection
            return f"FHIR endpoint unreachable: {type(response.error).__name__}", True
        return f"FHIR endpoint answered {response.code}", response.code >= 500 or response.code in RETRYABLE

    async def _text(self, phone: str, incident, stage: str, alert: dict) -> bool:
        """The fallback SMS: incident number, colour, complaint and ETA — never the caller's number."""
        if stage == "arrived":
            text = f"1669 ชลบุรี: ผู้ป่วยเหตุ #{incident.id} ถึงโรงพยาบาลแล้ว / patient of incident #{incident.id} arrived"
        else:
            eta = alert.get("eta_s")
            minutes = f"{round(eta / 60)} min" if isinstance(eta, int | float) else "ETA unknown"
            colour = alert.get("colour") or incident.colour or "untriaged"
            complaint = (alert.get("summary") or incident.chief_complaint or "")[:160]
            text = (f"1669 ชลบุรี: ผู้ป่วยกำลังมา เหตุ #{incident.id} / Inbound patient, incident #{incident.id}: "
                    f"{colour}, {complaint}, {minutes}")
        try:
            await self.notifier.send_sms(phone, text, incident_id=incident.id, purpose="hospital_alert")
            return True
        except DomainError as exc:
            log.warning("hospital alert SMS failed", extra={"incident": incident.id, "error": str(exc)[:200]})
            return False
