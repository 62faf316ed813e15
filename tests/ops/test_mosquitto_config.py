"""The shipped Mosquitto configuration (ops/deploy/mosquitto.conf + mosquitto.acl), run by a private mosquitto on
a free port: anonymous clients are refused, a device cannot publish on another device's topic, the server reads."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from runtime import local_services
from tests.conftest import TEST_VAR

DEPLOY = Path(__file__).resolve().parents[2] / "ops" / "deploy"


@pytest.fixture
def broker(tmp_path):
    """The shipped config with its loopback listener on a free port (the TLS one left out), files in tmp_path."""
    port = local_services.free_port()
    passwd = tmp_path / "passwd"
    for user, password in (("ems-server", "server-pw"), ("PB-A", "a-pw"), ("PB-B", "b-pw")):
        subprocess.run(["mosquitto_passwd", "-b", *([] if passwd.exists() else ["-c"]), str(passwd), user, password],
                       check=True, capture_output=True)
    shutil.copy(DEPLOY / "mosquitto.acl", tmp_path / "acl")
    lines = []
    for line in (DEPLOY / "mosquitto.conf").read_text().splitlines():
        key = line.split(" ")[0]
        if line == "listener 1883 127.0.0.1":  # the server's loopback listener, moved to a free port
            line = f"listener {port} 127.0.0.1"
        elif key == "listener" or key in ("certfile", "keyfile"):
            continue  # the devices' TLS listener; the access rules under test are the same for both
        elif key == "password_file":
            line = f"password_file {passwd}"
        elif key == "acl_file":
            line = f"acl_file {tmp_path / 'acl'}"
        elif key in ("persistence", "persistence_location"):
            line = "persistence false" if key == "persistence" else ""
        lines.append(line)
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to the mosquitto user, who cannot read pytest's private tmp_path
    (tmp_path / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    server = local_services.ServerProcess("mosquitto", ["mosquitto", "-c", str(tmp_path / "mosquitto.conf")], port,
                                          TEST_VAR / f"mosquitto-acl-{port}.log").start()
    yield port
    server.stop()


async def test_anonymous_clients_are_refused_and_devices_publish_only_on_their_own_topics(broker):
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker, username="PB-A", password="wrong"):
            pass
    async with aiomqtt.Client("127.0.0.1", broker, username="ems-server", password="server-pw") as server:
        await server.subscribe("ems/panic/#", qos=1)
        async with aiomqtt.Client("127.0.0.1", broker, username="PB-A", password="a-pw") as device_a:
            await device_a.publish("ems/panic/PB-B/press", b"forged by A", qos=1)  # dropped by the broker
            await device_a.publish("ems/panic/PB-A/press", b"A's own", qos=1)
        await server.publish("ems/panic/PB-A/press", b"the server may not publish", qos=1)  # dropped too
        async with aiomqtt.Client("127.0.0.1", broker, username="PB-B", password="b-pw") as device_b:
            await device_b.publish("ems/panic/PB-B/heartbeat", b"B's own", qos=1)
        received = []
        async with asyncio.timeout(10):
            async for message in server.messages:
                received.append((str(message.topic), message.payload))
                if len(received) == 2:
                    break
    assert received == [("ems/panic/PB-A/press", b"A's own"), ("ems/panic/PB-B/heartbeat", b"B's own")]
