"""The adversarial losses (`--loss`): one table of names, one of functions, each loss its formula."""

import numpy as np
import pytest
import tensorflow as tf

from tf_dcgan.checks import GAN_LOSSES
from tf_dcgan.config import TrainConfig
from tf_dcgan.model import losses

LOGITS = tf.constant([[-2.0], [-0.5], [0.25], [3.0]])


def _losses(name):
    d_loss, g_loss = losses.adversarial_losses(name)
    return (float(losses.discriminator_real_loss(d_loss, LOGITS)),
            float(losses.discriminator_fake_loss(d_loss, LOGITS)),
            float(losses.generator_loss(g_loss, LOGITS)))


def test_every_loss_name_has_its_functions_and_nothing_else_does():
    # One table of names (TF-free: flags, config, docs) and one of functions, by the same keys.
    assert set(losses.LOSS_FUNCTIONS) == set(GAN_LOSSES)
    for name, kind in GAN_LOSSES.items():
        d_loss, g_loss = losses.adversarial_losses(name)
        assert (d_loss is g_loss) == kind.g_shares_d_loss, name
        assert name in TrainConfig.__dataclass_fields__["loss"].metadata["help"]
    with pytest.raises(ValueError, match="loss must be one of ns, hinge, lsgan"):
        losses.adversarial_losses("wasserstein")


def test_each_loss_is_its_papers_formula():
    x = LOGITS.numpy()
    sigmoid = 1 / (1 + np.exp(-x))
    assert _losses("ns") == pytest.approx(
        (-np.mean(np.log(sigmoid)), -np.mean(np.log(1 - sigmoid)), -np.mean(np.log(sigmoid))),
        rel=1e-5)
    assert _losses("hinge") == pytest.approx(
        (np.mean(np.maximum(0, 1 - x)), np.mean(np.maximum(0, 1 + x)), -np.mean(x)))
    assert _losses("lsgan") == pytest.approx(
        (np.mean((x - 1) ** 2), np.mean(x ** 2), np.mean((x - 1) ** 2)))


@pytest.mark.parametrize("name", sorted(GAN_LOSSES))
def test_each_loss_trains_and_takes_label_smoothing_only_where_it_has_a_target(name, tiny_gan,
                                                                               tiny_images):
    gan = tiny_gan(gan_loss=name)
    for _ in range(3):
        logs = gan.train_on_batch(tiny_images[:16], return_dict=True)
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert logs["d_loss"] == pytest.approx(logs["d_real_loss"] + logs["d_fake_loss"], rel=1e-5)
    if GAN_LOSSES[name].label_smoothing:
        tiny_gan(gan_loss=name, real_label=0.9).train_on_batch(tiny_images[:16])
    else:
        with pytest.raises(ValueError, match="label smoothing is for the losses with a target"):
            tiny_gan(gan_loss=name, real_label=0.9)
