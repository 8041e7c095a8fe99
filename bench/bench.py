"""Seconds per outer distillation iteration at the paper's settings (MNIST: T = 3, 10 images;
CIFAR-10: T = 30, 100 images; real batch 1024), in the conditions runs are really in.

    python bench/bench.py [--mirror DIR] [--reference REF] [--conditions pair-1t ...] [--rounds N]
                          [--quick] [--out results/bench/bench.json]

Conditions, each case in its own process (data preloaded, first iterations warm-up):
- `alone-1t`, `alone-2t`: one job on an otherwise idle machine, 1 and 2 torch threads;
- `pair-1t`: two one-thread jobs of the case at once, started together (the workflow's
  normal state on 2 cores: its jobs have one thread each).

Every record has wall and CPU seconds per iteration (CPU: the process's, all threads; the
difference of a run of warm-up + timed iterations and one of warm-up only), the FLOPs of an
iteration and of its real-batch pass (counted by torch's FlopCounterMode, not guessed), the
achieved GFLOP/s of both (real-batch pass timed on its own), and the single-thread sgemm
rate measured in the same process as the machine's yardstick. With --reference, the same
cases also run on the code of that git commit (a worktree made for it), so old and new are
timed in one run. Writes bench.json (records), ratios.json (the targets), estimate.json (the
paper budget's wall time in the pair condition) and bench.png beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# (dataset, model, backend, warm-up iterations, timed iterations)
CASES = [
    ("mnist", "classical", "fast", 3, 30),
    ("mnist", "q-res-herm", "fast", 3, 30),
    ("cifar10", "classical", "fast", 2, 10),
    ("cifar10", "q-res-herm", "fast", 2, 10),
]
# The circuit's definition, far slower: one idle thread only, current code only.
PENNYLANE_CASES = [("mnist", "q-res-herm", "pennylane", 1, 6),
                   ("cifar10", "q-res-herm", "pennylane", 1, 2)]
CONDITIONS = {"alone-1t": (1, 1), "alone-2t": (2, 1), "pair-1t": (1, 2)}  # threads, jobs


def sgemm_gflops(n: int = 512, seconds: float = 0.5) -> float:
    """Single-thread float32 matrix product rate (GFLOP/s, CPU time), best of a few."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    a, b = torch.randn(n, n), torch.randn(n, n)
    best, end = 0.0, time.process_time() + seconds
    while time.process_time() < end:
        start = time.process_time()
        for _ in range(4):
            a @ b
        best = max(best, 4 * 2 * n**3 / max(time.process_time() - start, 1e-9) / 1e9)
    torch.set_num_threads(threads)
    return best


def library():
    """This version's outer-iteration module: qdistill.hypergradient, or in older commits
    qdistill.distill (with outer_step, or only outer_loss)."""
    try:
        from qdistill import hypergradient as lib
    except ImportError:
        from qdistill import distill as lib
    return lib


def real_batch_pass(net, theta0, constants, real):
    """The outer loss on the real batch at theta0 (no inner steps) and its gradient in
    theta0: the real-batch pass, as the library of this version computes it."""
    import torch

    lib = library()
    if hasattr(lib, "real_batch_gradient"):
        lib.real_batch_gradient(net, theta0, constants, *real, lib.CPU_REAL_CHUNK)
    elif hasattr(lib, "outer_step"):
        loss, backward = lib.outer_step(net, theta0, constants, [], *real, lib.CPU_REAL_CHUNK)
        backward(list(theta0.values()))
    else:
        loss = lib.outer_loss(net, theta0, constants, [], *real)
        torch.autograd.grad(loss, list(theta0.values()))


def one_iteration(net, theta0, constants, settings, real):
    """One outer iteration's loss and hypergradient at the initial synthetic set."""
    from qdistill import distill
    from qdistill.rng import generator

    lib = library()
    inner = distill
    if not hasattr(distill, "inner_schedule"):
        from qdistill import training as inner
    images, labels, raw_lrs = distill.init_synthetic(settings, generator(0, "synthetic"),
                                                     real[0].dtype)
    images.requires_grad_()
    raw_lrs.requires_grad_()
    epochs = settings.distill.distill_epochs
    if hasattr(lib, "hypergradient"):
        lib.hypergradient([(net, theta0, constants)], images, labels, raw_lrs, epochs, *real,
                          lib.CPU_REAL_CHUNK)
        return
    steps = inner.inner_schedule(images, labels, inner.step_sizes(raw_lrs), epochs)
    if hasattr(lib, "outer_step"):
        _, backward = lib.outer_step(net, theta0, constants, steps, *real, lib.CPU_REAL_CHUNK)
        backward([images, raw_lrs])
    else:
        lib.outer_loss(net, theta0, constants, steps, *real).backward(inputs=[images, raw_lrs])


def run_case(dataset, model, backend, warmup, timed, mirror, data_root, threads) -> dict:
    """One case, in this process: iteration times by difference, FLOPs, the real-batch
    pass on its own, the sgemm yardstick."""
    import inspect

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from qdistill.config import load_config, run_settings
    from qdistill.data import RealBatches, load_dataset
    from qdistill.distill import distill
    try:
        from qdistill.training import split_parameters
    except ImportError:  # the reference commit keeps it in distill.py
        from qdistill.distill import split_parameters
    from qdistill.models import make_network
    from qdistill.rng import generator

    torch.set_num_threads(threads)
    yardstick = sgemm_gflops()
    config = load_config(overrides={"budget": "paper", "device": "cpu", "qnn_backend": backend})
    settings = run_settings(config, dataset, model, 0)
    data = load_dataset(dataset, data_root, mirror)
    net = make_network(settings.model, settings.dataset, 0, backend)
    # spelt out: the reference commit's settings may lack the property
    theta0, constants = split_parameters(
        net, settings.freeze_circuit or settings.model.frozen_circuit)
    real = next(RealBatches(data, settings.dataset, settings.distill.batch_size,
                            generator(0, "bench"), torch.float32))
    with FlopCounterMode(display=False) as count:
        real_batch_pass(net, theta0, constants, real)
    real_flops = count.get_total_flops()
    with FlopCounterMode(display=False) as count:
        one_iteration(net, theta0, constants, settings, real)
    iteration_flops = count.get_total_flops()
    real_cpu = []
    for _ in range(4):
        start = time.process_time()
        real_batch_pass(net, theta0, constants, real)
        real_cpu.append(time.process_time() - start)

    small_log = {"log_test_images": 100, "selection_images": 100} \
        if "selection_images" in inspect.signature(distill).parameters else {}

    def timed_run(iterations):
        wall, cpu = time.perf_counter(), time.process_time()
        result = distill(settings, data, iterations=iterations, log_every=10**9,
                         progress=False, **small_log)
        return time.perf_counter() - wall, time.process_time() - cpu, result

    wall_short, cpu_short, _ = timed_run(warmup)
    wall_long, cpu_long, result = timed_run(warmup + timed)
    cpu_s = (cpu_long - cpu_short) / timed
    times = result.iteration_s[warmup:]
    real_s = statistics.median(real_cpu)
    paper_iterations = round(settings.distill.epochs
                             * math.ceil(len(data.train_labels) / settings.distill.batch_size))
    return {"dataset": dataset, "model": model, "backend": backend,
            "inner_steps": settings.distill.inner_steps, "paper_iterations": paper_iterations,
            # the reference commit's result may be the set itself
            "distilled_images": int(getattr(result, "distilled", result).labels.numel()),
            "batch_size": settings.distill.batch_size, "timed_iterations": timed,
            "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "wall_s_per_iteration": (wall_long - wall_short) / timed,
            "cpu_s_per_iteration": cpu_s,
            "iteration_gflop": iteration_flops / 1e9, "real_batch_gflop": real_flops / 1e9,
            "real_batch_cpu_s": real_s,
            "real_batch_gflops_per_s": real_flops / 1e9 / real_s,
            "iteration_gflops_per_s": iteration_flops / 1e9 / cpu_s,
            "sgemm_gflops_per_s": yardstick,
            "real_batch_fraction_of_sgemm": real_flops / 1e9 / real_s / yardstick,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads(), "torch_version": torch.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


def reference_tree(ref: str) -> tuple[Path, str]:
    """A git worktree of `ref` (made once, reused), and its full commit."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", ref], check=True,
                            capture_output=True, text=True).stdout.strip()
    tree = REPO / "results" / "bench" / f"reference-{commit[:12]}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree),
                        commit], check=True, capture_output=True)
    return tree, commit


def launch(case, threads, args, src: Path) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--case", *map(str, case), "--data-root",
           args.data_root, "--threads", str(threads)]
    if args.mirror:
        cmd += ["--mirror", args.mirror]
    env = dict(os.environ, PYTHONPATH=str(src))  # the version under test comes first
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def finish(proc: subprocess.Popen, case) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"benchmark case {case} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def run_all(args, versions: dict[str, Path]) -> list[dict]:
    records = []
    # rounds: every case of every version once per round, so that a change of the machine's
    # load during the run hits old and new code alike (ratios average over the rounds)
    plan = [(c, cond, v, n) for n in range(args.rounds) for cond in args.conditions
            for c in CASES for v in versions]
    if "alone-1t" in args.conditions and not args.quick:
        plan += [(c, "alone-1t", "current", 0) for c in PENNYLANE_CASES]
    for case, condition, version, round_ in plan:
        if args.quick:
            case = (*case[:3], 1, 2)
        threads, jobs = CONDITIONS[condition]
        procs = [launch(case, threads, args, versions[version]) for _ in range(jobs)]
        results = [finish(p, case) for p in procs]
        for job, r in enumerate(results):
            r.update(condition=condition, version=version, job=job, round=round_)
            records.append(r)
            print(f"{condition:8s} {version:9s} {r['dataset']:8s} {r['model']:11s} "
                  f"{r['backend']:9s} wall {r['wall_s_per_iteration']:.3f} s "
                  f"cpu {r['cpu_s_per_iteration']:.3f} s  real batch "
                  f"{r['real_batch_gflops_per_s']:.1f} GFLOP/s "
                  f"({100 * r['real_batch_fraction_of_sgemm']:.0f}% of sgemm "
                  f"{r['sgemm_gflops_per_s']:.0f})", flush=True)
    return records


def mean_of(records, **match) -> float | None:
    values = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    return statistics.fmean(r["cpu_s_per_iteration"] for r in values) if values else None


def ratios(records: list[dict]) -> dict:
    """The targets: CPU s per iteration new over old (pair condition), the real-batch pass
    as a fraction of sgemm, CIFAR-10 quantum over classical; and how to use 2 cores."""
    out = {}
    for dataset in ("mnist", "cifar10"):
        for model in ("classical", "q-res-herm"):
            key = dict(dataset=dataset, model=model, backend="fast", condition="pair-1t")
            new, old = mean_of(records, version="current", **key), \
                mean_of(records, version="reference", **key)
            if new and old:
                out[f"{dataset}_{model}_pair_cpu_new_over_old"] = new / old
            fractions = [r["real_batch_fraction_of_sgemm"] for r in records
                         if r["version"] == "current" and all(r[k] == v for k, v in key.items())]
            if fractions:
                out[f"{dataset}_{model}_pair_real_batch_fraction_of_sgemm"] = \
                    statistics.fmean(fractions)
    for version in ("current", "reference"):
        q = mean_of(records, version=version, dataset="cifar10", model="q-res-herm",
                    backend="fast", condition="pair-1t")
        c = mean_of(records, version=version, dataset="cifar10", model="classical",
                    backend="fast", condition="pair-1t")
        if q and c:
            out[f"cifar10_quantum_over_classical_pair_{version}"] = q / c
    for dataset in ("mnist", "cifar10"):  # iterations per wall second on the whole machine
        for model in ("classical", "q-res-herm"):
            walls = {cond: [r["wall_s_per_iteration"] for r in records
                            if (r["version"], r["dataset"], r["model"], r["backend"],
                                r["condition"]) == ("current", dataset, model, "fast", cond)]
                     for cond in CONDITIONS}
            if walls["pair-1t"] and walls["alone-2t"]:
                out[f"{dataset}_{model}_throughput_two_1t_jobs_over_one_2t_job"] = (
                    statistics.fmean(walls["alone-2t"]) * 2 / statistics.fmean(walls["pair-1t"]))
    return out


def estimate(records: list[dict], cores=(2, 8, 32)) -> dict:
    """Wall time of the paper budget's Table I distillations in the condition the workflow
    runs in on 2 cores (two one-thread jobs at once: pair-1t wall seconds per iteration),
    every quantum variant costed as q-res-herm. On N cores: N/2 such pairs at once (an
    assumption: more cores share more memory bandwidth)."""
    from qdistill.config import load_config

    config = load_config(overrides={"budget": "paper"})
    seeds = len(config["budgets"]["paper"]["seeds"])
    quantum = [m for m in config["models"] if config["model_variants"][m]["kind"] == "quantum"]
    runs_h, per_run = [], {}
    for dataset in config["datasets"]:
        for model in ("classical", "q-res-herm"):
            rs = [r for r in records if (r["version"], r["dataset"], r["model"], r["backend"],
                                         r["condition"]) == ("current", dataset, model,
                                                             "fast", "pair-1t")]
            if not rs:
                return {"error": f"no pair-1t record of {dataset} {model}"}
            s = statistics.fmean(r["wall_s_per_iteration"] for r in rs)
            cpu = statistics.fmean(r["cpu_s_per_iteration"] for r in rs)
            hours = s * rs[0]["paper_iterations"] / 3600
            per_run[f"{dataset}/{model}"] = {"iterations": rs[0]["paper_iterations"],
                                             "wall_s_per_iteration": s,
                                             "cpu_s_per_iteration": cpu, "hours": hours}
        runs_h += [per_run[f"{dataset}/classical"]["hours"]] * seeds
        runs_h += [per_run[f"{dataset}/q-res-herm"]["hours"]] * seeds * len(quantum)
    total = sum(runs_h)
    return {"assumption": " ".join(estimate.__doc__.split()), "condition": "pair-1t",
            "seeds": seeds, "runs": len(runs_h), "per_run": per_run,
            "total_job_hours": total, "longest_run_hours": max(runs_h),
            "wall_hours_on_cores": {n: max(total / n, max(runs_h)) for n in cores}}


def chart(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    import seaborn as sns

    df = pd.DataFrame(records)
    df = df[df.backend == "fast"]
    df["case"] = df.dataset + " " + df.model
    df["code"] = df.version
    grid = sns.catplot(df, x="case", y="cpu_s_per_iteration", col="condition", hue="code",
                       kind="bar", height=3.2, aspect=1.2, errorbar=None)
    grid.set_axis_labels("", "CPU seconds per outer iteration")
    grid.set_xticklabels(rotation=25)
    grid.figure.suptitle("Distillation at the paper's settings: CPU seconds per iteration "
                         "(pair-1t: two one-thread jobs at once)", y=1.04)
    grid.savefig(path, dpi=130, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--reference", help="git commit to time beside this tree's code")
    parser.add_argument("--quick", action="store_true", help="1 + 2 iterations (a check)")
    parser.add_argument("--conditions", nargs="+", choices=list(CONDITIONS),
                        default=list(CONDITIONS),
                        help="the targets and the estimate need pair-1t only")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times to run every case of every version, alternated")
    parser.add_argument("--out", default="results/bench/bench.json")
    parser.add_argument("--threads", type=int, nargs=1, default=[1], help=argparse.SUPPRESS)
    parser.add_argument("--case", nargs=5, help=argparse.SUPPRESS)  # internal: one case
    args = parser.parse_args()
    if args.case:
        dataset, model, backend, warmup, timed = args.case
        print(json.dumps(run_case(dataset, model, backend, int(warmup), int(timed),
                                  args.mirror, args.data_root, args.threads[0])))
        return
    args.data_root = str(Path(args.data_root).resolve())
    versions = {"current": REPO / "src"}
    meta = {"current_commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                                             capture_output=True, text=True).stdout.strip()}
    if args.reference:
        tree, meta["reference_commit"] = reference_tree(args.reference)
        versions["reference"] = tree / "src"
    meta["sgemm_gflops_per_s_idle"] = sgemm_gflops(seconds=2.0)
    records = run_all(args, versions)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "records": records}, indent=2) + "\n")
    summary = ratios(records)
    out.with_name("ratios.json").write_text(json.dumps(summary, indent=2) + "\n")
    paper = estimate(records)
    out.with_name("estimate.json").write_text(json.dumps(paper, indent=2) + "\n")
    chart(records, out.with_suffix(".png"))
    print(json.dumps(summary, indent=2))
    print(json.dumps(paper, indent=2))


if __name__ == "__main__":
    main()
