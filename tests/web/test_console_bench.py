"""The console benchmark (ops/bench/console.py) in a small bounded run: it opens the console, loads it and reports
every figure the issue asks for (no timing asserted: the machine is shared)."""
from ops.bench.console import measure


async def test_console_bench_reports_its_figures(browser, city):
    server, base, tokens = city
    result = await measure(browser, base, tokens["dispatcher"], open_incidents=12, events_per_s=4, seconds=2,
                          idle_seconds=1)
    assert result["open_incidents"] == 12 and result["events_per_s"] == 4
    for figure in ("first_paint_ms", "long_task_ms_per_min", "frame_drops", "red_call_top3_ms", "red_call_audible_ms"):
        assert result[figure] is not None and result[figure] >= 0, figure
    assert result["events_sent"] == 8
    # the trace of the renderer's main thread: the console spent CPU on the load's calls, drew and laid them out
    assert result["cpu_ms_per_event"] > 0 and result["script_ms_per_event"] > 0, result
    assert result["layouts_per_event"] > 0 and result["style_recalcs_per_event"] > 0, result
    assert result["idle_cpu_ms_per_s"] is not None and result["long_task_cpu_ms_per_min"] >= 0, result
