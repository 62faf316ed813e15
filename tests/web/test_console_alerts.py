"""A dispatcher who opens the console mid-shift (a reload, a second desk, the next shift) sees the alerts raised
before it connected, with the time each was raised, newest first; alerts raised later come live on top."""
from tests.conftest import wait_until
from tests.web.conftest import open_console


async def alert_lines(console) -> list[str]:
    return await console.locator("#alert-list li").all_inner_texts()


async def test_alerts_raised_before_the_console_opened_are_listed(browser, city):
    server, base, tokens = city
    await server.ctx.panic.alert("PB-0042", "missed_heartbeat", "no heartbeat since 08:00")
    await server.ctx.panic.alert("PB-0043", "low_battery", "battery at 9%")
    raised = [e for e in await server.ctx.store.events_since(0, limit=5000) if e.type == "DeviceAlertRaised"]
    context, console = await open_console(browser, base, tokens["dispatcher"])
    await console.locator("#alert-list li").nth(1).wait_for()
    lines = await alert_lines(console)
    assert "PB-0043" in lines[0] and "PB-0042" in lines[1], lines  # newest first
    assert "Panic button missed its heartbeat" in lines[1]
    raised_at = await console.evaluate("""iso => new Intl.DateTimeFormat("en-GB",
        {hour: "2-digit", minute: "2-digit", second: "2-digit"}).format(new Date(iso))""", raised[0].occurred_at.isoformat())
    assert lines[1].startswith(raised_at)  # when it was raised, not when the console opened

    await server.ctx.panic.alert("PB-0044", "flood", "more than 10 messages a minute")
    assert await wait_until(lambda: _first_line_names(console, "PB-0044"))
    assert len(await alert_lines(console)) == 3  # the live one on top, the earlier ones not listed twice
    assert console.errors == []
    await context.close()


async def _first_line_names(console, device_id: str) -> bool:
    return device_id in (await alert_lines(console))[0]
