"""Reading the paper's puzzle file (`24.csv`, a `Puzzles` column like "4 5 6 10")."""

from __future__ import annotations

import csv
from pathlib import Path

from neurips23.errors import DataError, UserError


def read_puzzle_file(path: str | Path) -> list[tuple[int, ...]]:
    """The puzzles of a 24.csv file in file order (rank order in the paper's file)."""
    import io

    from neurips23.utils import read_text_file

    path = Path(path)
    text = read_text_file(path, "puzzle file")
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "Puzzles" not in reader.fieldnames:
            raise DataError(f"{path}:1: no 'Puzzles' column (columns: {reader.fieldnames})")
        out: list[tuple[int, ...]] = []
        for row in reader:
            line = reader.line_num
            text = (row.get("Puzzles") or "").strip()
            fields = text.split()
            if len(fields) != 4 or not all(f.isdigit() for f in fields):
                raise DataError(
                    f"{path}:{line}: field 'Puzzles' must be four integers, got {text!r}")
            out.append(tuple(int(f) for f in fields))
    if not out:
        raise DataError(f"{path}: no puzzles")
    return out


def parse_index_range(spec: str, size: int) -> list[int]:
    """Indices from "900-999", "5" or "1,3,10-12" (inclusive, 0-based), checked against size."""
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo_s, hi_s = part.split("-", 1)
                lo, hi = int(lo_s), int(hi_s)
            else:
                lo = hi = int(part)
        except ValueError:
            raise UserError(
                f"--puzzles: cannot read {part!r} (use e.g. 900-999 or 1,3,10-12)") from None
        if lo < 0 or hi < lo or hi >= size:
            raise UserError(f"--puzzles: range {part!r} is outside 0-{size - 1}")
        out.extend(range(lo, hi + 1))
    return out
