"""Sample-quality metrics between generated and real images, in feature space.

- Fréchet distance (FID, Heusel et al. 2017) between Gaussians fitted to the two feature sets;
- kernel distance (KID, Bińkowski et al. 2018): the unbiased MMD² with the cubic polynomial
  kernel k(x, y) = (x·y / d + 1)³, as a mean and standard deviation over random subsets;
- improved precision and recall (Kynkäänniemi et al. 2019): the share of generated samples inside
  the real samples' k-nearest-neighbour balls (precision), and the reverse (recall), k = 3.

Features come from an extractor (`tf_dcgan.evaluation.extractors`); numbers are only comparable for the same
extractor, image count and reference split, so every report names them. Everything is computed
in batches: images pass through once, only their features are kept.
"""

import dataclasses

import numpy as np

# torch-fidelity's defaults, so our KID and precision/recall read like theirs.
KID_SUBSETS = 100


KID_SUBSET_SIZE = 1000


PR_NEIGHBOURS = 3


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature sets (N, D): |mu1 - mu2|² + Tr(S1 + S2 - 2 (S1 S2)^1/2).

    The matrix square root's trace is taken from the eigenvalues of S1^1/2 S2 S1^1/2 (symmetric,
    positive semi-definite), which is exact and stable without SciPy.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    values, vectors = np.linalg.eigh(s1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root1 @ s2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_root)


def kernel_distance(real: np.ndarray, fake: np.ndarray, subsets: int = KID_SUBSETS,
                    subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> tuple[float, float]:
    """KID: (mean, std) of the unbiased MMD² over `subsets` random subsets of each set."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    dim = real.shape[1]
    scores = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = fake[rng.choice(len(fake), size, replace=False)]
        kxx = (x @ x.T / dim + 1) ** 3
        kyy = (y @ y.T / dim + 1) ** 3
        kxy = (x @ y.T / dim + 1) ** 3
        off_diagonal = size * (size - 1)
        scores.append((kxx.sum() - np.trace(kxx)) / off_diagonal
                      + (kyy.sum() - np.trace(kyy)) / off_diagonal - 2 * kxy.mean())
    return float(np.mean(scores)), float(np.std(scores))


def _squared_distances(a, b):
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)


def _kth_neighbour_radii(features, k, batch):
    """Squared distance from each row to its k-th nearest other row."""
    radii = np.empty(len(features))
    for start in range(0, len(features), batch):
        block = _squared_distances(features[start:start + batch], features)
        # Column k, not k - 1: the nearest "neighbour" of a point is itself, at distance 0.
        radii[start:start + batch] = np.partition(block, k, axis=1)[:, k]
    return radii


def _coverage(manifold, radii, queries, batch):
    """Share of `queries` inside at least one ball (centre in `manifold`, squared radius)."""
    inside = 0
    for start in range(0, len(queries), batch):
        block = _squared_distances(queries[start:start + batch], manifold)
        inside += int((block <= radii[None, :]).any(axis=1).sum())
    return inside / len(queries)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = PR_NEIGHBOURS,
                     batch: int = 1000) -> tuple[float, float]:
    """Improved precision and recall with k-nearest-neighbour manifolds; (precision, recall)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    precision = _coverage(real, _kth_neighbour_radii(real, k, batch), fake, batch)
    recall = _coverage(fake, _kth_neighbour_radii(fake, k, batch), real, batch)
    return precision, recall


@dataclasses.dataclass
class Scores:
    """FID, KID and precision/recall of one feature set against a reference set."""

    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float

    def as_dict(self):
        return dataclasses.asdict(self)


def score_features(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> Scores:
    """All metrics of generated features `fake` against real features `real`.

    Example:
        >>> scores = score_features(real_features, fake_features)
        >>> scores.fid, scores.precision
    """
    kid, kid_std = kernel_distance(real, fake, seed=seed)
    precision, recall = precision_recall(real, fake)
    return Scores(frechet_distance(real, fake), kid, kid_std, precision, recall)
