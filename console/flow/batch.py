"""Many jobs at once: run a set of jobs in threads, a bounded number at a time.

Each job is still run by `Runner.run`, so its lease decides who runs it (a job another
console or worker holds is skipped, not run twice) and the clone slots of its storage
domain decide when its clone may start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from console.errors import ConsoleError
from console.store.models import Job

if TYPE_CHECKING:
    from console.flow.runner import Runner

log = logging.getLogger(__name__)
DEFAULT_CONCURRENCY = 4


@dataclass
class BatchResult:
    finished: list[Job] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (job id, why)

    @property
    def all_done(self) -> bool:
        return not self.skipped and all(job.state == "done" for job in self.finished)


def run_one(runner: Runner, job_id: str) -> tuple[Job | None, str | None]:
    """Run one job: (the job as it ended, None), or (None, why) when it was not run here
    (held elsewhere, the store went away) or broke; one job never stops the others."""
    try:
        return runner.run(job_id), None
    except ConsoleError as error:  # held elsewhere (JobBusy) or the store went away
        log.info("job %s not run here: %s", job_id, error.message)
        return None, error.message
    except Exception as error:
        log.exception("job %s stopped", job_id)
        return None, str(error)


def run_jobs(runner: Runner, job_ids: Iterable[str], *, concurrency: int) -> BatchResult:
    """Run the jobs, at most `concurrency` at a time; each ends done, failed, cancelled,
    parked for the engineer, or skipped (held by another runner)."""
    result = BatchResult()
    ids = list(dict.fromkeys(job_ids))
    if not ids:
        return result

    def one(job_id: str) -> None:
        job, why = run_one(runner, job_id)
        if job is not None:
            result.finished.append(job)
        else:
            result.skipped.append((job_id, why or "not run"))

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="job") as pool:
        list(pool.map(one, ids))
    return result


def resume_all(runner: Runner, *, concurrency: int) -> BatchResult:
    """`jobs resume` for every unfinished job, several at a time."""
    return run_jobs(runner, [job.id for job in runner.unfinished_jobs()], concurrency=concurrency)


__all__ = ["DEFAULT_CONCURRENCY", "BatchResult", "resume_all", "run_jobs", "run_one"]
