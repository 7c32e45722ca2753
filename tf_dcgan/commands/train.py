"""Train a DCGAN: `python train.py --epochs 20` trains on Fashion-MNIST (`--recipe paper`: the
paper's recipe)."""

import dataclasses
import sys

from tf_dcgan.checks import check_dataset_path
from tf_dcgan.cli import (
    Parser,
    add_setting_flags,
    fail,
    flags_given,
    import_tensorflow_quietly,
)
from tf_dcgan.config import PAPER_RECIPE, RECIPES, TrainConfig
from tf_dcgan.run_folder import RunFolder

EXAMPLES = """examples:
  python train.py --epochs 20                     # Fashion-MNIST, 28x28, the default recipe
  python train.py --epochs 20 --recipe paper      # exactly the paper's recipe
  python train.py --epochs 20 --loss hinge        # the hinge loss
  python train.py --epochs 1 --steps-per-epoch 20  # a quick try
  python train.py --image-size 64                 # the paper's 64x64 networks
  python train.py --d-update joint --seed 0 --out runs/joint
  python train.py --conditional --epochs 20       # generate a chosen class (one row per class)
  python train.py --dataset ~/faces --image-size 64 --epochs 5   # your own folder of images
  python train.py --dataset cifar10 --data-dir ~/tensorflow_datasets
  python train.py --dataset images.npz --channels 3
  python train.py --out runs/mine --resume --epochs 40   # continue a run, train it longer
  python train.py --strategy mirrored --sync-batchnorm   # all local GPUs, global BatchNorm
  TF_CONFIG='{...}' python train.py --strategy multiworker --out /shared/run   # on each machine
"""


def build_parser() -> Parser:
    """train.py's flags: every `TrainConfig` setting, and `--recipe`, `--resume`, `--dry-run`."""
    parser = Parser(
        description="Train the DCGAN of Radford, Metz and Chintala (2015) and write a run folder "
        "with sample grids, a training GIF, loss curves and the saved models.",
        examples=EXAMPLES,
    )
    # "sndcgan" (retired) is accepted here so that with_recipe can say why it is gone.
    parser.add_argument("--recipe", default="default", choices=(*RECIPES, "sndcgan"),
                        metavar="{" + ",".join(RECIPES) + "}",
                        help="paper: exactly the paper's recipe (Radford et al. 2015, as in "
                        "pytorch/examples: batch 128, Adam 2e-4 for both networks); default: "
                        "this project's, batch 64 and G's rate 4e-4, measured 0.76x the paper's "
                        "FID after 20 epochs (docs/training.md, 'Recipe ablation'). Flags given "
                        "explicitly win (default: %(default)s)")
    add_setting_flags(parser, TrainConfig)
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its newest checkpoint, with its own "
                        "config.json (--epochs may be raised; flags that would change the model "
                        "or the data are refused)")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the settings, print them, and stop")
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, bool, bool, set[str]]:
    """Parses the flags into a `TrainConfig` (not yet validated) and the dry-run switch.

    Every `TrainConfig` setting is a flag (`cli.add_setting_flags`: its help is the field's);
    `--recipe`, `--resume` and `--dry-run` say how to use them.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                if hasattr(args, f.name)}
    # The settings named on the command line: a resumed run compares only those with its own.
    named = flags_given(parser, sys.argv[1:] if argv is None else argv)
    given = named & set(settings)
    try:
        config = TrainConfig(**settings).with_recipe(args.recipe, given)
    except ValueError as error:  # the retired --recipe sndcgan
        parser.error(str(error))
    if "recipe" in named:
        given |= set(PAPER_RECIPE)  # so a resumed run compares the recipe's settings with its own
    return config, args.dry_run, args.resume, given


def main(argv: list[str] | None = None) -> int:
    config, dry_run, resume, given = parse_args(argv)
    started = []  # the PreparedRun, once its folder exists
    try:
        return _train(config, dry_run, resume, given, started)
    except KeyboardInterrupt:  # Ctrl-C before training started, or a third one during it
        print(f"train.py: {_interrupted(started)}", file=sys.stderr)
        return 130


def _interrupted(started):
    """What a Ctrl-C that quit at once left on disk, and how to go on."""
    if not started:
        return "stopped before training started; nothing was written."
    from tf_dcgan.training import run as training

    run = started[0]
    step = training.newest_checkpoint_step(run)
    if step is None:
        return (f"stopped at once, before the first checkpoint: {run.run_dir} keeps no "
                "training to continue. Run the same command with --resume to begin again there.")
    return (f"stopped at once: {run.run_dir} keeps everything up to the checkpoint of step "
            f"{step}; the steps after it are lost. Continue with: python train.py --out "
            f"{run.run_dir} --resume")


def _train(config, dry_run, resume, given, started):
    try:
        # Every setting is checked before TensorFlow is imported (~3 s).
        config.validate()
        if not resume:  # a missing path is one line at once, not after TensorFlow's 3-10 s
            check_dataset_path(config.dataset)
        elif config.out is not None and (recorded := RunFolder(config.out)).config_path.is_file():
            # So is a setting a resumed run may not change (prepare_run checks it again).
            recorded.read_config().resumed_with(config, given)
        if dry_run:
            print(config.to_json())
            return 0
        import_tensorflow_quietly()
        from tf_dcgan.training import run as training

        run = training.prepare_run(config, resume=resume, given=given)
    except ValueError as error:
        return fail("train.py", error)
    started.append(run)
    print(f"run folder: {run.run_dir}", flush=True)
    print(training.precision_line(run, config, resume, given), flush=True)
    print(run.source.summary(), flush=True)
    full_pass = run.source.num_images // run.config.batch_size
    if run.steps_per_epoch > full_pass:
        passes = run.steps_per_epoch / full_pass
        print(f"an epoch is {run.steps_per_epoch} steps, {passes:.3g} passes over the "
              f"{run.source.num_images:,} images: a small folder's samples, checkpoints and "
              "evaluations come every epoch (--steps-per-epoch)", flush=True)
    if run.source.skipped:
        print(f"skipped files are listed in {run.folder.skipped_files_path}", flush=True)
    try:
        result = training.train(run)
    except ValueError as error:  # the disk, memory or a permission failed mid-run
        return fail("train.py", error)
    except training.TrainingDiverged as error:
        fail("train.py", error)
        return 1
    except training.TrainingStopped as stop:
        print(f"train.py: {stop}", file=sys.stderr)
        return 128 + stop.signal
    if result.start_step:
        print(f"resumed from the checkpoint of step {result.start_step}")
    print(
        f"{len(result.epoch_seconds)} epochs of {result.steps_per_epoch} steps; median epoch "
        f"{result.median_epoch_seconds:.1f} s, {result.images_per_second:.0f} images/s"
        + (" (after the first epoch, which includes tracing)"
           if len(result.epoch_seconds) > 1 else "")
    )
    print(f"run folder: {run.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
