"""Only what pyproject.toml cannot say: the native routing search, compiled when the package is installed.

`routing/_dijkstra.c` and `routing/_cch.c` become the shared library `routing/_dijkstra*.so`, which routing/search.py loads with
ctypes (it is not a Python module; nothing imports it). The extension is optional: on a machine without a C
compiler the install still succeeds and routing falls back to the pure-Python search (same answers, slower),
which the server reports as `routing_search_engine` in its start-up log and /metrics. The library carries the
SHA-256 of the sources it was built from, so a stale build (a .c edited after `pip install -e .`) is noticed
and not used.
"""
import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCES = ["routing/_dijkstra.c", "routing/_cch.c"]  # routing/search.py: NATIVE_SOURCES, hashed the same way
here = Path(__file__).parent
digest = hashlib.sha256(b"".join(here.joinpath(source).read_bytes() for source in SOURCES)).hexdigest()

setup(ext_modules=[Extension("routing._dijkstra", sources=SOURCES, extra_compile_args=["-O2"], libraries=["m"],
                             define_macros=[("DIJKSTRA_SOURCE_SHA256", f'"{digest}"')], optional=True)])
