"""Dagster resources, all in one place: the lake settings and the IO manager that writes the lake."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.lake import read_geotable, read_table, table_path, write_table
from orchestration.settings import Settings
from schemas.catalogue import Catalogue, load_catalogue

GEO_TABLES = {"admin_units"}


class LakeResource(dg.ConfigurableResource):
    """What the operator configured (see orchestration.settings), as a Dagster resource."""

    home: str
    boundaries: str | None = None
    boundaries_code_column: str | None = None
    remote_classes: str | None = None
    targets: str | None = None
    provinces: list[str] = []
    border_km: float = 1.0

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
        )

    def catalogue(self) -> Catalogue:
        return load_catalogue(self.targets)

    def report_dir(self, period: str, kind: str) -> Path:
        """reports/<period>/<kind>/ (maps, quality, gaps)."""
        path = self.settings.reports / period / kind
        path.mkdir(parents=True, exist_ok=True)
        return path


class LakeIOManager(dg.ConfigurableIOManager):
    """Tables as Parquet at the lake paths of DESIGN.md; admin_units as GeoParquet. Atomic writes."""

    home: str

    def _path(self, table: str, period: str | None) -> Path:
        return table_path(Path(self.home) / "lake", table, period)

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        period = context.partition_key if context.has_partition_key else None
        path = write_table(self._path(context.asset_key.path[-1], period), obj)
        context.add_output_metadata({"path": str(path), "rows": len(obj)})

    def load_input(self, context: dg.InputContext):
        table = context.asset_key.path[-1]
        period = context.asset_partition_key if context.has_asset_partitions else None
        path = self._path(table, period)
        if not path.exists():
            raise FileNotFoundError(
                f"{table}: no table at {path}; materialize it first "
                f"(bảng {table} chưa có, hãy chạy bước tạo bảng trước)"
            )
        return read_geotable(path) if table in GEO_TABLES else read_table(path)
