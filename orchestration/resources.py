"""Dagster resources, all in one place: the lake settings and the IO manager that writes the lake."""

from __future__ import annotations

import typing
from pathlib import Path

import dagster as dg
import geopandas as gpd
import polars as pl

from assets.partitions import split_key
from schemas.catalogue import Catalogue, load_catalogue
from schemas.contracts import CONTRACTS, empty
from schemas.lake import exists, read_geotable, read_table, table_path, write_table
from schemas.settings import Settings

#: Tables stored as GeoParquet and read back as GeoDataFrames.
GEO_TABLES = {"admin_units", "dead_zones"}
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
    """What the operator configured (see schemas.settings), as a Dagster resource."""

    home: str
    boundaries: str | None = None
    boundaries_code_column: str | None = None
    remote_classes: str | None = None
    targets: str | None = None
    provinces: list[str] = []
    border_km: float = 1.0
    lake_url: str | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> LakeResource:
        return cls(
            home=str(s.home),
            boundaries=str(s.boundaries) if s.boundaries else None,
            boundaries_code_column=s.boundaries_code_column,
            remote_classes=str(s.remote_classes) if s.remote_classes else None,
            targets=str(s.targets) if s.targets else None,
            provinces=list(s.provinces),
            border_km=s.border_km,
            lake_url=s.lake_url,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            home=Path(self.home),
            boundaries=Path(self.boundaries) if self.boundaries else None,
            boundaries_code_column=self.boundaries_code_column,
            remote_classes=Path(self.remote_classes) if self.remote_classes else None,
            targets=Path(self.targets) if self.targets else None,
            provinces=tuple(self.provinces),
            border_km=self.border_km,
            lake_url=self.lake_url,
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


class LakeIOManager(dg.ConfigurableIOManager):
    """Tables as Parquet at the lake paths of DESIGN.md; GEO_TABLES as GeoParquet. Atomic writes.

    A (period, province) partition is one file, period=<p>/province=<code>.parquet. A run over
    several provinces (a ranged run) hands over and receives `dict[province, DataFrame]`; an
    input typed as a dict is given that way for one province too. A period-level asset reading a
    province-partitioned table gets the provinces that exist, concatenated.
    """

    home: str
    lake_url: str | None = None  # DXLAKE_LAKE: a path or an fsspec URL; else $home/lake

    @property
    def _lake(self) -> Path | str:
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
            context.add_output_metadata({"rows": sum(len(obj[p]) for _, p in keys)})
            return
        period, province = _partition(context.partition_key if context.has_partition_key else None)
        if isinstance(obj, gpd.GeoDataFrame):
            obj = geo_contract(table, obj)
        path = write_table(table_path(self._lake, table, period, province), obj)
        context.add_output_metadata({"path": str(path), "rows": len(obj)})

    def load_input(self, context: dg.InputContext):
        table = context.asset_key.path[-1]
        if not context.has_asset_partitions:
            return self._read(table, table_path(self._lake, table))
        keys = [_partition(k) for k in context.asset_partition_keys]
        wanted = context.dagster_type.typing_type
        if dict in (wanted, typing.get_origin(wanted)):  # a frame per province
            return {p: self._read(table, table_path(self._lake, table, d, p)) for d, p in keys}
        paths = [table_path(self._lake, table, *k) for k in keys]
        if len(paths) == 1:
            return self._read(table, paths[0])
        present = [p for p in paths if exists(p)]  # provinces that reported this period
        if not present:
            return empty(table)
        return pl.concat([read_table(p) for p in present], how="vertical")

    @staticmethod
    def _read(table: str, path: Path | str):
        if not exists(path):
            raise FileNotFoundError(
                f"{table}: no table at {path}; materialize it first "
                f"(bảng {table} chưa có, hãy chạy bước tạo bảng trước)"
            )
        return read_geotable(path) if table in GEO_TABLES else read_table(path)
