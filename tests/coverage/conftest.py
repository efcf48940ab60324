"""Fixtures for the coverage tests: a population GeoTIFF on the test grid."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from .test_coverage_method import CRS, X0, Y0


@pytest.fixture
def grid(tmp_path):
    """Write a 10 × 10 population GeoTIFF (default 10 people a cell) and return its path."""

    def write(values: np.ndarray | None = None, crs: str = CRS, transform=None):
        data = np.full((10, 10), 10.0, dtype="float32") if values is None else values
        path = tmp_path / f"grid_{abs(hash(data.tobytes()))}.tif"
        with rasterio.open(
            path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
            dtype="float32", crs=crs, nodata=-1,
            transform=transform or from_origin(X0, Y0 + 100 * data.shape[0], 100, 100),
        ) as dst:  # fmt: skip
            dst.write(data, 1)
        return path

    return write
