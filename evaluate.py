"""Score a trained generator: FID, KID, precision and recall against real images, with the floor.

A class-conditional generator (train.py --conditional) is also scored class by class: the domain
classifier's accuracy on each class's images, and each class's FID against its real images.

    python evaluate.py --run runs/20261125-202956-fashion_mnist
    python evaluate.py --generator docs/fashion_mnist_run/generator.keras --dataset fashion_mnist
"""

import json
import sys
from pathlib import Path

from tf_dcgan.checks import check_positive_int
from tf_dcgan.cli import Parser, fail, import_tensorflow_quietly

DEFAULT_ARITHMETIC = {"fashion_mnist": "Ankle boot-Sneaker+Sandal"}
EXAMPLES = """examples:
  python evaluate.py --run runs/20261125-202956-fashion_mnist
  python evaluate.py --generator docs/fashion_mnist_run/generator.keras --num-images 5000
  python evaluate.py --run RUN --extractor inception --inception-weights ~/inception_notop.h5
  python evaluate.py --run RUN --experiments --arithmetic "Ankle boot-Sneaker+Sandal"
"""


def parse_args(argv=None):
    """Parses the flags; a usage error is one line and exit code 2."""
    parser = Parser(
        description="Score a generator against real images: FID, KID, precision and recall, "
        "next to the same metrics between two real sets (the floor).", examples=EXAMPLES)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="a run folder written by train.py")
    source.add_argument("--generator", help="a generator .keras file")
    parser.add_argument("--dataset", default=None,
                        help="real images: a TFDS name (scored against its test split), a folder "
                        "or a .npy/.npz (a held-out 10%%) (default: the run's own)")
    parser.add_argument("--data-dir", default=None, help="where TensorFlow Datasets keeps its data")
    parser.add_argument("--num-images", type=int, default=10_000,
                        help="generated images to score (default: %(default)s)")
    parser.add_argument("--extractor", default=None,
                        help="'inception', or a classifier .keras from scripts/train_classifier.py "
                        "(default: the project's Fashion-MNIST classifier for fashion_mnist, "
                        "else inception)")
    parser.add_argument("--inception-weights", default=None,
                        help="InceptionV3 no-top weights file (default: Keras' cache)")
    parser.add_argument("--batch-size", type=int, default=250, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated noise")
    parser.add_argument("--per-class", action="store_true",
                        help="also score an unconditional generator class by class: the domain "
                        "classifier sorts its images into classes (their shares, and each "
                        "class's FID); a conditional generator always is")
    parser.add_argument("--per-class-images", type=int, default=1000,
                        help="images per class for the class scores (an unconditional "
                        "generator: this times the class count) (default: %(default)s)")
    parser.add_argument("--experiments", action="store_true",
                        help="also run the paper's experiments into RUN/experiments (or "
                        "--images-dir): latent walks, vector arithmetic, nearest training images, "
                        "and (with --run) D's features under a linear classifier")
    parser.add_argument("--arithmetic", default=None,
                        help="vector arithmetic A-B+C on class names or indices (default for "
                        "fashion_mnist: 'Ankle boot-Sneaker+Sandal')")
    parser.add_argument("--probe-images", type=int, default=10_000,
                        help="labelled train and test images for the discriminator-feature "
                        "classifier (default: %(default)s)")
    parser.add_argument("--images-dir", default=None,
                        help="where --experiments writes with --generator")
    parser.add_argument("--out", default=None,
                        help="write the report as JSON here (default with --run: "
                        "RUN/evaluation.json)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        check_positive_int("num_images", args.num_images, "Use e.g. --num-images 10000.")
        check_positive_int("batch_size", args.batch_size, "Use e.g. --batch-size 250.")
        check_positive_int("per_class_images", args.per_class_images,
                           "Use e.g. --per-class-images 1000.")
        import_tensorflow_quietly()
        from tf_dcgan import evaluation
        from tf_dcgan.data.pipelines import make_eval_dataset
        from tf_dcgan.files import atomic_output
        from tf_dcgan.model import LatentSpace, load_generator, load_model_file
        from tf_dcgan.run_folder import RunFolder

        config = RunFolder.open(args.run).read_config() if args.run else None
        generator = load_generator(run_dir=args.run, path=args.generator)
        dataset = args.dataset or (config.dataset if config else None)
        if dataset is None:
            raise ValueError("dataset is needed with --generator; received none. Pass e.g. "
                             "--dataset fashion_mnist.")
        resize = config.resize if config else "crop"
        _, size, _, channels = generator.output_shape
        reference, reference_name, floor, floor_name = evaluation.reference_sets(
            dataset, args.data_dir or (config.data_dir if config else None))
        if reference.image_size is not None and reference.image_size != size:
            raise ValueError(
                f"dataset {dataset!r} has {reference.image_size}x{reference.image_size} images "
                f"and the generator makes {size}x{size}; score a generator against the images it "
                "was trained on (pass the matching --dataset).")
        extractor = evaluation.choose_extractor(dataset, args.extractor, args.inception_weights)
        extractor.check_images(channels)
        experiments = None
        if args.experiments:
            if LatentSpace.of(generator).conditional:
                raise ValueError("--experiments walks an unconditional generator's noise; "
                                 "received a conditional generator. Leave --experiments out: "
                                 "its class scores are printed without it.")
            check_positive_int("probe_images", args.probe_images, "Use e.g. 10000.")
            images_dir = (RunFolder(args.run).experiments_dir if args.run else args.images_dir)
            if images_dir is None:
                raise ValueError("images_dir is needed for --experiments with --generator; "
                                 "received none. Pass --images-dir DIR.")
            expression = args.arithmetic or DEFAULT_ARITHMETIC.get(dataset.partition(":")[0])
            arithmetic = None
            if expression is not None:
                if getattr(extractor, "classifier", None) is None:
                    raise ValueError("arithmetic needs a classifier extractor to pick the "
                                     "classes; received --extractor inception. Pass a "
                                     "classifier .keras with --extractor.")
                arithmetic = evaluation.parse_arithmetic(expression, floor.class_names)
            discriminator = None
            if args.run and RunFolder(args.run).dcgan_path.is_file():
                discriminator = load_model_file(
                    RunFolder(args.run).dcgan_path).discriminator
        report = evaluation.evaluate_generator(
            generator, extractor, make_eval_dataset(reference, size, channels, resize=resize),
            reference_name, num_images=args.num_images,
            floor_batches=make_eval_dataset(floor, size, channels, resize=resize),
            floor_name=floor_name, batch_size=args.batch_size, seed=args.seed)
        classes = None
        if LatentSpace.of(generator).conditional or args.per_class:
            classes = evaluation.evaluate_classes(
                generator, extractor, make_eval_dataset(reference, size, channels, resize=resize),
                reference_name, num_per_class=args.per_class_images, batch_size=args.batch_size,
                seed=args.seed, class_names=reference.class_names)
        if args.experiments:
            experiments = evaluation.run_experiments(
                generator, images_dir, extractor, floor, size, channels,
                discriminator=discriminator, arithmetic=arithmetic, test_source=reference,
                probe_images=args.probe_images, seed=args.seed, resize=resize)
        out = args.out or (RunFolder(args.run).evaluation_path if args.run else None)
        if out is not None:
            written = report.as_dict()
            if experiments is not None:
                written["experiments"] = experiments
            if classes is not None:
                written["classes"] = classes.as_dict()
            with atomic_output(Path(out)) as tmp:
                tmp.write_text(json.dumps(written, indent=2) + "\n")
    except ValueError as error:
        return fail("evaluate.py", error)
    print(report.table())
    if classes is not None:
        print(classes.table())
    if experiments is not None:
        probe = experiments.get("discriminator_features")
        if probe:
            print(f"linear classifier (logistic regression) on {probe['train_images']} train / "
                  f"{probe['test_images']} test images: discriminator features "
                  f"({probe['feature_dim']}-d) {100 * probe['discriminator_accuracy']:.2f}%, "
                  f"raw pixels ({probe['pixel_dim']}-d) {100 * probe['pixel_accuracy']:.2f}%")
        print("experiments: " + ", ".join(experiments["files"]))
    if out is not None:
        print(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
