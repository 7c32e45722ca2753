"""A training run: preparing the run folder, `fit` with its callbacks, the guards that stop a run
cleanly, and checkpoints for an exact resume.
"""

from tf_dcgan.training.callbacks import (
    EpochTimer,
    RunProgress,
    LossHistory,
    ModelCardWriter,
    SampleGrid,
    SaveModels,
    StepCounter,
    TensorBoardLogger,
    TrainingGif,
    sample_grid,
)
from tf_dcgan.training.checkpoints import (
    Checkpointer,
    KeepBest,
    TrainingState,
)
from tf_dcgan.training.guards import (
    DivergenceGuard,
    StopOnSignal,
)
from tf_dcgan.training.periodic import (
    PeriodicEvaluation,
)
from tf_dcgan.training.plots import (
    plot_losses,
    write_gif,
)
from tf_dcgan.training.run import (
    PreparedRun,
    RunCallbacks,
    TrainingDiverged,
    TrainingResult,
    TrainingStopped,
    build_gan,
    precision_line,
    prepare_run,
    run_callbacks,
    train,
)

__all__ = [
    "PeriodicEvaluation",
    "StepCounter",
    "Checkpointer",
    "DivergenceGuard",
    "EpochTimer",
    "KeepBest",
    "LossHistory",
    "PreparedRun",
    "RunCallbacks",
    "RunProgress",
    "SampleGrid",
    "sample_grid",
    "ModelCardWriter",
    "SaveModels",
    "StopOnSignal",
    "TensorBoardLogger",
    "TrainingDiverged",
    "TrainingGif",
    "TrainingResult",
    "TrainingState",
    "TrainingStopped",
    "build_gan",
    "plot_losses",
    "precision_line",
    "prepare_run",
    "run_callbacks",
    "train",
    "write_gif",
]
