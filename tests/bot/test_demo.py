"""`herald demo` end to end on a fresh SQLite file, and the composition root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.bootstrap import Herald, LoggingNotifier, build_herald
from bot.cli import main
from bot.settings import Settings
from engine.adapters.jsonl_ledger import read_ledger
from engine.errors import InvalidInput
from engine.simulated_publisher import SimulatedPublisher


class TestDemo:
    @pytest.mark.slow
    def test_demo_runs_a_whole_distribution(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The demo completes on a fresh SQLite file; its JSON report adds up; the ledger agrees."""
        ledger = tmp_path / "ledger.jsonl"
        code = main(
            [
                "demo",
                "--db",
                str(tmp_path / "demo.db"),
                "--speed",
                "20000",
                "--json",
                "--ledger",
                str(ledger),
                "--seed",
                "3",
            ]
        )
        report = json.loads(capsys.readouterr().out)
        assert code == 0 and report["status"] == "COMPLETED"
        totals = report["totals"]
        assert totals["planned"] > 50
        # every planned or moved-in slot ended one way: published, failed, unknown or moved
        ended = totals["published"] + totals["failed"] + totals["unknown"] + totals["redistributed"]
        assert ended == totals["planned"] + totals["moved_in"]
        assert set(report["platforms"]) == {"tiktok", "youtube", "instagram", "twitter", "linkedin"}
        posted = [line["slot_id"] for line in read_ledger(ledger) if line["posted"]]
        assert len(posted) == len(set(posted)) == totals["published"]
        assert (tmp_path / "demo.db").exists()


class TestBuildHerald:
    async def test_builds_from_settings(self) -> None:
        """Defaults give the simulated publisher, a logging notifier and a working service."""
        herald = build_herald(Settings(database_url="memory://"))
        try:
            assert isinstance(herald, Herald)
            assert isinstance(herald.publisher, SimulatedPublisher)
            assert [type(m) for m in herald.notifier.members] == [LoggingNotifier]
            assert await herald.service.list() == []
            await herald.start()
            assert herald.runner.running
        finally:
            await herald.stop()
        assert not herald.runner.running

    async def test_refuses_an_unmigrated_database(self, tmp_path: Path) -> None:
        """start() on a SQLite file without the schema says which command to run."""
        from engine.errors import SchemaNotMigrated

        herald = build_herald(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
        with pytest.raises(SchemaNotMigrated, match="herald db upgrade"):
            await herald.start()
        await herald.stop()

    def test_webhook_needs_url_and_secret(self) -> None:
        """HERALD_PUBLISHER=webhook without its URL and secret is a clear configuration error."""
        with pytest.raises(InvalidInput, match="HERALD_WEBHOOK_URL"):
            build_herald(Settings(database_url="memory://", publisher="webhook"))
