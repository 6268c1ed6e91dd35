"""A model of the zone's life that writes a realistic, deterministic history through the application's commands
(`ssz demo`): reference data, what happens and how often, the model, and a scheduler in simulated time."""

from simulation.run import DEMO_PASSWORD, DemoSummary, generate

__all__ = ["DEMO_PASSWORD", "DemoSummary", "generate"]
