"""admin_units: every current unit with geometry and remoteness flags, the join key of the lake."""

import dagster as dg
import polars as pl

from assets.resources import LakeResource
from geo.reference import build_admin_units


@dg.multi_asset(
    outs={
        "admin_units": dg.AssetOut(
            description="The 3,321 current units (communes, wards, special zones) of the 34 "
            "provinces: codes, names, geometry (official or approximate), remoteness flags. "
            "GeoParquet at lake/reference/admin_units.parquet.",
            group_name="reference",
        ),
        "boundary_problems": dg.AssetOut(
            description="Boundary-file codes missing, repeated or unknown to the official list.",
            group_name="reference",
        ),
    },
)
def admin_units(context: dg.AssetExecutionContext, lake: LakeResource):
    s = lake.settings
    units, problems = build_admin_units(
        boundaries_path=s.boundaries,
        code_column=s.boundaries_code_column,
        remote_classes_path=s.remote_classes,
        border_km=s.border_km,
    )
    problems = pl.from_pandas(problems) if not isinstance(problems, pl.DataFrame) else problems
    for row in problems.head(50).iter_rows(named=True):
        context.log.warning(f"{row['kind']}: {row['message_en']} / {row['message_vi']}")
    counts = units["geometry_source"].value_counts().to_dict()
    yield dg.Output(
        units,
        output_name="admin_units",
        metadata={
            "units": len(units),
            "geometry": ", ".join(f"{k}: {v}" for k, v in counts.items()),
            "border_units": int(units["is_border"].sum()),
            "island_units": int(units["is_island"].sum()),
            "remote_units": int(units["is_remote"].sum()),
        },
    )
    yield dg.Output(problems, output_name="boundary_problems", metadata={"problems": len(problems)})
