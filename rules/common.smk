# Names and input functions shared by the rules. Which runs exist: datasets x models x
# seeds of config.yaml (seeds from the chosen budget).

BUDGET = config["budgets"][config["budget"]]
DATASETS = config["datasets"]
MODELS = config["models"]
SEEDS = BUDGET["seeds"]
DATA_ROOT = config["data_root"]
RUN = "results/runs/{dataset}/{model}/seed{seed}"


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(re.escape(m) for m in config["model_variants"]),
    seed=r"\d+",


def all_runs(filename):
    return expand(f"{RUN}/{filename}", dataset=DATASETS, model=MODELS, seed=SEEDS)


QUANTUM_MODELS = [m for m in MODELS if config["model_variants"][m]["kind"] == "quantum"]
# Beyond the paper (rules/extensions.smk, rules/transfer.smk)
EXTENSION_MODELS = config["extensions"]["models"]
EXTENSION_REFERENCE = config["extensions"]["reference"]
TRANSFER_MODELS = config["extensions"]["transfer_models"]
# every distilled model gets its image grid: Table I's, then the extensions'
GRID_MODELS = list(dict.fromkeys([*MODELS, *EXTENSION_MODELS]))
COST_MODELS = [m for m in config["cost"]["models"] if m in MODELS]


def quantum_runs(filename):
    return expand(f"{RUN}/{filename}", dataset=DATASETS, model=QUANTUM_MODELS, seed=SEEDS)


def all_baselines():
    return expand("results/baselines/{dataset}/seed{seed}.json", dataset=DATASETS, seed=SEEDS)


def manifest(wildcards):
    return f"{DATA_ROOT}/{wildcards.dataset}.manifest.json"


def settings_of_run(wildcards):
    """Every setting of one run; as a param it also reruns the job when any changes."""
    return run_settings(config, wildcards.dataset, wildcards.model, int(wildcards.seed)).to_dict()


def settings_of_baseline(wildcards):
    return run_settings(config, wildcards.dataset, config["baseline"]["model"],
                        int(wildcards.seed)).to_dict()


# Minutes a job may run, for cluster schedulers: outer iterations x seconds per iteration,
# from `make bench` with one thread (fast path: at most 0.12 s MNIST, 0.34 s CIFAR-10;
# the PennyLane path up to 4.4x slower), with a margin of 2 to 3 for slower cluster CPUs.
# The quanvolution front end (768 patch circuits per CIFAR-10 image) measured 1.7x slower
# than q-res-herm on CIFAR-10 and no slower on MNIST (`make bench-extensions`).
SECONDS_PER_ITERATION = {"mnist": 0.15, "cifar10": 0.45}
BACKEND_SLOWDOWN = {"fast": 1, "pennylane": 5}
QUANVOLUTION_SLOWDOWN = 2
ITERATIONS_PER_EPOCH = {"mnist": 59, "cifar10": 49}


def distill_runtime(wildcards):
    iterations = BUDGET["epochs"] * ITERATIONS_PER_EPOCH[wildcards.dataset]
    seconds = SECONDS_PER_ITERATION[wildcards.dataset] * BACKEND_SLOWDOWN[config["qnn_backend"]]
    if config["model_variants"][wildcards.model].get("front_end") == "quanvolution":
        seconds *= QUANVOLUTION_SLOWDOWN
    return int(10 + 2 * iterations * seconds / 60)
