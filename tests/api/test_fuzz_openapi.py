"""Schemathesis against the served OpenAPI document: no 5xx, responses match the schema, bad input refused, and
input the schema allows accepted (positive_data_acceptance; rules the schema cannot state: schemathesis.toml)."""
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_user


@pytest.mark.timeout(900)  # a few minutes on a quiet machine; several times that on a shared, loaded one
async def test_schemathesis_finds_no_failures(two_servers, pool):
    server = two_servers[0]
    token = await make_user(pool, "fuzzer", "admin")  # an admin reaches every operation (the registry's too)
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(schemathesis), "--config-file", str(Path(__file__).with_name("schemathesis.toml")), "run", f"{server.base_url}/api/v1/openapi.json", "-H", f"Authorization: Bearer {token}",
         "--max-examples", "25", "--seed", "1669", "--checks", "all",
         "--exclude-checks", "ignored_auth", "--workers", "1", "--request-timeout", "10",
         # logging out or revoking would end the fuzzer's own session half-way
         "--exclude-path", "/api/v1/logout", "--exclude-path-regex", "/revoke$"],
        capture_output=True, text=True, timeout=840,
    )
    (Path(__file__).resolve().parents[2] / "test-artifacts").mkdir(exist_ok=True)
    (Path(__file__).resolve().parents[2] / "test-artifacts" / "schemathesis.txt").write_text(result.stdout)
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert "generated" in summary
