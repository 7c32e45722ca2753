"""The DCGAN paper's experiments on a trained model: latent walks, vector arithmetic, memorisation,
and the discriminator as a feature extractor (Radford, Metz and Chintala 2015, sections 5.1, 6).

Each function returns what it measured (an image grid as a uint8 array, or a table of
accuracies); `evaluate.py` writes them into the run folder.
"""

import dataclasses
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.checks import ImageFormat
from tf_dcgan.data import ImageSource, make_eval_dataset
from tf_dcgan.data.grids import image_grid, write_png
from tf_dcgan.evaluation.extractors import FeatureExtractor, extract_features
from tf_dcgan.evaluation.scores import generated_batches
from tf_dcgan.model.latent import LatentSpace, interpolate


def parse_arithmetic(expression: str, class_names: list[str]) -> tuple[int, int, int]:
    """"A-B+C" (class names or indices) -> (a, b, c) label indices.

    Raises:
        ValueError: not of that form, or a name the dataset does not have.
    """
    names = list(class_names or [])

    def label(term):
        term = term.strip()
        if term.isdigit() and int(term) < len(names):
            return int(term)
        return names.index(term) if term in names else None

    left, plus, c = (expression or "").rpartition("+")
    labels = []
    # Class names may hold a hyphen themselves ("T-shirt/top"): try every split of A-B.
    for cut in [i for i, char in enumerate(left) if char == "-"] if plus else []:
        terms = (label(left[:cut]), label(left[cut + 1:]), label(c))
        if None not in terms:
            labels = list(terms)
            break
    if len(labels) != 3:
        raise ValueError(
            f"arithmetic must be A-B+C with class names or indices of the dataset; received "
            f"arithmetic={expression!r}. Classes: {', '.join(names) or 'none (no labels)'}."
        )
    return tuple(labels)


@dataclasses.dataclass
class RealImages:
    """The real images the experiments compare with, read as the generator's images are.

    Attributes:
        train: ImageSource. Training images: the nearest neighbours are searched among them, and
            the discriminator-feature classifier is fit on them (with their labels).
        test: ImageSource | None. Labelled test images for that classifier; None skips it.
        image_size: int. The generator's image size.
        channels: int. The generator's channel count.
        resize: str. How images of another size are resized ("crop" or "stretch").
        count: int. Images taken from each source (rounded up to whole batches of 256).
    """

    train: ImageSource
    test: ImageSource | None
    image_size: int
    channels: int
    resize: str = "crop"
    count: int = 10_000

    def read(self, source: ImageSource) -> tuple[np.ndarray, np.ndarray]:
        """`count` images of `source` in [-1, 1], and their labels."""
        images, labels = [], []
        image_format = ImageFormat(self.image_size, self.channels, self.resize)
        for batch_images, batch_labels in make_eval_dataset(source, image_format).take(
                -(-self.count // 256)):
            images.append(batch_images.numpy())
            labels.append(batch_labels.numpy())
        return np.concatenate(images)[:self.count], np.concatenate(labels)[:self.count]


def run_experiments(generator: keras.Model, out_dir: str | Path, extractor: FeatureExtractor,
                    real: RealImages, discriminator: keras.Model | None = None,
                    arithmetic: tuple[int, int, int] | None = None, seed: int = 0) -> dict:
    """The paper's experiments on a trained model, as images and a table in `out_dir`.

    Writes interpolation_slerp.png and interpolation_lerp.png (latent walks), arithmetic.png
    (with `arithmetic` labels, classified by the extractor's classifier), neighbours.png
    (generated images beside their nearest training images in feature space) and, with a
    `discriminator` and labelled `real.test`, the section 5.1 table: a logistic regression on
    D's pooled conv features against one on raw pixels.

    Args:
        generator: keras.Model. An unconditional generator.
        out_dir: str | Path. Where the images are written (created if missing).
        extractor: FeatureExtractor. Features for the neighbours; its classifier for the
            arithmetic.
        real: RealImages. The real images to compare with.
        discriminator: keras.Model | None. The run's discriminator, for the feature table.
        arithmetic: (a, b, c) class labels of "A - B + C" (`parse_arithmetic`), or None.
        seed: int. Seed of the generated noise.

    Returns:
        A dict: the files written, and the discriminator-feature accuracies when measured.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, results = [], {}

    def save(name, grid):
        write_png(out_dir / name, grid)
        written.append(str(out_dir / name))

    for spherical in (True, False):
        save(f"interpolation_{'slerp' if spherical else 'lerp'}.png",
             interpolation_grid(generator, seed=seed, spherical=spherical))
    if arithmetic is not None:
        save("arithmetic.png", vector_arithmetic(
            generator, extractor.classifier, arithmetic, seed=seed))
    train_x, train_y = real.read(real.train)
    generated = np.asarray(next(generated_batches(generator, 8, seed=seed)))
    save("neighbours.png", nearest_neighbours(
        generated, extractor(generated), train_x, extract_features(extractor, [train_x]),
        count=8))
    if discriminator is not None and real.test is not None:
        test_x, test_y = real.read(real.test)
        d_train = discriminator_features(discriminator, train_x)
        d_test = discriminator_features(discriminator, test_x)
        results["discriminator_features"] = {
            "train_images": len(train_x), "test_images": len(test_x),
            "feature_dim": int(d_train.shape[1]),
            "discriminator_accuracy": linear_probe(d_train, train_y, d_test, test_y),
            "pixel_dim": int(np.prod(train_x.shape[1:])),
            "pixel_accuracy": linear_probe(
                train_x.reshape(len(train_x), -1), train_y, test_x.reshape(len(test_x), -1),
                test_y),
        }
    results["files"] = written
    return results


def interpolation_grid(generator: keras.Model, rows: int = 8, steps: int = 10, seed: int = 0,
                       spherical: bool = True) -> np.ndarray:
    """Each row walks the latent space between two random noise vectors (paper, section 6.1).

    Smooth changes along a row, rather than sudden jumps, say the generator has learned a
    continuous representation rather than memorised images.

    Returns:
        A uint8 grid image, `rows` rows of `steps` images.
    """
    latent = LatentSpace.of(generator)
    ends = latent.sample(2 * rows, seed).numpy()
    walks = np.concatenate([interpolate(ends[2 * r], ends[2 * r + 1], steps, spherical)
                            for r in range(rows)])
    return image_grid(np.asarray(generator(walks, training=False)), columns=steps)


def class_means(generator: keras.Model, classifier: keras.Model, labels: list[int],
                per_class: int = 3, candidates: int = 2000, seed: int = 0) -> tuple[dict, dict]:
    """The average noise vector of `per_class` samples the classifier is surest are each label.

    The paper averaged three hand-picked samples per concept; the domain classifier picks here.

    Returns:
        {label: noise vector}, and {label: the chosen samples' noise (per_class, latent_dim)}.
    """
    noise, probabilities = [], []
    for inputs in LatentSpace.of(generator).batches(candidates, 500, seed):
        images = generator(inputs, training=False)
        noise.append(inputs.numpy())
        probabilities.append(tf.nn.softmax(classifier(images, training=False)).numpy())
    noise, probabilities = np.concatenate(noise), np.concatenate(probabilities)
    means, chosen = {}, {}
    for label in labels:
        best = np.argsort(-probabilities[:, label])[:per_class]
        chosen[label] = noise[best]
        means[label] = noise[best].mean(axis=0)
    return means, chosen


def vector_arithmetic(generator: keras.Model, classifier: keras.Model,
                      terms: tuple[int, int, int], variations: int = 8, per_class: int = 3,
                      seed: int = 0, jitter: float = 0.25) -> np.ndarray:
    """Renders mean(z_a) - mean(z_b) + mean(z_c) next to its three terms (paper, section 6.3).

    Each row adds the same small noise (standard deviation `jitter`) to all four vectors, as the
    paper's figures do, to show the result holds around the point and not only at it.

    Args:
        generator: keras.Model. An unconditional generator.
        classifier: keras.Model. Picks the samples of each class (`class_means`).
        terms: (a, b, c). The class labels of a - b + c (`parse_arithmetic`).
        variations: int. Rows, each with its own small offset.
        per_class: int. Samples averaged for each class's vector (the paper's three).
        seed: int. Seed of the candidates and the offsets.
        jitter: float. Standard deviation of the offsets.

    Returns:
        A uint8 grid image: columns a, b, c and a - b + c; `variations` rows.
    """
    a, b, c = terms
    means, _ = class_means(generator, classifier, terms, per_class, seed=seed)
    result = means[a] - means[b] + means[c]
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(variations):
        offset = rng.normal(0.0, jitter, result.shape).astype(np.float32)
        rows.extend(vector + offset for vector in (means[a], means[b], means[c], result))
    images = generator(np.stack(rows).astype(np.float32), training=False)
    return image_grid(np.asarray(images), columns=4)


def nearest_neighbours(generated: np.ndarray, generated_features: np.ndarray, real: np.ndarray,
                       real_features: np.ndarray, count: int = 8) -> np.ndarray:
    """Generated images beside their closest training images in feature space (memorisation).

    Returns:
        A uint8 grid image: `count` rows of (generated, nearest, second, third nearest).
    """
    rows = []
    for index in range(count):
        distances = ((real_features - generated_features[index]) ** 2).sum(axis=1)
        nearest = np.argsort(distances)[:3]
        rows.append(generated[index])
        rows.extend(real[nearest])
    return image_grid(np.stack(rows), columns=4)


def discriminator_features(discriminator: keras.Model, images: np.ndarray, batch_size: int = 500,
                           pool: int = 4) -> np.ndarray:
    """Every conv layer's activations, max-pooled to a `pool` x `pool` grid, flattened and joined.

    The paper's section 5.1 feature extractor (it pooled each layer to 4x4 and fitted a linear
    L2-SVM on the 28,672 features of its ImageNet-trained D).
    """
    import keras

    outputs = [layer.output for layer in discriminator.layers
               if isinstance(layer, keras.layers.LeakyReLU)]
    model = keras.Model(discriminator.inputs, outputs)
    parts = []
    for start in range(0, len(images), batch_size):
        maps = model(images[start:start + batch_size], training=False)
        parts.append(tf.concat([_adaptive_max_pool(m, pool) for m in maps], axis=1).numpy())
    return np.concatenate(parts)


def _adaptive_max_pool(maps, pool):
    """(batch, H, W, C) -> (batch, pool * pool * C): the maximum over each of pool x pool cells
    (cells overlap by a row or column where H or W is not a multiple of `pool`)."""
    height, width = maps.shape[1], maps.shape[2]
    cells = []
    for i in range(pool):
        rows = slice(i * height // pool, -(-(i + 1) * height // pool))
        for j in range(pool):
            columns = slice(j * width // pool, -(-(j + 1) * width // pool))
            cells.append(tf.reduce_max(maps[:, rows, columns, :], axis=[1, 2]))
    return tf.concat(cells, axis=1)


def linear_probe(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray,
                 test_labels: np.ndarray, seed: int = 0) -> float:
    """Test accuracy of a regularised logistic regression fitted on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000,
                                                               random_state=seed))
    model.fit(train_features, train_labels)
    return float(model.score(test_features, test_labels))
