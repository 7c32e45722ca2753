"""Train the domain classifier whose features score generators (FID, KID, precision, recall).

    python scripts/train_classifier.py --dataset cifar10 --out cifar10_classifier.keras
    python scripts/train_classifier.py --dataset my_photos/ --out photos_classifier.keras
    python scripts/train_classifier.py --out tf_dcgan/evaluation/classifiers/fashion_mnist_classifier.keras --overwrite

A named dataset learns its train split and is tested on its test split. A folder of class
sub-folders (my_photos/cats/, my_photos/dogs/, ...) learns a seeded 90% of each class and is tested
on the other 10% (`--held-out`). The accuracy and what it learned are stored in the file and shown
in every evaluation report (`evaluate.py --extractor FILE`). An existing --out is replaced only
with --overwrite.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from tf_dcgan.checks import ImageFormat  # noqa: E402
from tf_dcgan.checks import check_image_size, check_positive_int  # noqa: E402
from tf_dcgan.cli import Parser, fail, import_tensorflow_quietly  # noqa: E402
from tf_dcgan.files import check_writable  # noqa: E402


def main(argv=None):
    parser = Parser(description="Train a small CNN on a labelled dataset or a folder of class "
                    "sub-folders; its `features` layer becomes a feature extractor for "
                    "evaluate.py --extractor.")
    parser.add_argument("--dataset", default="fashion_mnist",
                        help="a labelled TFDS dataset with train and test splits, or a folder of "
                        "class sub-folders (default: %(default)s)")
    parser.add_argument("--out", required=True, help="the .keras file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--image-size", type=int, default=None,
                        help="the classifier's image size (default: the images' own, else 64)")
    parser.add_argument("--held-out", type=float, default=0.1,
                        help="a folder's share of each class kept for the test (default: "
                        "%(default)s)")
    parser.add_argument("--epochs", type=int, default=6, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if os.path.exists(args.out) and not args.overwrite:
            raise ValueError(f"{args.out} already exists; pass --overwrite to replace it, or "
                             "pick another --out.")
        if not args.out.endswith(".keras"):
            raise ValueError(f"out must end in .keras; received out={args.out!r}. Use e.g. "
                             "--out my_classifier.keras.")
        if not 0 < args.held_out < 1:
            raise ValueError(f"held_out must be between 0 and 1; received {args.held_out}. "
                             "Use e.g. --held-out 0.1.")
        if args.image_size is not None:
            check_image_size(args.image_size)
        check_positive_int("epochs", args.epochs, "Use e.g. --epochs 6.", 10_000)
        check_positive_int("batch_size", args.batch_size, "Use e.g. --batch-size 128.", 65_536)
        # Checked now, not after the whole training: a folder, a read-only place, a full disk.
        check_writable(args.out, "Pick another --out.")
    except ValueError as error:
        return fail("train_classifier.py", error)
    import_tensorflow_quietly()
    from tf_dcgan import data
    from tf_dcgan import evaluation as extractors

    try:
        train, test, name = _splits(args, data)
        size = args.image_size or train.image_size or 64
        stream, steps = data.make_training_stream(train, ImageFormat(size, train.channels),
                                                  args.batch_size, seed=0)
        num_classes = int(np.max(train.labels)) + 1
        accuracy = extractors.train_classifier(
            stream, data.make_eval_dataset(test, ImageFormat(size, train.channels)),
            num_classes, args.out, name, epochs=args.epochs, steps_per_epoch=steps)
    except ValueError as error:
        return fail("train_classifier.py", error)
    print(f"held-out accuracy {100 * accuracy:.2f}% on {test.num_images} images of "
          f"{num_classes} classes: {args.out}")
    return 0


def _splits(args, data):
    """(train source, test source, the name stored in the classifier)."""
    if not os.path.isdir(args.dataset):
        train = data.read_images(f"{args.dataset}:train")
        _check_labels(train, args.dataset)
        return train, data.read_images(f"{args.dataset}:test"), f"{args.dataset}:train"
    source = data.read_images(args.dataset)
    _check_labels(source, args.dataset)
    # The split evaluate.py scores against (its held-out share of each class), so no reference
    # image is one the classifier learned.
    train, test = data.held_out_split(source, args.held_out, seed=0)
    share = f"{100 * (1 - args.held_out):.0f}%"
    return train, test, f"{args.dataset} ({share} of each class)"


def _check_labels(source, dataset):
    labels = None if source.labels is None else np.asarray(source.labels)
    if labels is None or (labels < 0).any() or len(np.unique(labels)) < 2:
        raise ValueError(f"dataset {dataset!r} has no class labels; a classifier needs them. "
                         "Pass a labelled dataset, or a folder with one sub-folder per class.")
    counts = np.bincount(labels)
    small = [index for index, count in enumerate(counts) if count < 2]
    if small and source.paths is not None:
        names = source.class_names or [str(index) for index in range(len(counts))]
        listed = ", ".join(f"{names[index]} ({counts[index]})" for index in small[:5])
        raise ValueError(f"every class needs at least 2 images, one to learn and one to test; "
                         f"dataset {dataset!r} has {listed}. Add images to those folders, or "
                         "remove them.")


if __name__ == "__main__":
    sys.exit(main())
