"""Alerts for failing completeness checks and failed runs: a Slack-compatible webhook and an e-mail.

Both channels are configured by environment variables and either can be off (unset):

- webhook: `LEAKWATCH_ALERT_WEBHOOK_URL` (a Slack-compatible incoming webhook, JSON `{"text", "blocks"}`);
- e-mail: `LEAKWATCH_SMTP_HOST`, `LEAKWATCH_SMTP_PORT` (465 = implicit TLS, else STARTTLS when offered),
  `LEAKWATCH_SMTP_USER`, `LEAKWATCH_SMTP_PASSWORD`, `LEAKWATCH_ALERT_EMAIL_FROM`, `LEAKWATCH_ALERT_EMAIL_TO`
  (comma-separated).

Every payload is scrubbed before it leaves the process: anything that looks like an e-mail address becomes
`email:<sha256 prefix>`, and the SMTP password, the webhook URL and the value of every environment variable
whose name contains TOKEN, SECRET, PASSWORD or KEY (plus string values of `.dlt/secrets.toml`) become `[redacted]`.

No alert storm: `alert_check_outcomes` keeps a small JSON state (`var/alerts/state.json`, written atomically
under a lock). A failing check alerts once, again only when its observed value changes or 24 h after the last
alert, and a recovery message goes out when it passes again. A run-failure alert goes out once per run id, so
the Dagster sensor and `leakwatch run` can both call `alert_run_failure` without doubling it.

A channel that fails (unreachable webhook, SMTP error) is logged as a warning with the reason and reported in
the per-channel result; the other channel is still tried and nothing is raised.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import smtplib
import ssl
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from expectations.suites import CheckOutcome

log = logging.getLogger(__name__)

MAX_SAMPLES = 5
REALERT_AFTER = timedelta(hours=24)
RUN_MEMORY = timedelta(days=7)
HTTP_TIMEOUT_S = 10.0
HTTP_RETRIES = 2
SMTP_TIMEOUT_S = 15.0
SLACK_TEXT_LIMIT = 2000
REDACTED = "[redacted]"
SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "KEY")
MIN_SECRET_LEN = 8  # shorter values of secret-named env vars are flags/ports, not secrets
NOT_PUBLISHED = "serving.duckdb not published (the previous one stays in place)"
WARN_NOT_BLOCKING = "nothing withheld: a warn check does not block publishing"

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
TOKEN_RE = re.compile(
    r"\b(?:shp(?:at|ca|pa|ss)_[A-Za-z0-9]{8,}|xox[abprs]-[A-Za-z0-9\-]{8,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"
    r"|gh[pousr]_[A-Za-z0-9]{16,})"
)

Clock = Callable[[], datetime]


# --- configuration --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertConfig:
    """Where alerts go. A channel whose settings are missing is off."""

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str | None = None
    email_to: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertConfig:
        """Read the `LEAKWATCH_*` alert variables (empty values count as unset)."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port = get("LEAKWATCH_SMTP_PORT")
        recipients = tuple(a.strip() for a in (get("LEAKWATCH_ALERT_EMAIL_TO") or "").split(",") if a.strip())
        return cls(
            webhook_url=get("LEAKWATCH_ALERT_WEBHOOK_URL"),
            smtp_host=get("LEAKWATCH_SMTP_HOST"),
            smtp_port=int(port) if port else 25,
            smtp_user=get("LEAKWATCH_SMTP_USER"),
            smtp_password=get("LEAKWATCH_SMTP_PASSWORD"),
            email_from=get("LEAKWATCH_ALERT_EMAIL_FROM"),
            email_to=recipients,
        )

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.email_from and self.email_to)

    @property
    def any_enabled(self) -> bool:
        return self.webhook_enabled or self.email_enabled


# --- scrubbing --------------------------------------------------------------------------------------------------


def hash_email(address: str) -> str:
    """Stable pseudonym for an e-mail address: `email:` + the first 12 hex digits of its sha256."""
    return "email:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()[:12]


def _string_leaves(value: Any) -> Iterator[str]:
    """Every string inside nested dicts/lists (for JSON env values and secrets.toml)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _string_leaves(item)


def _env_secret_values(env: Mapping[str, str]) -> Iterator[str]:
    for name, value in env.items():
        if not value or not any(part in name.upper() for part in SECRET_NAME_PARTS):
            continue
        yield value
        with contextlib.suppress(ValueError):
            yield from _string_leaves(json.loads(value))


def _secrets_toml_values() -> Iterator[str]:
    """String values of the active `.dlt/secrets.toml`, if there is one (never fails)."""
    try:
        from pipelines import settings

        path = settings.config_dir() / ".dlt" / "secrets.toml"
        if path.exists():
            with path.open("rb") as fh:
                yield from _string_leaves(tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError):
        return


class Scrubber:
    """Removes secrets and e-mail addresses from any text or JSON-like structure."""

    def __init__(self, secrets: Sequence[str]):
        unique = {s for s in secrets if s}
        self.secrets = sorted(unique, key=len, reverse=True)  # longest first: a URL before its parts

    @classmethod
    def from_config(cls, config: AlertConfig, env: Mapping[str, str] | None = None) -> Scrubber:
        """Secrets: SMTP password, webhook URL (and its path), secret-named env vars, `.dlt/secrets.toml`."""
        env = os.environ if env is None else env
        secrets = [v for v in (config.smtp_password, config.webhook_url) if v]
        if config.webhook_url:
            path = httpx.URL(config.webhook_url).path
            if len(path.strip("/")) >= 8:
                secrets.append(path)
        found = [*_env_secret_values(env), *_secrets_toml_values()]
        secrets += [value for value in found if len(value) >= MIN_SECRET_LEN]
        return cls(secrets)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        value = TOKEN_RE.sub(REDACTED, value)
        return EMAIL_RE.sub(lambda m: hash_email(m.group(0)), value)

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


# --- messages ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One message, rendered as Slack blocks and as a plain-text e-mail."""

    kind: str  # "check_failed" | "check_recovered" | "run_failed"
    title: str
    fields: tuple[tuple[str, str], ...]
    samples: tuple[str, ...] = ()
    sample_label: str = "sample rows"

    def lines(self) -> list[str]:
        out = [self.title, ""] + [f"{name}: {value}" for name, value in self.fields]
        if self.samples:
            out += ["", f"{self.sample_label} (up to {MAX_SAMPLES}):"] + [f"  - {s}" for s in self.samples]
        return out

    def plain_text(self) -> str:
        return "\n".join(self.lines())

    def slack_payload(self) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": _clip(f"*{name}*\n{value}")} for name, value in self.fields[:10]
            ]},
        ]
        if len(self.fields) > 10:
            extra = "\n".join(f"*{name}*: {value}" for name, value in self.fields[10:])
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(extra)}})
        if self.samples:
            listing = "\n".join(f"• `{s}`" for s in self.samples)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{self.sample_label}*\n{listing}"}})
        return {"text": self.plain_text(), "blocks": blocks}


def _clip(text: str, limit: int = SLACK_TEXT_LIMIT) -> str:
    """Slack rejects block texts over 2000 characters (3000 for sections): cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _samples(outcome: CheckOutcome) -> tuple[str, ...]:
    return tuple(str(k) for k in outcome.failing_keys[:MAX_SAMPLES])


def check_failed_alert(outcome: CheckOutcome, run_id: str, not_published: str) -> Alert:
    """A failing check: which check, table, observed vs expected, samples, run id, what was not published."""
    check = outcome.check
    more = len(outcome.failing_keys) - MAX_SAMPLES
    return Alert(
        kind="check_failed",
        title=f"Leakwatch check FAILED: {check.name} [{check.severity}]",
        fields=(
            ("check", f"{check.name} ({check.domain}, severity {check.severity})"),
            ("table", check.table),
            ("observed", outcome.observed),
            ("expected", outcome.expected),
            ("failing keys", f"{len(outcome.failing_keys)}" + (f" ({more} not shown)" if more > 0 else "")),
            ("run id", run_id),
            ("not published", not_published),
        ),
        samples=_samples(outcome),
        sample_label=f"sample failing {check.key_column}",
    )


def check_recovered_alert(outcome: CheckOutcome, run_id: str) -> Alert:
    """A check that failed before and passes now."""
    check = outcome.check
    return Alert(
        kind="check_recovered",
        title=f"Leakwatch check recovered: {check.name}",
        fields=(
            ("check", f"{check.name} ({check.domain}, severity {check.severity})"),
            ("table", check.table),
            ("observed", outcome.observed),
            ("expected", outcome.expected),
            ("run id", run_id),
        ),
    )


def run_failed_alert(run_id: str, job_name: str, failed_steps: Sequence[str], reason: str | None = None) -> Alert:
    """A failed run: run id, job, failed steps, and that serving.duckdb was not published."""
    fields = [
        ("run id", run_id),
        ("job", job_name),
        ("failed steps", ", ".join(failed_steps) or "none recorded (the run failed outside a step)"),
        ("not published", NOT_PUBLISHED),
    ]
    if reason:
        fields.append(("reason", reason[:500]))
    return Alert(
        kind="run_failed",
        title=f"Leakwatch run FAILED: job {job_name}",
        fields=tuple(fields),
        samples=tuple(failed_steps[:MAX_SAMPLES]),
        sample_label="failed steps",
    )


# --- delivery ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelResult:
    """What happened on one channel: sent, failed (with the reason) or off."""

    channel: str
    status: str  # "sent" | "failed" | "off"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "sent"


@dataclass
class AlertResult:
    """One alert and what each channel did with it."""

    alert: Alert
    key: str
    channels: dict[str, ChannelResult] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return any(r.ok for r in self.channels.values())


def post_webhook(url: str, payload: Mapping[str, Any]) -> None:
    """POST the JSON payload; bounded connect retries (httpx transport) and a timeout; raises on failure."""
    transport = httpx.HTTPTransport(retries=HTTP_RETRIES)
    with httpx.Client(transport=transport, timeout=HTTP_TIMEOUT_S) as client:
        response = client.post(url, json=payload)
        response.raise_for_status()


def send_email(config: AlertConfig, subject: str, body: str, html: str | None = None) -> None:
    """Send an e-mail over SMTP (465 = implicit TLS; STARTTLS when offered): plain text, plus an HTML
    alternative when `html` is given; raises on failure."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.email_from
    message["To"] = ", ".join(config.email_to)
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    host, port = config.smtp_host or "localhost", config.smtp_port
    if port == 465:
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_S,
                                                context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_S)
    with server:
        server.ehlo()
        if port != 465 and server.has_extn("starttls"):
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if config.smtp_user:
            server.login(config.smtp_user, config.smtp_password or "")
        server.send_message(message)


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from webhook"
    return f"{type(exc).__name__}: {exc}"


def deliver(alert: Alert, config: AlertConfig | None = None,
            scrubber: Scrubber | None = None) -> dict[str, ChannelResult]:
    """Send one alert on every enabled channel; a failing channel is logged and reported, never raised."""
    config = config or AlertConfig.from_env()
    scrubber = scrubber or Scrubber.from_config(config)
    results: dict[str, ChannelResult] = {}
    senders: dict[str, tuple[bool, Callable[[], None]]] = {
        "webhook": (config.webhook_enabled,
                    lambda: post_webhook(config.webhook_url or "", scrubber.data(alert.slack_payload()))),
        "email": (config.email_enabled,
                  lambda: send_email(config, scrubber.text(alert.title), scrubber.text(alert.plain_text()))),
    }
    for channel, (enabled, send) in senders.items():
        if not enabled:
            results[channel] = ChannelResult(channel, "off")
            continue
        try:
            send()
        except Exception as exc:  # noqa: BLE001 - a broken channel must not stop the other one or the run
            reason = scrubber.text(_describe(exc))
            log.warning("alert %s: %s channel failed: %s", alert.kind, channel, reason)
            results[channel] = ChannelResult(channel, "failed", reason)
        else:
            results[channel] = ChannelResult(channel, "sent")
    return results


# --- state (dedupe, recovery) -----------------------------------------------------------------------------------


def state_path() -> Path:
    """`var/alerts/state.json` (follows `LEAKWATCH_VAR`)."""
    from pipelines import settings

    return settings.var_dir() / "alerts" / "state.json"


@contextlib.contextmanager
def _locked_state(path: Path) -> Iterator[dict[str, Any]]:
    """Load the state under an exclusive lock, yield it for changes, write it back atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = _read_state(path)
        yield state
        _write_state(path, state)


def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"checks": {}, "runs": {}}
    except (OSError, ValueError):
        log.warning("alert state %s unreadable: starting afresh", path)
        return {"checks": {}, "runs": {}}
    data.setdefault("checks", {})
    data.setdefault("runs", {})
    return data


def _write_state(path: Path, state: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _now(clock: Clock | None) -> datetime:
    now = (clock or (lambda: datetime.now(UTC)))()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _should_alert_failure(previous: Mapping[str, Any] | None, observed: str, now: datetime) -> bool:
    if not previous or previous.get("status") != "failing":
        return True
    if previous.get("observed") != observed:
        return True
    return now - datetime.fromisoformat(previous["alerted_at"]) >= REALERT_AFTER


def _plan_check_alerts(outcomes: Sequence[CheckOutcome], run_id: str, checks: Mapping[str, Any],
                       now: datetime) -> list[tuple[CheckOutcome, Alert]]:
    blocked = any(not o.passed and o.check.severity == "block" for o in outcomes)
    planned: list[tuple[CheckOutcome, Alert]] = []
    for outcome in outcomes:
        previous = checks.get(outcome.check.name)
        if outcome.passed:
            if previous and previous.get("status") == "failing":
                planned.append((outcome, check_recovered_alert(outcome, run_id)))
        elif _should_alert_failure(previous, outcome.observed, now):
            withheld = NOT_PUBLISHED if blocked else WARN_NOT_BLOCKING
            planned.append((outcome, check_failed_alert(outcome, run_id, withheld)))
    return planned


def _record(checks: dict[str, Any], outcome: CheckOutcome, alert: Alert, run_id: str, now: datetime) -> None:
    if alert.kind == "check_recovered":
        checks.pop(outcome.check.name, None)
    else:
        checks[outcome.check.name] = {"status": "failing", "observed": outcome.observed,
                                      "alerted_at": now.isoformat(), "run_id": run_id}


def alert_check_outcomes(outcomes: Sequence[CheckOutcome], run_id: str, *, config: AlertConfig | None = None,
                         state_file: Path | None = None, clock: Clock | None = None) -> list[AlertResult]:
    """Alert on failing checks and recoveries, deduplicated against the state file.

    A failing check (block or warn) alerts when it is new, when its observed value changed, or 24 h after the
    last alert; a check recorded as failing that passes now sends a recovery message. State changes only when
    at least one channel delivered, so an alert nobody received is retried next run. With every channel off
    nothing is sent or recorded. Returns one AlertResult (per-channel results) per alert sent.
    """
    config = config or AlertConfig.from_env()
    if not config.any_enabled:
        return []
    scrubber = Scrubber.from_config(config)
    now = _now(clock)
    results: list[AlertResult] = []
    with _locked_state(state_file or state_path()) as state:
        for outcome, alert in _plan_check_alerts(outcomes, run_id, state["checks"], now):
            result = AlertResult(alert, outcome.check.name, deliver(alert, config, scrubber))
            if result.delivered:
                _record(state["checks"], outcome, alert, run_id, now)
            results.append(result)
    return results


def alert_run_failure(run_id: str, job_name: str, failed_steps: Sequence[str], *, reason: str | None = None,
                      config: AlertConfig | None = None, state_file: Path | None = None,
                      clock: Clock | None = None) -> AlertResult | None:
    """Alert that a run failed (once per run id). None when every channel is off or it was already sent."""
    config = config or AlertConfig.from_env()
    if not config.any_enabled:
        return None
    now = _now(clock)
    with _locked_state(state_file or state_path()) as state:
        runs: dict[str, str] = state["runs"]
        for old in [r for r, at in runs.items() if now - datetime.fromisoformat(at) > RUN_MEMORY]:
            del runs[old]
        if run_id in runs:
            return None
        alert = run_failed_alert(run_id, job_name, failed_steps, reason)
        result = AlertResult(alert, run_id, deliver(alert, config))
        if result.delivered:
            runs[run_id] = now.isoformat()
    return result
