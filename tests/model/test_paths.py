"""Series paths: ``site/area/line/asset/signal`` and nothing else, a trailing newline included."""

from __future__ import annotations

import pytest

from valueloop.errors import ConfigError
from valueloop.model.paths import is_series_path, split_path


def test_a_full_path_splits_into_its_asset_and_signal() -> None:
    assert split_path("works/pumping/line-1/pump-1/flow") == ("pump-1", "flow")
    assert is_series_path("works/pumping/line-1/pump-1/flow")


@pytest.mark.parametrize(
    "path",
    [
        "works/pumping/line-1/pump-1/flow\n",
        "works/pumping/line-1/pump-1",
        "works/pumping/line-1/pump-1/flow/extra",
        "works/pumping/line-1/pump-1/fl-ow",
        "works/pumping/line 1/pump-1/flow",
    ],
)
def test_anything_else_is_refused(path: str) -> None:
    assert not is_series_path(path)
    with pytest.raises(ConfigError, match="is not of the form site/area/line/asset/signal"):
        split_path(path)
