"""Scoring a generator: features (Inception or the project's classifiers), FID, KID, precision and
recall with their floor, periodic scores during training, and the paper's experiments.
"""

from tf_dcgan.evaluation.classifier import (
    build_classifier,
    save_classifier,
    train_classifier,
)
from tf_dcgan.evaluation.experiments import (
    RealImages,
    class_means,
    discriminator_features,
    interpolation_grid,
    linear_probe,
    nearest_neighbours,
    parse_arithmetic,
    run_experiments,
    vector_arithmetic,
)
from tf_dcgan.evaluation.extractors import (
    DEFAULT_CLASSIFIERS,
    INCEPTION_SIZE,
    INFO_ENTRY,
    FeatureExtractor,
    choose_extractor,
    classifier_extractor,
    extract_features,
    inception_extractor,
)
from tf_dcgan.evaluation.metrics import (
    KID_SUBSET_SIZE,
    KID_SUBSETS,
    PR_NEIGHBOURS,
    Scores,
    frechet_distance,
    kernel_distance,
    precision_recall,
    score_features,
)
from tf_dcgan.evaluation.run import (
    DEFAULT_ARITHMETIC,
    Evaluation,
    evaluate,
)
from tf_dcgan.evaluation.scores import (
    GENERATED_BATCH,
    ClassReport,
    ImageSet,
    Report,
    evaluate_classes,
    evaluate_generator,
    generated_batches,
    reference_sets,
)

__all__ = [
    "DEFAULT_ARITHMETIC",
    "Evaluation",
    "GENERATED_BATCH",
    "ImageSet",
    "RealImages",
    "evaluate",
    "ClassReport",
    "DEFAULT_CLASSIFIERS",
    "FeatureExtractor",
    "INCEPTION_SIZE",
    "INFO_ENTRY",
    "KID_SUBSETS",
    "KID_SUBSET_SIZE",
    "PR_NEIGHBOURS",
    "Report",
    "Scores",
    "build_classifier",
    "choose_extractor",
    "class_means",
    "classifier_extractor",
    "discriminator_features",
    "evaluate_classes",
    "evaluate_generator",
    "extract_features",
    "frechet_distance",
    "generated_batches",
    "inception_extractor",
    "interpolation_grid",
    "kernel_distance",
    "linear_probe",
    "nearest_neighbours",
    "parse_arithmetic",
    "precision_recall",
    "reference_sets",
    "run_experiments",
    "save_classifier",
    "score_features",
    "train_classifier",
    "vector_arithmetic",
]
