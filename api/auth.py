"""Login (password → expiring bearer token), logout, and revocation by an admin or dispatcher supervisor."""
from __future__ import annotations

import math

from api.base import ApiError, BaseHandler
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid


class LoginHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise Invalid(FieldError("body", ErrorCode.MUST_BE_OBJECT))
        errors = [FieldError(k, ErrorCode.REQUIRED) for k in ("user_id", "password") if not isinstance(body.get(k), str)]
        if errors:
            raise Invalid(errors)
        throttle, address = self.ctx.login_throttle, self.request.remote_ip
        retry_after_s = await throttle.admit(body["user_id"], address)
        if retry_after_s is not None:  # refused before any hashing, even with the right password
            raise ApiError(429, ErrorCode.LOGIN_THROTTLED,
                           headers={"Retry-After": str(math.ceil(retry_after_s))})
        try:
            result = await self.ctx.access.login(body["user_id"], body["password"])
            if result is None:
                await throttle.failed(body["user_id"], address)
                raise ApiError(401, ErrorCode.WRONG_LOGIN)
            await throttle.succeeded(body["user_id"])
        finally:
            await throttle.release(body["user_id"])
        token, identity = result
        self.send_json({"token": token, "user_id": identity.user_id, "name": identity.name, "role": identity.role,
                        "unit_id": identity.unit_id, "hospital_id": identity.hospital_id})


class LogoutHandler(BaseHandler):
    agency_scope = "open"

    async def post(self) -> None:
        identity = self.require()
        await self.ctx.access.revoke_token(self._bearer_token(), actor=identity.actor)
        self.send_json({"revoked": True})


class RevokeUserHandler(BaseHandler):
    async def post(self, user_id: str) -> None:
        identity = self.require("admin")
        count = await self.ctx.access.revoke_user(user_id, actor=identity.actor)
        self.send_json({"user_id": user_id, "tokens_revoked": count})


class MeHandler(BaseHandler):
    agency_scope = "open"

    async def get(self) -> None:
        identity = self.require()
        self.send_json(identity)
