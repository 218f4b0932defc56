"""The persistent scheduler: APScheduler 3 with its job store in the project database.

Job defaults, on purpose:
- ``coalesce=True``: after downtime a connector runs once, not once per missed interval (its watermark covers
  the whole gap anyway).
- ``max_instances=1``: a slow run never overlaps the next run of the same connector (no double fetch).
- ``misfire_grace_time=MISFIRE_GRACE_SECONDS``: a run missed by up to this much (busy machine, restart) still
  runs; older misses are dropped and the next regular run catches up from the watermark.
Jobs are keyed by connector name; on start the configuration is synchronised with the store: new connectors are
added, changed schedules replaced, removed connectors deleted, unchanged jobs keep their stored next run time.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from carbon import db
from connectors.config import load_config
from connectors.runtime import run_once

MISFIRE_GRACE_SECONDS = 300
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}
JOB_TABLE = "scheduler_job"


def run_connector_job(db_url: str, config_path: str, name: str) -> None:
    """What a scheduled job runs (importable by reference, so the job store can keep it)."""
    config = load_config(Path(config_path)).get(name)
    if config is not None:
        run_once(db.make_engine(db_url), config)


def build_scheduler(db_url: str, config_path: Path) -> BackgroundScheduler:
    """A started, paused scheduler whose jobs match the configuration (call ``resume`` to run them)."""
    store_url = db.make_engine(db_url).url
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(url=store_url.render_as_string(hide_password=False), tablename=JOB_TABLE)
        },
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults=JOB_DEFAULTS,
        timezone="Asia/Shanghai",
    )
    scheduler.start(paused=True)
    configs = load_config(config_path)
    for job in scheduler.get_jobs():
        if job.id not in configs:
            job.remove()
    for name, config in configs.items():
        job = scheduler.get_job(name)
        args = [db_url, str(config_path), name]
        same = (
            job is not None
            and isinstance(job.trigger, IntervalTrigger)
            and job.trigger.interval.total_seconds() == config.every_seconds
            and list(job.args) == args
        )
        if not same:
            scheduler.add_job(
                run_connector_job,
                "interval",
                seconds=config.every_seconds,
                id=name,
                name=name,
                args=args,
                replace_existing=True,
            )
    return scheduler


def run_scheduler(db_url: str, config_path: Path) -> None:
    """Run until SIGINT or SIGTERM; jobs and next run times stay in the database across restarts."""
    scheduler = build_scheduler(db_url, config_path)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.resume()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
