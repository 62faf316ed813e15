"""Configuring a hospital's FHIR endpoint and fallback SMS number (admins, dispatchers)."""
from __future__ import annotations

from api.base import BaseHandler


class HospitalEndpointHandler(BaseHandler):
    async def put(self, hospital_id: str) -> None:
        self.require("admin", "dispatcher")
        self.send_json(await self.ctx.hospital_alerts.configure(hospital_id, self.json_body()))
