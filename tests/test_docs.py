"""The README and docs/ name only things that exist: files, section links, make targets."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Backticked paths into these folders (or these files) must exist; outputs (results/, R/)
# and patterns with {wildcards} are not files of the repository.
TRACKED_ROOTS = ("src/", "tests/", "tools/", "bench/", "rules/", "envs/", "profiles/", "configs/",
                 "docs/", "schemas/", "scripts/", ".ci/")
TRACKED_FILES = {"config.yaml", "Makefile", "Snakefile", "requirements.txt", "pyproject.toml"}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"(?ms)^```.*?^```", "", page.read_text())
    return {slug(m) for m in re.findall(r"(?m)^#{1,6} (.*)$", text)}


def links(page: Path):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if not re.match(r"[a-z]+:", target):
            yield target


def backticked(page: Path):
    for span in re.findall(r"`([^`\n]+)`", page.read_text()):
        yield span.strip()


def make_targets() -> set[str]:
    return set(re.findall(r"(?m)^([A-Za-z][\w-]*):", (REPO / "Makefile").read_text()))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_leads_to_a_file_and_section(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(REPO)}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no section #{anchor} in {file.relative_to(REPO)}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_named_repository_path_exists(page):
    missing = []
    for span in backticked(page):
        path = span.split()[0].split(":")[0].rstrip(",.;")
        if "{" in path or not (path.startswith(TRACKED_ROOTS) or path in TRACKED_FILES):
            continue
        if not (any(REPO.glob(path)) if "*" in path else (REPO / path).exists()):
            missing.append(path)
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_named_make_target_exists(page):
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", page.read_text()))
    missing = sorted(named - make_targets())
    assert not missing, f"{page.name} names make targets the Makefile lacks: {missing}"


def test_the_checker_finds_a_broken_link_a_missing_path_and_an_unknown_target(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\n[a](#top) [b](#nowhere) [c](missing.md)\n`src/qdistill/nothing.py`"
                    " `src/qdistill/config.py` `tests/test_fault_*.py` make no-such-target\n")
    assert slug("Cost: what distillation saves, and Table I's `x`") == \
        "cost-what-distillation-saves-and-table-is-x"
    assert anchors(page) == {"top"}
    assert list(links(page)) == ["#top", "#nowhere", "missing.md"]
    spans = [s for s in backticked(page) if (REPO / s).exists() or any(REPO.glob(s))]
    assert spans == ["src/qdistill/config.py", "tests/test_fault_*.py"]
    assert "no-such-target" not in make_targets() and "test" in make_targets()


def test_readme_opens_with_the_two_commands():
    lines = (REPO / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1:lines.index("```bash") + 3]
    assert [line.split()[:2] for line in block] == [["make", "reproduce"], ["make", "test"]]
