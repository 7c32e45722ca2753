"""GAN losses as pure functions of the discriminator's logits, in discriminator/generator pairs.

`loss_fn` is any Keras loss that takes `(targets, logits)`; the default is binary cross-entropy on
logits, as in the paper. `adversarial_losses("hinge")` gives the hinge loss instead (Lim and Ye
2017; Miyato et al. 2018): D minimises `mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))` (Keras'
`Hinge` with targets 1 and 0, which it reads as 1 and -1) and G minimises `-mean(D(G(z)))`
(`GeneratorHinge`), and `adversarial_losses("lsgan")` the least-squares loss (Mao et al. 2017):
the squared distance of D's raw output from 1 on real images and from 0 on generated ones, and
G's from 1. Logits are cast to float32 first so the losses stay exact under a
mixed-precision policy. Keras loss objects already divide by the number of replicas under
`tf.distribute`, so these functions need no change there.
"""

import keras
import tensorflow as tf
from keras import ops

from tf_dcgan.checks import check_gan_loss


def default_loss() -> keras.losses.Loss:
    """Binary cross-entropy on logits: the loss of Goodfellow et al. (2014) used by DCGAN."""
    return keras.losses.BinaryCrossentropy(from_logits=True)


@keras.saving.register_keras_serializable(package="tf_dcgan")
class GeneratorHinge(keras.losses.Loss):
    """G's loss of the hinge GAN: `-mean(logits)`, whatever the targets (Lim and Ye 2017).

    A Keras loss, so it is reduced and divided across `tf.distribute` replicas as the others are.
    """

    def __init__(self, name: str = "generator_hinge", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return -ops.mean(ops.cast(y_pred, "float32"), axis=-1)


# Each loss of `checks.GAN_LOSSES` by the same name: a function giving (D's loss, G's loss).
LOSS_FUNCTIONS = {
    "ns": lambda: (default_loss(),) * 2,
    "hinge": lambda: (keras.losses.Hinge(), GeneratorHinge()),
    # D's raw output against targets 1 (real) and 0 (generated); G's against 1 (Mao et al. 2017,
    # a = 0, b = c = 1, without their factor 1/2).
    "lsgan": lambda: (keras.losses.MeanSquaredError(),) * 2,
}


def adversarial_losses(loss: str = "ns") -> tuple[keras.losses.Loss, keras.losses.Loss]:
    """(D's loss, G's loss) for `loss`, a name of `checks.GAN_LOSSES`: "ns" (the paper's),
    "hinge" or "lsgan".

    Example:
        >>> d_loss, g_loss = adversarial_losses("hinge")
    """
    check_gan_loss(loss)
    return LOSS_FUNCTIONS[loss]()


def discriminator_real_loss(loss_fn: keras.losses.Loss, real_logits: tf.Tensor,
                            target: float = 1.0) -> tf.Tensor:
    """D's loss on real images: classify them as real (target 1), i.e. maximise log D(x).

    A `target` below 1 is one-sided label smoothing (Salimans et al. 2016): D is asked for
    `target` on real images only; generated images keep target 0 and G's loss target 1.
    """
    real_logits = ops.cast(real_logits, "float32")
    return loss_fn(ops.full_like(real_logits, target), real_logits)


def discriminator_fake_loss(loss_fn: keras.losses.Loss, fake_logits: tf.Tensor) -> tf.Tensor:
    """D's loss on generated images: classify them as fake (target 0), i.e. maximise log(1 - D(G(z)))."""
    fake_logits = ops.cast(fake_logits, "float32")
    return loss_fn(ops.zeros_like(fake_logits), fake_logits)


def generator_loss(loss_fn: keras.losses.Loss, fake_logits: tf.Tensor) -> tf.Tensor:
    """G's non-saturating loss: make D call its images real, i.e. maximise log D(G(z)).

    Goodfellow et al. (2014) recommend this over minimising log(1 - D(G(z))), whose gradient
    vanishes early in training when D rejects every generated image.
    """
    fake_logits = ops.cast(fake_logits, "float32")
    return loss_fn(ops.ones_like(fake_logits), fake_logits)
