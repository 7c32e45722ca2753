"""Train the domain classifier whose features score generators (FID, KID, precision, recall).

    python scripts/train_classifier.py                      # Fashion-MNIST -> tf_dcgan/evaluation/classifiers/
    python scripts/train_classifier.py --dataset cifar10 --out cifar10_classifier.keras

It learns the dataset's labelled training split and is tested on its test split; the accuracy is
stored in the file and shown in every evaluation report.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_dcgan.cli import Parser, fail, import_tensorflow_quietly  # noqa: E402

DEFAULT_OUT = "tf_dcgan/evaluation/classifiers/fashion_mnist_classifier.keras"


def main(argv=None):
    parser = Parser(description="Train a small CNN on a labelled dataset; its `features` layer "
                    "becomes a feature extractor for evaluate.py.")
    parser.add_argument("--dataset", default="fashion_mnist",
                        help="a labelled dataset with train and test splits (default: %(default)s)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--epochs", type=int, default=6, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    args = parser.parse_args(argv)
    import_tensorflow_quietly()
    import numpy as np

    from tf_dcgan import data
    from tf_dcgan import evaluation as extractors

    try:
        train = data.read_images(f"{args.dataset}:train")
        test = data.read_images(f"{args.dataset}:test")
        if train.labels is None or (np.asarray(train.labels) < 0).any():
            raise ValueError(f"dataset {args.dataset!r} has no labels; a classifier needs them.")
        size = train.image_size or 64
        stream, steps = data.make_training_stream(train, size, train.channels, args.batch_size,
                                                  seed=0)
        num_classes = int(np.max(train.labels)) + 1
        accuracy = extractors.train_classifier(
            stream, data.make_eval_dataset(test, size, train.channels), num_classes, args.out,
            f"{args.dataset}:train", epochs=args.epochs, steps_per_epoch=steps)
    except ValueError as error:
        return fail("train_classifier.py", error)
    print(f"test accuracy {100 * accuracy:.2f}%: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
