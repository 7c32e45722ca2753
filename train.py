"""Train a DCGAN: `python train.py --epochs 20` trains on Fashion-MNIST (`--recipe paper`: the paper's)."""

import dataclasses
import sys

from tf_dcgan.checks import D_CONDITIONINGS, D_UPDATES, PRECISIONS, RESIZE_MODES, STRATEGIES
from tf_dcgan.cli import Parser, fail, import_tensorflow_quietly
from tf_dcgan.config import PAPER_RECIPE, RECIPES, TrainConfig

EXAMPLES = """examples:
  python train.py --epochs 20                     # Fashion-MNIST, 28x28, the default recipe
  python train.py --epochs 20 --recipe paper      # exactly the paper's recipe
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


def _optional_float(text):
    return None if text.lower() == "none" else float(text)


def parse_args(argv=None):
    """Parses the flags into a `TrainConfig` (not yet validated) and the dry-run switch."""
    defaults = TrainConfig()
    parser = Parser(
        description="Train the DCGAN of Radford, Metz and Chintala (2015) and write a run folder "
        "with sample grids, a training GIF, loss curves and the saved models.",
        examples=EXAMPLES,
    )
    parser.add_argument("--recipe", default="default", choices=RECIPES,
                        help="paper: exactly the paper's recipe (Radford et al. 2015, as in "
                        "pytorch/examples: batch 128, Adam 2e-4 for both networks); default: "
                        "this project's, batch 64 and G's rate 4e-4, measured 0.76x the paper's "
                        "FID after 20 epochs (README, 'Recipe ablation'). Flags given "
                        "explicitly win (default: %(default)s)")
    parser.add_argument("--dataset", default=defaults.dataset,
                        help="a folder of images (searched recursively), a .npy/.npz file of "
                        "uint8 images, or a TensorFlow Datasets name with an optional split, "
                        "e.g. cifar10:train (default: %(default)s)")
    parser.add_argument("--data-dir", default=None, help="where TensorFlow Datasets keeps its data")
    parser.add_argument("--resize", default=defaults.resize, choices=RESIZE_MODES,
                        help="images of another size: crop (scale the short side, keep the "
                        "center square) or stretch (default: %(default)s)")
    parser.add_argument("--cache", default=defaults.cache,
                        help="decoded images: memory, none, a file path, or auto (memory when "
                        "they fit in 2 GiB) (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="images per step. 64 with G's rate 4e-4 measured 0.76x the paper recipe's "
                        "FID after 20 Fashion-MNIST epochs (0.57x after 5; two seeds), at 0.96x its "
                        "images/s (README, 'Recipe ablation') (default: %(default)s; the paper's: "
                        "128)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="default: the dataset's own size (28 for Fashion-MNIST), else 64")
    parser.add_argument("--channels", type=int, default=None, choices=(1, 3),
                        help="default: the dataset's own")
    parser.add_argument("--latent-dim", type=int, default=defaults.latent_dim,
                        help="length of the noise vector z (default: %(default)s)")
    parser.add_argument("--base-filters", type=int, default=defaults.base_filters,
                        help="G's last and D's first filter count (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                        help="Adam learning rate for both networks (default: %(default)s)")
    parser.add_argument("--d-learning-rate", type=_optional_float, default=None,
                        help="D's own Adam rate, for two time-scale updates (default: "
                        "--learning-rate)")
    parser.add_argument("--g-learning-rate", type=_optional_float,
                        default=defaults.g_learning_rate,
                        help="G's own Adam rate; 'none': --learning-rate, as in the paper. "
                        "Measured: 4e-4 at the paper's batch 128 gave 0.80x its FID after 5 epochs, 8e-4 "
                        "0.86x; 4e-4 at batch 64 is the default recipe (default: %(default)s)")
    parser.add_argument("--beta1", type=float, default=defaults.beta1,
                        help="Adam beta_1 (default: %(default)s)")
    parser.add_argument("--beta2", type=float, default=defaults.beta2,
                        help="Adam beta_2 (default: %(default)s)")
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing,
                        help="one-sided label smoothing: D's target on real images is 1 minus "
                        "this, e.g. 0.1 (measured: 0.97x the paper's FID after 5 epochs) "
                        "(default: %(default)s)")
    parser.add_argument("--d-update", default=defaults.d_update, choices=D_UPDATES,
                        help="separate: a D step on real then on fake; joint: one step on the sum "
                        "(default: %(default)s)")
    parser.add_argument("--ema-decay", type=_optional_float, default=defaults.ema_decay,
                        help="sample from an exponential moving average of the generator's "
                        "weights with this decay, e.g. 0.999; 'none' samples from the generator "
                        "itself. Measured: 0.999 did not lower FID within 20 Fashion-MNIST "
                        "epochs (1.01-1.06x the plain G's) (default: %(default)s)")
    parser.add_argument("--conditional", action="store_true",
                        help="a class-conditional DCGAN: G and D also take the dataset's class "
                        "labels (TFDS labels, .npz labels, or sub-folder names; a dataset "
                        "without them is refused); grids show one row per class, and the "
                        "exported models take a class label")
    parser.add_argument("--d-conditioning", default=defaults.d_conditioning,
                        choices=D_CONDITIONINGS,
                        help="how a conditional discriminator uses the label: projection "
                        "(Miyato and Koyama 2018) or concat (one-hot label maps joined to the "
                        "image) (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: drawn and recorded in config.json)")
    parser.add_argument("--out", default=None,
                        help="run folder (default: runs/<date>-<time>-<dataset>)")
    parser.add_argument("--steps-per-epoch", type=int, default=None,
                        help="cap on batches per epoch, for quick tries")
    parser.add_argument("--num-samples", type=int, default=defaults.num_samples,
                        help="images in each epoch's sample grid (default: %(default)s)")
    parser.add_argument("--precision", default=defaults.precision, choices=PRECISIONS,
                        help="compute precision: float32, mixed_bfloat16 (CPUs with AVX512_BF16 "
                        "or AMX, TPUs; about 1.3x here) or mixed_float16 (GPUs, with loss "
                        "scaling); weights, losses and the saved generator stay float32 "
                        "(default: %(default)s)")
    parser.add_argument("--strategy", default=defaults.strategy, choices=STRATEGIES,
                        help="tf.distribute strategy: auto (mirrored over all local GPUs when "
                        "there are 2 or more, else default), default, mirrored, multiworker "
                        "(the cluster from TF_CONFIG on every machine), tpu. --batch-size is "
                        "the global batch, split across replicas (default: %(default)s)")
    parser.add_argument("--sync-batchnorm", action="store_true",
                        help="BatchNorm statistics over the global batch instead of each "
                        "replica's share (only matters with several replicas)")
    parser.add_argument("--no-jit", action="store_true",
                        help="never use XLA (it is only used where faster: GPUs, not CPUs)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its newest checkpoint, with its own "
                        "config.json (--epochs may be raised; flags that would change the model "
                        "or the data are refused)")
    parser.add_argument("--save-every-steps", type=int, default=None,
                        help="also write a checkpoint every N steps (default: at epoch ends)")
    parser.add_argument("--keep-checkpoints", type=int, default=defaults.keep_checkpoints,
                        help="newest checkpoints kept (default: %(default)s)")
    parser.add_argument("--deterministic", action="store_true",
                        help="TensorFlow op determinism: the same seed gives bit-identical "
                        "weights, across stops and resumes (somewhat slower)")
    parser.add_argument("--eval-every", type=int, default=None,
                        help="score FID, KID, precision and recall every N epochs into "
                        "RUN/metrics.csv (default: never)")
    parser.add_argument("--eval-images", type=int, default=defaults.eval_images,
                        help="generated images per evaluation (default: %(default)s; a quick "
                        "figure, evaluate.py uses 10,000)")
    parser.add_argument("--keep-best", action="store_true",
                        help="keep the checkpoint with the best FID in RUN/checkpoints/best "
                        "(needs --eval-every)")
    parser.add_argument("--extractor", default=None,
                        help="features for the evaluation: 'inception' or a classifier .keras "
                        "(default: the project's classifier for fashion_mnist, else inception)")
    parser.add_argument("--inception-weights", default=None,
                        help="InceptionV3 no-top weights file (default: Keras' cache)")
    parser.add_argument("--tensorboard", action="store_true",
                        help="write per-step metrics and each epoch's sample grid to RUN/logs "
                        "(view with: tensorboard --logdir RUN/logs)")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the settings, print them, and stop")
    args = parser.parse_args(argv)
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                if hasattr(args, f.name)}
    settings["jit"] = not args.no_jit
    # The settings named on the command line: a resumed run compares only those with its own.
    named = {"jit" if action.dest == "no_jit" else action.dest
             for word in (sys.argv[1:] if argv is None else argv)
             for option, action in parser._option_string_actions.items()
             if word.split("=")[0] == option}
    given = named & set(settings)
    config = TrainConfig(**settings).with_recipe(args.recipe, given)
    if "recipe" in named:
        given |= set(PAPER_RECIPE)  # so a resumed run compares the recipe's settings with its own
    return config, args.dry_run, args.resume, given


def main(argv=None):
    config, dry_run, resume, given = parse_args(argv)
    try:
        return _train(config, dry_run, resume, given)
    except KeyboardInterrupt:  # Ctrl-C before training started: nothing to save
        print("train.py: stopped before training started; nothing was written.", file=sys.stderr)
        return 130


def _train(config, dry_run, resume, given):
    try:
        # Every setting is checked before TensorFlow is imported (~3 s).
        config.validate()
        if dry_run:
            print(config.to_json())
            return 0
        import_tensorflow_quietly()
        from tf_dcgan.training import run as training

        run = training.prepare_run(config, resume=resume, given=given)
    except ValueError as error:
        return fail("train.py", error)
    print(f"run folder: {run.run_dir}", flush=True)
    print(run.source.summary(), flush=True)
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
