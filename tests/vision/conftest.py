from __future__ import annotations

import pytest
from vision_footage import WORKER_CLIP, clip

from infrastructure.vision import Frame


@pytest.fixture(scope="session")
def worker_frames() -> list[Frame]:
    """The worker clip decoded once (71 small frames), timed from 22:00 in Bangkok."""
    return list(clip(WORKER_CLIP))
