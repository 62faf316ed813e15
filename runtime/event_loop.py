"""The event loop every process of ours runs on (server, benchmark clients)."""


def install_fast_loop() -> None:
    """uvloop (libuv) where it is built: the same asyncio API with cheaper socket I/O, which matters at thousands
    of WebSocket frames a second; elsewhere the standard loop, which behaves the same, only slower."""
    try:
        import uvloop
    except ImportError:
        return
    uvloop.install()
