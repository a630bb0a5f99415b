"""Alerts: webhook (pytest-httpserver) and e-mail (aiosmtpd on 127.0.0.1) content, secrets, dedupe, failures."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer

from expectations.suites import Check, CheckOutcome
from pipelines.alerts import AlertConfig, alert_check_outcomes, alert_run_failure, hash_email

HOOK_PATH = "/services/T0FAKE/B0FAKE/hooksecretpath123"
SMTP_USER = "alerts-bot"
SMTP_PASSWORD = "smtp-pa55word-fake-9f8e7d"
FAKE_SECRETS = {
    "SHOPIFY_ADMIN_TOKEN": "shpat_0123456789abcdef0123456789abcdef",
    "SOME_SERVICE_API_KEY": "key-fake-abcdefghijklmnop",
    "AFTERSHIP_SECRET": "aftership-fake-secret-value",
    "SOURCES__SHOPIFY__ACCESS_TOKENS": json.dumps({"lumen-au": "shpat_jsonnested0000111122223333"}),
}
TOML_SECRET = "toml-fake-secret-4242424242"
BUYER = "jane.buyer@example.com"
RUN_ID = "run-0123-abcd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode())
        return AuthResult(success=False)

    def parsed(self) -> list[Message]:
        return [message_from_bytes(raw) for raw in self.messages]

    def body(self, index: int = -1) -> str:
        return self.parsed()[index].get_payload(decode=True).decode()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=box.authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def alert_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, httpserver: HTTPServer,
              mailbox: tuple[Mailbox, int]) -> dict[str, str]:
    """Both channels on, fake secrets in the environment and in `.dlt/secrets.toml`, a private var folder."""
    (tmp_path / "config" / ".dlt").mkdir(parents=True)
    (tmp_path / "config" / ".dlt" / "secrets.toml").write_text(f'[sources.other]\napi_token = "{TOML_SECRET}"\n')
    env = {
        "LEAKWATCH_VAR": str(tmp_path / "var"),
        "DLT_PROJECT_DIR": str(tmp_path / "config"),
        "LEAKWATCH_ALERT_WEBHOOK_URL": httpserver.url_for(HOOK_PATH),
        "LEAKWATCH_SMTP_HOST": "127.0.0.1",
        "LEAKWATCH_SMTP_PORT": str(mailbox[1]),
        "LEAKWATCH_SMTP_USER": SMTP_USER,
        "LEAKWATCH_SMTP_PASSWORD": SMTP_PASSWORD,
        "LEAKWATCH_ALERT_EMAIL_FROM": "leakwatch@ops.example",
        "LEAKWATCH_ALERT_EMAIL_TO": "ops@ops.example, finance@ops.example",
        **FAKE_SECRETS,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    return env


def make_check(name: str = "sku_mapped_to_supplier_and_cogs", severity: str = "block") -> Check:
    return Check(name=name, domain="required_fields", severity=severity, table="staging.stg_shopify__order_lines",
                 description="test check", frame=lambda warehouse, as_of: pd.DataFrame(),
                 expectations=lambda: [], key_column="sku")


def failing(observed: str = "7 of 40 rows failing", keys: list[str] | None = None, **check: str) -> CheckOutcome:
    keys = keys if keys is not None else [BUYER, "SKU-2", "SKU-3", "SKU-4", "SKU-5", "SKU-6", "SKU-7"]
    return CheckOutcome(make_check(**check), passed=False, observed=observed,
                        expected="expect_column_values_to_not_be_null(column=supplier_id)", failing_keys=keys)


def passing(**check: str) -> CheckOutcome:
    return CheckOutcome(make_check(**check), passed=True, observed="0 of 40 rows failing",
                        expected="expect_column_values_to_not_be_null(column=supplier_id)")


def webhook_payloads(httpserver: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def raw_payloads(httpserver: HTTPServer, box: Mailbox) -> list[str]:
    return [request.get_data(as_text=True) for request, _ in httpserver.log] + [
        raw.decode(errors="replace") for raw in box.messages
    ] + [box.body(i) for i in range(len(box.messages))]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_failure_alert_content_on_both_channels(alert_env: dict[str, str], httpserver: HTTPServer,
                                                mailbox: tuple[Mailbox, int]) -> None:
    results = alert_check_outcomes([failing(), passing(name="orders_fresh")], RUN_ID)

    assert len(results) == 1 and results[0].key == "sku_mapped_to_supplier_and_cogs"
    assert {name: r.status for name, r in results[0].channels.items()} == {"webhook": "sent", "email": "sent"}
    (payload,) = webhook_payloads(httpserver)
    assert set(payload) == {"text", "blocks"} and payload["blocks"][0]["type"] == "header"
    box = mailbox[0]
    (message,) = box.parsed()
    assert message["To"] == "ops@ops.example, finance@ops.example"
    assert "sku_mapped_to_supplier_and_cogs" in message["Subject"]
    assert box.logins == [(SMTP_USER.encode(), SMTP_PASSWORD.encode())]
    blocks_text = json.dumps(payload["blocks"])
    for text in (payload["text"], blocks_text, box.body()):
        for expected in ("sku_mapped_to_supplier_and_cogs", "staging.stg_shopify__order_lines",
                         "7 of 40 rows failing", "expect_column_values_to_not_be_null(column=supplier_id)",
                         RUN_ID, "not published", "serving.duckdb", "SKU-5"):
            assert expected in text, (expected, text)
        assert "SKU-6" not in text and "SKU-7" not in text, "at most 5 sample keys"
        assert BUYER not in text and hash_email(BUYER) in text, "e-mail addresses are hashed"


def test_warn_failure_says_nothing_withheld(alert_env: dict[str, str], httpserver: HTTPServer) -> None:
    alert_check_outcomes([failing(name="late_refunds", severity="warn")], RUN_ID)
    (payload,) = webhook_payloads(httpserver)
    assert "late_refunds" in payload["text"] and "warn" in payload["text"]
    assert "not published: nothing withheld" in payload["text"]


def test_no_secret_in_any_payload(alert_env: dict[str, str], httpserver: HTTPServer,
                                  mailbox: tuple[Mailbox, int]) -> None:
    webhook_url = alert_env["LEAKWATCH_ALERT_WEBHOOK_URL"]
    leaky = failing(observed=f"posting to {webhook_url} with {SMTP_PASSWORD}",
                    keys=[FAKE_SECRETS["SHOPIFY_ADMIN_TOKEN"], TOML_SECRET, "shpat_jsonnested0000111122223333",
                          FAKE_SECRETS["AFTERSHIP_SECRET"], FAKE_SECRETS["SOME_SERVICE_API_KEY"]])
    alert_check_outcomes([leaky], RUN_ID)
    alert_run_failure("run-secret", "nightly", [f"step_{SMTP_PASSWORD}"], reason=f"token {TOML_SECRET} refused")

    payloads = raw_payloads(httpserver, mailbox[0])
    assert len(payloads) == 6, "two alerts, each on both channels (raw + decoded e-mail)"
    secrets = [SMTP_PASSWORD, webhook_url, HOOK_PATH, TOML_SECRET, "shpat_jsonnested0000111122223333",
               *(v for k, v in FAKE_SECRETS.items() if k != "SOURCES__SHOPIFY__ACCESS_TOKENS")]
    for text in payloads:
        for secret in secrets:
            assert secret not in text
        assert "[redacted]" in text


def test_same_failure_alerts_once_then_on_change_or_after_24h(alert_env: dict[str, str], httpserver: HTTPServer,
                                                              mailbox: tuple[Mailbox, int]) -> None:
    clock = Clock()
    assert len(alert_check_outcomes([failing()], "run-1", clock=clock)) == 1
    clock.now += timedelta(hours=1)
    assert alert_check_outcomes([failing()], "run-2", clock=clock) == [], "identical failure: no new alert"
    assert len(httpserver.log) == 1 and len(mailbox[0].messages) == 1

    clock.now += timedelta(hours=1)
    (changed,) = alert_check_outcomes([failing(observed="9 of 40 rows failing")], "run-3", clock=clock)
    assert "9 of 40 rows failing" in webhook_payloads(httpserver)[-1]["text"]
    assert changed.alert.kind == "check_failed"

    clock.now += timedelta(hours=23, minutes=59)
    assert alert_check_outcomes([failing(observed="9 of 40 rows failing")], "run-4", clock=clock) == []
    clock.now += timedelta(minutes=1)
    (again,) = alert_check_outcomes([failing(observed="9 of 40 rows failing")], "run-5", clock=clock)
    assert "run-5" in again.alert.plain_text()
    assert len(httpserver.log) == 3 and len(mailbox[0].messages) == 3

    state = json.loads((Path(alert_env["LEAKWATCH_VAR"]) / "alerts" / "state.json").read_text())
    assert state["checks"]["sku_mapped_to_supplier_and_cogs"]["observed"] == "9 of 40 rows failing"


def test_recovery_message_when_it_passes_again(alert_env: dict[str, str], httpserver: HTTPServer,
                                               mailbox: tuple[Mailbox, int]) -> None:
    assert alert_check_outcomes([passing()], "run-0") == [], "passing without earlier failure: silence"
    alert_check_outcomes([failing()], "run-1")
    (recovered,) = alert_check_outcomes([passing()], "run-2")
    assert recovered.alert.kind == "check_recovered"
    text = webhook_payloads(httpserver)[-1]["text"]
    assert "recovered" in text and "sku_mapped_to_supplier_and_cogs" in text and "run-2" in text
    assert "recovered" in mailbox[0].parsed()[-1]["Subject"]
    assert alert_check_outcomes([passing()], "run-3") == [], "one recovery message only"
    (fresh,) = alert_check_outcomes([failing()], "run-4")
    assert fresh.alert.kind == "check_failed", "failing again after recovery alerts again"


def test_unreachable_webhook_is_logged_and_email_still_sent(alert_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                            mailbox: tuple[Mailbox, int],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}/services/T0/B0/deadhooksecret"
    monkeypatch.setenv("LEAKWATCH_ALERT_WEBHOOK_URL", dead_url)
    with caplog.at_level(logging.WARNING, logger="pipelines.alerts"):
        (result,) = alert_check_outcomes([failing()], RUN_ID)

    assert result.channels["webhook"].status == "failed" and "Connect" in result.channels["webhook"].detail
    assert result.channels["email"].status == "sent" and len(mailbox[0].messages) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("webhook" in r.getMessage() and "ConnectError" in r.getMessage() for r in warnings)
    assert all(dead_url not in r.getMessage() for r in caplog.records), "the URL is a secret too"


def test_webhook_http_error_reported(alert_env: dict[str, str], httpserver: HTTPServer,
                                     mailbox: tuple[Mailbox, int]) -> None:
    httpserver.clear_all_handlers()
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("nope", status=500)
    (result,) = alert_check_outcomes([failing()], RUN_ID)
    assert result.channels["webhook"].status == "failed" and "500" in result.channels["webhook"].detail
    assert result.channels["email"].ok


def test_channels_off_when_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("LEAKWATCH_ALERT", "LEAKWATCH_SMTP")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LEAKWATCH_VAR", str(tmp_path))
    assert not AlertConfig.from_env().any_enabled
    assert alert_check_outcomes([failing()], RUN_ID) == []
    assert alert_run_failure(RUN_ID, "nightly", ["x"]) is None
    assert not (tmp_path / "alerts").exists()


def test_email_only_config(alert_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer,
                           mailbox: tuple[Mailbox, int]) -> None:
    monkeypatch.delenv("LEAKWATCH_ALERT_WEBHOOK_URL")
    (result,) = alert_check_outcomes([failing()], RUN_ID)
    assert result.channels["webhook"].status == "off" and result.channels["email"].ok
    assert not httpserver.log


def test_run_failure_alert_once_per_run(alert_env: dict[str, str], httpserver: HTTPServer) -> None:
    first = alert_run_failure("run-x", "nightly", ["quality__data_completeness"])
    assert first is not None and first.delivered
    assert alert_run_failure("run-x", "nightly", ["quality__data_completeness"]) is None
    (payload,) = webhook_payloads(httpserver)
    assert "run-x" in payload["text"] and "nightly" in payload["text"]
    assert "quality__data_completeness" in payload["text"] and "serving.duckdb not published" in payload["text"]


@pytest.fixture
def definitions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing pipelines.definitions sets a few process env vars: restore them after the test."""
    for name in ("DLT_PROJECT_DIR", "LEAKWATCH_WAREHOUSE", "DAGSTER_HOME"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)


def test_run_failure_sensor_sends_alert(definitions_env: None, alert_env: dict[str, str],
                                        httpserver: HTTPServer, mailbox: tuple[Mailbox, int]) -> None:
    from dagster import DagsterInstance, build_run_status_sensor_context, job, op

    from pipelines.definitions import defs

    sensor = defs.get_sensor_def("run_failure_alert")

    @op
    def explode() -> None:
        raise RuntimeError("boom")

    @job
    def broken() -> None:
        explode()

    with DagsterInstance.ephemeral() as instance:
        result = broken.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        context = build_run_status_sensor_context(
            sensor_name=sensor.name, dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        sensor(context)
        sensor(context)  # evaluated again (e.g. CLI + daemon): still one alert

    (payload,) = webhook_payloads(httpserver)
    for text in (payload["text"], mailbox[0].body()):
        assert result.run_id in text and "broken" in text and "explode" in text
        assert "serving.duckdb not published" in text
    assert len(mailbox[0].messages) == 1
