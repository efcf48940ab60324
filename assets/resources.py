"""Dagster resources, all in one place: the lake settings and the IO manager that writes the lake."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import dagster as dg
import geopandas as gpd
import polars as pl

from assets.partitions import split_key
from schemas.catalogue import Catalogue, load_catalogue
from schemas.contracts import CONTRACTS, empty
from schemas.lake import (
    Location,
    exists,
    read_attributes,
    read_geotable,
    read_table,
    read_tables,
    table_path,
    write_table,
)
from schemas.settings import Limits, Settings, parse_deadlines

#: Tables stored as GeoParquet and read back as GeoDataFrames.
GEO_TABLES = {"admin_units", "dead_zones"}
_PATHS = ("boundaries", "remote_classes", "targets", "crosswalk", "population_grid")
_PANDAS_DTYPES = {pl.String: "str", pl.Float64: "float64"}


def geo_contract(table: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A GeoParquet table's contract columns in their dtypes. Why: a column with no values is
    float by default, so an empty dead_zones would store its unit codes as float."""
    casts = {}
    for column, dtype in CONTRACTS.get(table, {}).items():
        want = _PANDAS_DTYPES.get(dtype)
        if want is None or column not in frame.columns or frame[column].dtype == want:
            continue
        if want == "float64" or frame[column].isna().all() or frame[column].dtype == object:
            casts[column] = want  # never numbers to text: that is an upstream bug to see
    return frame.astype(casts) if casts else frame


class LakeResource(dg.ConfigurableResource):
    """What the operator configured (schemas.settings.Settings, read once), as a Dagster resource:
    the run's config shows every setting, and worker processes rebuild the same Settings."""

    home: str
    boundaries: str | None = None
    boundaries_code_column: str | None = None
    remote_classes: str | None = None
    targets: str | None = None
    provinces: list[str] = []
    border_km: float = 1.0
    deadlines: list[str] = ["06-10=H1", "12-10=H2"]
    limits: dict[str, float] = {}  # Limits' fields; missing → their defaults
    executor: str = "in_process"
    dask_address: str | None = None
    lake_url: str | None = None
    crosswalk: str | None = None
    population_grid: str | None = None
    coverage_tolerance_pp: float = 5.0

    @classmethod
    def from_settings(cls, s: Settings) -> LakeResource:
        text = {f: str(getattr(s, f)) if getattr(s, f) else None for f in _PATHS}
        return cls(
            home=str(s.home),
            boundaries_code_column=s.boundaries_code_column,
            provinces=list(s.provinces),
            border_km=s.border_km,
            deadlines=[f"{m:02d}-{d:02d}={half}" for m, d, half in s.deadlines],
            limits=dataclasses.asdict(s.limits),
            executor=s.executor,
            dask_address=s.dask_address,
            lake_url=s.lake_url,
            coverage_tolerance_pp=s.coverage_tolerance_pp,
            **text,
        )

    @property
    def settings(self) -> Settings:
        limits = {
            f.name: type(f.default)(self.limits[f.name])
            for f in dataclasses.fields(Limits)
            if f.name in self.limits
        }
        return Settings(
            home=Path(self.home),
            boundaries_code_column=self.boundaries_code_column,
            provinces=tuple(self.provinces),
            border_km=self.border_km,
            deadlines=parse_deadlines(",".join(self.deadlines)),
            limits=Limits(**limits),
            executor=self.executor,
            dask_address=self.dask_address,
            lake_url=self.lake_url,
            coverage_tolerance_pp=self.coverage_tolerance_pp,
            **{f: Path(getattr(self, f)) if getattr(self, f) else None for f in _PATHS},
        )

    def catalogue(self) -> Catalogue:
        return load_catalogue(self.targets)

    def report_dir(self, period: str, kind: str) -> Path:
        """reports/<period>/<kind>/ (maps, quality, gaps)."""
        path = self.settings.reports / period / kind
        path.mkdir(parents=True, exist_ok=True)
        return path


def _partition(key: str | dg.MultiPartitionKey | None) -> tuple[str | None, str | None]:
    """(period, province) of a partition key; province None for a period-level partition."""
    if key is None:
        return None, None
    if isinstance(key, dg.MultiPartitionKey) or "|" in str(key):
        return split_key(key)
    return str(key), None


def column_schema(table: str) -> dict[str, dg.TableSchema]:
    """The table's contract as Dagster's column schema (shown in the UI's catalog)."""
    contract = CONTRACTS.get(table)
    if contract is None:
        return {}
    columns = [dg.TableColumn(name, str(dtype)) for name, dtype in contract.items()]
    return {"dagster/column_schema": dg.TableSchema(columns=columns)}


class LakeIOManager(dg.ConfigurableIOManager):
    """Tables as Parquet at the lake paths of DESIGN.md; GEO_TABLES as GeoParquet. Atomic writes.

    Local and remote lakes alike through schemas.lake (pathlib or UPath/fsspec locations, as
    dagster-polars' UPath IO manager does), not dagster-polars itself: it has no GeoParquet,
    no contract conformance and no frame-per-province output of a ranged run.

    A (period, province) partition is one file, period=<p>/province=<code>.parquet. A run over
    several provinces (a ranged run) hands over and receives `dict[province, DataFrame]`; an
    input typed as a dict is given that way for one province too. A period-level asset reading a
    province-partitioned table gets the provinces that exist, concatenated.
    """

    home: str
    lake_url: str | None = None  # DXLAKE_LAKE: a path or an fsspec URL; else $home/lake

    @property
    def _lake(self) -> Location:
        return Settings(home=Path(self.home), lake_url=self.lake_url).tables

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        table = context.asset_key.path[-1]
        if isinstance(obj, dict):  # a frame per province of the run
            keys = [_partition(k) for k in context.asset_partition_keys]
            missing = sorted(p for _, p in keys if p not in obj)
            if missing:
                raise ValueError(f"{table}: no frame for province(s) {missing} of the run")
            for period, province in keys:
                write_table(table_path(self._lake, table, period, province), obj[province])
            context.add_output_metadata(
                {"rows": sum(len(obj[p]) for _, p in keys), **column_schema(table)}
            )
            return
        period, province = _partition(context.partition_key if context.has_partition_key else None)
        if isinstance(obj, gpd.GeoDataFrame):
            obj = geo_contract(table, obj)
        path = write_table(table_path(self._lake, table, period, province), obj)
        context.add_output_metadata({"path": str(path), "rows": len(obj), **column_schema(table)})

    def load_input(self, context: dg.InputContext):
        table = context.asset_key.path[-1]
        wanted = context.dagster_type.typing_type
        if not context.has_asset_partitions:
            return self._read(table, table_path(self._lake, table), wanted)
        keys = [_partition(k) for k in context.asset_partition_keys]
        if dict in (wanted, typing.get_origin(wanted)):  # a frame per province
            return {p: self._read(table, table_path(self._lake, table, d, p)) for d, p in keys}
        paths = [table_path(self._lake, table, *k) for k in keys]
        if len(paths) == 1:
            return self._read(table, paths[0], wanted)
        present = [p for p in paths if exists(p)]  # provinces that reported this period
        if not present:
            return empty(table)
        return read_tables(present)

    @staticmethod
    def _read(table: str, path: Location, wanted: object = None):
        """A GEO_TABLES table as GeoPandas, or its attributes alone when the input asks for a
        polars frame (the units' codes, names and flags: no shapes decoded); any table's file
        as it is when the input asks for bytes (its reader decodes it only if it must)."""
        if not exists(path):
            raise FileNotFoundError(
                f"{table}: no table at {path}; materialize it first "
                f"(bảng {table} chưa có, hãy chạy bước tạo bảng trước)"
            )
        if wanted is bytes:
            with path.open("rb") as f:
                return f.read()
        if table not in GEO_TABLES:
            return read_table(path)
        return read_attributes(path) if wanted is pl.DataFrame else read_geotable(path)
