"""The generator's exponential moving average: what it is, who samples from it, what keeps it."""

import keras
import numpy as np
import pytest

import export
import train
from tests.helpers import TINY_RUN, tflite_run
from tf_dcgan.checks import ImageFormat
from tf_dcgan import DCGAN, build_discriminator, build_generator
from tf_dcgan.model import load_generator
from tf_dcgan.training.checkpoints import TrainingState


def _gan(ema_decay=None):
    gan = DCGAN(build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=8, seed=1),
                build_discriminator(ImageFormat(16, 1), base_filters=8, seed=2),
                latent_dim=8, seed=3,
                ema_decay=ema_decay)
    gan.compile()
    return gan


def _values(model):
    return [np.asarray(w).copy() for w in model.weights]


def test_the_average_follows_the_formula_and_never_changes_training(tiny_images):
    plain, averaged = _gan(), _gan(ema_decay=0.9)
    before = _values(averaged.generator)
    assert all(np.array_equal(a, b) for a, b in zip(_values(averaged.ema_generator), before))
    expected = before
    for step in range(3):
        plain.train_on_batch(tiny_images[:16])
        averaged.train_on_batch(tiny_images[:16])
        now = _values(averaged.generator)
        # Weights and BatchNorm statistics alike, with the decay's warm-up: after t steps it
        # is min(0.9, (1 + t) / (10 + t)).
        decay = min(0.9, (2 + step) / (11 + step))
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, now)]
        for got, want in zip(_values(averaged.ema_generator), expected):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # The same seeds with and without the average: the trained networks are identical, so the
    # paper's recipe is the plain generator of an averaged run.
    for a, b in zip(_values(plain.generator) + _values(plain.discriminator),
                    _values(averaged.generator) + _values(averaged.discriminator)):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(_values(averaged.ema_generator)[0], _values(averaged.generator)[0])


def test_samples_generate_and_the_saved_generator_come_from_the_average(tiny_images):
    gan = _gan(ema_decay=0.5)
    for _ in range(2):
        gan.train_on_batch(tiny_images[:16])
    assert gan.sampler is gan.ema_generator
    noise = gan.latent.sample(4, 0)
    want = np.asarray(gan.ema_generator(noise, training=False))
    assert not np.allclose(want, np.asarray(gan.generator(noise, training=False)), atol=1e-4)
    np.testing.assert_allclose(np.asarray(gan.generate(4, seed=0)), want, atol=1e-6)
    np.testing.assert_allclose(np.asarray(gan(noise)), want, atol=1e-6)
    np.testing.assert_allclose(np.asarray(gan.inference_generator()(noise)), want, atol=1e-6)
    plain = _gan()
    assert plain.sampler is plain.generator and plain.ema_generator is None


def test_keras_file_round_trip_keeps_the_generator_and_its_average(tiny_images, tmp_path):
    gan = _gan(ema_decay=0.5)
    for _ in range(2):
        gan.train_on_batch(tiny_images[:16])
    gan.save(tmp_path / "dcgan.keras")
    loaded = keras.models.load_model(tmp_path / "dcgan.keras")
    assert loaded.ema_decay == 0.5
    for ours, theirs in ((gan.generator, loaded.generator),
                         (gan.ema_generator, loaded.ema_generator)):
        for a, b in zip(_values(ours), _values(theirs)):
            np.testing.assert_array_equal(a, b)
    # Training continues the average from where it was (.keras files do not keep the noise
    # stream, so the step itself differs from the original's).
    average = _values(loaded.ema_generator)
    loaded.train_on_batch(tiny_images[16:32])
    decay = min(0.5, (1 + 3) / (10 + 3))  # the third generator step
    for got, old, new in zip(_values(loaded.ema_generator), average, _values(loaded.generator)):
        np.testing.assert_allclose(got, decay * old + (1 - decay) * new, rtol=1e-5, atol=1e-7)


def test_checkpoints_restore_the_average(tiny_images, tmp_path):
    gan = _gan(ema_decay=0.5)
    gan.train_on_batch(tiny_images[:16])
    TrainingState(gan, tmp_path).save(step=1)
    fresh = _gan(ema_decay=0.5)
    assert TrainingState(fresh, tmp_path).restore_newest() == 1
    for a, b in zip(_values(gan.ema_generator), _values(fresh.ema_generator)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_run_with_an_average_writes_and_exports_the_average(tmp_path):
    out = tmp_path / "run"
    # float32 on every host, so the loaded DCGAN computes as the exported float32 copies do.
    assert train.main([*TINY_RUN, "--ema-decay", "0.5", "--precision", "float32",
                       "--out", str(out)]) == 0
    whole = keras.models.load_model(out / "dcgan.keras")
    saved = keras.models.load_model(out / "generator.keras", compile=False)
    for a, b in zip(_values(saved), _values(whole.ema_generator)):
        np.testing.assert_array_equal(a, b)
    noise = np.random.default_rng(1).normal(size=(3, 16)).astype("float32")
    assert not np.allclose(whole.generator(noise, training=False),
                           whole.ema_generator(noise, training=False), atol=1e-4)
    assert export.main(["--run", str(out), "--out", str(tmp_path / "exports"), "--tflite"]) == 0
    np.testing.assert_allclose(tflite_run(tmp_path / "exports" / "dcgan.tflite", noise),
                               whole.ema_generator(noise, training=False), atol=1e-4)
    # A whole-DCGAN file exports its average too.
    unwrapped = load_generator(path=out / "dcgan.keras")
    np.testing.assert_allclose(unwrapped(noise, training=False),
                               whole.ema_generator(noise, training=False), atol=1e-6)


def test_a_bad_decay_is_one_line(capsys):
    assert train.main(["--ema-decay", "1.5", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ema_decay=1.5" in err
