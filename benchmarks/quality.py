"""Sample quality of the default model after each epoch, next to the real-vs-real floor.

Trains the default recipe on Fashion-MNIST for a fixed seed (the same code as `train.py`, with
`--eval-every 1`), scoring `--eval-images` generated images against the test split after every
epoch with the project's Fashion-MNIST classifier, then prints one table: FID, KID, precision and
recall per epoch, and the floor (the training split against the test split, same extractor and
image count) measured in the same run.

    python benchmarks/quality.py                        # 20 epochs, seed 0, 10,000 images
    python benchmarks/quality.py --epochs 5 --seed 1 --out /tmp/quality_seed1
"""

import argparse
import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_dcgan.checks import ImageFormat  # noqa: E402
from tf_dcgan.config import TrainConfig  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-images", type=int, default=10_000)
    parser.add_argument("--out", default=None, help="run folder (default: a new one in runs/)")
    args = parser.parse_args()

    from tf_dcgan import data, evaluation
    from tf_dcgan.evaluation.extractors import extract_features
    from tf_dcgan.evaluation.metrics import score_features
    from tf_dcgan.training import run as training

    config = TrainConfig(epochs=args.epochs, seed=args.seed, eval_every=1,
                         eval_images=args.eval_images, out=args.out)
    run = training.prepare_run(config)
    print(f"run folder: {run.run_dir}", flush=True)
    training.train(run, verbose=2)

    reference, reference_name, floor, floor_name = evaluation.reference_sets(config.dataset)
    extractor = run.extractor
    real = extract_features(extractor, data.make_eval_dataset(reference, ImageFormat(28, 1)))
    other = extract_features(extractor, data.make_eval_dataset(floor, ImageFormat(28, 1)),
                             limit=args.eval_images)
    floor_scores = score_features(real, other, seed=args.seed)

    with open(run.folder.metrics_csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    print(f"\nextractor: {extractor.name}")
    print(f"reference: {reference_name}; {args.eval_images} generated images per epoch; "
          f"seed {args.seed}")
    print(f"{'':>22} {'FID':>8} {'KID':>18} {'precision':>9} {'recall':>7}")
    for row in rows:
        print(f"{'epoch ' + row['epoch']:>22} {float(row['fid']):8.3f} "
              f"{float(row['kid']):8.4f} ± {float(row['kid_std']):7.4f} "
              f"{float(row['precision']):9.3f} {float(row['recall']):7.3f}")
    print(f"{'floor: ' + floor_name:>22} {floor_scores.fid:8.3f} {floor_scores.kid:8.4f} ± "
          f"{floor_scores.kid_std:7.4f} {floor_scores.precision:9.3f} {floor_scores.recall:7.3f}")


if __name__ == "__main__":
    main()
