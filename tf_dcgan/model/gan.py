"""The DCGAN `keras.Model`: one `train_step` with separate tapes for D-real, D-fake and G."""

import warnings

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.checks import (
    GAN_LOSSES,
    check_d_update,
    check_ema_decay,
    check_gan_loss,
    check_label_smoothing,
    check_positive_int,
)
from tf_dcgan.distribute import is_multi_worker
from tf_dcgan.model import losses
from tf_dcgan.model.augment import diff_augment, parse_policy
from tf_dcgan.model.latent import LatentSpace, replica_seed
from tf_dcgan.model.multi_step import MultiStepModel
from tf_dcgan.model.networks import inference_copy

# Real images are checked against this magnitude every step: [-1, 1], and a little rounding.
INPUT_LIMIT = 1.0 + 1e-3
INPUT_RANGE_ERROR = (
    "DCGAN trains on images in [-1, 1], and this batch has pixels outside it. Scale 0-255 pixels "
    "with images / 127.5 - 1 (tf_dcgan.data.to_unit_range) or 0-1 pixels with images * 2 - 1")


def _warn_if_unit_interval(x) -> bool:
    """Warns when `x` is an array (or tensor) of images with no pixel below 0; True if it warned.

    A `tf.data.Dataset` or a generator is not read ahead: only the out-of-range error of the
    step covers those.
    """
    if isinstance(x, (tuple, list)) and x:
        x = x[0]
    if not hasattr(x, "shape") or len(getattr(x, "shape", ())) != 4 or isinstance(
            x, tf.data.Dataset):
        return False
    # NumPy's min and max read the array in place (a cast to a float tensor would copy it).
    if float(np.min(x)) >= 0.0 and float(np.max(x)) <= INPUT_LIMIT:
        warnings.warn("tf-dcgan: these images have no pixel below 0; DCGAN trains on images in "
                      "[-1, 1]. If yours are 0-1 pixels, pass images * 2 - 1.", stacklevel=3)
        return True
    return False


@keras.saving.register_keras_serializable(package="tf_dcgan")
class DCGAN(MultiStepModel):
    """Trains a generator against a discriminator as in Radford, Metz and Chintala (2015).

    Each `train_step` follows the PyTorch DCGAN recipe: the discriminator first takes a step on a
    real batch and then on a generated batch (detached from G), each with its own gradient tape,
    and then the generator takes a step with the non-saturating loss (maximise log D(G(z))) through
    the discriminator as just updated. The generated batch is computed once and reused for the
    generator's step. With `compile(d_update="joint")` the discriminator instead takes a single
    step on the sum of the real and generated gradients (the pytorch/examples variant).

    The progress bar shows `d_loss` (= `d_real_loss` + `d_fake_loss`), `g_loss`, and the mean
    probabilities `d_real` = D(x) and `d_fake` = D(G(z)) (before D's update on that batch).

    With class-conditional networks (`build_generator(classes=...)` and
    `build_discriminator(classes=...)`) it trains on `(images, labels)` batches: D sees the real
    images with their labels, and the generated ones (and G's step) with the uniform random labels
    G was given; `generate(..., labels=...)` picks the classes.

    Training noise comes from a seeded `keras.random.SeedGenerator`; under a `tf.distribute`
    strategy the replica id is folded into the seed so replicas draw different noise. `generate`
    draws from a second generator of its own, so sampling between steps never changes training.

    Args:
        generator: a `keras.Model` from noise `(latent_dim,)` to images in [-1, 1], such as
            `build_generator()`.
        discriminator: a `keras.Model` from images to one logit per image, such as
            `build_discriminator()`.
        latent_dim: length of the noise vector; must match the generator's input.
        seed: optional integer seed for the training noise.
        ema_decay: with a number such as 0.999, the model also keeps `ema_generator`, an
            exponential moving average of the generator's weights (and BatchNorm statistics),
            updated after every generator step: `ema = d * ema + (1 - d) * weights`, with
            `d = min(ema_decay, (1 + t) / (10 + t))` after t steps (a warm-up, as in
            `tf.train.ExponentialMovingAverage`).
            Training never uses it; samples, `generate`, the saved `generator.keras`, exports
            and evaluation do (`sampler`). None (the paper's recipe): no average.
        augment: differentiable augmentation of every image D sees in training, real and
            generated, in all three passes (Zhao et al. 2020; `tf_dcgan.model.augment`): a
            comma-separated list of "color", "translation", "cutout", or None (the paper: none).
            For small datasets.

    Example:
        >>> gan = DCGAN(build_generator(28, 1), build_discriminator(28, 1), latent_dim=100)
        >>> gan.compile()
        >>> history = gan.fit(images, epochs=1)  # a tf.data.Dataset of batches in [-1, 1]
        >>> gan.generate(16, seed=0).shape
        TensorShape([16, 28, 28, 1])
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int = 100,
                 seed: int | None = None, ema_decay: float | None = None,
                 augment: str | None = None, **kwargs):
        super().__init__(**kwargs)
        latent = LatentSpace.of(generator)
        generator_latent = latent.latent_dim
        if generator_latent != latent_dim:
            raise ValueError(
                f"latent_dim must match the generator's input; received latent_dim={latent_dim} "
                f"for a generator that takes noise of length {generator_latent}. "
                f"Pass latent_dim={generator_latent}."
            )
        d_images = _images_input(discriminator)
        if tuple(generator.output_shape[1:]) != tuple(d_images.shape[1:]):
            raise ValueError(
                "the discriminator must take the generator's images; received a generator that "
                f"makes {generator.output_shape[1:]} and a discriminator that takes "
                f"{tuple(d_images.shape[1:])}. Build both with the same image_size and channels."
            )
        d_classes = _num_classes(discriminator)
        if d_classes != latent.num_classes:
            raise ValueError(
                "the generator and the discriminator must both be conditional on the same classes, "
                f"or both not; received a generator with num_classes={latent.num_classes} and a "
                f"discriminator with num_classes={d_classes}. Build both with the same num_classes."
            )
        check_ema_decay(ema_decay)
        self.augment = augment or None
        self.augment_policy = parse_policy(augment)
        self.generator = generator
        self.discriminator = discriminator
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay is not None:
            # Same layers and dtype policy, starting from the generator's weights.
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.name = "ema_generator"
            self.ema_generator.set_weights(generator.get_weights())
        self.latent_dim = latent_dim
        self.seed = seed
        self.latent = latent
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._looked_at_first_batch = False
        # generate(seed=None) draws here, never from the training stream above.
        self.sample_seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.d_real_loss_tracker = keras.metrics.Mean(name="d_real_loss")
        self.d_fake_loss_tracker = keras.metrics.Mean(name="d_fake_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        # Both networks are built models, so the GAN is too; this lets it save before any fit.
        self.built = True

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.d_real_loss_tracker,
            self.d_fake_loss_tracker,
            self.g_loss_tracker,
            self.d_real_tracker,
            self.d_fake_tracker,
        ]

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, d_update: str = "separate",
                real_label=1.0, gan_loss: str = "ns", **kwargs):
        """Sets the optimizers and the loss; defaults are the paper's.

        Args:
            d_optimizer: the discriminator's optimizer; default `Adam(2e-4, beta_1=0.5)`.
            g_optimizer: the generator's optimizer; default `Adam(2e-4, beta_1=0.5)`.
            loss_fn: D's Keras loss on `(targets, logits)` (and G's where G shares D's loss:
                "ns", "lsgan"); default: `gan_loss`'s.
            d_update: "separate" (an optimizer step on the real batch, then one on the generated
                batch) or "joint" (one step on the sum of both gradients).
            real_label: D's target on real images; below 1 is one-sided label smoothing
                (e.g. 0.9). Generated images keep target 0, and G's loss target 1.
            gan_loss: a name of `checks.GAN_LOSSES`: "ns" (the paper's: cross-entropy, G
                non-saturating), "hinge" (D: `relu(1 - D(x)) + relu(1 + D(G(z)))`, G: `-D(G(z))`)
                or "lsgan" (least squares); `losses.adversarial_losses`.
            **kwargs: passed to `keras.Model.compile`, e.g. `jit_compile`, `steps_per_execution`.
        """
        check_d_update(d_update)
        check_gan_loss(gan_loss)
        # optimizer=None: the two optimizers below are ours; Keras would otherwise build an unused
        # third one with slots for every weight.
        super().compile(optimizer=None, **kwargs)
        d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two optimizer objects; received the same one "
                "twice. Create one optimizer for each network."
            )
        # float16 gradients underflow without loss scaling. Keras' auto_scale_loss wraps only
        # self.optimizer, so each of ours gets its own LossScaleOptimizer (scale_loss is called
        # inside each tape in train_step).
        self.d_optimizer = _loss_scaled_if_float16(d_optimizer, self.discriminator)
        self.g_optimizer = _loss_scaled_if_float16(g_optimizer, self.generator)
        d_loss_fn, g_loss_fn = losses.adversarial_losses(gan_loss)
        self.gan_loss = gan_loss
        self.loss_fn = loss_fn or d_loss_fn
        self.g_loss_fn = self.loss_fn if GAN_LOSSES[gan_loss].g_shares_d_loss else g_loss_fn
        self.d_update = d_update
        check_label_smoothing(gan_loss, real_label)
        self.real_label = float(real_label)
        # Built here, not lazily on the first step, so BackupAndRestore and .keras loading find
        # the Adam moments to restore.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self._jit_compile_arg = kwargs.get("jit_compile", "auto")

    @property
    def sampler(self):
        """The generator that makes samples: `ema_generator` when there is one, else `generator`.

        `SampleGrid`, `generate`, `generator.keras`, `export.py` and `evaluate.py` all use it.
        """
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, noise, training=False):
        """Generates images from noise; the GAN as a model is its generator (`sampler` when not
        training)."""
        if training:
            return self.generator(noise, training=True)
        return self.sampler(noise, training=False)

    @property
    def conditional(self):
        """Whether the networks take a class label (`build_generator(classes=...)`)."""
        return self.latent.conditional

    def _training_noise(self, batch_size):
        seed = replica_seed(self.seed_generator.next())
        return self.latent.sample_from_seed_tensor(batch_size, seed)

    def _discriminate(self, images, labels, training=True, augment_pass=None):
        """D's logits; in a training step's pass `augment_pass` (1: real, 2: generated for D,
        3: generated for G) the images are first augmented (`augment`), from a seed that is a
        function of the model's seed, the step and the pass (and the replica), so a resumed run
        augments exactly as an uninterrupted one."""
        if self.augment_policy and augment_pass is not None:
            step = tf.cast(self.g_optimizer.iterations, tf.int64)
            seed = tf.stack([tf.constant(self.seed or 0, tf.int64), step])
            seed = replica_seed(tf.random.experimental.stateless_fold_in(seed, augment_pass))
            images = diff_augment(images, self.augment_policy, seed)
        if labels is None:
            return self.discriminator(images, training=training)
        return self.discriminator({"images": images, "label": labels}, training=training)

    def _input_range_checks(self, images):
        """The check of a real batch: the step fails when it is not in [-1, 1] (e.g. 0-255 pixels).

        The whole step runs after it (control dependencies), so nothing trains, not even an
        optimizer's step count, on a batch that failed. It is a `check_numerics` of a log that is
        NaN exactly when a pixel is out of range: no measurable cost per step
        (`benchmarks/input_check.py`; an Assert op cost 5% of the step here). XLA
        (`jit_compile=True`) compiles it and does not check it.
        """
        largest = tf.reduce_max(tf.abs(tf.cast(images, tf.float32)))
        # NaN pixels pass: a NaN batch makes NaN losses, which DivergenceGuard reports as the step
        # where training broke. (On the scalar: Grappler may rewrite comparisons NaN-unsafely.)
        largest = tf.where(tf.math.is_nan(largest), tf.zeros_like(largest), largest)
        # log of a negative number is NaN exactly when a pixel is out of range.
        return [tf.debugging.check_numerics(tf.math.log(INPUT_LIMIT - largest), INPUT_RANGE_ERROR)]

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`; an array `x` of 0-1 pixels (none below 0) gets a warning first, and
        a batch outside [-1, 1] fails the first step with a `ValueError` that says how to scale.

        With `compile(steps_per_execution=K)` each call of the train function runs up to K steps
        in one graph loop (`MultiStepModel`).
        """
        _warn_if_unit_interval(x)
        if isinstance(x, tf.data.Dataset):
            # A dataset shuffles itself (`data.make_dataset` does): Keras' shuffle=True default
            # only warns that it is ignored.
            kwargs.setdefault("shuffle", False)
        try:
            return super().fit(x, *args, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            # The range check's message leads, alone: not 38 lines of graph ending in "NaN".
            if INPUT_RANGE_ERROR in str(error):
                raise ValueError(INPUT_RANGE_ERROR + ".") from None
            raise

    def train_on_batch(self, x=None, *args, **kwargs):
        """`keras.Model.train_on_batch`; a first batch of 0-1 pixels gets a warning."""
        if not self._looked_at_first_batch:  # the first call only: no per-step cost
            self._looked_at_first_batch = True
            _warn_if_unit_interval(x)
        return super().train_on_batch(x, *args, **kwargs)

    def train_step(self, data):
        """One batch: D on real, D on generated (detached), then G through the updated D.

        A conditional model takes `(images, labels)` batches: D sees the real images with their
        labels, and the generated ones with the labels G was given (uniform random classes).
        """
        # fit() hands over image batches, (images, labels) pairs, or train_on_batch's 1-tuples.
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        real_images = tf.convert_to_tensor(real_images)
        with tf.control_dependencies(self._input_range_checks(real_images)):
            return self._train_step(data, real_images)

    def _train_step(self, data, real_images):
        real_labels = fake_labels = None
        if self.conditional:
            if not isinstance(data, (tuple, list)) or len(data) < 2:
                raise ValueError(
                    "a conditional DCGAN trains on (images, labels) batches; received images "
                    "only. Pass a dataset of (images, labels) pairs."
                )
            real_labels = tf.cast(tf.reshape(data[1], [-1]), tf.int32)
        noise = self._training_noise(tf.shape(real_images)[0])
        if self.conditional:
            fake_labels = noise["label"]
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables

        # G's forward pass runs once, under the tape that later gives G's gradients; the D updates
        # in between are kept off that tape.
        with tf.GradientTape() as g_tape:
            fake_images = self.generator(noise, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as real_tape:
                    real_logits = self._discriminate(real_images, real_labels, augment_pass=1)
                    d_real_loss = losses.discriminator_real_loss(self.loss_fn, real_logits,
                                                                 self.real_label)
                    scaled_loss = self.d_optimizer.scale_loss(d_real_loss)
                real_grads = real_tape.gradient(scaled_loss, d_vars)
                if self.d_update == "separate":
                    self.d_optimizer.apply_gradients(zip(real_grads, d_vars))

                with tf.GradientTape() as fake_tape:
                    # Detached from G: this step trains D only.
                    fake_logits = self._discriminate(tf.stop_gradient(fake_images), fake_labels,
                                                     augment_pass=2)
                    d_fake_loss = losses.discriminator_fake_loss(self.loss_fn, fake_logits)
                    scaled_loss = self.d_optimizer.scale_loss(d_fake_loss)
                fake_grads = fake_tape.gradient(scaled_loss, d_vars)
                if self.d_update == "separate":
                    self.d_optimizer.apply_gradients(zip(fake_grads, d_vars))
                else:
                    summed = [_add_gradients(r, f) for r, f in zip(real_grads, fake_grads)]
                    self.d_optimizer.apply_gradients(zip(summed, d_vars))

            # Through the discriminator as just updated.
            g_logits = self._discriminate(fake_images, fake_labels, augment_pass=3)
            g_loss = losses.generator_loss(self.g_loss_fn, g_logits)
            scaled_loss = self.g_optimizer.scale_loss(g_loss)
        g_grads = g_tape.gradient(scaled_loss, g_vars)
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        if self.ema_generator is not None:
            self._update_ema()

        # Under a tf.distribute strategy Keras losses come divided by the replica count (so the
        # summed gradients are right); the logged losses are the undivided ones.
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        d_real_loss, d_fake_loss, g_loss = (
            loss * replicas for loss in (d_real_loss, d_fake_loss, g_loss)
        )
        self.d_loss_tracker.update_state(d_real_loss + d_fake_loss)
        self.d_real_loss_tracker.update_state(d_real_loss)
        self.d_fake_loss_tracker.update_state(d_fake_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        logs = {m.name: m.result() for m in self.metrics}
        if is_multi_worker(tf.distribute.get_strategy()):
            # Under MultiWorkerMirroredStrategy Keras reduces each log with
            # strategy.reduce(MEAN, value, axis=0), which fails on scalars ("Invalid reduction
            # dimension 0 for input with 0 dimensions"; keras-team/keras#20585,
            # tensorflow/tensorflow#72388). Shape [1] reduces to the same scalar.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _update_ema(self):
        # The decay ramps up as tf.train.ExponentialMovingAverage's does with num_updates,
        # min(decay, (1 + t) / (10 + t)) after t generator steps, so the random initial weights
        # do not linger in the average early in a run (with a flat 0.999 they still weigh 10%
        # after 2,300 steps, five Fashion-MNIST epochs). Every replica holds the same generator
        # weights after the step, so every replica's average stays the same too.
        steps = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(tf.constant(self.ema_decay, tf.float32), (1.0 + steps) / (10.0 + steps))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))

    def test_step(self, data):
        raise NotImplementedError(
            "DCGAN has no validation loss; call fit() without validation_data, and measure "
            "sample quality with the callbacks or an evaluation script."
        )

    def generate(self, num_images: int, seed: int | None = None, labels=None) -> tf.Tensor:
        """Generates `num_images` images in [-1, 1] with BatchNorm in inference mode.

        Args:
            num_images: how many images, at least 1.
            seed: an integer for reproducible images (the same seed gives the same images, here
                and in the exported SavedModel), or None for new images each call, drawn from a
                random stream of their own (the training noise is left as it was).
            labels: a conditional model's classes: one int for every image, one per image, or
                None for class `i % num_classes` for image i. An unconditional model refuses them.

        Returns:
            A float32 tensor of shape `(num_images, height, width, channels)`.
        """
        check_positive_int("num_images", num_images, "Pass for example num_images=64.")
        if labels is not None and not self.conditional:
            raise ValueError(
                f"labels need a conditional model; received labels={labels!r} for an "
                "unconditional one. Leave labels out, or train with num_classes (--conditional)."
            )
        if seed is None:
            # Folded with 1 so that, for one model seed, this stream never repeats the training
            # noise either.
            seed_tensor = tf.random.experimental.stateless_fold_in(
                tf.cast(self.sample_seed_generator.next(), tf.int64), 1)
            inputs = self.latent.sample_from_seed_tensor(num_images, seed_tensor)
            if self.conditional:
                inputs["label"] = self.latent.labels(num_images, labels)
        else:
            inputs = self.latent.sample(num_images, seed, labels)
        return self.sampler(inputs, training=False)

    def inference_generator(self) -> keras.Model:
        """The generator as it is saved to `generator.keras` and exported: float32 throughout.

        It is `sampler` (the moving average when there is one); after mixed-precision training a
        float32 copy of it with the same weights (see `networks.inference_copy`).
        """
        return inference_copy(self.sampler)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "latent_dim": self.latent_dim,
                "seed": self.seed,
                "ema_decay": self.ema_decay,
                "augment": self.augment,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    def get_compile_config(self):
        if not self.compiled:
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss_fn": keras.saving.serialize_keras_object(self.loss_fn),
            "d_update": self.d_update,
            "real_label": self.real_label,
            "gan_loss": self.gan_loss,
            "jit_compile": self._jit_compile_arg,
            # A loaded run trains as it was trained: K steps per call (files saved before this
            # key load with Keras' default, 1).
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer", "loss_fn"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)


def _add_gradients(first, second):
    """The sum of two gradients of one variable; an embedding's are `tf.IndexedSlices` (the rows
    of a batch's classes), which `+` cannot add: their rows are joined, as TF sums them."""
    if isinstance(first, tf.IndexedSlices) and isinstance(second, tf.IndexedSlices):
        return tf.IndexedSlices(tf.concat([first.values, second.values], 0),
                                tf.concat([first.indices, second.indices], 0), first.dense_shape)
    return tf.convert_to_tensor(first) + tf.convert_to_tensor(second)


def _images_input(discriminator):
    """The discriminator's image input (its only input, or the one named "images")."""
    for tensor in discriminator.inputs:
        if len(tensor.shape) == 4:
            return tensor
    raise ValueError(
        f"the discriminator must take images [batch, H, W, C]; received inputs "
        f"{[tuple(t.shape) for t in discriminator.inputs]}. Pass build_discriminator()'s model."
    )


def _num_classes(discriminator):
    """The class count of a conditional discriminator (its `class_label` layer), else None."""
    try:
        return len(discriminator.get_layer("class_label").class_names)
    except ValueError:
        return None


def _loss_scaled_if_float16(optimizer, network):
    computes_float16 = any(layer.compute_dtype == "float16" for layer in network.layers)
    if computes_float16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
