"""Reading config.yaml: validation, budget selection, and the settings of one run.

config.yaml is the single source of the protocol, the budgets and the model variants; the
CLI and the Snakemake workflow both come through `load_config` and `run_settings`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "config.yaml"
SCHEMA_PATH = REPO_ROOT / "schemas" / "config.schema.yaml"


@dataclass(frozen=True)
class DatasetFacts:
    """What a dataset's loader delivers; config.yaml's dataset_settings must agree."""
    title: str  # as tables and figures print it
    channels: int
    image_size: int
    classes: tuple[str, ...]  # names, in label order
    train_images: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, image_size, num_classes), as dataset_settings spells them."""
        return self.channels, self.image_size, len(self.classes)


# The one home of the dataset facts: everything else derives from this table.
DATASET_FACTS = {
    "mnist": DatasetFacts("MNIST", 1, 28, tuple(str(d) for d in range(10)), 60_000),
    "cifar10": DatasetFacts("CIFAR-10", 3, 32, ("airplane", "automobile", "bird", "cat", "deer",
                                                "dog", "frog", "horse", "ship", "truck"), 50_000),
}


def dataset_title(name: str) -> str:
    return DATASET_FACTS[name].title if name in DATASET_FACTS else name


class ConfigError(ValueError):
    """A config value is wrong; the message names the file, the key, the value and the fix."""


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    kind: str  # classical | quantum
    residual: bool = False
    observable: str | None = None  # pauliz | hermitian-fixed | hermitian | hermitian-pair
    n_qubits: int = 6
    n_layers: int = 3
    # Extensions; the defaults are the paper's quantum LeNet.
    embedding: str = "amplitude"  # amplitude | angle
    front_end: str = "convolution"  # convolution | quanvolution (in place of C1)
    frozen_circuit: bool = False  # circuit angles stay at their initial values
    quanv_layers: int = 1
    quanv_trainable: bool = False
    # Distilled for one fixed initialisation (the paper) or for fresh random ones drawn
    # every outer iteration (Wang et al.'s unknown_init; config random_init).
    init: str = "fixed"


EXTENSION_FIELDS = ("embedding", "front_end", "frozen_circuit", "quanv_layers",
                    "quanv_trainable", "init")
# The model_variants keys of the extensions, at their values for the paper's model.
VARIANT_DEFAULTS = {"embedding": "amplitude", "front_end": "convolution", "frozen_circuit": False}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    channels: int
    image_size: int
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: bool

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)


@dataclass(frozen=True)
class DistillSettings:
    distill_steps: int
    distill_epochs: int
    images_per_class: int
    distill_lr_init: float
    epochs: float
    decay_epochs: float
    decay_factor: float
    outer_lr: float
    outer_betas: tuple[float, float]
    batch_size: int
    n_nets: int = 1  # fresh initialisations per outer iteration (random init only)
    # Largest norm of the hypergradient (images and step sizes together) that Adam is
    # given; None leaves it unclipped, as Wang et al. (budgets.*.outer_grad_clip).
    outer_grad_clip: float | None = None

    @property
    def inner_steps(self) -> int:
        """T, the number of unrolled inner gradient steps."""
        return self.distill_steps * self.distill_epochs


@dataclass(frozen=True)
class RunSettings:
    """Everything a distillation run's bytes depend on, its identity: stored once, inside
    distilled.pt; a change reruns the run, and a checkpoint resumes only under the same.
    The device is part of it (a GPU rounds differently from a CPU). How a run is watched
    (DistillOptions), its threads and its progress bar are apart: they never change a set."""

    dataset: DatasetSpec
    model: ModelSpec
    distill: DistillSettings | None  # None: normal training on the full set (for_full_data)
    seed: int
    budget: str
    qnn_backend: str
    dtype: str
    device: str
    freeze_circuit: bool

    @property
    def frozen_circuit(self) -> bool:
        """Circuit angles left untrained: everywhere (freeze_circuit) or by the model id."""
        return self.freeze_circuit or self.model.frozen_circuit

    def to_dict(self) -> dict[str, Any]:
        """All settings; the extension fields of the model only where they differ from the
        paper's model, and the distillation's n_nets and outer_grad_clip only where they are
        set, so that the settings of the seven Table I models (a param of their jobs, and the
        identity of their checkpoints) did not change when these came."""
        d = dataclasses.asdict(self)
        defaults = ModelSpec(model_id="", kind="")
        for key in EXTENSION_FIELDS:
            if d["model"][key] == getattr(defaults, key):
                del d["model"][key]
        if d["distill"] is not None:
            for key, default in (("n_nets", 1), ("outer_grad_clip", None)):
                if d["distill"][key] == default:
                    del d["distill"][key]
        return d

    def for_full_data(self) -> "RunSettings":
        """The settings normal training on the full training set depends on: no distillation
        setting, so that changing one (outer_lr, say) never reruns a baseline."""
        return dataclasses.replace(self, distill=None)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSettings":
        ds = dict(d["dataset"])
        ds["mean"], ds["std"] = tuple(ds["mean"]), tuple(ds["std"])
        distill = None
        if d["distill"] is not None:
            distill = DistillSettings(**dict(d["distill"],
                                             outer_betas=tuple(d["distill"]["outer_betas"])))
        rest = {k: v for k, v in d.items() if k not in ("dataset", "model", "distill")}
        return cls(dataset=DatasetSpec(**ds), model=ModelSpec(**d["model"]), distill=distill,
                   **rest)


@functools.cache
def load_schema() -> dict[str, Any]:
    """schemas/config.schema.yaml, read once per process (every check of a config uses it)."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _schema_error_message(source: str, err: jsonschema.ValidationError,
                          schema: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    message = f"{source}: key '{key}': {err.message}. Fix the value in {source} or in --config."
    if err.validator == "additionalProperties" and not err.absolute_path:
        budget_keys = schema["properties"]["budgets"]["additionalProperties"]["properties"]
        for name in sorted((set(err.instance) - set(schema["properties"])) & set(budget_keys)):
            message += (f" '{name}' is a budget's key: budgets.<budget>.{name}, e.g. in a file "
                        f"passed with --configfile: {{budgets: {{quick: {{{name}: ...}}}}}} "
                        "(the budget's other keys stay as config.yaml has them).")
    return message


def type_command_line_values(config: dict[str, Any]) -> None:
    """Give nested `--config` values the types the schema asks for, in place.

    Snakemake parses a nested `--config` value with YAML's BaseLoader, so in
    `--config 'budgets={quick: {seeds: [0, 1]}}'` every number is a string. A string is
    replaced by its YAML reading only where the schema rejects the string and accepts the
    reading, so strings the schema allows (model ids, paths) are never touched."""
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    while True:
        retyped = 0
        for err in validator.iter_errors(config):
            if err.validator != "type" or not isinstance(err.instance, str) or not err.path:
                continue
            try:
                value = yaml.safe_load(err.instance)
            except yaml.YAMLError:
                continue
            if isinstance(value, str) or not jsonschema.Draft202012Validator(
                    err.schema).is_valid(value):
                continue
            *parents, last = err.path
            container = config
            for key in parents:
                container = container[key]
            container[last] = value
            retyped += 1
        if not retyped:
            return


def validate_schema(config: dict[str, Any], source: str = "config.yaml") -> None:
    """Check config against schemas/config.schema.yaml; the first error, one line naming the
    file, the key, the value and the fix (the Snakefile uses this too: a schema error must
    not print the whole schema)."""
    schema = load_schema()
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError(_schema_error_message(source, errors[0], schema))


def check_batch_fits(key: str, size: int, dataset: str, where: str = "") -> None:
    """A batch cannot be larger than the dataset's training set."""
    train_images = DATASET_FACTS[dataset].train_images if dataset in DATASET_FACTS else size
    if size > train_images:
        raise ConfigError(f"{where}key '{key}': {size} is larger than the "
                          f"{train_images} training images of {dataset}; "
                          f"allowed: 1 to {train_images}.")


def _check_variants(config: dict[str, Any], source: str) -> None:
    """Each model variant is complete and its keys fit its kind."""
    variants = config["model_variants"]
    for model_id, spec in variants.items():
        if spec["kind"] == "quantum" and ("residual" not in spec or "observable" not in spec):
            raise ConfigError(f"{source}: key 'model_variants.{model_id}': a quantum variant needs "
                              "both 'residual' (true/false) and 'observable' "
                              "(pauliz | hermitian-fixed | hermitian | hermitian-pair).")
        extension_keys = set(VARIANT_DEFAULTS) & set(spec)
        if spec["kind"] == "classical" and extension_keys:
            raise ConfigError(f"{source}: key 'model_variants.{model_id}': "
                              f"{', '.join(sorted(extension_keys))} only apply to quantum "
                              "variants; remove them or set kind: quantum.")
        if spec.get("observable") == "hermitian-pair" and config["quantum"]["n_qubits"] < 3:
            raise ConfigError(f"{source}: key 'model_variants.{model_id}': observable "
                              "hermitian-pair needs quantum.n_qubits >= 3, got "
                              f"{config['quantum']['n_qubits']}.")


def _check_datasets(config: dict[str, Any], source: str) -> None:
    """Each dataset has settings, and they match what its loader delivers."""
    for name in config["datasets"]:
        if name not in config["dataset_settings"]:
            raise ConfigError(f"{source}: key 'datasets': {name!r} has no entry in dataset_settings.")
    for name, ds in config["dataset_settings"].items():
        shape = (ds["channels"], ds["image_size"], ds["num_classes"])
        if name in DATASET_FACTS and shape != DATASET_FACTS[name].shape:
            raise ConfigError(f"{source}: key 'dataset_settings.{name}': channels, image_size, "
                              f"num_classes are {shape}, but {name} has "
                              f"{DATASET_FACTS[name].shape}; fix them.")
        if not len(ds["mean"]) == len(ds["std"]) == ds["channels"]:
            raise ConfigError(f"{source}: key 'dataset_settings.{name}': mean and std need one "
                              f"value per channel ({ds['channels']}).")


def check_cross_keys(config: dict[str, Any], source: str = "config.yaml") -> None:
    """The rules a schema cannot say: names used in one key must be defined in another."""
    budgets = config["budgets"]
    if config["budget"] not in budgets:
        raise ConfigError(f"{source}: key 'budget': unknown budget {config['budget']!r}; "
                          f"allowed: {', '.join(budgets)}.")
    variants = config["model_variants"]
    for model_id in config["models"]:
        if model_id not in variants:
            raise ConfigError(f"{source}: key 'models': unknown model id {model_id!r}; "
                              f"allowed: {', '.join(variants)} (or define it in model_variants).")
    _check_variants(config, source)
    for model_id in config["cost"]["models"]:
        if variants.get(model_id, {}).get("kind") != "quantum":
            raise ConfigError(f"{source}: key 'cost.models': {model_id!r} is not a quantum model "
                              "of model_variants; allowed: "
                              + ", ".join(m for m, v in variants.items() if v["kind"] == "quantum")
                              + ".")
    extensions = config["extensions"]
    for key in ("models", "transfer_models"):
        for model_id in extensions[key]:
            if model_id not in variants:
                raise ConfigError(f"{source}: key 'extensions.{key}': unknown model id "
                                  f"{model_id!r}; allowed: {', '.join(variants)} (or define "
                                  "it in model_variants).")
    for model_id in config["random_init"]["models"]:
        if variants.get(model_id, {}).get("init") != "random":
            raise ConfigError(f"{source}: key 'random_init.models': {model_id!r} is not a "
                              "model variant with init: random; allowed: "
                              + ", ".join(m for m, v in variants.items()
                                          if v.get("init") == "random") + ".")
    if extensions["models"] and extensions["reference"] not in variants:
        raise ConfigError(f"{source}: key 'extensions.reference': unknown model id "
                          f"{extensions['reference']!r}; allowed: {', '.join(variants)}.")
    if config["baseline"]["model"] not in variants:
        raise ConfigError(f"{source}: key 'baseline.model': unknown model id "
                          f"{config['baseline']['model']!r}; allowed: {', '.join(variants)}.")
    _check_datasets(config, source)
    smallest = min(config["datasets"], key=lambda name: DATASET_FACTS[name].train_images)
    for name, budget in budgets.items():  # any budget may be chosen on the command line
        check_batch_fits(f"budgets.{name}.batch_size", budget["batch_size"], smallest,
                         f"{source}: ")
    check_batch_fits("baseline.batch_size", config["baseline"]["batch_size"], smallest,
                     f"{source}: ")
    mirror = config.get("data_mirror")
    if mirror and not Path(mirror).is_dir():
        raise ConfigError(f"{source}: key 'data_mirror': folder {mirror!r} does not exist; "
                          "point it at a folder holding MNIST/raw/*.gz and/or cifar10/, or set null.")


def validate_config(config: dict[str, Any], source: str = "config.yaml") -> dict[str, Any]:
    """Schema, then cross-key rules. Returns config."""
    validate_schema(config, source)
    check_cross_keys(config, source)
    return config


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """Read config.yaml (default: the repository's), apply top-level overrides, validate."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found; pass --config PATH "
                          f"(the repository's config.yaml is the template).")
    config = yaml.safe_load(path.read_text()) or {}
    for key, value in (overrides or {}).items():
        if value is not None:
            config[key] = value
    return validate_config(config, source=str(path))


def budget_settings(config: dict[str, Any]) -> dict[str, Any]:
    return config["budgets"][config["budget"]]


@dataclass(frozen=True)
class DistillOptions:
    """How a distillation is watched, apart from what it computes (RunSettings): the final
    set never depends on these, so changing them reruns nothing (the kept best set is
    chosen among the log points). Defaults: the library's, for a call without a config."""

    log_every: int = 100  # outer iterations between log points
    checkpoint_every: int = 0  # outer iterations between checkpoints (0: only on SIGTERM)
    log_test_images: int | None = None  # test images measured at a log point (None: all)
    selection_images: int = 10_000  # training images that choose the kept best set

    @classmethod
    def of_budget(cls, config: dict[str, Any]) -> "DistillOptions":
        """The options of the config's budget: what the workflow and the CLI both run."""
        budget = budget_settings(config)
        return cls(**{f.name: budget[f.name] for f in dataclasses.fields(cls)})


def model_spec(config: dict[str, Any], model_id: str) -> ModelSpec:
    variants = config["model_variants"]
    if model_id not in variants:
        raise ConfigError(f"unknown model id {model_id!r}; allowed: {', '.join(variants)}.")
    spec = variants[model_id]
    if spec["kind"] == "classical":
        return ModelSpec(model_id=model_id, kind="classical", init=spec.get("init", "fixed"))
    spec = {**VARIANT_DEFAULTS, **spec}
    # the quanvolution settings belong to the models that have one (and rerun only those)
    quanv = ({"quanv_layers": config["quanvolution"]["n_layers"],
              "quanv_trainable": config["quanvolution"]["trainable"]}
             if spec["front_end"] == "quanvolution" else {})
    return ModelSpec(model_id=model_id, kind="quantum", residual=spec["residual"],
                     observable=spec["observable"], n_qubits=config["quantum"]["n_qubits"],
                     n_layers=config["quantum"]["n_layers"], embedding=spec["embedding"],
                     front_end=spec["front_end"], frozen_circuit=spec["frozen_circuit"],
                     init=spec.get("init", "fixed"), **quanv)


def dataset_spec(config: dict[str, Any], name: str) -> DatasetSpec:
    settings = config["dataset_settings"]
    if name not in settings:
        raise ConfigError(f"unknown dataset {name!r}; allowed: {', '.join(settings)}.")
    ds = settings[name]
    return DatasetSpec(name=name, channels=ds["channels"], image_size=ds["image_size"],
                       num_classes=ds["num_classes"], mean=tuple(ds["mean"]),
                       std=tuple(ds["std"]), augment=ds["augment"])


def run_settings(config: dict[str, Any], dataset: str, model_id: str, seed: int) -> RunSettings:
    """Resolve the settings of one run (dataset x model x seed) under the chosen budget."""
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}.")
    dspec = dataset_spec(config, dataset)
    ds = config["dataset_settings"][dataset]
    budget = budget_settings(config)
    check_batch_fits(f"budgets.{config['budget']}.batch_size", budget["batch_size"], dataset)
    model = model_spec(config, model_id)
    # random initialisations need more images (Wang et al.'s defaults): config random_init
    random = config["random_init"] if model.init == "random" else {}
    distill = DistillSettings(
        distill_steps=random.get("distill_steps", ds["distill_steps"]),
        distill_epochs=ds["distill_epochs"],
        images_per_class=ds["images_per_class"], distill_lr_init=float(ds["distill_lr_init"]),
        epochs=float(budget["epochs"]), decay_epochs=float(budget["decay_epochs"]),
        decay_factor=float(budget["decay_factor"]), outer_lr=float(budget["outer_lr"]),
        outer_betas=tuple(float(b) for b in budget["outer_betas"]),
        batch_size=budget["batch_size"], n_nets=random.get("n_nets", 1),
        outer_grad_clip=budget.get("outer_grad_clip"))
    return RunSettings(dataset=dspec, model=model, distill=distill,
                       seed=seed, budget=config["budget"], qnn_backend=config["qnn_backend"],
                       dtype=config["dtype"], device=config["device"],
                       freeze_circuit=config["freeze_circuit"])
