import gzip

import numpy as np
import pytest

from tests.helpers import save_image as _save
from tf_dcgan.checks import ImageFormat
from tf_dcgan import data
from tf_dcgan.data import transforms


def _write_idx(path, array, magic):
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes())


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
    assert np.bincount(source.labels).tolist() == [6000] * 10
    assert source.class_names[0] == "T-shirt/top"
    test = data.read_images("fashion_mnist:test")
    assert test.images.shape == (10000, 28, 28, 1)


def _source(count=10, size=28, channels=1):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, size, size, channels), dtype=np.uint8)
    images[0] = 0
    images[1] = 255
    return data.ImageSource.from_arrays("test", images, np.arange(count))


@pytest.mark.parametrize("cache", ["memory", "none", "file"])
def test_pipeline_batches_scale_to_unit_range_and_keep_labels(cache, tmp_path):
    cache = str(tmp_path / "cache") if cache == "file" else cache
    batches = list(data.make_dataset(_source(), ImageFormat(28, 1), batch_size=4, seed=0,
                                     cache=cache))
    assert len(batches) == 2  # 10 images, batches of 4: the partial batch is dropped
    images, labels = batches[0]
    assert images.shape == (4, 28, 28, 1) and images.dtype.name == "float32"
    whole = data.make_dataset(_source(), ImageFormat(28, 1), 10, cache=cache)
    everything, labels = next(iter(whole))
    assert float(everything.numpy().min()) == -1.0 and float(everything.numpy().max()) == 1.0
    assert sorted(labels.numpy()) == list(range(10))
    # Each label still belongs to its image.
    source = _source()
    for image, label in zip(everything.numpy(), labels.numpy()):
        np.testing.assert_array_equal(transforms.to_uint8(image), source.images[label])


def test_pipeline_reshuffles_every_epoch_with_a_full_shuffle():
    dataset = data.make_dataset(_source(count=64), ImageFormat(28, 1), batch_size=64, seed=0)
    first, second = [batch[1].numpy().tolist() for batch in (next(iter(dataset)),
                                                               next(iter(dataset)))]
    assert sorted(first) == sorted(second) == list(range(64))
    assert first != second


def test_pipeline_resizes_and_converts_channels():
    images, _ = next(iter(data.make_dataset(_source(), ImageFormat(32, 3), batch_size=2)))
    assert images.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    dataset = data.make_dataset(_source(channels=3), ImageFormat(64, 1), batch_size=2,
                                steps_per_epoch=3)
    assert next(iter(dataset))[0].shape == (2, 64, 64, 1)
    assert len(list(dataset)) == 3


@pytest.mark.parametrize("cache", ["memory", "none"])
def test_evaluation_pipeline_gives_every_image_once_in_order(cache):
    source = _source(count=10)
    # A training pipeline over the same source must not disturb it.
    next(iter(data.make_dataset(source, ImageFormat(28, 1), batch_size=4, seed=0, cache=cache)))
    batches = list(data.make_eval_dataset(source, ImageFormat(28, 1), batch_size=4))
    assert [len(labels) for _, labels in batches] == [4, 4, 2]  # the partial batch is kept
    labels = np.concatenate([labels.numpy() for _, labels in batches])
    assert labels.tolist() == list(range(10))
    images = np.concatenate([transforms.to_uint8(images).numpy() for images, _ in batches])
    np.testing.assert_array_equal(images, source.images)
    again = np.concatenate([labels.numpy() for _, labels in
                            data.make_eval_dataset(source, ImageFormat(28, 1), batch_size=4)])
    assert again.tolist() == labels.tolist()


def test_evaluation_pipeline_over_a_folder_resizes_like_training(image_tree):
    source = data.read_images(str(image_tree))
    batches = list(data.make_eval_dataset(source, ImageFormat(16, 3), batch_size=5))
    assert [len(labels) for _, labels in batches] == [5, 5, 2]
    assert batches[0][0].shape == (5, 16, 16, 3)
    labels = np.concatenate([labels.numpy() for _, labels in batches])
    assert labels.tolist() == source.labels.tolist()


def test_pipeline_refuses_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must not exceed the number of images"):
        data.make_dataset(_source(count=10), ImageFormat(28, 1), batch_size=11)
    with pytest.raises(ValueError, match="image_size must be one of"):
        data.make_dataset(_source(), ImageFormat(48, 1), batch_size=2)
    with pytest.raises(ValueError, match="resize must be one of crop, stretch"):
        data.make_dataset(_source(), ImageFormat(28, 1, "fit"), batch_size=2)


def test_unknown_dataset_name_says_what_works():
    with pytest.raises(ValueError, match="neither a folder, a .npy/.npz file nor a TensorFlow"):
        data.read_images("no_such_dataset_xyz")


def test_a_tfds_dataset_that_cannot_be_downloaded_says_how_to_provide_it(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to resolve host")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(ValueError, match="dataset 'mnist' could not be fetched .ConnectionError: "
                       "Failed to resolve host.*manual_dir.*folder of images"):
        data.read_images("mnist", data_dir=str(tmp_path))


def test_a_tfds_name_with_a_split_gives_images_and_labels(tmp_path):
    import tensorflow_datasets as tfds

    # TFDS's own mock: the real builder, features and pipeline, with generated examples.
    with tfds.testing.mock_data(num_examples=12):
        source = data.read_images("cifar10:test", data_dir=str(tmp_path))
        assert (source.num_images, source.channels, source.image_size) == (12, 3, 32)
        images, labels = next(iter(data.make_dataset(source, ImageFormat(16, 1), batch_size=12,
                                                     seed=0)))
    assert images.shape == (12, 16, 16, 1)
    assert set(labels.numpy().tolist()) <= set(range(10))


def test_a_tfds_dataset_without_images_is_refused(tmp_path):
    with pytest.raises(ValueError, match="has no `image` feature"):
        data.read_images("imdb_reviews", data_dir=str(tmp_path))


def test_uint8_round_trip():
    images = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(transforms.to_uint8(transforms.to_unit_range(images).numpy()), images)


# ---------------------------------------------------------------- folders


def test_folder_counts_used_skipped_and_ignored_files_exactly(image_tree):
    source = data.read_images(str(image_tree))
    assert source.num_images == 12
    assert sorted(p.split("/")[-1] for p, _ in source.skipped) == [
        "empty.png", "notes.jpg", "truncated.jpg"]
    assert source.ignored == 1
    assert source.class_names == ["cats", "dogs"]
    by_name = dict(zip((p.split("/")[-1] for p in source.paths), source.labels.tolist()))
    assert by_name["c.png"] == 0 and by_name["f.webp"] == 1 and by_name["top.png"] == -1
    assert source.channels == 3  # most images are RGB
    assert source.image_size is None  # mixed sizes
    assert "12 images, 3 files skipped (do not decode), 1 non-image files ignored" in \
        source.summary()


@pytest.mark.parametrize("cache", ["memory", "none"])
def test_folder_pipeline_brings_every_image_to_the_training_shape(image_tree, cache):
    source = data.read_images(str(image_tree))
    images, labels = next(iter(data.make_dataset(source, ImageFormat(32, 3), batch_size=12,
                                                 cache=cache)))
    assert images.shape == (12, 32, 32, 3)
    assert sorted(labels.numpy().tolist()) == sorted(source.labels.tolist())
    gray, _ = next(iter(data.make_dataset(source, ImageFormat(16, 1), batch_size=12, cache=cache)))
    assert gray.shape == (12, 16, 16, 1)


def test_center_crop_keeps_the_middle_of_a_non_square_image(tmp_path):
    # 40 wide, 20 high: black, with a white 20x20 square in the middle.
    image = np.zeros((20, 40, 3), np.uint8)
    image[:, 10:30] = 255
    _save(tmp_path / "wide" / "x.png", image)
    source = data.read_images(str(tmp_path / "wide"))
    cropped, _ = next(iter(data.make_dataset(source, ImageFormat(16, 3, "crop"), batch_size=1)))
    assert float(cropped.numpy().min()) == 1.0  # all white: the center square
    stretched, _ = next(iter(data.make_dataset(source, ImageFormat(16, 3, "stretch"),
                                               batch_size=1)))
    row = stretched.numpy()[0, 8, :, 0]
    assert row[0] == -1.0 and row[8] == 1.0 and row[-1] == -1.0  # black sides kept


def test_rgba_is_composited_over_white_and_gray_is_repeated(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)  # fully transparent
    _save(tmp_path / "f" / "a.png", rgba)
    _save(tmp_path / "f" / "b.png", np.full((16, 16), 100, np.uint8))
    source = data.read_images(str(tmp_path / "f"))
    assert source.image_size == 16
    images, _ = next(iter(data.make_dataset(source, ImageFormat(16, 3), batch_size=2, cache="none",
                                            seed=0)))
    values = sorted(np.unique(transforms.to_uint8(images.numpy())).tolist())
    assert values == [100, 255]


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        data.read_images(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "broken.png").write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match="has no image that decodes .1 image files, 1 skipped"):
        data.read_images(str(tmp_path / "empty"))


# ---------------------------------------------------------------- array files


def test_npz_round_trip(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", images=images, labels=np.arange(6))
    source = data.read_images(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(source.images, images)
    assert source.labels.tolist() == list(range(6)) and source.image_size == 16
    batch, labels = next(iter(data.make_dataset(source, ImageFormat(16, 3), batch_size=6)))
    for image, label in zip(batch.numpy(), labels.numpy()):
        np.testing.assert_array_equal(transforms.to_uint8(image), images[label])
    np.save(tmp_path / "g.npy", images[..., 0])
    source = data.read_images(str(tmp_path / "g.npy"))
    assert source.images.shape == (6, 16, 16, 1) and source.labels.tolist() == [-1] * 6


@pytest.mark.parametrize("array, message", [
    (np.zeros((4, 16, 16, 3), np.float32), "dtype float32"),
    (np.zeros((4, 16), np.uint8), r"shape \(4, 16\)"),
    (np.zeros((4, 16, 16, 2), np.uint8), r"shape \(4, 16, 16, 2\)"),
])
def test_bad_arrays_are_refused_with_the_fix(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(ValueError, match=f"must hold uint8 images.*{message}"):
        data.read_images(str(tmp_path / "bad.npy"))


def test_symlink_loops_and_duplicate_links_are_read_once(tmp_path):
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for name in ("cats/a.png", "cats/b.png", "dogs/c.png"):
        _save(root / name, rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    outside = tmp_path / "elsewhere"
    _save(outside / "d.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    (root / "cats" / "loop").symlink_to(root)  # a loop back to the top
    (root / "again").symlink_to(root / "dogs")  # a second way to dogs/, sorted before it
    (root / "cats" / "a_link.png").symlink_to(root / "cats" / "b.png")  # a duplicate file
    (root / "extra").symlink_to(outside)  # a folder outside: followed once
    (root / "broken.png").symlink_to(tmp_path / "missing.png")
    source = data.read_images(str(root))
    names = sorted(p.split("/images/")[1] for p in source.paths)
    assert names == ["cats/a.png", "cats/b.png", "dogs/c.png", "extra/d.png"]
    assert source.class_names == ["cats", "dogs", "extra"]
    assert source.links_skipped == 4
    assert "4 links skipped (loops or duplicates)" in source.summary()


def test_exif_orientation_is_applied_like_pillow(tmp_path):
    from PIL import Image, ImageOps

    stored = np.random.default_rng(0).integers(0, 256, (16, 32, 3), dtype=np.uint8)
    for orientation in (1, 3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(stored).save(tmp_path / f"photo_{orientation}.jpg", exif=exif,
                                     quality=95)
    source = data.read_images(str(tmp_path))
    assert sorted(source.orientations.tolist()) == [1, 3, 6, 8]
    assert source.image_size is None  # 16x32 and 32x16 as displayed
    batches = data.make_eval_dataset(source, ImageFormat(16, 3, "stretch"), batch_size=4)
    images = next(iter(batches))[0]
    for path, image in zip(source.paths, images):
        with Image.open(path) as photo:
            upright = np.asarray(ImageOps.exif_transpose(photo).convert("RGB").resize(
                (16, 16), Image.Resampling.BOX)).astype(float)
        # Same orientation as Pillow: far closer than any other turn of the image.
        ours = transforms.to_uint8(image).numpy().astype(float)
        assert np.abs(ours - upright).mean() < 4, path
        assert np.abs(np.rot90(ours, 1) - upright).mean() > 20


def test_a_file_cache_is_reused_for_its_own_data_and_refused_for_other_data(tmp_path):
    cache = str(tmp_path / "cache" / "faces")
    first = _source(count=8)
    labels = sorted(np.concatenate([b[1].numpy() for b in data.make_dataset(
        first, ImageFormat(28, 1), batch_size=4, seed=0, cache=cache)]).tolist())
    assert labels == list(range(8))
    assert (tmp_path / "cache" / "faces.index").exists()
    # The same data again: the cache is read back.
    again = data.make_dataset(first, ImageFormat(28, 1), batch_size=4, seed=0, cache=cache)
    assert len(list(again)) == 2
    # Other images of the same shape, or the same images at another size: refused.
    other = data.ImageSource.from_arrays("other", 255 - first.images, first.labels)
    with pytest.raises(ValueError, match="holds another dataset or setting: .*fingerprint"):
        data.make_dataset(other, ImageFormat(28, 1), batch_size=4, cache=cache)
    with pytest.raises(ValueError, match="image_size 28 here, 32 now"):
        data.make_dataset(first, ImageFormat(32, 1), batch_size=4, cache=cache)
    # A cache nobody keyed (written by hand, or by an older version): refused too.
    (tmp_path / "cache" / "faces.tf_dcgan.json").unlink()
    with pytest.raises(ValueError, match="data of unknown origin"):
        data.make_dataset(first, ImageFormat(28, 1), batch_size=4, cache=cache)


def test_an_unwritable_cache_path_is_one_clear_error():
    with pytest.raises(ValueError, match="cache must be a path you can write to"):
        data.make_dataset(_source(), ImageFormat(28, 1), batch_size=4, cache="/proc/tf_dcgan/cache")


def test_fashion_mnist_splits_are_sliced_offline_as_tfds_does():
    first = data.read_images("fashion_mnist:train[:1%]")
    assert first.num_images == 600 and first.name == "fashion_mnist:train[:1%]"
    whole = data.read_images("fashion_mnist")
    np.testing.assert_array_equal(first.images, whole.images[:600])
    mixed = data.read_images("fashion_mnist:train[-10:]+test[:5]")
    assert mixed.num_images == 15
    np.testing.assert_array_equal(mixed.labels[:10], whole.labels[-10:])


@pytest.mark.parametrize("dataset, message", [
    ("fashion_mnist:bogus", "split 'bogus' is not in dataset 'fashion_mnist'.*it has train, test"),
    ("fashion_mnist:train[5:3]", "selects no image"),
    ("mnist:train[:1%", "is not TFDS split syntax"),
])
def test_bad_splits_are_refused_before_any_download(dataset, message, tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def no_download(self, *args, **kwargs):
        raise AssertionError("a download was tried")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", no_download)
    with pytest.raises(ValueError, match=message):
        data.read_images(dataset, data_dir=str(tmp_path))


# Reads the folder in a child process, so a regression that hangs on a FIFO or fills memory
# fails the test (timeout, memory limit) instead of stopping the suite.
PROBE_FOLDER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (6 * 1024**3, 6 * 1024**3))
from tf_dcgan.data import read_folder
source = read_folder(sys.argv[1])
print(source.num_images)
for path, reason in source.skipped:
    print(path.rsplit("/", 1)[-1], "|", reason)
"""


def test_special_files_and_decompression_bombs_are_skipped_not_read(tmp_path):
    import os
    import subprocess
    import sys

    from PIL import Image

    from tests.helpers import ROOT

    folder = tmp_path / "images"
    _save(folder / "good.png", np.zeros((16, 16, 3), np.uint8))
    os.symlink("/dev/zero", folder / "zero.jpg")  # read in full, it never ends
    os.mkfifo(folder / "pipe.png")  # opened for reading, it waits for a writer forever
    Image.new("1", (12000, 12000)).save(folder / "bomb.png")  # small file, 144 megapixels
    assert (folder / "bomb.png").stat().st_size < 2 * 1024**2
    result = subprocess.run([sys.executable, "-c", PROBE_FOLDER, str(folder)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "1"
    reasons = dict(line.split(" | ", 1) for line in lines[1:])
    assert set(reasons) == {"zero.jpg", "pipe.png", "bomb.png"}
    assert all("not a regular file" in reasons[name] for name in ("zero.jpg", "pipe.png"))
    assert "12000x12000 is more than" in reasons["bomb.png"]


def test_file_names_that_are_not_utf8_or_hold_line_breaks_are_read_or_listed(tmp_path):
    import os

    from tf_dcgan.config import TrainConfig
    from tf_dcgan.run_folder import RunFolder

    folder = tmp_path / "images"
    _save(folder / "good.png", np.full((16, 16, 3), 50, np.uint8))
    # A name in Latin-1 (byte 0xff), as old cameras and Windows archives write them.
    latin1 = os.fsdecode(os.path.join(os.fsencode(folder), b"caf\xe9-\xff.png"))
    _save(tmp_path / "tmp.png", np.full((16, 16, 3), 200, np.uint8))
    os.replace(tmp_path / "tmp.png", latin1)
    (folder / "two\nlines\twith tab.jpg").write_bytes(b"not an image")
    (folder / f"broken-{os.path.basename(latin1)}.jpg").write_bytes(b"not an image either")
    source = data.read_folder(folder)
    assert source.num_images == 2 and latin1 in source.paths
    batches = data.make_dataset(source, ImageFormat(16, 3), batch_size=2, seed=0)
    images, _ = next(iter(batches))
    assert sorted(np.round(np.asarray(images)[:, 0, 0, 0], 2)) == [
        round(50 / 127.5 - 1, 2), round(200 / 127.5 - 1, 2)]
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig())
    run.write_skipped_files(source.skipped)
    lines = run.skipped_files_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(line.count("\t") == 1 for line in lines)
    assert any(line.startswith(str(folder / "two\\nlines\\twith tab.jpg")) for line in lines)
    assert any("caf\\udce9-\\udcff.png.jpg" in line for line in lines)


def test_a_sub_folder_whose_files_all_fail_is_named_and_is_not_a_class(tmp_path):
    folder = tmp_path / "images"
    for name in ("cats", "dogs"):
        _save(folder / name / "a.png", np.zeros((8, 8, 3), np.uint8))
    (folder / "birds").mkdir()
    (folder / "birds" / "broken.jpg").write_bytes(b"not an image")
    source = data.read_folder(folder)
    assert source.class_names == ["cats", "dogs"] and source.classes() == ["cats", "dogs"]
    assert sorted(source.labels.tolist()) == [0, 1]
    assert source.empty_classes == ["birds"]
    assert "1 sub-folders with no image that decodes (not classes): birds" in source.summary()


def test_a_dataset_string_is_read_once_into_its_kind(tmp_path, image_tree):
    from tf_dcgan.checks import DatasetSpec

    np.save(tmp_path / "x.npy", np.zeros((4, 8, 8), np.uint8))
    (tmp_path / "notes.txt").write_text("")
    assert DatasetSpec.parse(str(image_tree)).kind == "folder"
    assert DatasetSpec.parse(str(tmp_path / "x.npy")).kind == "array"
    spec = DatasetSpec.parse("mnist:train[:10%]")
    assert (spec.kind, spec.name, spec.split, spec.local) == ("tfds", "mnist", "train[:10%]", False)
    assert DatasetSpec.parse("cifar10").split == "train"
    for text, message in ((str(tmp_path / "gone.npz"), "dataset file .* does not exist"),
                          (str(tmp_path / "notes.txt"), "is a file, not a folder"),
                          ("./no/such/faces", "dataset folder .* does not exist"),
                          ("", "dataset must not be empty")):
        with pytest.raises(ValueError, match=message):
            DatasetSpec.parse(text)
