"""The browser pages' tunable numbers (config.py, the page_* settings): one small document any signed-in page
reads at start, so an operator tunes a stale-GPS age or a confirm window in one place, the server's settings."""
from __future__ import annotations

from dataclasses import fields

from api.base import BaseHandler
from config import Config

PAGE_PREFIX = "page_"


def page_settings(config: Config) -> dict[str, float]:
    """Every page_* setting, without its prefix (seconds)."""
    return {f.name[len(PAGE_PREFIX):]: getattr(config, f.name) for f in fields(config) if f.name.startswith(PAGE_PREFIX)}


class PageSettingsHandler(BaseHandler):
    async def get(self) -> None:
        """GET the page settings (any signed-in role): stale GPS age, tablet GPS period, hospital board refresh,
        confirm windows, in seconds."""
        self.require()
        self.send_json(page_settings(self.ctx.config))
