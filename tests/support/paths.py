"""Where the shared real data lives, for tests that read it (they skip when it is absent).

``$PEACEWATCH_SHARED`` wins; else ``../shared`` next to the project; else ``/work/shared``
(a clean clone elsewhere on the same machine still finds it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    candidates = [
        Path(os.environ["PEACEWATCH_SHARED"]) if os.environ.get("PEACEWATCH_SHARED") else None,
        PROJECT_ROOT.parent / "shared",
        Path("/work/shared"),
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "data").is_dir():
            return candidate
    return None


def shared_path(*parts: str) -> Path:
    """A path under the shared folder, or skip the test with the reason."""
    base = shared_dir()
    if base is None:
        pytest.skip("shared data (../shared/data) is absent; set PEACEWATCH_SHARED to run this")
    path = base.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path
