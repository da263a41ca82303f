"""Housekeeping asks each table's owner to prune its own rows: every capability's `prune`
hook runs nightly, and one that fails does not keep the others from running."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.core.settings import Settings
from bot.outbound.housekeeping import JOBS, prune_capabilities
from handlers.kit.capability import Capability
from handlers.kit.services import Services, build_services


def services_with(tmp_path: Path, capabilities: tuple[Capability, ...]) -> Services:
    settings = Settings.from_env(database=str(tmp_path / "guanban.sqlite3"), secret_key="test")
    return build_services(settings, capabilities=capabilities)


def test_the_nightly_job_asks_every_capability_to_prune(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    asked: list[str] = []

    def pruner(name: str, removed: int) -> Capability:
        def prune(services: Services) -> int:
            asked.append(name)
            return removed

        return Capability(name=name, prune=prune)

    def broken(services: Services) -> int:
        asked.append("broken")
        raise RuntimeError("disk on fire")

    services = services_with(
        tmp_path,
        (
            pruner("first", 3),
            Capability(name="broken", prune=broken),
            Capability(name="quiet"),  # no hook: skipped
            pruner("last", 0),
        ),
    )
    with caplog.at_level(logging.INFO, logger="guanban.housekeeping"):
        prune_capabilities(services)
    assert asked == ["first", "broken", "last"]
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failed] == ["pruning broken failed"]
    assert "pruned 3 row(s) of first" in caplog.messages


def test_the_job_runs_daily_after_the_outbox_prune() -> None:
    jobs = {job.id: job for job in JOBS}
    job = jobs["core.prune_capabilities"]
    assert job.run is prune_capabilities
    assert (job.trigger, dict(job.schedule)) == ("cron", {"hour": 3, "minute": 45})
