"""Twilio webhooks (voice, SMS, status callbacks), the caller's location link, and the console's SMS/history API."""
from __future__ import annotations

from twilio.request_validator import RequestValidator

from api.base import ApiError, BaseHandler, text_fault
from db import audit
from dispatch.calls import CALL_SID
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Unavailable
from integrations.webhook_base import SignedWebhookHandler

DISPATCH_ROLES = ("dispatcher", "admin")
ID_PARAMS = ("CallSid", "MessageSid", "SmsSid", "AccountSid")  # stored as keys: refused (400) if not storable


def storable_params(params: dict[str, str]) -> dict[str, str]:
    """Twilio's parameters made safe to store, checked after the signature (which covers them as sent).

    An id that cannot be stored (a NUL) is a 400 naming it. Any other value keeps its text with each NUL
    replaced by U+FFFD: a call or text is never refused for its data, and a `From` mangled that way is no
    longer a phone number, so intake keeps the incident and flags the number for the dispatcher.
    """
    bad = [FieldError(name, reason) for name in ID_PARAMS if name in params and (reason := text_fault(params[name]))]
    if bad:
        raise ApiError(400, "a Twilio id cannot be stored", fields=bad)
    return {name: value.replace("\x00", "\ufffd") for name, value in params.items()}


class TwilioHandler(SignedWebhookHandler):
    """Validates X-Twilio-Signature against the configured external URL (correct behind a TLS proxy): 403 if forged."""

    @property
    def channel(self):
        return self.ctx.twilio

    async def twilio_params(self) -> dict[str, str]:
        token = self.ctx.config.twilio_auth_token
        if not token:
            raise Unavailable("Twilio is not configured on this server")
        params = self.form()
        url = self.ctx.config.base_url.rstrip("/") + self.request.uri
        await self.check_signature("X-Twilio-Signature", lambda signature: RequestValidator(token).validate(
            url, params, signature))
        return storable_params(params)

    def call_argument(self, *, required: bool) -> str | None:
        """The `call` query argument (the queued call a callback URL names), checked; None when absent and optional."""
        call_sid = self.get_query_argument("call", None)
        if (call_sid is None and required) or (call_sid is not None and not CALL_SID.fullmatch(call_sid)):
            raise ApiError(400, "call must be a Twilio CallSid", fields=[FieldError("call", ErrorCode.CALL_SID_FORMAT)])
        return call_sid

    def send_twiml(self, twiml: str) -> None:
        self.set_header("Content-Type", "text/xml; charset=utf-8")
        self.finish(twiml)


class VoiceHandler(TwilioHandler):
    async def post(self) -> None:
        self.send_twiml(await self.channel.answer_call(await self.twilio_params()))


class SmsHandler(TwilioHandler):
    async def post(self) -> None:
        params = await self.twilio_params()
        if params.get("From"):
            await self.throttle_source("sms", params["From"], self.ctx.config.rate_intake_per_min)
        await self.channel.receive_sms(params)
        self.send_twiml('<?xml version="1.0" encoding="UTF-8"?><Response/>')


class StatusHandler(TwilioHandler):
    async def post(self) -> None:
        await self.channel.status_callback(await self.twilio_params())
        self.send_twiml('<?xml version="1.0" encoding="UTF-8"?><Response/>')


class QueueResultHandler(TwilioHandler):
    """<Enqueue action>: the caller left the queue (hung up → abandoned). The call itself needs no more TwiML."""

    async def post(self) -> None:
        await self.channel.calls.left_queue(await self.twilio_params())
        self.send_twiml('<?xml version="1.0" encoding="UTF-8"?><Response/>')


class CallBackResultHandler(TwilioHandler):
    """A call-back's <Dial action>: Twilio says how dialling the caller ended (DialCallStatus)."""

    async def post(self) -> None:
        params = await self.twilio_params()
        call_sid = self.call_argument(required=True)
        self.send_twiml(await self.channel.calls.call_back_ended(call_sid, params.get("DialCallStatus") or ""))


class RecordingHandler(TwilioHandler):
    """<Dial recordingStatusCallback>: a finished recording is linked to the call's incident."""

    async def post(self) -> None:
        params = await self.twilio_params()
        for_call = self.call_argument(required=False)  # a call-back's recording names its abandoned call
        await self.channel.calls.recording_done(params, for_call)
        self.send_twiml('<?xml version="1.0" encoding="UTF-8"?><Response/>')


class RecordingMediaHandler(SignedWebhookHandler):
    """GET /recordings/{token}: the call recording behind a short-lived link (the token is the credential, as an
    <audio> element cannot send a bearer token). Every play is audited under the dispatcher who asked for the link."""

    async def get(self, token: str) -> None:
        await self.throttle_source("recording", f"ip:{self.request.remote_ip}", self.ctx.config.rate_intake_per_min)
        media, row = await self.channel.calls.recording_media(token)
        await audit.record(self.ctx.pool, row["actor"], "listen", f"incident:{row['incident_id']}:recording",
                           detail={"call_sid": row["call_sid"]}, remote_addr=self.request.remote_ip)
        self.set_header("Content-Type", "audio/mpeg")
        self.set_header("Cache-Control", "no-store")
        self.finish(media)

    @property
    def channel(self):
        return self.ctx.twilio


class ShareLocationHandler(SignedWebhookHandler):
    """The caller's phone posts its position; the one-time token from the SMS link is the only credential."""

    async def post(self) -> None:
        await self.throttle_source("share", f"ip:{self.request.remote_ip}", self.ctx.config.rate_intake_per_min)
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(422, "body must be a JSON object")
        incident = await self.ctx.twilio.share_location(body.get("token"), body.get("location"),
                                                                   body.get("accuracy_m"))
        self.send_json({"incident_id": incident.id, "received": True})


class MessagesHandler(BaseHandler):
    """An incident's SMS thread (GET) and a dispatcher's reply to the caller (POST)."""

    async def get(self, incident_id: str) -> None:
        self.require(*DISPATCH_ROLES)
        thread = await self.ctx.twilio.thread(int(incident_id))
        await self.audit("read", f"incident:{incident_id}:messages")
        self.send_json(thread)

    async def post(self, incident_id: str) -> None:
        identity = self.require(*DISPATCH_ROLES)
        body = self.json_body()
        text = body.get("body") if isinstance(body, dict) else None
        sent = await self.ctx.twilio.reply(int(incident_id), text, actor=identity.actor)
        self.send_json(sent, 201)


class CallerHistoryHandler(BaseHandler):
    async def get(self, incident_id: str) -> None:
        self.require(*DISPATCH_ROLES)
        history = await self.ctx.twilio.caller_history(int(incident_id))
        await self.audit("read", f"incident:{incident_id}:caller-history", {"count": len(history["incidents"])})
        self.send_json(history)
