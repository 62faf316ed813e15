"""Prometheus metrics, defined once and imported where they are observed."""
from prometheus_client import Counter, Gauge, Histogram, Info

REQUEST_SECONDS = Histogram(
    "ems_http_request_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_APPENDED = Counter("ems_events_appended_total", "Events committed to the log", ["type"])
_FINE_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05, 0.075, 0.1, 0.25,
                 0.5, 1, 2.5)
APPEND_LOCK_WAIT = Histogram("ems_append_lock_wait_seconds", "Wait for the global append lock", buckets=_FINE_BUCKETS)
APPEND_LOCK_HELD = Histogram("ems_append_lock_held_seconds", "Append lock held, first locked statement to commit",
                             buckets=_FINE_BUCKETS)
COMMIT_SECONDS = Histogram("ems_commit_seconds", "The one commit statement of a unit of work (waits included)",
                           buckets=_FINE_BUCKETS)
COMMIT_CONFLICTS = Counter("ems_commit_conflicts_total", "Optimistic units of work run again after a write conflict")
UNITS_SERIALISED = Counter("ems_units_serialised_total",
                           "Lock-free units of work that kept conflicting and ran once more under the append lock")
APPEND_LOCK_TIMEOUTS = Counter("ems_append_lock_timeouts_total",
                               "Waits for the append lock given up after EMS_APPEND_LOCK_TIMEOUT_S", ["unit"])
STORE_BUSY_SECONDS = Histogram("ems_store_busy_seconds", "Time a unit of work lost to append-lock timeouts (waits"
                               " and backoff) before it committed or was refused with 503",
                               buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30))
FEED_LAG = Histogram("ems_event_feed_lag_seconds", "Event time to hand-over by this process's event feed",
                     buckets=_FINE_BUCKETS)
RELAY_LAG = Gauge("ems_relay_lag_events", "Committed events not yet published to Redis")
RELAY_PUBLISHED = Counter("ems_relay_published_total", "Events published to the Redis stream")
RELAY_STREAM_RESETS = Counter("ems_relay_stream_resets_total",
                              "Redis streams found to hold another database history (restore) and reset")
REALTIME_DEGRADED = Gauge("ems_realtime_degraded", "1 while Redis fan-out is unavailable (falling back to polling)")
DATABASE_DEGRADED = Gauge("ems_database_degraded", "1 while the PostgreSQL primary is lost (failing over)")
DATABASE_PRIMARY = Info("ems_database_primary", "The PostgreSQL node this process writes to (host:port it reached)")
REDIS_MASTER = Info("ems_redis_master", "The Redis node this process publishes to (from Sentinel when configured)")
WS_CLIENTS = Gauge("ems_ws_clients", "Connected WebSocket clients", ["role"])
WS_FRAMES = Counter("ems_ws_frames_sent_total", "Frames sent to WebSocket clients", ["type"])
MQTT_DEAD_LETTERS = Counter("ems_mqtt_dead_letters_total", "MQTT messages acknowledged without use, kept for review",
                            ["reason"])
MQTT_LISTENER_CRASHES = Counter("ems_mqtt_listener_crashes_total", "MQTT listener crashes (each restarts with backoff)")
ROUTING_SEARCH_ENGINE = Info("ems_routing_search_engine", "The road searches this process runs: engine, the Dijkstra "
                             "of routes (native-c, compiled at install, or python, the fallback without a C "
                             "compiler: same answers, slower); eta_engine, what ranks units without a cached tree "
                             "(cch, or that Dijkstra)")
ROUTING_SEARCH_COST = Gauge("ems_routing_search_cost_ms", "Measured at start-up: one full bounded Dijkstra on the road "
                            "graph (a route search costs at most this)")
ROUTING_ETA_COST = Gauge("ems_routing_eta_cost_ms", "Measured at start-up: one uncached ranking of 50 units by the "
                         "ETA engine, snapping included")
