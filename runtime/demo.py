"""The Chonburi demo: fleet, hospitals and stations (from dispatch.demo) plus demo users with stable tokens."""
from __future__ import annotations

import logging
from datetime import timedelta

from app_context import AppContext
from dispatch.agencies import CENTRE_AGENCY_ID

log = logging.getLogger("ems.demo")

DEMO_TOKEN_TTL = timedelta(days=30)
DEMO_PASSWORD = "1669"  # demo only: every demo user logs in with it


async def seed_demo(ctx: AppContext) -> dict[str, str]:
    """Idempotent. Returns {user_id: token} and prints the pages to open with those tokens."""
    try:
        from dispatch import demo as domain_demo
    except ImportError:
        domain_demo = None
    if domain_demo is not None and hasattr(domain_demo, "seed"):
        await domain_demo.seed(ctx.store, actor="system:demo")
    # (user id, name, role, unit, hospital, agency): the centre's dispatcher and admin, one dispatcher per agency
    users = [("dispatcher-1", "Demo dispatcher", "dispatcher", None, None, CENTRE_AGENCY_ID),
             ("admin-1", "Demo admin", "admin", None, None, CENTRE_AGENCY_ID)]
    for agency in await ctx.agencies.list():
        if agency.id != CENTRE_AGENCY_ID:
            users.append((f"dispatcher-{agency.id}", f"Dispatcher {agency.name_en}", "dispatcher", None, None,
                          agency.id))
    for unit in await ctx.store.list("units") if "units" in _projection_names() else []:
        users.append((f"crew-{unit.id}", f"Crew {unit.id}", "crew", unit.id, None, unit.agency_id))
    for hospital in await ctx.store.list("hospitals") if "hospitals" in _projection_names() else []:
        users.append((f"ed-{hospital.id}", f"ED {hospital.id}", "hospital", None, hospital.id, None))
    tokens = {}
    for user_id, name, role, unit_id, hospital_id, agency_id in users:
        await ctx.identities.upsert_user(user_id, name, role, unit_id=unit_id, hospital_id=hospital_id,
                                         password=DEMO_PASSWORD, agency_id=agency_id)
        tokens[user_id] = await ctx.identities.issue_token(user_id, ttl=DEMO_TOKEN_TTL, token=f"demo-{user_id}")
    base = ctx.config.base_url
    lines = [f"Chonburi EMS demo at {base}",
             f"  dispatcher console (1669 centre, every agency): {base}/console.html#token={tokens['dispatcher-1']}"]
    for user_id, name, role, _, _, agency_id in users:
        if role == "dispatcher" and agency_id != CENTRE_AGENCY_ID:
            lines.append(f"  dispatcher console ({agency_id} only): {base}/console.html#token={tokens[user_id]}")
    crew = next((u for u in users if u[2] == "crew"), None)
    if crew:
        lines.append(f"  crew tablet ({crew[3]}): {base}/tablet.html#token={tokens[crew[0]]}")
    ed = next((u for u in users if u[2] == "hospital"), None)
    if ed:
        lines.append(f"  hospital board ({ed[4]}): {base}/hospital.html#token={tokens[ed[0]]}")
    lines.append(f"  API: {base}/api/v1/openapi.json  (Authorization: Bearer {tokens['dispatcher-1']})")
    lines.append(f"  or log in at {base}/ as any demo user (dispatcher-1, crew-CB-ALS-01, ed-way-525523960, …) "
                 f"with password {DEMO_PASSWORD}")
    print("\n".join(lines), flush=True)
    return tokens


def _projection_names() -> set[str]:
    from dispatch.registry import PROJECTIONS

    return {p.name for p in PROJECTIONS}
