"""Per-language templating: structured rows -> instruction records (Aya Collection's method).

A template set (`data/templates.yaml`, or your own YAML of the same shape) has an id, a
task_type and per language an `inputs` and a `targets` pattern; `"*"` matches any language.
Placeholders are bare field names (`{source}`); attribute access, indexing, conversions and
format specs are rejected when the template is loaded, so filling a template can only copy
row values — a template or a row can never run code. Records come out `templated`, with
`template_id = "<set id>/<language>"`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from neurips23.errors import DataError
from neurips23.multilingual.languages import check_code
from neurips23.multilingual.records import Record

DEFAULT_TEMPLATES = Path(__file__).parent / "data" / "templates.yaml"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Template:
    """One language's inputs/targets patterns and the field names they use."""

    set_id: str
    language: str
    inputs: str
    targets: str
    task_type: str
    fields: frozenset[str]


def template_fields(pattern: str, where: str) -> set[str]:
    """The placeholders of `pattern`; DataError for anything but a bare field name."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as e:
        raise DataError(f"{where}: bad template {pattern!r} ({e})") from None
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if not _NAME.match(name) or spec or conv:
            raise DataError(f"{where}: placeholder {{{name}{'!' + conv if conv else ''}"
                            f"{':' + spec if spec else ''}}} is not a bare field name")
        names.add(name)
    return names


def load_templates(path: str | Path | None = None) -> dict[str, dict[str, Template]]:
    """Template sets from YAML: {set id: {language: Template}}."""
    from neurips23.config import read_yaml

    path = Path(path or DEFAULT_TEMPLATES)
    doc = read_yaml(path, "templates file", DataError)
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a mapping of template sets")
    out: dict[str, dict[str, Template]] = {}
    for set_id, body in doc.items():
        where = f"{path}: template set {set_id!r}"
        if not isinstance(body, dict) or not isinstance(body.get("languages"), dict):
            raise DataError(f"{where}: needs a 'languages' mapping")
        out[set_id] = {}
        for lang, pats in body["languages"].items():
            w = f"{where}, language {lang!r}"
            if lang != "*":
                check_code(lang, w)
            if not isinstance(pats, dict) or not {"inputs", "targets"} <= set(pats):
                raise DataError(f"{w}: needs 'inputs' and 'targets'")
            fields = template_fields(pats["inputs"], w) | template_fields(pats["targets"], w)
            out[set_id][lang] = Template(set_id, lang, pats["inputs"], pats["targets"],
                                         str(body.get("task_type", "")), frozenset(fields))
    return out


def fill(template: Template, row: dict, where: str = "row") -> tuple[str, str]:
    """(inputs, targets) of `template` filled from `row`; DataError naming a missing field."""
    missing = sorted(f for f in template.fields if f not in row)
    if missing:
        raise DataError(f"{where}: template {template.set_id}/{template.language} needs field(s) "
                        f"{', '.join(missing)}")
    values = {f: str(row[f]) for f in template.fields}
    return template.inputs.format_map(values), template.targets.format_map(values)


def apply_templates(rows: Iterable[dict], templates: dict[str, Template], language: str,
                    dataset_name: str = "") -> Iterator[Record]:
    """Records from rows through the `language` template of a set (or its "*" entry)."""
    t = templates.get(language) or templates.get("*")
    if t is None:
        raise DataError(f"no template for language {language!r}; the set has "
                        f"{', '.join(sorted(templates))}")
    for i, row in enumerate(rows, 1):
        where = row.get("_where", f"row {i}") if isinstance(row, dict) else f"row {i}"
        inputs, targets = fill(t, row, where)
        yield Record(inputs=inputs, targets=targets, language_code=language,
                     annotation_type="templated", template_id=f"{t.set_id}/{language}",
                     dataset_name=dataset_name, task_type=t.task_type,
                     id=str(row.get("id", "")) + f"-{language}" if row.get("id") else "")
