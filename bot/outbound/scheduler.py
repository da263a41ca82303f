"""`python -m bot scheduler`: timed jobs (APScheduler 3) and the outbox sender, one process.

- Exactly one scheduler runs: it holds a file lock beside the database for its lifetime. A
  second one started meanwhile stands by, blocked on the lock, and takes over when the first
  exits or dies (the kernel releases the lock even on kill -9). Web workers never build a
  scheduler, so they never run jobs.
- Jobs live in a persistent job store (SQLAlchemy's, on the bot's SQLite file), so a missed
  run is known after a restart: runs missed by less than MISFIRE_GRACE are made up, several
  missed runs coalesce into one.
- Jobs are plain functions given the services, declared by capabilities (`Capability.jobs`)
  the way they declare actions. The store holds only a reference to `run_job` and the job's
  id, never the function itself, so renaming a function never leaves an unloadable job.
- The sender runs in its own thread beside the job executor: late replies of slow handlers,
  notices and broadcasts all leave through it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from bot.core.clock import TZ
from bot.core.db import file_lock, sibling
from bot.core.services import Services
from handlers.kit.actions import Capability, Job

log = logging.getLogger("guanban.scheduler")

MISFIRE_GRACE = timedelta(minutes=10)
JOB_TABLE = "scheduler_jobs"

# The running scheduler's jobs and services: a job in the store names only its id.
_jobs: dict[str, Job] = {}
_services: Services | None = None


def run_job(job_id: str) -> None:
    """What the job store calls: look the job up and give it the services."""
    job = _jobs.get(job_id)
    if job is None or _services is None:
        log.warning("job %s is not registered in this scheduler; skipped", job_id)
        return
    try:
        job.run(_services)
    except Exception:
        log.exception("job %s failed", job_id)


def core_jobs() -> tuple[Job, ...]:
    from bot.outbound import housekeeping

    return housekeeping.JOBS


def all_jobs(capabilities: Iterable[Capability]) -> dict[str, Job]:
    jobs: dict[str, Job] = {}
    for job in (*core_jobs(), *(j for c in capabilities for j in c.jobs)):
        if job.id in jobs:
            raise ValueError(f"two jobs named {job.id!r}")
        jobs[job.id] = job
    return jobs


def run_scheduler(
    services: Services,
    capabilities: Iterable[Capability],
    stop: threading.Event | None = None,
    sender_idle: float = 0.5,
) -> int:
    """Run jobs and the sender until SIGTERM/SIGINT (or `stop`); stand by while another
    scheduler holds the lock."""
    stop = stop or _stop_on_signals()
    lock = sibling(services.settings.database, "scheduler-lock")
    with file_lock(lock, blocking=False) as held:
        if held:
            return _run(services, capabilities, stop, sender_idle)
    log.info("another scheduler is running (%s): standing by", lock)
    while not stop.is_set():
        with file_lock(lock, blocking=False) as held:
            if held:
                log.info("took over as the scheduler")
                return _run(services, capabilities, stop, sender_idle)
        stop.wait(1.0)
    return 0


def _run(
    services: Services,
    capabilities: Iterable[Capability],
    stop: threading.Event,
    sender_idle: float,
) -> int:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.outbound.sender import build_sender

    global _services
    _services = services
    _jobs.clear()
    _jobs.update(all_jobs(capabilities))

    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(
                url=f"sqlite:///{services.settings.database}", tablename=JOB_TABLE
            )
        },
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            "max_instances": 1,
        },
        timezone=TZ,
    )
    scheduler.start(paused=True)
    _sync_jobs(scheduler, _jobs.values())
    scheduler.resume()
    sender = build_sender(services)
    thread = threading.Thread(target=sender.run, args=(stop, sender_idle), name="sender")
    thread.start()
    log.info("scheduler running %d job(s) and the sender", len(_jobs))
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=30)
    return 0


def _sync_jobs(scheduler: Any, jobs: Iterable[Job]) -> None:
    wanted = {job.id: job for job in jobs}
    for stored in scheduler.get_jobs():
        if stored.id not in wanted:
            log.info("removing job %s: no capability declares it any more", stored.id)
            stored.remove()
    for job in wanted.values():
        # replace_existing keeps the store in step with the code (a changed schedule),
        # while the next run time of an unchanged trigger is recomputed, never skipped.
        scheduler.add_job(
            "bot.outbound.scheduler:run_job",
            trigger=job.trigger,
            args=[job.id],
            id=job.id,
            name=job.id,
            replace_existing=True,
            **dict(job.schedule),
        )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    return stop
