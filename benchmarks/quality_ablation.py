"""The recipe ablation: training recipes, and G against its moving average, scored from runs.

Each run folder is one training recipe and one seed; its kept checkpoints are restored at the
chosen epochs and scored with the evaluation issue's benchmark (the project's Fashion-MNIST
classifier, `--eval-images` generated images against the test split, the same noise seed for
every model; a folder's own held-out split and extractor for a folder). Rows are named by the
settings that differ from the paper's recipe ("paper" when none does) and by the sampler. A moving average of G never changes training (`tests/test_ema.py`
pins it), so a run with `--ema-decay` holds two rows: its plain G and its average. The table
lists every seed and the mean, each row's FID as a ratio to the first run folder's recipe with its
plain G, and the real-vs-real floor measured in the same run.

Make the runs (every epoch's checkpoint kept), then score them in one run of this script:

    python train.py --epochs 20 --seed 1 --keep-checkpoints 20 --out runs/default-seed1
    python train.py --epochs 20 --seed 2 --keep-checkpoints 20 --out runs/default-seed2
    python train.py --recipe paper --ema-decay 0.999 --epochs 20 --seed 1 --keep-checkpoints 20 \
        --out runs/paper-seed1
    python train.py --recipe paper --ema-decay 0.999 --epochs 20 --seed 2 --keep-checkpoints 20 \
        --out runs/paper-seed2
    python benchmarks/quality_ablation.py runs/paper-seed? runs/default-seed? --epochs 5 20

The 64x64 emoji table of docs/training.md ("A 64x64 recipe") is the same script over runs on
`scripts/get_emoji.py`'s folder, today's default first:

    python train.py --dataset data/emoji --image-size 64 --channels 3 --epochs 51 \
        --steps-per-epoch 59 --seed 0 --ema-decay 0.999 --eval-every 3 --keep-best \
        --out runs/emoji_a_s0
    python train.py ... --label-smoothing 0.1 --out runs/emoji_b_s0      (and --seed 1 of each)
    python benchmarks/quality_ablation.py runs/emoji_a_s? runs/emoji_b_s? --epochs 51
"""

import argparse
import csv
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METRICS = ("fid", "kid", "precision", "recall")


# The settings that make a training recipe (the moving average does not change training: it is
# the sampler column).
RECIPE_SETTINGS = ("batch_size", "latent_dim", "base_filters", "learning_rate", "d_learning_rate",
                   "g_learning_rate", "beta1", "beta2", "label_smoothing", "d_update", "precision")


def _recipe_name(config):
    """The run's training recipe: "paper", or its settings that differ from the paper's."""
    import dataclasses

    from tf_dcgan.config import TrainConfig

    # The paper trained in float32: a bf16 run says so in its name.
    paper = dataclasses.replace(TrainConfig().with_recipe("paper"), precision="float32")
    changed = [f"{name} {getattr(config, name)}" for name in RECIPE_SETTINGS
               if getattr(config, name) != getattr(paper, name)]
    return ", ".join(changed) or "paper"


def last_step_of_epochs(run_folder):
    """{epoch: the step at its end}, from the run's per-step losses.csv."""
    with open(run_folder.losses_csv_path, newline="") as f:
        ends = {}
        for row in csv.DictReader(f):
            ends[int(row["epoch"])] = max(ends.get(int(row["epoch"]), 0), int(row["step"]))
    return ends


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders with a checkpoint kept for every "
                        "epoch asked for (--keep-checkpoints)")
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--eval-images", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated noise")
    args = parser.parse_args()

    from tf_dcgan import data, evaluation
    from tf_dcgan.checks import ImageFormat
    from tf_dcgan.evaluation.extractors import extract_features
    from tf_dcgan.evaluation.metrics import score_features
    from tf_dcgan.run_folder import RunFolder
    from tf_dcgan.training.checkpoints import TrainingState
    from tf_dcgan.training.run import build_gan

    folders = [RunFolder.open(run) for run in args.runs]
    configs = [folder.read_config() for folder in folders]
    dataset = configs[0].dataset
    reference, reference_name, floor, floor_name = evaluation.reference_sets(dataset)
    extractor = evaluation.choose_extractor(dataset)
    size, channels = configs[0].image_size, configs[0].channels
    real = extract_features(extractor,
                            data.make_eval_dataset(reference, ImageFormat(size, channels)))
    other = extract_features(extractor, data.make_eval_dataset(floor, ImageFormat(size, channels)),
                             limit=args.eval_images)
    floor_scores = score_features(real, other, seed=args.seed)

    def score(generator):
        fake = extract_features(extractor, evaluation.generated_batches(
            generator, args.eval_images, seed=args.seed), limit=args.eval_images)
        result = score_features(real, fake, seed=args.seed)
        return {name: getattr(result, name) for name in METRICS}

    rows = {}  # (epoch, recipe, sampler) -> [(seed, scores), ...]
    for folder, config in zip(folders, configs):
        recipe = _recipe_name(config)
        gan = build_gan(config)
        state = TrainingState(gan, folder.checkpoints_dir)
        ends = last_step_of_epochs(folder)
        for epoch in args.epochs:
            if epoch not in ends:  # a shorter run (a 5-epoch screen): only its own epochs
                continue
            path = folder.checkpoints_dir / f"ckpt-{ends[epoch]}"
            state.checkpoint.restore(str(path)).assert_existing_objects_matched()
            samplers = [("G", gan.generator)]
            if config.ema_decay is not None:
                samplers.append((f"EMA {config.ema_decay}", gan.ema_generator))
            for sampler, generator in samplers:
                if any(seed == config.seed for seed, _ in rows.get((epoch, recipe, sampler), [])):
                    continue  # the same recipe and seed trains the same networks: scored once
                scores = score(generator)
                rows.setdefault((epoch, recipe, sampler), []).append((config.seed, scores))
                print(f"seed {config.seed} epoch {epoch} {recipe} {sampler}: " + ", ".join(
                    f"{name} {value:.4f}" for name, value in scores.items()), flush=True)

    print(f"\nextractor: {extractor.name}; reference: {reference_name}; {args.eval_images} "
          f"generated images, noise seed {args.seed}")
    print(f"{'epoch':>5} {'training recipe':<32} {'sampler':<10} {'seed':>6} {'FID':>8} "
          f"{'KID':>8} {'precision':>9} {'recall':>7}")
    for (epoch, recipe, sampler), results in rows.items():
        for seed, scores in results + [("mean", {
                name: statistics.mean(s[name] for _, s in results) for name in METRICS})]:
            print(f"{epoch:>5} {recipe:<32} {sampler:<10} {seed!s:>6} {scores['fid']:8.2f} "
                  f"{scores['kid']:8.3f} {scores['precision']:9.3f} "
                  f"{scores['recall']:7.3f}")
    # The baseline is the first run folder's recipe with its plain G (the paper's recipe in the
    # Fashion-MNIST ablation, today's default in the 64x64 one).
    baseline = _recipe_name(configs[0])
    reference_fid = {epoch: statistics.mean(s["fid"] for _, s in results)
                     for (epoch, recipe, sampler), results in rows.items()
                     if recipe == baseline and sampler == "G"}
    for (epoch, recipe, sampler), results in rows.items():
        if epoch in reference_fid and (recipe, sampler) != (baseline, "G"):
            mean = statistics.mean(s["fid"] for _, s in results)
            print(f"epoch {epoch}: {recipe}, {sampler}: FID / {baseline}, G's FID = "
                  f"{mean / reference_fid[epoch]:.2f} (means over seeds)")
    print(f"floor ({floor_name} vs {reference_name}): FID {floor_scores.fid:.2f}, KID "
          f"{floor_scores.kid:.3f}, precision {floor_scores.precision:.3f}, "
          f"recall {floor_scores.recall:.3f}")


if __name__ == "__main__":
    main()
