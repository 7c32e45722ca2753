"""GAN losses as pure functions of the discriminator's logits, in discriminator/generator pairs.

`loss_fn` is any Keras loss that takes `(targets, logits)`; the default is binary cross-entropy on
logits, as in the paper. Logits are cast to float32 first so the losses stay exact under a
mixed-precision policy. Keras loss objects already divide by the number of replicas under
`tf.distribute`, so these functions need no change there.
"""

import keras
import tensorflow as tf
from keras import ops


def default_loss() -> keras.losses.Loss:
    """Binary cross-entropy on logits: the loss of Goodfellow et al. (2014) used by DCGAN."""
    return keras.losses.BinaryCrossentropy(from_logits=True)


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
