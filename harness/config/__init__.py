"""Config files, validated with pydantic; errors name file, line and key."""

from harness.config.experiment import ExperimentConfig, ModelConfig, VariantConfig, load_experiment
from harness.config.task import Step, TaskConfig, load_task

__all__ = [
    "ExperimentConfig",
    "ModelConfig",
    "Step",
    "TaskConfig",
    "VariantConfig",
    "load_experiment",
    "load_task",
]
