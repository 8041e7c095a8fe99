"""The paper campaign's lanes: long distillations that survive a stop.

    python tools/paper_lanes.py start --hours 2.4 [--lanes 2]   (make paper-lanes HOURS=2.4)
    python tools/paper_lanes.py status                          (make paper-status)
    python tools/paper_lanes.py stop                            (make paper-stop)
    python tools/paper_lanes.py deadline --hours 1.5            (make paper-deadline HOURS=1.5)

`start` freezes the code in a git worktree of HEAD (edits to this checkout never reach a
running job) and starts one-thread lanes in the background. Each lane takes the next run
of the queue (published/{budget}/queue.txt, in order) that is neither shipped nor taken by
another lane, resumes it from its carried checkpoint if there is one, distills it and
evaluates it, and ships it into published/ (`python -m qdistill publish`). At the deadline
each lane sends its distillation SIGTERM (the checkpoint is saved after the current
iteration), carries it into published/ and exits; an evaluation under way finishes first.
A lane whose runs fail twice in a row stops (the cause is rarely the run: no data, a
broken environment) and leaves the rest of the queue to the next start.
`stop` moves the deadline to now and waits for the lanes; `deadline` moves it to HOURS from
now for the lanes still running (they read it at every poll), later or sooner. Lanes never
commit: commit published/ after every stop.

Everything a lane writes lives in the state folder (default .lanes/, git-ignored): the
worktree, the runs being distilled, lane logs and outcomes.jsonl (one line per run a lane
shipped, carried or failed).
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POLL_S = 2.0
# How long a distillation's start-up (imports, data) may delay its SIGTERM at the deadline.
STARTUP_S = 120
# Runs that fail one after another fail for one cause (no data, a broken environment): the
# lane stops rather than fail the whole queue in seconds.
FAILURES_TO_STOP = 2
LOG_ITER = re.compile(r"^(\S+ \S+) INFO qdistill\.distill: iter (\d+)/(\d+) ")
LOG_POINT = re.compile(r" outer loss (\S+) test (\S+)%")
# Healthy paper runs log outer losses below 3; the two runs that froze logged 1.7e6 and 9.2e9
# (docs/extensions.md, outer-gradient spikes). Status names a run past this.
SPIKE_LOSS = 100.0
STOPPED_AFTER = re.compile(r"after iteration (\d+) of (\d+)")
DISTILLING = re.compile(r"^(\S+ \S+) INFO qdistill\.runs: distilling ", re.MULTILINE)


def log_time(stamp: str) -> datetime.datetime:
    """A log line's local time (logging's asctime)."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_json(path: Path, default=None):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def write_json(path: Path, value) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n")
    tmp.replace(path)


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    name = re.search(r"model name\s*:\s*(.+)", text)
    flags = re.search(r"flags\s*:\s*(.+)", text)
    avx = "AVX-512" if flags and "avx512f" in flags.group(1).split() else "AVX2 only"
    return f"{name.group(1).strip() if name else 'unknown CPU'} ({avx})"


def parse_queue(path: Path) -> list[tuple[str, str, int]]:
    """The queue's runs in order: lines "dataset model seed"; # starts a comment."""
    runs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 3 or not words[2].isdigit():
            sys.exit(f"{path}:{number}: expected 'dataset model seed', got {line!r}")
        runs.append((words[0], words[1], int(words[2])))
    return runs


def check_queue(queue: Path, budget: str, config_file: str | None) -> None:
    """Stop before any lane starts if the queue or the budget is not there, or a run of the
    queue names a dataset, model or seed the budget's config does not have."""
    from qdistill.config import ConfigError, load_config

    try:
        config = load_config(config_file, overrides={"budget": budget})
    except ConfigError as err:  # an unknown budget, or a bad config file
        sys.exit(str(err))
    if not queue.is_file():
        sys.exit(f"{queue} not found: a campaign's queue is published/BUDGET/queue.txt, "
                 "lines 'dataset model seed' (see published/paper/queue.txt)")
    seeds = config["budgets"][budget]["seeds"]
    for dataset, model, seed in parse_queue(queue):
        if (dataset not in config["datasets"] or model not in config["model_variants"]
                or seed not in seeds):
            sys.exit(f"{queue}: run '{dataset} {model} {seed}' is not one of budget {budget}'s "
                     f"(datasets {config['datasets']}, model ids of model_variants, seeds "
                     f"{seeds}): fix the line or the config")


class State:
    """The state folder of a set of lanes."""

    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        self.plan_file = self.folder / "plan.json"

    @property
    def plan(self) -> dict:
        plan = read_json(self.plan_file)
        if plan is None:
            sys.exit(f"{self.plan_file} not found: no lanes were started here "
                     "(make paper-lanes HOURS=...)")
        return plan

    def lane_file(self, lane: int) -> Path:
        return self.folder / f"lane{lane}.json"

    def lanes(self) -> list[dict]:
        return [read_json(self.lane_file(n), {"lane": n}) for n in range(1, self.plan["lanes"] + 1)]

    def running(self) -> list[int]:
        return [lane["lane"] for lane in self.lanes() if alive(lane.get("pid"))]

    def run_dir(self, dataset: str, model: str, seed: int) -> Path:
        return self.folder / "runs" / dataset / model / f"seed{seed}"

    def record(self, outcome: dict) -> None:
        with open(self.folder / "outcomes.jsonl", "a") as handle:
            handle.write(json.dumps(outcome) + "\n")

    def outcomes(self) -> list[str]:
        """What the lanes shipped, carried or failed so far, a line each."""
        path = self.folder / "outcomes.jsonl"
        lines = []
        for o in map(json.loads, path.read_text().splitlines() if path.exists() else []):
            segment = (f", iterations {o['segment']['iterations'][0]}-"
                       f"{o['segment']['iterations'][1]}" if "segment" in o else "")
            lines.append(f"{o['outcome']:>9}: {o['dataset']} {o['model']} seed {o['seed']}"
                         + segment)
        return lines


# ---------------------------------------------------------------------------------- start
def start(args: argparse.Namespace) -> None:
    state = State(args.state)
    if state.plan_file.exists() and state.running():
        sys.exit(f"lanes {state.running()} are still running from {state.folder}: "
                 "make paper-status, or make paper-stop first")
    queue = Path(args.queue or REPO / "published" / args.budget / "queue.txt").resolve()
    check_queue(queue, args.budget, args.config)  # a bad line stops here, not in a lane
    state.folder.mkdir(parents=True, exist_ok=True)
    for old in ("outcomes.jsonl", "claims"):
        path = state.folder / old
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if args.code:  # tests: the lanes run this checkout as it is
        code, commit = Path(args.code).resolve(), "working tree of " + str(args.code)
    else:
        code = state.folder / "worktree"
        git = ["git", "-C", str(REPO)]
        if code.exists():
            subprocess.run([*git, "worktree", "remove", "--force", str(code)], check=False)
            shutil.rmtree(code, ignore_errors=True)
        subprocess.run([*git, "worktree", "prune"], check=True)
        subprocess.run([*git, "worktree", "add", "--detach", str(code), "HEAD"], check=True,
                       stdout=subprocess.DEVNULL)
        commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                                text=True).stdout.strip()
    mirror = args.data_mirror or os.environ.get("DATA_MIRROR")
    deadline = time.time() + args.hours * 3600
    write_json(state.plan_file, {
        "code": str(code), "commit": commit, "queue": str(queue), "lanes": args.lanes,
        "budget": args.budget, "published": str(Path(args.published).resolve()),
        "config": str(Path(args.config).resolve()) if args.config else None,
        "data_mirror": str(Path(mirror).resolve()) if mirror else None,
        "python": sys.executable, "deadline": deadline, "started": now_utc(),
        "min_start_s": args.min_start,
    })
    for lane in range(1, args.lanes + 1):
        state.lane_file(lane).unlink(missing_ok=True)
        with open(state.folder / f"lane{lane}.log", "a") as log:
            subprocess.Popen([sys.executable, str(code / "tools" / "paper_lanes.py"),
                              "--state", str(state.folder), "lane", str(lane)],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    until = datetime.datetime.fromtimestamp(deadline).strftime("%H:%M")
    print(f"{args.lanes} lanes started at {commit[:12]} from {queue}; they carry their runs "
          f"and stop by {until} ({args.hours:g} h). make paper-status; make paper-stop.")


# ----------------------------------------------------------------------------------- lane
class Lane:
    def __init__(self, state: State, number: int):
        self.state, self.number = state, number
        self.plan = state.plan
        self.stop_asked = False
        self.status = {"lane": number, "pid": os.getpid(), "phase": "starting"}
        signal.signal(signal.SIGTERM, self._ask_to_stop)
        signal.signal(signal.SIGINT, self._ask_to_stop)

    def _ask_to_stop(self, signum, frame) -> None:
        self.stop_asked = True

    def past_deadline(self, margin: float = 0.0) -> bool:
        # stop re-reads the plan: `paper-stop` moves the deadline to now
        deadline = read_json(self.state.plan_file, self.plan)["deadline"]
        return self.stop_asked or time.time() + margin >= deadline

    def set_status(self, **fields) -> None:
        self.status.update(fields)
        write_json(self.state.lane_file(self.number), self.status)

    def claim(self) -> tuple[str, str, int] | None:
        """The first queued run that is neither shipped nor claimed, now claimed."""
        claims = self.state.folder / "claims"
        claims.mkdir(exist_ok=True)
        with open(self.state.folder / "claims.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for dataset, model, seed in parse_queue(Path(self.plan["queue"])):
                shipped = self.published(dataset, model, seed) / "distilled.pt"
                claim = claims / f"{dataset}-{model}-seed{seed}"
                if shipped.exists() or claim.exists():
                    continue
                claim.write_text(str(self.number))
                return dataset, model, seed
        return None

    def published(self, dataset: str, model: str, seed: int) -> Path:
        return Path(self.plan["published"]) / self.plan["budget"] / dataset / model / f"seed{seed}"

    def qdistill(self, *words: str) -> list[str]:
        config = ["--config", self.plan["config"]] if self.plan["config"] else []
        mirror = ["--data-mirror", self.plan["data_mirror"]] if self.plan["data_mirror"] else []
        return [self.plan["python"], "-m", "qdistill", *words, *config, *mirror,
                "--data-root", str(self.state.folder / "data"), "--threads", "1"]

    def child(self, command: list[str], log: Path, stoppable: bool) -> tuple[int, float, float]:
        """Run command; SIGTERM it at the deadline if stoppable. Exit code, CPU s, wall s."""
        env = dict(os.environ, PYTHONPATH=str(Path(self.plan["code"]) / "src"))
        started = time.time()
        with open(log, "a") as out:
            process = subprocess.Popen(command, cwd=self.plan["code"], env=env, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.set_status(child_pid=process.pid)
        signalled = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if (stoppable and not signalled and self.past_deadline()
                    and (self.distilling(log, started) or self.past_deadline(-STARTUP_S))):
                process.send_signal(signal.SIGTERM)
                signalled = True
            time.sleep(POLL_S)
        process.returncode = os.waitstatus_to_exitcode(status)
        return process.returncode, usage.ru_utime + usage.ru_stime, time.time() - started

    @staticmethod
    def distilling(log: Path, since: float) -> bool:
        """Whether the distillation has started (and with it, saves a checkpoint on
        SIGTERM): a SIGTERM during its start-up would end it before anything is saved."""
        run_log = log.parent / "distill.log"
        if not run_log.exists():
            return False
        starts = DISTILLING.findall(run_log.read_text())
        return bool(starts) and log_time(starts[-1]).timestamp() >= int(since)

    def run(self, dataset: str, model: str, seed: int) -> bool:
        """Distill, evaluate and ship (or carry) one run; False if a step failed."""
        run_dir = self.state.run_dir(dataset, model, seed)
        run_dir.mkdir(parents=True, exist_ok=True)
        published = self.published(dataset, model, seed)
        carried = published / "checkpoint.pt"
        earlier = read_json(published / "provenance.json", {}) if carried.exists() else {}
        if carried.exists():
            shutil.copyfile(carried, run_dir / "checkpoint.pt")
        first = earlier.get("carried_at_iteration", 0)
        self.set_status(phase="distilling", run=f"{dataset} {model} {seed}",
                        run_dir=str(run_dir), segment_started=time.time(),
                        segment_first_iteration=first)
        command = ["distill", "--dataset", dataset, "--model", model, "--seed", str(seed),
                   "--budget", self.plan["budget"], "--out", str(run_dir), "--no-progress"]
        started = now_utc()
        code, cpu_s, wall_s = self.child(self.qdistill(*command), run_dir / "lane.log", True)
        finished = code == 0 and (run_dir / "distilled.pt").exists()
        if finished:
            self.set_status(phase="evaluating")
            evaluation = self.child(self.qdistill("evaluate", str(run_dir)),
                                    run_dir / "lane.log", False)
            if evaluation[0] != 0:
                return self.failed(dataset, model, seed, run_dir, "evaluate", evaluation[0])
        elif not (run_dir / "checkpoint.pt").exists():
            step = "stopped before its first checkpoint:" if self.past_deadline() else "distill"
            return self.failed(dataset, model, seed, run_dir, step, code)
        last = self.last_iteration(run_dir, finished)
        segment = {"commit": self.plan["commit"], "iterations": [first, last],
                   "started": started, "ended": now_utc(), "exit_code": code,
                   "cpu_s": round(cpu_s, 1), "wall_s": round(wall_s, 1), "host": platform.node(),
                   "cpu": cpu_model(), "nproc": os.cpu_count(), "lanes": self.plan["lanes"]}
        meta = {"command": "python -m qdistill distill " + " ".join(command[1:-3])
                           + " --out RUN_DIR --threads 1",
                "source_commit": self.plan["commit"], "started": started, "ended": now_utc(),
                "exit_code": code, "process_cpu_s": round(cpu_s, 1),
                "process_wall_s": round(wall_s, 1), "host": platform.node(),
                "nproc": os.cpu_count(), "segments": [*earlier.get("segments", []), segment]}
        write_json(run_dir / "run_meta.json", meta)
        self.set_status(phase="shipping" if finished else "carrying")
        publish = self.qdistill("publish", str(run_dir), "--meta", str(run_dir / "run_meta.json"),
                                "--root", self.plan["published"])
        code_publish = self.child(publish, run_dir / "lane.log", False)[0]
        if code_publish != 0:
            return self.failed(dataset, model, seed, run_dir, "publish", code_publish)
        self.state.record({"lane": self.number, "dataset": dataset, "model": model,
                           "seed": seed, "outcome": "shipped" if finished else "carried",
                           "segment": segment})
        return True

    @staticmethod
    def last_iteration(run_dir: Path, finished: bool) -> int | None:
        """The iteration the segment ended at, from the run's log."""
        text = (run_dir / "distill.log").read_text() if (run_dir / "distill.log").exists() else ""
        if not finished:
            stops = STOPPED_AFTER.findall(text)
            if stops:
                return int(stops[-1][0])
        logged = [m for m in map(LOG_ITER.match, text.splitlines()) if m]
        return int(logged[-1].group(3 if finished else 2)) if logged else None

    def failed(self, dataset, model, seed, run_dir, step, code) -> bool:
        print(f"{now_utc()} lane {self.number}: {step} of {dataset} {model} {seed} failed "
              f"(exit {code}); see {run_dir}/lane.log", flush=True)
        self.state.record({"lane": self.number, "dataset": dataset, "model": model,
                           "seed": seed, "outcome": f"{step} failed", "exit_code": code,
                           "log": str(run_dir / "lane.log")})
        return False

    def main(self) -> None:
        self.set_status(phase="idle")
        failures_in_a_row = 0
        while not self.past_deadline(self.plan["min_start_s"]):
            if failures_in_a_row == FAILURES_TO_STOP:
                print(f"{now_utc()} lane {self.number}: {FAILURES_TO_STOP} runs in a row failed; "
                      "the rest of the queue is left to the next start (fix what their "
                      "lane.log says, e.g. a missing data mirror)", flush=True)
                break
            taken = self.claim()
            if taken is None:
                break
            print(f"{now_utc()} lane {self.number}: {' '.join(map(str, taken))}", flush=True)
            failures_in_a_row = 0 if self.run(*taken) else failures_in_a_row + 1
        self.set_status(phase="done", run=None, ended=now_utc())
        print(f"{now_utc()} lane {self.number}: done", flush=True)


def lane(args: argparse.Namespace) -> None:
    Lane(State(args.state), args.number).main()


# ----------------------------------------------------------------------------- stop, status
def stop(args: argparse.Namespace) -> None:
    state = State(args.state)
    if not state.plan_file.exists():
        print(f"no lanes were started in {state.folder}")
        return
    plan = state.plan
    plan["deadline"] = min(plan["deadline"], time.time())
    write_json(state.plan_file, plan)
    waited = time.time()
    while state.running() and time.time() - waited < args.wait:
        time.sleep(POLL_S)
    still = state.running()
    for line in state.outcomes():
        print(line)
    if still:
        sys.exit(f"lanes {still} are still running after {args.wait:.0f} s "
                 "(an evaluation or a shipment); run make paper-stop again")
    print(f"lanes stopped; now commit {plan['published']}: git add published && git commit")


def move_deadline(args: argparse.Namespace) -> None:
    state = State(args.state)
    plan, running = state.plan, state.running()
    if not running:
        sys.exit(f"no lane is running from {state.folder}: start them with "
                 "make paper-lanes HOURS=...")
    plan["deadline"] = time.time() + args.hours * 3600
    write_json(state.plan_file, plan)
    until = datetime.datetime.fromtimestamp(plan["deadline"]).strftime("%H:%M")
    print(f"lanes {running} now carry their runs and stop by {until} ({args.hours:g} h)")


def status(args: argparse.Namespace) -> None:
    state = State(args.state)
    plan = state.plan
    deadline = plan["deadline"]
    print(f"code {plan['commit'][:12]}, queue {plan['queue']}, deadline "
          f"{datetime.datetime.fromtimestamp(deadline):%H:%M:%S} "
          f"({(deadline - time.time()) / 60:+.0f} min)")
    for lane_status in state.lanes():
        number, phase = lane_status["lane"], lane_status.get("phase", "not started")
        if not alive(lane_status.get("pid")) and phase != "done":
            phase = f"dead ({phase})"
        line = f"lane {number}: {phase}"
        run_dir = lane_status.get("run_dir")
        if lane_status.get("run") and run_dir:
            line += f", {lane_status['run']}" + progress(
                Path(run_dir), deadline, lane_status.get("segment_started", 0))
        print(line)
    for line in state.outcomes():
        print(line)


def progress(run_dir: Path, deadline: float, since: float) -> str:
    """Iteration, seconds per iteration (between the last two log points of the segment
    started at `since`: a carried run's log also holds its earlier segments) and expected
    end."""
    log = run_dir / "distill.log"
    points = [m for m in map(LOG_ITER.match, log.read_text().splitlines()) if m] \
        if log.exists() else []
    if not points:
        return ", no log point yet"
    stamp = lambda m: log_time(m.group(1))  # noqa: E731
    last, total = int(points[-1].group(2)), int(points[-1].group(3))
    text = f", iteration {last}/{total}"
    measured = [(int(m.group(2)), *map(float, found.groups())) for m in points
                if (found := LOG_POINT.search(m.string))]
    if measured:
        text += f", test {measured[-1][2]:.1f}%"
        iteration, loss, _ = max(measured, key=lambda point: point[1])
        if loss > SPIKE_LOSS:
            text += (f" (outer loss spiked to {loss:.3g} at iteration {iteration}: a frozen run "
                     "holds its test accuracy to the digit; see outer_grad_clip)")
    if (len(points) >= 2 and int(points[-2].group(2)) < last
            and stamp(points[-2]).timestamp() >= since):
        s_per_it = ((stamp(points[-1]) - stamp(points[-2])).total_seconds()
                    / (last - int(points[-2].group(2))))
        end = stamp(points[-1]) + datetime.timedelta(seconds=s_per_it * (total - last))
        text += (f", {s_per_it:.3f} s/it, expected end {end:%H:%M}"
                 + (" (after the deadline: carried)" if end.timestamp() > deadline else ""))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, default=REPO / ".lanes",
                        help="the lanes' state folder (default .lanes/)")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start", help="start lanes in the background")
    s.add_argument("--hours", type=float, default=2.4,
                   help="stop (carrying every unfinished run) this many hours from now")
    s.add_argument("--lanes", type=int, default=2, help="one-thread lanes (default 2)")
    s.add_argument("--budget", default="paper")
    s.add_argument("--queue", help="default: published/BUDGET/queue.txt")
    s.add_argument("--published", default=str(REPO / "published"),
                   help="where runs are shipped and carried (default: published/)")
    s.add_argument("--config", help="config file (default: the code's config.yaml)")
    s.add_argument("--data-mirror", help="dataset mirror (default: $DATA_MIRROR)")
    s.add_argument("--min-start", type=float, default=120,
                   help="start no run with fewer seconds than this left (default 120: its "
                        "start-up would be most of what it did)")
    s.add_argument("--code", help="run this checkout as it is instead of a worktree of HEAD "
                                  "(tests)")
    s.set_defaults(func=start)
    t = sub.add_parser("stop", help="carry every lane's run now and wait for the lanes")
    t.add_argument("--wait", type=float, default=900, help="seconds to wait (default 900)")
    t.set_defaults(func=stop)
    d = sub.add_parser("deadline", help="move the running lanes' deadline to HOURS from now")
    d.add_argument("--hours", type=float, required=True)
    d.set_defaults(func=move_deadline)
    sub.add_parser("status", help="each lane's run, iteration, speed, expected end") \
        .set_defaults(func=status)
    n = sub.add_parser("lane", help=argparse.SUPPRESS)
    n.add_argument("number", type=int)
    n.set_defaults(func=lane)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
