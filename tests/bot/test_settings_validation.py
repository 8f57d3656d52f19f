"""Misconfiguration is named in one line: bad values, unknown names, `.env`, the CLI's exit."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.serve import serve
from bot.settings import _secret, known_variables, load_settings, unknown_variables
from engine.clock import ManualClock
from engine.errors import InvalidInput
from tests.bot.conftest import T0, bot_settings, make_herald
from tests.bot.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]

BAD = [
    ({"HERALD_LOG_LEVEL": "LOUD"}, "HERALD_LOG_LEVEL=LOUD"),
    ({"HERALD_LOG_FORMAT": "xml"}, "HERALD_LOG_FORMAT=xml"),
    ({"HERALD_DISPATCH_INTERVAL_SECONDS": "-1"}, "HERALD_DISPATCH_INTERVAL_SECONDS=-1"),
    ({"HERALD_WEBHOOK_URL": "hooks.example.com/x"}, "HERALD_WEBHOOK_URL=hooks.example.com"),
    ({"HERALD_APPROVERS": "bob"}, "HERALD_APPROVERS=bob"),
    ({"HERALD_PORT": "70000"}, "HERALD_PORT=70000"),
    (
        {"HERALD_PUBLISHER": "webhook", "HERALD_CLAIM_LEASE_SECONDS": "30"},
        "HERALD_CLAIM_LEASE_SECONDS=30 must exceed",
    ),
    ({"HERALD_DISPATCH_BATCH_SIZE": "many"}, "HERALD_DISPATCH_BATCH_SIZE=many"),
    ({"HERALD_RETRY_NETWORK_DELAY": "soon"}, "HERALD_RETRY_NETWORK_DELAY=soon: 'soon' is not"),
    ({"HERALD_SIMULATED_FAILURE_RATES": "rate_limit=2"}, "HERALD_SIMULATED_FAILURE_RATES="),
    ({"HERALD_PLATFORMS_FILE": "/nonexistent.yml"}, "HERALD_PLATFORMS_FILE=/nonexistent.yml: no"),
    ({"HERALD_TRENDS_FILE": "/"}, "HERALD_TRENDS_FILE=/: not a file"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestValues:
    @pytest.mark.parametrize(("env", "named"), BAD)
    def test_bad_value_is_named_in_one_line(self, env: dict[str, str], named: str) -> None:
        """Each bad value raises InvalidInput whose one line starts with the variable."""
        with pytest.raises(InvalidInput) as info:
            load_settings(env)
        assert str(info.value).startswith(named) and "\n" not in str(info.value)

    def test_good_values_pass(self) -> None:
        """Lower-case levels, Slack ids and an https URL are accepted."""
        settings = load_settings(
            {
                "HERALD_LOG_LEVEL": "debug",
                "HERALD_LOG_FORMAT": "JSON",
                "HERALD_APPROVERS": "U012AB,W0X,S0GROUP",
                "HERALD_WEBHOOK_URL": "https://hooks.example.com/x",
            }
        )
        assert settings.log_level == "DEBUG" and settings.log_format == "json"

    def test_secret_values_are_not_shown(self) -> None:
        """A bad Slack URL is named, a token's value never printed."""
        with pytest.raises(InvalidInput) as info:
            load_settings({"SLACK_API_URL": "slack.com/api/", "SLACK_BOT_TOKEN": "xoxb-secret"})
        assert "SLACK_API_URL" in str(info.value) and "xoxb-secret" not in str(info.value)

    @pytest.mark.parametrize(
        ("name", "value", "shown"),
        [
            ("HERALD_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/s3cr3tPath", "hooks.slack.com/"),
            ("HERALD_TRENDS_URL", "ftp://u:pw@t.example/x?key=s3cr3tKey", "ftp://t.example/"),
        ],
    )
    def test_refused_url_is_shown_redacted(self, name: str, value: str, shown: str) -> None:
        """A refused URL setting is named with its host, never its path, query or password."""
        with pytest.raises(InvalidInput) as info:
            load_settings({name: value})
        text = str(info.value)
        assert text.startswith(f"{name}={shown}")
        assert "s3cr3t" not in text and "pw" not in text


class TestMediaDir:
    def test_file_path_is_named_at_start(self, tmp_path: Path) -> None:
        """HERALD_MEDIA_DIR naming a file fails at load, in one line naming the variable."""
        target = tmp_path / "media"
        target.write_text("not a directory")
        with pytest.raises(InvalidInput, match=rf"^HERALD_MEDIA_DIR={target}: not a directory$"):
            load_settings({"HERALD_MEDIA_DIR": str(target)})

    def test_under_a_file_cannot_be_created(self, tmp_path: Path) -> None:
        """A missing directory below a file is refused: it could never be created."""
        (tmp_path / "f").write_text("x")
        with pytest.raises(
            InvalidInput, match=r"^HERALD_MEDIA_DIR=.*: cannot be created: .* is a file"
        ):
            load_settings({"HERALD_MEDIA_DIR": str(tmp_path / "f" / "media")})

    @pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
    def test_read_only_directory_is_refused(self, tmp_path: Path) -> None:
        """A directory this user cannot write is refused at load."""
        target = tmp_path / "ro"
        target.mkdir(mode=0o555)
        with pytest.raises(InvalidInput, match=r"^HERALD_MEDIA_DIR=.*: not writable"):
            load_settings({"HERALD_MEDIA_DIR": str(target)})

    async def test_serve_creates_a_missing_directory(self, tmp_path: Path, fake: FakeSlack) -> None:
        """A missing HERALD_MEDIA_DIR is accepted and `herald serve` creates it at start."""
        target = tmp_path / "a" / "b" / "media"
        settings = bot_settings(fake.api_url, HERALD_MEDIA_DIR=str(target))
        stop, started = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(
            serve(
                settings,
                port=free_port(),
                stop=stop,
                started=started,
                herald=make_herald(settings, clock=ManualClock(T0)),
            )
        )
        await asyncio.wait_for(started.wait(), 10)
        assert target.is_dir()
        stop.set()
        await task


class TestNames:
    def test_typo_gets_the_closest_name(self) -> None:
        """HERALD_DATABSE_URL warns and suggests HERALD_DATABASE_URL."""
        warnings = unknown_variables({"HERALD_DATABSE_URL": "x", "HERALD_PORT": "1", "PATH": "/"})
        assert warnings == [
            "HERALD_DATABSE_URL is not a Herald setting and is ignored; "
            "did you mean HERALD_DATABASE_URL?"
        ]

    def test_dotenv_is_read(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A `.env` in the working directory supplies settings."""
        monkeypatch.delenv("HERALD_PORT", raising=False)
        (tmp_path / ".env").write_text("HERALD_PORT=4321\n")
        monkeypatch.chdir(tmp_path)
        assert load_settings().port == 4321

    def test_dotenv_names_are_checked_too(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A misspelt name in `.env` gets the same warning as in the environment, and a
        variable `.env` cannot supply (a model key) is said to be ignored."""
        (tmp_path / ".env").write_text("HERALD_DATABSE_URL=sqlite://\nOPENAI_API_KEY=sk-x\n")
        monkeypatch.chdir(tmp_path)
        with caplog.at_level(logging.WARNING, "herald.settings"):
            load_settings()
        assert caplog.messages == [
            "HERALD_DATABSE_URL in .env is not a Herald setting and is ignored; "
            "did you mean HERALD_DATABASE_URL?",
            "OPENAI_API_KEY in .env is not a Herald setting and is ignored: only HERALD_* "
            "and SLACK_* settings are read from .env (export others)",
        ]
        assert "sk-x" not in caplog.text

    def test_dotenv_bad_value_is_named_with_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A bad value from `.env` is named with its value, as one from the environment."""
        monkeypatch.delenv("HERALD_LOG_LEVEL", raising=False)
        (tmp_path / ".env").write_text("herald_log_level=LOUD\n")
        monkeypatch.chdir(tmp_path)
        with pytest.raises(InvalidInput, match=r"^HERALD_LOG_LEVEL=LOUD: 'LOUD' is not one of"):
            load_settings()

    def test_only_secret_settings_hide_their_value(self) -> None:
        """A refused value is echoed unless its setting is a secret (any `SecretStr`, keys
        and tokens alike), whatever the variable is called."""
        with pytest.raises(InvalidInput, match=r"^HERALD_MEDIA_LINK_TTL_SECONDS=5: "):
            load_settings({"HERALD_MEDIA_LINK_TTL_SECONDS": "5"})
        secret = {name for name in known_variables() if _secret(name)}
        assert {"HERALD_MEDIA_SIGNING_KEY", "HERALD_POSTIZ_API_KEY", "SLACK_APP_TOKEN"} <= secret
        assert not {"HERALD_PORT", "SLACK_API_URL", "HERALD_TIKTOK_CLIENT_ID"} & secret


class TestCommandLine:
    def test_json_serve_writes_only_json(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        restore_logging: None,
    ) -> None:
        """With HERALD_LOG_FORMAT=json, the name warning and the refusal to start are JSON
        lines too."""
        monkeypatch.setenv("HERALD_LOG_FORMAT", "json")
        monkeypatch.setenv("HERALD_DATABSE_URL", "sqlite://")
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        assert main(["serve", "--port", str(free_port())]) == 2
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(line["level"], line["msg"][:24]) for line in lines] == [
            ("WARNING", "HERALD_DATABSE_URL is no"),
            ("ERROR", "herald serve: SLACK_BOT_"),
        ]

    def test_bad_setting_exits_2_with_one_line(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`herald accounts list` with HERALD_LOG_LEVEL=LOUD prints one line and exits 2."""
        monkeypatch.setenv("HERALD_LOG_LEVEL", "LOUD")
        assert main(["accounts", "list"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "HERALD_LOG_LEVEL=LOUD" in err

    def test_closed_pipe_exits_quietly(self) -> None:
        """`herald plan … | head -1` ends without a traceback (exit 1, as rich exits)."""
        code = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
        args = ["plan", "examples/request.json", "--accounts", "examples/accounts.csv"]
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 1 and err == ""


class TestStart:
    async def test_rejected_app_token_is_one_line(self, fake: FakeSlack) -> None:
        """A refused SLACK_APP_TOKEN stops the start at once, saying why."""
        settings = bot_settings(fake.api_url, SLACK_APP_TOKEN="xapp-wrong")
        herald = make_herald(settings, clock=ManualClock(T0))
        from bot.slack.app import build_client

        with pytest.raises(InvalidInput, match=r"SLACK_APP_TOKEN was rejected by Slack \(invalid"):
            await serve(settings, port=free_port(), herald=herald, client=build_client(settings))

    async def test_port_in_use_is_one_line(self, fake: FakeSlack) -> None:
        """A port another process holds is named, not three tracebacks."""
        settings = bot_settings(fake.api_url)
        herald = make_herald(settings, clock=ManualClock(T0))
        from bot.slack.app import build_client

        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(InvalidInput, match=f"cannot listen on 127.0.0.1:{port}"):
                await serve(settings, port=port, herald=herald, client=build_client(settings))
