from __future__ import annotations

import pytest

from infrastructure.bootstrap import Container
from testkit.world import PASSWORD, World, build_world

__all__ = ["PASSWORD", "World", "build_world"]  # the integration tests import them from here


@pytest.fixture
def world(container: Container) -> World:
    return build_world(container.app)
