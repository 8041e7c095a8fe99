"""How long a workflow run will take, printed before it starts.

Each job's expected wall seconds come from `bench/job_seconds.json`, the median seconds of
each kind of job in a measured run of the workflow (`python bench/job_seconds.py`), looked
up from the most specific key: rule/dataset/model, rule/dataset, rule. A distillation the
file does not cover (another budget) is its outer iterations times the measured seconds
per iteration. The run's wall time is the jobs' seconds spread over the cores, never less
than its longest job.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

JOB_SECONDS_PATH = Path(__file__).resolve().parents[2] / "bench" / "job_seconds.json"


@dataclass(frozen=True)
class PlannedJob:
    rule: str
    dataset: str | None = None
    model: str | None = None
    # outer iterations of a distillation, for one the measured run does not cover
    iterations: int | None = None


def load_job_seconds(path: Path = JOB_SECONDS_PATH) -> dict:
    """The measured job times; none (every job unmeasured) where the file is missing."""
    if not path.exists():
        return {"measured_on": None, "budgets": {}}
    return json.loads(path.read_text())


def job_key(rule: str, dataset: str | None = None, model: str | None = None) -> str:
    return "/".join(p for p in (rule, dataset, model) if p)


def expected_seconds(job: PlannedJob, job_seconds: dict, budget: str,
                     seconds_per_iteration: dict[str, float]) -> float | None:
    """None where nothing measured covers the job."""
    measured = job_seconds["budgets"].get(budget, {})
    # a job of one dataset never takes another dataset's time (CIFAR-10's are longer)
    keys = ([job_key(job.rule, job.dataset, job.model), job_key(job.rule, job.dataset)]
            if job.dataset else [job.rule])
    for key in keys:
        if key in measured:
            return measured[key]
    if job.rule == "distill" and job.iterations and job.dataset in seconds_per_iteration:
        return job.iterations * seconds_per_iteration[job.dataset]
    return None


def estimate_message(jobs: list[PlannedJob], cores: int, budget: str,
                     seconds_per_iteration: dict[str, float],
                     job_seconds: dict | None = None) -> str:
    """One paragraph: the jobs by rule, and the expected wall time on `cores` cores."""
    if not jobs:
        return "Expected: nothing to run."
    job_seconds = job_seconds if job_seconds is not None else load_job_seconds()
    counts = Counter(job.rule for job in jobs)
    listing = ", ".join(f"{rule} {n}" for rule, n in counts.most_common())
    count = f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}"
    times = [expected_seconds(j, job_seconds, budget, seconds_per_iteration) for j in jobs]
    known = [t for t in times if t is not None]
    unknown = sorted({j.rule for j, t in zip(jobs, times) if t is None})
    if not known:
        return (f"Expected: {count} ({listing}); no job time is measured at budget "
                f"{budget}.")
    wall = max(sum(known) / max(cores, 1), max(known))
    text = (f"Expected: {count} ({listing}), about {_duration(wall)} on {cores} "
            f"core{'s' if cores != 1 else ''}")
    if unknown:
        text += f", plus the {', '.join(unknown)} jobs, not measured at budget {budget}"
    measured_on = job_seconds.get("measured_on")
    source = (f"Job times measured on {measured_on}" if measured_on else
              f"No job times measured ({JOB_SECONDS_PATH.name} is missing); distillations "
              "from their seconds per iteration")
    return text + f". {source}; a busier or slower machine takes longer."


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{math.ceil(minutes)} min"
    return f"{minutes / 60:.1f} h"
