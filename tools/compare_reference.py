"""Compare this project's models and distillation step with the authors' own code.

    python tools/compare_reference.py PATH [--seed 1] [--images 128] [--out FILE]

PATH is a checkout of github.com/KoustubhPhalak/dataset-distillation-qnn (the paper's fork
of Wang et al.'s dataset-distillation), provided by the user: it is imported from PATH,
never copied here. From THEIR QNN and LeNet, built by their own code at a seed (as their
main.py does at --base_seed SEED), the weights are copied into this project's
`q-res-herm-frozen` and `classical` models (built by qdistill's make_network from the
config), and in float64 the tool compares

  - logits (and the QNN layer's expectation values) on real MNIST training images;
  - the outer loss after the T = 3 inner steps from the same synthetic images and step
    sizes: ours by qdistill.hypergradient.hypergradient (what every outer iteration runs),
    theirs by their train_distilled_image.Trainer.forward (their inner loop);
  - the parameters after the T steps, and the hypergradients with respect to the images and
    the (raw, pre-softplus) step sizes: theirs by Trainer.backward + accumulate_grad.

It prints a table of max absolute and relative differences (relative: max |ours - theirs|
/ max |theirs|) and writes it as JSON with --out. Exit status: 0 all within --tolerance,
1 a difference beyond it, 2 a bad PATH or their code failing (the message names their
file, line and error).

Their code needs `six` (networks/utils.py: six.add_metaclass; datasets/pascal_voc.py:
six.moves.urllib.parse), which the pinned environment does not have; when it is missing the
tool puts a minimal stand-in into sys.modules (add_metaclass, six.moves.urllib.parse) and
reports it. Nothing in PATH is ever written.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import traceback
import types
import urllib.parse
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from qdistill.config import load_config, run_settings
from qdistill.data import DataError, load_dataset, normalize
from qdistill.distill import init_synthetic
from qdistill.hypergradient import hypergradient
from qdistill.models import make_network
from qdistill.rng import generator
from qdistill.training import (
    inner_schedule,
    inverse_softplus,
    split_parameters,
    step_sizes,
    torch_dtype,
    train_steps,
)

REPO = Path(__file__).resolve().parent.parent
UPSTREAM = "https://github.com/KoustubhPhalak/dataset-distillation-qnn"
REQUIRED_FILES = ("networks/__init__.py", "networks/networks.py", "networks/utils.py",
                  "basics.py", "train_distilled_image.py")
# Their top-level modules: imported from PATH, and taken out of sys.modules again on failure.
REFERENCE_MODULES = ("networks", "basics", "utils", "datasets", "train_distilled_image")

# Their parameter name (prefix) -> ours, per pair of models. Their QNN's `matrix` (6, 2, 2, 2)
# is ours `qnn.observable_raw` unchanged: their herm_matrix(i) concatenates matrix[i, r, 0]
# and matrix[i, r, 1] (two (re, im) pairs) and views them as complex, so
# A_i[r, c] = matrix[i, r, c, 0] + 1j * matrix[i, r, c, 1], H_i = (A_i + conj(A_i).T) / 2;
# ours (quantum.hermitian_from_raw) is A = view_as_complex(raw), H = (A + A^H) / 2: the same
# 8 reals in the same places. `qnns.weights` is the TorchLayer's (3, 6, 3) angles in
# StronglyEntanglingLayers order, ours `qnn.angles`; the angles the circuit actually uses are
# those of the TorchLayer's own qnode_weights dict (see their_parameters).
QNN_MAP = {"matrix": "qnn.observable_raw", "alpha": "alpha", "conv1": "trunk.conv1",
           "conv2": "trunk.conv2", "fc1": "trunk.fc1", "fc2": "fc2", "qnns.weights": "qnn.angles",
           "fc3": "fc3", "fc_residual": "fc_res", "fc_final": "fc_final"}
LENET_MAP = {"conv1": "trunk.conv1", "conv2": "trunk.conv2", "fc1": "trunk.fc1", "fc2": "fc2",
             "fc3": "fc3"}
# (their arch, our model id, name map)
PAIRS = (("QNN", "q-res-herm-frozen", QNN_MAP), ("LeNet", "classical", LENET_MAP))


class CheckoutError(ValueError):
    """PATH is not a usable checkout of the authors' code; the message says how to get one."""


class ReferenceBroken(RuntimeError):
    """Their code failed under the pinned versions: `stage`, and `where` (their file:line and
    source line, plus the innermost frame when that lies outside their code)."""

    def __init__(self, stage: str, where: str, error: BaseException):
        self.stage, self.where = stage, where
        self.error = f"{type(error).__name__}: {error}"
        super().__init__(f"their code failed at stage '{stage}': {where}\n  {self.error}")


def check_checkout(path: str | Path) -> Path:
    """The resolved checkout folder, or a CheckoutError naming the path and the fix."""
    path = Path(path).expanduser().resolve()
    get_it = (f"Get the authors' code with `git clone {UPSTREAM} {path}` (outside this "
              "repository) and pass that folder.")
    if not path.is_dir():
        raise CheckoutError(f"{path}: no such directory. {get_it}")
    if path == REPO or REPO in path.parents:
        raise CheckoutError(f"{path} lies inside this repository ({REPO}); the authors' code "
                            f"is never vendored here. {get_it}")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise CheckoutError(f"{path} is not a checkout of {UPSTREAM}: it lacks "
                            f"{', '.join(missing)}. {get_it}")
    if "class QNN" not in (path / "networks/networks.py").read_text(errors="replace"):
        raise CheckoutError(f"{path}/networks/networks.py has no QNN: this is Wang et al.'s "
                            f"dataset-distillation, not the paper's quantum fork. {get_it}")
    return path


def six_stand_in() -> dict[str, types.ModuleType]:
    """The two pieces of `six` their code uses: add_metaclass (rebuild the class with the
    metaclass, as six does) and six.moves.urllib.parse (Python 3's urllib.parse)."""
    def add_metaclass(metaclass):
        def wrapper(cls):
            body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
            return metaclass(cls.__name__, cls.__bases__, body)
        return wrapper

    six, moves, urllib_ = (types.ModuleType(n) for n in ("six", "six.moves", "six.moves.urllib"))
    six.__path__, moves.__path__, urllib_.__path__ = [], [], []  # packages, for `from six.x`
    six.add_metaclass, six.moves, moves.urllib, urllib_.parse = (add_metaclass, moves, urllib_,
                                                                 urllib.parse)
    return {"six": six, "six.moves": moves, "six.moves.urllib": urllib_,
            "six.moves.urllib.parse": urllib.parse}


def frame_text(frame: traceback.FrameSummary, name: str | Path) -> str:
    return f"{name}:{frame.lineno}: {(frame.line or '').strip()}"


def where_in(err: BaseException, root: Path) -> str:
    """`file:line: source` of the last frame in their code (and the innermost frame when it
    lies elsewhere, e.g. inside PennyLane)."""
    frames = traceback.extract_tb(err.__traceback__)
    theirs = [f for f in frames if Path(f.filename).resolve().is_relative_to(root)]
    parts = [frame_text(f, Path(f.filename).resolve().relative_to(root)) for f in theirs[-1:]]
    if frames and (not theirs or frames[-1] is not theirs[-1]):
        parts.append("innermost " + frame_text(frames[-1], frames[-1].filename))
    return " | ".join(parts) or "(no frame)"


@contextlib.contextmanager
def reference_stage(stage: str, root: Path, caught: list[str]):
    """Run one stage of their code: an exception becomes ReferenceBroken naming their file,
    line and error; warnings are collected into `caught` (deprecations of the pins)."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            yield
        except Exception as err:
            raise ReferenceBroken(stage, where_in(err, root), err) from err
        finally:
            for w in records:
                line = f"{stage}: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                if line not in caught:
                    caught.append(line)


def import_reference(root: Path, report: dict, patch: bool = True) -> SimpleNamespace:
    """Their networks and train_distilled_image modules, imported from `root`. With `patch`,
    a missing `six` gets the stand-in (recorded in report["patches"]). On failure their
    modules, the stand-in and PATH leave sys.modules and sys.path again, and ReferenceBroken
    (or CheckoutError, for a module found elsewhere) says what broke."""
    before = set(sys.modules)
    for name in REFERENCE_MODULES:  # a same-named module from elsewhere must not be reused
        sys.modules.pop(name, None)
    if patch and importlib.util.find_spec("six") is None:
        sys.modules.update(six_stand_in())
        report["patches"].append(
            "six is not installed (their networks/utils.py:7 `from six import add_metaclass`, "
            "datasets/pascal_voc.py:15 `from six.moves.urllib.parse import urlparse`): a "
            "stand-in module provides add_metaclass and six.moves.urllib.parse")
    sys.path.insert(0, str(root))
    try:
        with reference_stage("import", root, report["warnings"]):
            modules = SimpleNamespace(networks=importlib.import_module("networks"),
                                      trainer=importlib.import_module("train_distilled_image"))
        for name in REFERENCE_MODULES:
            where = getattr(sys.modules.get(name), "__file__", None)
            if where is not None and not Path(where).resolve().is_relative_to(root):
                raise CheckoutError(f"module {name!r} was imported from {where}, not from "
                                    f"{root}; run the tool from a clean interpreter.")
        return modules
    except BaseException:
        sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            if name.split(".")[0] in REFERENCE_MODULES + ("six",):
                del sys.modules[name]
        raise


def reference_state(arch: str, settings, dtype: torch.dtype) -> SimpleNamespace:
    """The attributes of their option `state` that get_networks, the networks, init_weights,
    task_loss and Trainer read, with the values main.py's options give MNIST (`--mode
    distill_basic --arch ARCH`, xavier init with gain 1, one net, no distribution)."""
    d, ds = settings.distill, settings.dataset
    return SimpleNamespace(
        arch=arch, mode="distill_basic", device=torch.device("cpu"), dropout=False,
        nc=ds.channels, input_size=ds.image_size, num_classes=ds.num_classes,
        init="xavier", init_param=1.0, local_n_nets=1, n_nets=1, sample_n_nets=1,
        distill_steps=d.distill_steps, distill_epochs=d.distill_epochs,
        distilled_images_per_class_per_step=d.images_per_class,
        distill_lr=d.distill_lr_init, lr=d.outer_lr, decay_epochs=int(d.decay_epochs),
        decay_factor=d.decay_factor, distributed=False, dtype=dtype)


def build_reference(ref: SimpleNamespace, state: SimpleNamespace, seed: int):
    """Their network at --base_seed `seed`: main.py's set_state seeds torch, numpy and random,
    then get_networks builds the net and re-initialises it (reset)."""
    torch.random.default_generator.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    net, = ref.networks.get_networks(state, N=1, arch=state.arch)
    return net.to(state.dtype)


def their_parameters(net, flat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Their parameters by qualified name, unflattened from their single flat vector
    (ReparamModule.flat_w, or `flat`: the weights after some steps)."""
    flat = net.flat_w.detach() if flat is None else flat.detach()
    names = {id(m): name for name, m in net.named_modules()}
    chunks = flat.split(net._weights_numels)
    return {".".join(filter(None, (names[id(m)], n))): c.view(s) for (m, n), c, s
            in zip(net._weights_module_names, chunks, net._weights_shapes, strict=True)}


def map_name(name: str, mapping: dict[str, str]) -> str:
    for theirs, ours in mapping.items():
        if name == theirs or name.startswith(theirs + "."):
            return ours + name[len(theirs):]
    raise KeyError(f"no counterpart for their parameter {name!r}")


def copy_weights(theirs: dict[str, torch.Tensor], net: torch.nn.Module,
                 mapping: dict[str, str]) -> None:
    """Copy their weights into our net; every one of our parameters must get exactly one."""
    ours = dict(net.named_parameters())
    targets = {map_name(name, mapping): t for name, t in theirs.items()}
    if set(targets) != set(ours):
        raise KeyError(f"parameter sets differ: only theirs {sorted(set(targets) - set(ours))}, "
                       f"only ours {sorted(set(ours) - set(targets))}")
    with torch.no_grad():
        for name, value in targets.items():
            if ours[name].shape != value.shape:
                raise ValueError(f"{name}: ours {tuple(ours[name].shape)}, theirs "
                                 f"{tuple(value.shape)}")
            ours[name].copy_(value)


def difference(ours: torch.Tensor, theirs: torch.Tensor) -> dict:
    ours, theirs = ours.detach().double(), theirs.detach().double().reshape(ours.shape)
    max_abs = (ours - theirs).abs().max().item()
    scale = theirs.abs().max().item()
    return {"shape": list(ours.shape), "max_abs": max_abs,
            "rel": max_abs / scale if scale else max_abs, "max_theirs": scale}


def build_pair(ref, arch: str, model_id: str, mapping: dict[str, str], backend: str, args,
               report: dict) -> SimpleNamespace:
    """Their network `arch` at the seed, and our `model_id` (on `backend`) made by
    make_network from the config, holding their weights, split as the distillation splits it."""
    dtype = torch_dtype(args.dtype)
    config = load_config(overrides={"dtype": args.dtype, "device": "cpu", "qnn_backend": backend})
    settings = run_settings(config, "mnist", model_id, args.seed)
    state = reference_state(arch, settings, dtype)
    with reference_stage(f"build {arch}", args.checkout, report["warnings"]):
        theirs = build_reference(ref, state, args.seed)
        their_init = their_parameters(theirs)
    if arch == "QNN":
        # The circuit reads the TorchLayer's own weight dict, not the copy in flat_w (the two
        # are equal at init; only the dict's is ever used, and it never changes).
        used = theirs.qnns.qnode_weights["weights"].detach()
        report["checks"]["QNN: flat_w angles == TorchLayer angles at init"] = bool(
            torch.equal(their_init["qnns.weights"].to(used), used))
        their_init = {**their_init, "qnns.weights": used}
    net = make_network(settings.model, settings.dataset, settings.seed, settings.qnn_backend,
                       dtype, "cpu")
    copy_weights(their_init, net, mapping)
    theta0, constants = split_parameters(net, settings.frozen_circuit)
    if arch == "QNN":
        report["checks"][f"{model_id}: circuit angles frozen"] = (
            settings.frozen_circuit and "qnn.angles" in constants)
    return SimpleNamespace(arch=arch, mapping=mapping, settings=settings, state=state,
                           theirs=theirs, their_init=their_init, net=net, theta0=theta0,
                           constants=constants)


@torch.no_grad()
def forward_rows(pair: SimpleNamespace, x: torch.Tensor, args, report: dict) -> list[dict]:
    """Logits at theta0 on real images (and, for the QNN, the quantum layer alone)."""
    net, theirs = pair.net, pair.theirs
    with reference_stage(f"forward {pair.arch}", args.checkout, report["warnings"]):
        their_logits = theirs(x)
    rows = [{"quantity": "logits at theta0", **difference(net(x), their_logits)}]
    if pair.arch == "QNN":  # on our F2 features; their herm_matrix reads .matrix, which only
        h = net.fc2(net.trunk(x))  # exists inside their unflatten_weight
        with (reference_stage("QNN layer", args.checkout, report["warnings"]),
              theirs.unflatten_weight(theirs.flat_w)):
            their_q = theirs.qnns(h)
        rows.append({"quantity": "QNN expvals at theta0", **difference(net.qnn(h), their_q)})
    return rows


def distill_rows(ref, pair: SimpleNamespace, x: torch.Tensor, y: torch.Tensor, args,
                 report: dict) -> list[dict]:
    """The T inner steps from the same synthetic images and step sizes, the outer loss on
    (x, y) and its gradients: ours as Distillation.step, theirs by their Trainer."""
    settings, dtype = pair.settings, torch_dtype(args.dtype)
    epochs = settings.distill.distill_epochs
    images, labels, raw_lrs = init_synthetic(settings, generator(args.seed, "synthetic"), dtype)
    if args.lrs:
        if len(args.lrs) != settings.distill.inner_steps:
            raise SystemExit(f"--lrs needs {settings.distill.inner_steps} step sizes")
        raw_lrs = torch.tensor([inverse_softplus(lr) for lr in args.lrs], dtype=dtype)
    images.requires_grad_()
    raw_lrs.requires_grad_()

    # Ours: the outer loss and its reverse-mode hypergradient, as every outer iteration.
    loss = hypergradient([(pair.net, pair.theta0, pair.constants)], images, labels, raw_lrs,
                         epochs, x, y, args.chunk)
    steps = inner_schedule(images.detach(), labels, step_sizes(raw_lrs.detach()), epochs)
    ours_t = {**train_steps(pair.net, pair.theta0, pair.constants, steps, create_graph=False),
              **pair.constants}

    # Theirs: their Trainer's inner loop (forward) and hand-written reverse pass (backward,
    # accumulate_grad), on our images and step sizes in place of its own random ones.
    with reference_stage(f"distill step {pair.arch}", args.checkout, report["warnings"]):
        trainer = ref.trainer.Trainer(pair.state, [pair.theirs])
        report["checks"][f"{pair.arch}: their distilled labels == ours"] = bool(
            torch.equal(torch.stack(trainer.labels), labels))
        trainer.data = [img.detach().clone().requires_grad_() for img in images]
        trainer.raw_distill_lrs = raw_lrs.detach().clone().view(-1, 1).requires_grad_()
        trainer.params = trainer.data + [trainer.raw_distill_lrs]
        their_steps = trainer.get_steps()
        their_loss, saved = trainer.forward(pair.theirs, x, y, their_steps)
        trainer.accumulate_grad([trainer.backward(pair.theirs, x, y, their_steps, saved)])
    their_t = their_parameters(pair.theirs, saved[1][-1])  # saved = (loss, [w_0..w_T], gws)
    if pair.arch == "QNN":  # PAPER.md: their circuit angles never move
        moved = their_t["qnns.weights"] - pair.their_init["qnns.weights"].to(dtype)
        report["checks"]["QNN: their circuit angles unchanged after T steps"] = bool(
            moved.abs().max() == 0)

    rows = [{"quantity": f"theta_T {map_name(name, pair.mapping)}",
             **difference(ours_t[map_name(name, pair.mapping)], their_t[name])}
            for name in sorted(their_t)]
    their_grad = torch.stack([d.grad for d in trainer.data])
    return rows + [{"quantity": "outer loss", **difference(loss, their_loss)},
                   {"quantity": "d loss / d images", **difference(images.grad, their_grad)},
                   {"quantity": "d loss / d raw step sizes",
                    **difference(raw_lrs.grad, trainer.raw_distill_lrs.grad)}]


def compare_pair(ref, arch: str, model_id: str, mapping: dict[str, str], backend: str, args,
                 real: tuple[torch.Tensor, torch.Tensor], report: dict) -> list[dict]:
    """All rows of one pair of models (theirs `arch`, ours `model_id` on `backend`)."""
    pair = build_pair(ref, arch, model_id, mapping, backend, args, report)
    rows = forward_rows(pair, real[0], args, report) + distill_rows(ref, pair, *real, args,
                                                                    report)
    label = {"model": model_id, "backend": backend if arch == "QNN" else "-"}
    return [{**label, **r} for r in rows]


def checkout_commit(root: Path) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def print_table(rows: list[dict]) -> None:
    # theta_T rows per tensor are many: the table shows their maximum, the JSON all of them
    shown, theta = [], {}
    for r in rows:
        if r["quantity"].startswith("theta_T "):
            key = (r["model"], r["backend"])
            if key not in theta or r["rel"] > theta[key]["rel"]:
                theta[key] = {**r, "quantity": f"theta_T (worst: {r['quantity'][8:]})"}
        else:
            shown.append(r)
    shown += theta.values()
    shown.sort(key=lambda r: (r["model"], r["backend"]))
    print(f"{'model':18} {'backend':9} {'quantity':44} {'max abs diff':>13} {'rel diff':>10}")
    for r in shown:
        print(f"{r['model']:18} {r['backend']:9} {r['quantity']:44} {r['max_abs']:13.3e} "
              f"{r['rel']:10.3e}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    mirror = os.environ.get("QDISTILL_DATA_MIRROR", str(REPO.parent / "shared" / "datasets"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkout", help=f"a checkout of {UPSTREAM}")
    p.add_argument("--seed", type=int, default=1, help="their --base_seed (default 1, theirs)")
    p.add_argument("--images", type=int, default=128, help="real MNIST training images")
    p.add_argument("--chunk", type=int, default=64,
                   help="our real-batch chunk (real_batch_gradient); below --images tests the chunking")
    p.add_argument("--lrs", type=lambda s: [float(v) for v in s.split(",")], default=None,
                   help="the T inner step sizes, comma-separated (default: the config's "
                   "distill_lr_init for every step, where every distillation starts)")
    p.add_argument("--backends", default="fast,pennylane",
                   help="our QNN backends to compare, comma-separated")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--tolerance", type=float, default=None,
                   help="largest relative difference accepted (default 1e-9 in float64, "
                   "1e-4 in float32)")
    p.add_argument("--data-root", default=str(Path(tempfile.gettempdir()) / "qdistill-data"))
    p.add_argument("--data-mirror", default=mirror)
    p.add_argument("--no-patches", action="store_true",
                   help="run their code exactly as it is (no stand-in for a missing `six`): "
                   "shows what breaks under the pinned environment")
    p.add_argument("--out", help="write the table as JSON here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = 1e-9 if args.dtype == "float64" else 1e-4
    report = {"checkout": None, "commit": None, "dtype": args.dtype, "seed": args.seed,
              "images": args.images, "chunk": args.chunk, "lrs": args.lrs,
              "torch": torch.__version__, "pennylane": None, "tolerance": tolerance,
              "patches": [], "warnings": [], "checks": {}, "rows": [], "status": None}

    def finish(status: str, code: int) -> int:
        report["status"] = status
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
        return code

    try:
        args.checkout = check_checkout(args.checkout)
        report["checkout"], report["commit"] = str(args.checkout), checkout_commit(args.checkout)
        ref = import_reference(args.checkout, report, patch=not args.no_patches)
        import pennylane

        report["pennylane"] = pennylane.__version__
        data = load_dataset("mnist", args.data_root, args.data_mirror)
        settings = run_settings(load_config(), "mnist", "classical", args.seed)
        d = settings.distill
        report["lrs"] = args.lrs or [d.distill_lr_init] * d.inner_steps
        real = (normalize(data.train_images[:args.images], settings.dataset,
                          torch_dtype(args.dtype)), data.train_labels[:args.images])
        for arch, model_id, mapping in PAIRS:
            for backend in (args.backends.split(",") if arch == "QNN" else ["fast"]):
                report["rows"] += compare_pair(ref, arch, model_id, mapping, backend, args,
                                               real, report)
    except CheckoutError as err:
        print(f"error: {err}", file=sys.stderr)
        return finish(f"bad checkout: {err}", 2)
    except DataError as err:  # no MNIST: --data-mirror names the fix
        print(f"error: {err}", file=sys.stderr)
        return finish(f"no data: {err}", 2)
    except ReferenceBroken as err:
        print(f"error: {err}", file=sys.stderr)
        report["broken"] = {"stage": err.stage, "where": err.where, "error": err.error}
        return finish("their code failed", 2)
    for note in report["patches"]:
        print(f"patched: {note}")
    for line in report["warnings"]:
        print(f"warning from their stage {line}")
    for check, value in report["checks"].items():
        print(f"check: {check}: {value}")
    print_table(report["rows"])
    worst = max(r["rel"] for r in report["rows"])
    failed = [c for c, v in report["checks"].items() if v is False]
    ok = worst <= tolerance and not failed
    print(f"worst relative difference {worst:.3e} (tolerance {tolerance:.0e}); failed checks: "
          f"{failed or 'none'}")
    return finish("ok" if ok else "differences beyond tolerance", 0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
