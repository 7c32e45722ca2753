import numpy as np

from tf_dcgan import LatentSpace, latent_noise


def _weights(gan):
    return [v.numpy().copy() for v in gan.generator.weights + gan.discriminator.weights]


def test_generate_between_steps_leaves_training_identical(tiny_gan, tiny_images):
    plain, sampled = tiny_gan(), tiny_gan()
    for gan, sample in ((plain, False), (sampled, True)):
        gan.train_on_batch(tiny_images[:16])
        if sample:
            gan.generate(5)  # the model's own random stream, not the training one
            gan.generate(3, seed=1)
        gan.train_on_batch(tiny_images[16:32])
    for a, b in zip(_weights(plain), _weights(sampled)):
        np.testing.assert_array_equal(a, b)


def test_generate_without_a_seed_gives_new_images_each_call(tiny_gan):
    gan = tiny_gan()
    assert not np.allclose(gan.generate(2).numpy(), gan.generate(2).numpy())


def test_one_seed_gives_the_same_inputs_everywhere(tiny_gan):
    gan = tiny_gan()
    space = LatentSpace.of(gan.generator)
    assert space.latent_dim == 8
    np.testing.assert_array_equal(space.sample(4, 9).numpy(), latent_noise(4, 8, 9).numpy())
    np.testing.assert_array_equal(
        gan.generate(4, seed=9).numpy(),
        gan.generator(space.sample(4, 9), training=False).numpy())
    assert not np.allclose(space.sample(4, 9).numpy(), space.sample(4, 10).numpy())
    noise = space.sample(2000, 0).numpy()
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1) < 0.05
