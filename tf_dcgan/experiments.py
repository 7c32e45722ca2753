"""The DCGAN paper's experiments on a trained model: latent walks, vector arithmetic, memorisation,
and the discriminator as a feature extractor (Radford, Metz and Chintala 2015, sections 5.1, 6).

Each function returns what it measured (an image grid as a uint8 array, or a table of
accuracies); `evaluate.py` writes them into the run folder.
"""

import numpy as np
import tensorflow as tf

from tf_dcgan.callbacks import image_grid
from tf_dcgan.latent import LatentSpace, interpolate


def interpolation_grid(generator, rows=8, steps=10, seed=0, spherical=True):
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


def class_means(generator, classifier, labels, per_class=3, candidates=2000, seed=0):
    """The average noise vector of `per_class` samples the classifier is surest are each label.

    The paper averaged three hand-picked samples per concept; the domain classifier picks here.

    Returns:
        {label: noise vector}, and {label: the chosen samples' noise (per_class, latent_dim)}.
    """
    latent = LatentSpace.of(generator)
    noise = latent.sample(candidates, seed).numpy()
    probabilities = []
    for start in range(0, candidates, 500):
        images = generator(noise[start:start + 500], training=False)
        probabilities.append(tf.nn.softmax(classifier(images, training=False)).numpy())
    probabilities = np.concatenate(probabilities)
    means, chosen = {}, {}
    for label in labels:
        best = np.argsort(-probabilities[:, label])[:per_class]
        chosen[label] = noise[best]
        means[label] = noise[best].mean(axis=0)
    return means, chosen


def vector_arithmetic(generator, classifier, a, b, c, variations=8, per_class=3, seed=0,
                      jitter=0.25):
    """Renders mean(z_a) - mean(z_b) + mean(z_c) next to its three terms (paper, section 6.3).

    Each row adds the same small noise (standard deviation `jitter`) to all four vectors, as the
    paper's figures do, to show the result holds around the point and not only at it.

    Returns:
        A uint8 grid image: columns a, b, c and a - b + c; `variations` rows.
    """
    means, _ = class_means(generator, classifier, (a, b, c), per_class, seed=seed)
    result = means[a] - means[b] + means[c]
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(variations):
        offset = rng.normal(0.0, jitter, result.shape).astype(np.float32)
        rows.extend(vector + offset for vector in (means[a], means[b], means[c], result))
    images = generator(np.stack(rows).astype(np.float32), training=False)
    return image_grid(np.asarray(images), columns=4)


def nearest_neighbours(generated, generated_features, real, real_features, count=8):
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


def discriminator_features(discriminator, images, batch_size=500, pool=4):
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


def linear_probe(train_features, train_labels, test_features, test_labels, seed=0):
    """Test accuracy of a regularised logistic regression fitted on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000,
                                                               random_state=seed))
    model.fit(train_features, train_labels)
    return float(model.score(test_features, test_labels))
