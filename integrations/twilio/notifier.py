"""Outbound SMS and voice through the real Twilio SDK (the domain's CrewNotifier, and caller/hospital texts).

The SDK is blocking (requests), so every call runs in the default executor. `config.twilio_api_base` points the
SDK at another REST base URL (tests use a loopback fake of Twilio's API). Every message sent is recorded with its
status, which status callbacks then only move forward (see integrations/twilio/service.py StatusService).
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import functools
import logging

import asyncpg
from tornado.httpclient import AsyncHTTPClient
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from config import Config
from dispatch.channels import status_rank
from dispatch.errors import Unavailable
from integrations.twilio import store

log = logging.getLogger("ems.twilio")

STATUS_PATH = "/twilio/status"
# One small pool per process for Twilio's blocking SDK calls (each bounded by EMS_TWILIO_TIMEOUT_S).
TWILIO_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="twilio")


class TwilioNotifier:
    """SMS and voice calls; each method returns the Twilio SID, or raises Unavailable if Twilio refused."""

    def __init__(self, config: Config, pool: asyncpg.Pool, client: Client | None = None):
        # a bounded wait on Twilio's REST API, on threads of its own: answering a 1669 call or texting a crew never
        # queues behind CPU work (graph or gazetteer builds) on the event loop's shared executor, nor hangs
        self.client = client or Client(config.twilio_account_sid, config.twilio_auth_token,
                                       http_client=TwilioHttpClient(timeout=config.twilio_timeout_s))
        self.executor = TWILIO_THREADS
        if config.twilio_api_base:
            self.client.api.base_url = config.twilio_api_base.rstrip("/")
        self.pool = pool
        self.api_base = (config.twilio_api_base or "https://api.twilio.com").rstrip("/")
        self.account_sid, self.auth_token = config.twilio_account_sid, config.twilio_auth_token
        self.from_number = config.twilio_from_number
        self.status_url = config.base_url.rstrip("/") + STATUS_PATH

    async def send_sms(self, to: str, body: str, *, incident_id: int | None = None,
                       purpose: str = "crew_escalation") -> str:
        """Text `body` to `to` (E.164). Returns the MessageSid."""
        create = functools.partial(self.client.messages.create, to=to, from_=self.from_number, body=body,
                                   status_callback=self.status_url)
        sent = await self._run(create, "sms", to)
        await store.record_status(self.pool, sent.sid, "sms", sent.status or "queued",
                                  status_rank("sms", sent.status or "queued") or 1, to_phone=to,
                                  incident_id=incident_id, purpose=purpose)
        return sent.sid

    async def call(self, to: str, message: str, *, incident_id: int | None = None,
                   purpose: str = "crew_escalation") -> str:
        """Ring `to` and read `message` twice (Thai voice; the text itself may be bilingual). Returns the CallSid."""
        twiml = VoiceResponse()
        twiml.say(message, language="th-TH")
        twiml.pause(length=1)
        twiml.say(message, language="th-TH")
        create = functools.partial(self.client.calls.create, to=to, from_=self.from_number, twiml=str(twiml),
                                   status_callback=self.status_url,
                                   status_callback_event=["initiated", "ringing", "answered", "completed"])
        placed = await self._run(create, "voice", to)
        await store.record_status(self.pool, placed.sid, "voice", placed.status or "queued",
                                  status_rank("voice", placed.status or "queued") or 1, to_phone=to,
                                  incident_id=incident_id, purpose=purpose)
        return placed.sid

    async def redirect_call(self, call_sid: str, twiml: str) -> None:
        """Give live call `call_sid` new TwiML (Twilio's Call update), e.g. to <Dial> a dispatcher out of the queue.
        Raises Unavailable if Twilio refused or is unreachable."""
        update = functools.partial(self.client.calls(call_sid).update, twiml=twiml)
        await self._run(update, "call update", call_sid)

    async def connect_call(self, to: str, twiml: str) -> str:
        """Ring `to` (a dispatcher's desk line) and, when answered, run `twiml` (e.g. <Dial> the caller back).
        Returns the CallSid; raises Unavailable if Twilio refused or is unreachable."""
        create = functools.partial(self.client.calls.create, to=to, from_=self.from_number, twiml=twiml)
        placed = await self._run(create, "call-back", to)
        return placed.sid

    async def fetch_recording(self, recording_sid: str) -> bytes:
        """The MP3 of recording `recording_sid`, fetched with the account's credentials (Twilio's media URLs are
        authenticated). The URL is built from the configured API base, never taken from a callback. Raises
        Unavailable if Twilio refused or is unreachable."""
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}.mp3"
        try:
            response = await AsyncHTTPClient().fetch(url, auth_username=self.account_sid,
                                                     auth_password=self.auth_token, request_timeout=30)
        except Exception as exc:
            log.warning("twilio recording unavailable", extra={"recording": recording_sid, "error": repr(exc)[:300]})
            raise Unavailable("the recording could not be fetched from Twilio") from None
        return response.body

    async def _run(self, fn, kind: str, to: str):
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn)
        except TwilioException as exc:
            log.warning("twilio refused", extra={"kind": kind, "error": str(exc)[:300]})
            raise Unavailable(f"Twilio refused the {kind}: {getattr(exc, 'msg', exc)}") from None
        except Exception as exc:  # connection errors from requests
            log.warning("twilio unreachable", extra={"kind": kind, "error": repr(exc)[:300]})
            raise Unavailable(f"Twilio is unreachable for the {kind}") from None
