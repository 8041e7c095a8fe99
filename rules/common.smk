# Names and input functions shared by the rules. Which runs exist: datasets x models x
# seeds of config.yaml (seeds from the chosen budget), or with shipped_runs the runs of the
# budget shipped in published/ (docs/paper.md, "The runs and the campaign"), never
# distilled again.

BUDGET = config["budgets"][config["budget"]]
MODELS = config["models"]
SEEDS = BUDGET["seeds"]
DATA_ROOT = config["data_root"]
RESULTS = config["results"] or f"results/{config['budget']}"
RUN = f"{RESULTS}/runs/{{dataset}}/{{model}}/seed{{seed}}"
TABLES = f"{RESULTS}/tables"
# The report's first page, written by the landing rule (rules/report.smk).
LANDING = f"{RESULTS}/report_landing.rst"
FIGURES = f"{RESULTS}/figures"
SHIPPED_RUNS = config["shipped_runs"]
SHIPPED = os.path.join(workflow.basedir, "published", config["budget"])

if SHIPPED_RUNS:
    SHIPPED_LIST = shipped_runs(os.path.dirname(SHIPPED), config["budget"])
    for r in SHIPPED_LIST:  # a damaged shipped file is named here, before anything runs
        try:
            check_shipped_run(run_folder(os.path.dirname(SHIPPED), config["budget"], **r))
        except ArtifactError as err:
            raise WorkflowError(str(err))
    MODELS = table1_models(config, SHIPPED_LIST)
    RUNS = [r for r in SHIPPED_LIST if r["dataset"] in config["datasets"] and r["model"] in MODELS]
    DATASETS = [d for d in config["datasets"] if any(r["dataset"] == d for r in RUNS)]
    if not RUNS:
        raise WorkflowError(
            f"shipped_runs: no run of {MODELS} on {config['datasets']} is "
            f"shipped in {SHIPPED}; ship some (docs/paper.md, 'The runs and the campaign') or "
            "set shipped_runs to false."
        )
else:
    DATASETS = config["datasets"]
    RUNS = [{"dataset": d, "model": m, "seed": s} for d in DATASETS for m in MODELS for s in SEEDS]


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(re.escape(m) for m in config["model_variants"]),
    seed=r"\d+",
    steps=r"\d+",
    per_class=r"\d+",


def all_runs(filename, models=MODELS):
    return [f"{RUN}/{filename}".format(**r) for r in RUNS if r["model"] in models]


QUANTUM_MODELS = [m for m in MODELS if config["model_variants"][m]["kind"] == "quantum"]
# Beyond the paper (rules/extensions.smk, rules/transfer.smk)
EXTENSION_MODELS = config["extensions"]["models"]
EXTENSION_REFERENCE = config["extensions"]["reference"]
TRANSFER_MODELS = config["extensions"]["transfer_models"]
RANDOM_INIT_MODELS = config["random_init"]["models"]
# every distilled model gets its image grid: Table I's, the extensions', the random-init ones
GRID_MODELS = list(dict.fromkeys([*MODELS, *EXTENSION_MODELS, *RANDOM_INIT_MODELS]))
COST_MODELS = [m for m in config["cost"]["models"] if m in MODELS]


def transfer_runs():
    """The runs whose sets the transfer table trains from unseen initialisations: those of
    TRANSFER_MODELS (with shipped_runs, those shipped)."""
    if SHIPPED_RUNS:
        return [r for r in RUNS if r["model"] in TRANSFER_MODELS]
    return [
        {"dataset": d, "model": m, "seed": s}
        for d in DATASETS
        for m in TRANSFER_MODELS
        for s in SEEDS
    ]


def quantum_runs(filename):
    return all_runs(filename, QUANTUM_MODELS)


BASELINE = f"{RESULTS}/baselines/{{dataset}}/seed{{seed}}.json"
SHIPPED_BASELINE = f"{SHIPPED}/baselines/{{dataset}}/seed{{seed}}.json"


def all_baselines():
    """The full-data ceilings; with shipped_runs, those shipped."""
    ceilings = expand(BASELINE, dataset=DATASETS, seed=SEEDS)
    if SHIPPED_RUNS:
        shipped = expand(SHIPPED_BASELINE, dataset=DATASETS, seed=SEEDS)
        ceilings = [c for c, s in zip(ceilings, shipped) if os.path.exists(s)]
    return ceilings


def grid_runs():
    """The run whose distilled images get a figure, per dataset and model: the first seed
    (Table I's and the extension models'; with shipped_runs, the first shipped seed)."""
    if SHIPPED_RUNS:
        first = {}
        for r in RUNS:
            first.setdefault((r["dataset"], r["model"]), r)
        return list(first.values())
    return [{"dataset": d, "model": m, "seed": SEEDS[0]} for d in DATASETS for m in GRID_MODELS]


def labelled_pngs(figures, caption, category):
    """Named outputs {stem: FIGURES/stem.png} for figures {stem: (dataset, labels)}, each in
    the report under its dataset with its own labels (one report flag on a list would show
    bare file names)."""
    return {
        stem: report(
            f"{FIGURES}/{stem}.png",
            caption=caption,
            category=category,
            subcategory=dataset_title(dataset),
            labels=labels,
        )
        for stem, (dataset, labels) in figures.items()
    }


def per_dataset_pngs(kind, caption, category):
    return labelled_pngs(
        {f"{kind}_{d}": (d, {"dataset": dataset_title(d)}) for d in DATASETS}, caption, category
    )


@functools.lru_cache(maxsize=None)
def package_imports(path):
    """The qdistill module files that the file at path imports, relative imports and
    subpackages included (imports under `if TYPE_CHECKING:` never run and are left out).
    Cached: each file is parsed once per workflow start, however many rules ask."""
    src = os.path.join(workflow.basedir, "src")
    with open(path) as handle:
        tree = ast.parse(handle.read())
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for n in ast.walk(block)
    }
    # the package a relative import starts from: the file's folder under src/
    here = os.path.relpath(os.path.dirname(path), src).split(os.sep)
    files = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or id(node) in typing_only:
            continue
        if node.level:
            parts = here[: len(here) - node.level + 1] + (node.module or "").split(".")
        else:
            parts = (node.module or "").split(".")
        parts = [p for p in parts if p]
        if not parts or parts[0] != "qdistill":
            continue  # not the package
        base = os.path.join(src, *parts)
        files += [f"{base}.py", os.path.join(base, "__init__.py")]
        # `from package import module`: the names may be modules
        files += [os.path.join(base, f"{alias.name}.py") for alias in node.names]
    return tuple(f for f in files if os.path.isfile(f))


def job_code(script):
    """scripts/{script} and every qdistill module it runs (followed through the package's
    imports): inputs of a job, so that a change of its code reruns it. Distillations and
    full-data trainings (hours each) do not get them; their code is recorded with the run."""
    todo, found = [os.path.join(workflow.basedir, "scripts", script)], set()
    while todo:
        path = todo.pop()
        if path in found or not os.path.exists(path):
            continue
        found.add(path)
        todo += package_imports(path)
    return sorted(found)


def manifest(wildcards):
    return f"{DATA_ROOT}/{wildcards.dataset}.manifest.json"


# Real-image baselines, one file per dataset, seed and labels layout (rule summary_sets)
SUMMARY_SETS = f"{RESULTS}/summary_sets/{{dataset}}/seed{{seed}}-{{steps}}x{{per_class}}.pt"


def summary_sets_of_run(wildcards):
    distill = run_settings(config, wildcards.dataset, wildcards.model, int(wildcards.seed)).distill
    return SUMMARY_SETS.format(
        dataset=wildcards.dataset,
        seed=wildcards.seed,
        steps=distill.distill_steps,
        per_class=distill.images_per_class,
    )


def settings_of_run(wildcards):
    """Every setting of one run; as a param it also reruns the job when any changes."""
    return run_settings(config, wildcards.dataset, wildcards.model, int(wildcards.seed)).to_dict()


# Normal training on the full set (baseline, full_data): no distillation setting in the param
def settings_of_full_data(wildcards):
    return (
        run_settings(config, wildcards.dataset, wildcards.model, int(wildcards.seed))
        .for_full_data()
        .to_dict()
    )


def settings_of_baseline(wildcards):
    return (
        run_settings(config, wildcards.dataset, config["baseline"]["model"], int(wildcards.seed))
        .for_full_data()
        .to_dict()
    )


# Minutes a job may run, for cluster schedulers: outer iterations x seconds per iteration,
# from `make bench` (pair-1t: two one-thread jobs at once, fast path, wall s per iteration:
# at most 0.17 MNIST, 0.65 CIFAR-10; the PennyLane path up to 5x slower), with a margin of 2
# for slower cluster CPUs. The quanvolution front end measured 1.7x slower than q-res-herm on
# CIFAR-10 and no slower on MNIST (`make bench-extensions`). A random-init run takes T = 30
# inner steps of 10 images per net, as CIFAR-10's.
SECONDS_PER_ITERATION = {"mnist": 0.17, "cifar10": 0.65}
BACKEND_SLOWDOWN = {"fast": 1, "pennylane": 5}
QUANVOLUTION_SLOWDOWN = 2


def distill_iterations(dataset):
    return BUDGET["epochs"] * math.ceil(DATASET_FACTS[dataset].train_images / BUDGET["batch_size"])


def distill_runtime(wildcards):
    iterations = distill_iterations(wildcards.dataset)
    variant = config["model_variants"][wildcards.model]
    seconds = SECONDS_PER_ITERATION[wildcards.dataset] * BACKEND_SLOWDOWN[config["qnn_backend"]]
    if variant.get("front_end") == "quanvolution":
        seconds *= QUANVOLUTION_SLOWDOWN
    if variant.get("init") == "random":
        seconds = max(seconds, SECONDS_PER_ITERATION["cifar10"]) * config["random_init"]["n_nets"]
    return int(10 + 2 * iterations * seconds / 60)


def planned_jobs():
    """The jobs this run will execute, for the estimate printed before it starts."""
    for job in workflow.dag.needrun_jobs():
        if job.rule.norun:  # a target such as `all` runs nothing and takes no time
            continue
        name, wildcards = job.rule.name, dict(job.wildcards.items())
        dataset = wildcards.get("dataset")
        iterations = distill_iterations(dataset) if name == "distill" else None
        yield PlannedJob(name, dataset, wildcards.get("model"), iterations)


onstart:
    try:
        cores = workflow.cores
    except WorkflowError:  # no --cores (a cluster run): the estimate counts one at a time
        cores = 1
    logger.info(
        estimate_message(
            list(planned_jobs()),
            cores,
            config["budget"],
            SECONDS_PER_ITERATION,
        )
    )


def final_targets():
    """What `snakemake` with no target makes (the `all` target): Table I, its figures, the stability
    table and the report's first page; then the cost, extension and transfer tables, which
    need runs of every model and seed (not with shipped runs), and the random-init sets'
    own evaluations (their unseen inits: the transfer table)."""
    targets = [
        rules.table.output,
        rules.figures.output,
        rules.stability.output,
        rules.landing.output,
    ]
    if not SHIPPED_RUNS:
        targets += [rules.cost.output] if QUANTUM_MODELS else []
        targets += [rules.extensions.output] if HAS_EXTENSIONS else []
        targets += expand(
            f"{RUN}/metrics.json", dataset=DATASETS, model=RANDOM_INIT_MODELS, seed=SEEDS
        )
    if transfer_runs():
        targets.append(rules.transfer_table.output)
    return targets
