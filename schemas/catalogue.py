"""The indicator catalogue (schemas/indicators.yaml) as typed objects.

The catalogue is data: targets, ranges and header vocabulary live in YAML so that a province can
override a target in its own file (DXLAKE_TARGETS) and a reader of the code finds no magic numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import yaml

CATALOGUE_PATH = Path(__file__).with_name("indicators.yaml")


class CatalogueError(ValueError):
    """The catalogue or a province's target file is malformed."""


@dataclass(frozen=True)
class ReportField:
    """A column a report carries: its id, template header (vi/en) and the variants offices write."""

    id: str
    vi: str
    en: str
    aliases: tuple[str, ...] = ()
    whole: bool = True  # a count of people, dossiers, computers; money is not

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.vi, self.en, *self.aliases)


@dataclass(frozen=True)
class Indicator:
    id: str
    name_vi: str
    name_en: str
    unit: str  # "percent" | "count"
    unit_vi: str
    unit_en: str
    direction: str  # "higher" | "lower" is better
    valid_range: tuple[float, float]
    target: float
    target_year: int
    source: str
    gap_classes: tuple[float, float]
    numerator: ReportField | None = None
    denominator: ReportField | None = None
    value: ReportField | None = None
    short_vi: str = ""  # for a sheet name (Excel allows 31 characters); name_vi when empty

    @property
    def is_percent(self) -> bool:
        return self.unit == "percent"

    @property
    def fields(self) -> tuple[ReportField, ...]:
        return tuple(f for f in (self.numerator, self.denominator, self.value) if f is not None)


@dataclass(frozen=True)
class Catalogue:
    indicators: tuple[Indicator, ...]
    by_id: dict[str, Indicator] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {i.id: i for i in self.indicators})
        object.__setattr__(self, "_hash", hash(self.indicators))

    def __hash__(self) -> int:
        """Computed once: the catalogue keys the readers' memos, looked up for every row read."""
        return self._hash

    def __setstate__(self, state: dict) -> None:
        """Unpickled (a Dask worker, a spawned process): the hash is this process's own."""
        self.__dict__.update(state)
        object.__setattr__(self, "_hash", hash(self.indicators))

    def __iter__(self):
        return iter(self.indicators)

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.by_id[indicator_id]

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.indicators]

    def report_fields(self) -> dict[str, ReportField]:
        """Every distinct report column (a denominator shared by two indicators appears once)."""
        out: dict[str, ReportField] = {}
        for ind in self.indicators:
            for f in ind.fields:
                known = out.get(f.id)
                merged = f if known is None else replace(known, aliases=known.aliases + f.aliases)
                out[f.id] = merged
        return out


def _field(raw: dict | None) -> ReportField | None:
    if raw is None:
        return None
    return ReportField(
        raw["id"], raw["vi"], raw["en"], tuple(raw.get("aliases", ())), raw.get("whole", True)
    )


def _indicator(raw: dict) -> Indicator:
    try:
        ind = Indicator(
            id=raw["id"],
            name_vi=raw["name_vi"],
            name_en=raw["name_en"],
            unit=raw["unit"],
            unit_vi=raw["unit_vi"],
            unit_en=raw["unit_en"],
            direction=raw["direction"],
            valid_range=tuple(float(x) for x in raw["valid_range"]),
            target=float(raw["target"]),
            target_year=int(raw["target_year"]),
            source=raw["source"],
            gap_classes=tuple(float(x) for x in raw["gap_classes"]),
            numerator=_field(raw.get("numerator")),
            denominator=_field(raw.get("denominator")),
            value=_field(raw.get("value")),
            short_vi=raw.get("short_vi", ""),
        )
    except KeyError as exc:
        raise CatalogueError(f"indicator {raw.get('id', '?')}: missing key {exc}") from exc
    if ind.unit not in ("percent", "count") or ind.direction not in ("higher", "lower"):
        raise CatalogueError(
            f"indicator {ind.id}: unit must be percent|count, direction higher|lower"
        )
    if (ind.numerator is None) != (ind.denominator is None) or not ind.fields:
        raise CatalogueError(f"indicator {ind.id}: needs numerator and denominator, or a value")
    return ind


def _apply_overrides(indicators: list[Indicator], path: Path) -> list[Indicator]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    targets = raw.get("targets", {})
    known = {i.id for i in indicators}
    unknown = set(targets) - known
    if unknown:
        raise CatalogueError(
            f"{path}: unknown indicator(s) {sorted(unknown)}; known: {sorted(known)}"
        )
    out = []
    for ind in indicators:
        o = targets.get(ind.id) or {}
        out.append(
            replace(
                ind,
                target=float(o.get("target", ind.target)),
                target_year=int(o.get("target_year", ind.target_year)),
                source=o.get("source", ind.source),
            )
        )
    return out


@cache
def load_catalogue(overrides: str | None = None) -> Catalogue:
    """The catalogue, with a province's target overrides applied (Settings.targets)."""
    raw = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    indicators = [_indicator(r) for r in raw["indicators"]]
    if overrides:
        indicators = _apply_overrides(indicators, Path(overrides))
    return Catalogue(tuple(indicators))
