"""The config reference, docs/config.md: every key of config.yaml with its type, its default
(the value in config.yaml), its meaning and the jobs a change of it reruns, generated from
the schema's `description` and `x-reruns` so that it cannot drift from what is validated.

    python -m qdistill.config_reference > docs/config.md
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import yaml

from .config import DEFAULT_CONFIG, SCHEMA_PATH

HEADER = """# config.yaml reference

Generated from `schemas/config.schema.yaml` (meaning, rerun) and `config.yaml` (default) by
`python -m qdistill.config_reference > docs/config.md`; a test fails when it is stale.
`<name>` stands for each entry of a map (a model id, a dataset, a budget). "A change
reruns" names the first jobs Snakemake reruns; the jobs that read their outputs (evaluate,
tables, figures) follow.

| key | type | default | meaning | a change reruns |
|---|---|---|---|---|
"""


def type_text(prop: dict[str, Any]) -> str:
    """'integer >= 1', 'one of fast, pennylane', 'list of string', 'string or null'."""
    if "enum" in prop:
        return "one of " + ", ".join(map(str, prop["enum"]))
    kind = prop.get("type", "any")
    text = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array":
        text = "list of " + type_text(prop.get("items", {}))
    if kind == "object":
        text = "map"
    bounds = [f">= {prop['minimum']}" if "minimum" in prop else "",
              f"> {prop['exclusiveMinimum']}" if "exclusiveMinimum" in prop else "",
              f"<= {prop['maximum']}" if "maximum" in prop else ""]
    return " ".join([text, *filter(None, bounds)])


def value_text(value: Any) -> str:
    return "null" if value is None else yaml.safe_dump(value, default_flow_style=True,
                                                       width=1000).strip().removesuffix("...")


def entries_default(entries: dict[str, Any], key: str) -> str:
    """The values of one field across a map's entries: 'paper: 400; quick: 5'."""
    values = {name: entry[key] for name, entry in entries.items() if key in entry}
    if len(values) > 4:
        return f"per entry ({len(values)} in config.yaml)"
    return "; ".join(f"{name}: {value_text(v)}".strip() for name, v in values.items())


def documented(path: str, prop: dict[str, Any]) -> tuple[str, str]:
    """A key's description and x-reruns; every key must have both."""
    missing = [k for k in ("description", "x-reruns") if k not in prop]
    if missing:
        raise KeyError(f"schemas/config.schema.yaml: key {path!r} has no "
                       f"{' and no '.join(missing)}; add them.")
    return prop["description"], prop["x-reruns"]


def rows(schema: dict[str, Any], config: dict[str, Any], prefix: str = ""
         ) -> Iterator[tuple[str, str, str, str, str]]:
    """(key, type, default, meaning, reruns) of every key under schema, depth first."""
    for key, prop in schema["properties"].items():
        path, value = f"{prefix}{key}", config.get(key)
        entry = prop.get("additionalProperties")
        if "properties" in prop:  # a section of fixed keys
            yield from rows(prop, value or {}, f"{path}.")
        elif isinstance(entry, dict) and "properties" in entry:  # a map of named entries
            yield (path, "map", ", ".join(value or {}), *documented(path, prop))
            for field, field_prop in entry["properties"].items():
                field_path = f"{path}.<name>.{field}"
                yield (field_path, type_text(field_prop), entries_default(value or {}, field),
                       *documented(field_path, field_prop))
        else:
            yield (path, type_text(prop), value_text(value), *documented(path, prop))


def reference_markdown(schema: dict[str, Any], config: dict[str, Any]) -> str:
    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in (f"`{key}`", *rest)) + " |"
             for key, *rest in rows(schema, config)]
    return HEADER + "\n".join(lines) + "\n"


def main() -> None:
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    sys.stdout.write(reference_markdown(schema, config))


if __name__ == "__main__":
    main()
