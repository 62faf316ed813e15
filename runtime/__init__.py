"""What the running server needs besides its layers: embedded PostgreSQL/Redis when none is configured, the fast
event loop, the demo seed. ops/ (scripts, benchmarks, chaos tools) imports from here, never the other way round."""
