"""Prometheus metrics, defined once and imported where they are observed."""
from prometheus_client import Counter, Gauge, Histogram

REQUEST_SECONDS = Histogram(
    "ems_http_request_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_APPENDED = Counter("ems_events_appended_total", "Events committed to the log", ["type"])
RELAY_LAG = Gauge("ems_relay_lag_events", "Committed events not yet published to Redis")
RELAY_PUBLISHED = Counter("ems_relay_published_total", "Events published to the Redis stream")
REALTIME_DEGRADED = Gauge("ems_realtime_degraded", "1 while Redis fan-out is unavailable (falling back to polling)")
WS_CLIENTS = Gauge("ems_ws_clients", "Connected WebSocket clients", ["role"])
WS_FRAMES = Counter("ems_ws_frames_sent_total", "Frames sent to WebSocket clients", ["type"])
