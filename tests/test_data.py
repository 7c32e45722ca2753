import gzip

import numpy as np
import pytest

from tf_dcgan import data


def _write_idx(path, array, magic):
    header = (magic.to_bytes(4, "big"))
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + dims + array.astype(np.uint8).tobytes())


def test_idx_reader_reads_images_and_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 2051)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, 2049)
    source = data.read_fashion_mnist_idx(tmp_path, "test")
    np.testing.assert_array_equal(source.images[..., 0], images)
    np.testing.assert_array_equal(source.labels, labels)
    assert source.image_size == 28 and source.channels == 1
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, 2051)
    with pytest.raises(ValueError, match="not an IDX file of the expected kind"):
        data.read_fashion_mnist_idx(tmp_path, "test")


def test_default_dataset_is_fashion_mnist_offline():
    source = data.read_images("fashion_mnist")
    assert source.images.shape == (60000, 28, 28, 1)
    assert source.images.dtype == np.uint8
    assert sorted(np.unique(source.labels)) == list(range(10))
    assert np.bincount(source.labels).tolist() == [6000] * 10
    test = data.read_images("fashion_mnist:test")
    assert test.images.shape == (10000, 28, 28, 1)


def _source(count=10, size=28, channels=1):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, size, size, channels), dtype=np.uint8)
    images[0] = 0
    images[1] = 255
    return data.ImageSource("test", images, np.arange(count, dtype=np.int64))


def test_pipeline_batches_scale_to_unit_range_and_keep_labels():
    dataset = data.make_dataset(_source(), 28, 1, batch_size=4, seed=0)
    batches = list(dataset)
    assert len(batches) == 2  # 10 images, batches of 4: the partial batch is dropped
    images, labels = batches[0]
    assert images.shape == (4, 28, 28, 1) and images.dtype.name == "float32"
    everything = np.concatenate([b[0].numpy() for b in data.make_dataset(_source(), 28, 1, 10)])
    assert everything.min() == -1.0 and everything.max() == 1.0
    assert set(labels.numpy()) <= set(range(10))


def test_pipeline_reshuffles_every_epoch():
    dataset = data.make_dataset(_source(count=64), 28, 1, batch_size=64, seed=0)
    first, second = [batch[1].numpy().tolist() for batch in (next(iter(dataset)),
                                                               next(iter(dataset)))]
    assert sorted(first) == sorted(second) == list(range(64))
    assert first != second


def test_pipeline_resizes_and_converts_channels():
    dataset = data.make_dataset(_source(), 32, 3, batch_size=2)
    images, _ = next(iter(dataset))
    assert images.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    dataset = data.make_dataset(_source(channels=3), 64, 1, batch_size=2, steps_per_epoch=3)
    assert next(iter(dataset))[0].shape == (2, 64, 64, 1)
    assert len(list(dataset)) == 3


def test_pipeline_refuses_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must not exceed the number of images"):
        data.make_dataset(_source(count=10), 28, 1, batch_size=11)
    with pytest.raises(ValueError, match="image_size must be one of"):
        data.make_dataset(_source(), 48, 1, batch_size=2)


def test_unknown_dataset_name_says_how_to_provide_it():
    with pytest.raises(ValueError, match="could not be loaded.*--data-dir"):
        data.read_images("no_such_dataset_xyz")


def test_uint8_round_trip():
    images = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(data.to_uint8(data.to_unit_range(images).numpy()), images)
