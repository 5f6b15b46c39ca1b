"""The Kafka client's own log lines come out as the same JSON as every other line, naming the service,
at the level HHPU_KAFKA_LOG_LEVEL sets (INFO by default: connects, lost brokers, group joins)."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from hhpu_shared.logging import configure_logging
from hhpu_shared.settings import ServiceSettings


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_kafka_records_are_json_with_the_service(
    fresh_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("case-service", "INFO", kafka_level=ServiceSettings().kafka_log_level)
    logging.getLogger("kafka.conn").info("<BrokerConnection node_id=1>: connected to %s", "127.0.0.1:19092")
    logging.getLogger("kafka.coordinator").debug("heartbeat sent")  # below the default INFO
    (line,) = _lines(capsys.readouterr().err)
    assert line["logger"] == "kafka.conn" and line["level"] == "INFO"
    assert line["service"] == "case-service"
    assert line["msg"] == "<BrokerConnection node_id=1>: connected to 127.0.0.1:19092"


def test_hhpu_kafka_log_level_applies(
    fresh_logging: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HHPU_KAFKA_LOG_LEVEL", "WARNING")
    settings = ServiceSettings()
    assert settings.kafka_log_level == "WARNING"
    configure_logging("referral-api", "INFO", kafka_level=settings.kafka_log_level)
    logging.getLogger("kafka.conn").info("connected")
    logging.getLogger("kafka.coordinator").warning("Heartbeat failed: coordinator not available")
    logging.getLogger("hhpu.relay").info("published")  # the platform's own lines keep their level
    lines = _lines(capsys.readouterr().err)
    assert [(x["logger"], x["level"]) for x in lines] == [
        ("kafka.coordinator", "WARNING"),
        ("hhpu.relay", "INFO"),
    ]
    assert all(x["service"] == "referral-api" for x in lines)


def test_records_go_to_the_stderr_of_the_moment(
    fresh_logging: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler made while a test's captured stderr was in place kept writing to it once it was
    closed: every later record in the run became a "--- Logging error ---"."""
    configure_logging("referral-api", "INFO")
    logging.getLogger("hhpu.access").info("request")
    assert _lines(capsys.readouterr().err)[0]["msg"] == "request"
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)  # the test's capture over (and closed), another in place
    logging.getLogger("hhpu.access").info("request")
    assert [x["msg"] for x in _lines(now.getvalue())] == ["request"]
