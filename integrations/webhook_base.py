"""Base handler for callers that authenticate by signature (Twilio, LINE, panic-button devices), not by bearer token."""
from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from api.base import ApiError, BaseHandler

log = logging.getLogger("ems.webhooks")


class SignedWebhookHandler(BaseHandler):
    """Body limits, JSON errors and metrics from BaseHandler; authentication is the subclass's signature check."""

    async def prepare(self) -> None:
        self.limit_body()  # no bearer token and no per-address API budget: the subclass checks a signature

    def form(self) -> dict[str, str]:
        """The form-encoded body (Twilio posts application/x-www-form-urlencoded); 400 if it is not text."""
        try:
            return dict(parse_qsl(self.raw_body().decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ApiError(400, "form body must be UTF-8") from None

    async def check_signature(self, header: str, valid: Callable[[str], bool]) -> None:
        """403 unless the request carries `header` and `valid(its value)`. A missing header is cheap to refuse; only
        a wrong signature counts towards the address's failure budget (`refuse`)."""
        signature = self.request.headers.get(header, "")
        if not signature:
            raise ApiError(403, f"{header} is required")
        if not valid(signature):
            log.warning("forged webhook", extra={"header": header, "path": self.request.path,
                                                 "remote": self.request.remote_ip})
            await self.refuse(403, f"invalid {header}")

    async def refuse(self, status: int, message: str) -> None:
        """Refuse an unauthenticated request; an address that keeps failing is throttled (429) with an alert."""
        await self.throttle_source("bad-signature", f"ip:{self.request.remote_ip}", self.ctx.config.rate_intake_per_min)
        raise ApiError(status, message)

    async def throttle_source(self, bucket: str, source: str, per_minute: int) -> None:
        """429 with Retry-After when `source` (a phone number, a device) is over its budget; alerts once."""
        retry_after = await self.ctx.rate_limiter.hit(bucket, source, per_minute)
        if retry_after is not None:
            raise ApiError(429, f"too many messages from this source; retry in {int(retry_after) + 1} s",
                           headers={"Retry-After": str(max(1, int(retry_after)))})
