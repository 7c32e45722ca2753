import csv

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from tf_dcgan.data.grids import image_grid
from tf_dcgan.training.callbacks import LossHistory, SampleGrid, TrainingGif


def test_image_grid_places_images_in_rows_with_padding():
    images = np.full((5, 4, 4, 1), -1.0, "float32")
    images[4] = 1.0  # the fifth image is white: second row, second column of a 3-column grid
    grid = image_grid(images, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1)
    assert grid[6:10, 6:10].min() == 255
    assert grid[1:5, 1:5].max() == 0
    rgb = image_grid(np.zeros((4, 4, 4, 3), "float32"), padding=2)
    assert rgb.shape == (2 * 6 + 2, 2 * 6 + 2, 3)


def test_loss_history_rows_are_per_step_values_that_average_to_the_epoch_logs(
        tiny_gan, tiny_images, tmp_path):
    gan = tiny_gan()
    history_callback = LossHistory(tmp_path / "losses.csv", tmp_path / "losses.png")
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16)
    history = gan.fit(dataset, epochs=2, verbose=0, callbacks=[history_callback])
    with open(tmp_path / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    assert [int(r["epoch"]) for r in rows] == [1] * 4 + [2] * 4
    for name in ("d_loss", "d_real_loss", "d_fake_loss", "g_loss", "d_real", "d_fake"):
        for epoch in (1, 2):
            values = [float(r[name]) for r in rows if int(r["epoch"]) == epoch]
            assert np.mean(values) == pytest.approx(history.history[name][epoch - 1], rel=1e-4)
    # Per-step values, not running means: the last row is not the epoch mean.
    assert float(rows[3]["g_loss"]) != pytest.approx(history.history["g_loss"][0], rel=1e-6)
    image = iio.imread(tmp_path / "losses.png")
    assert image.shape[0] > 300 and image.shape[1] > 500


def test_loss_history_appends_to_an_existing_csv(tiny_gan, tiny_images, tmp_path):
    gan = tiny_gan()
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16)
    gan.fit(dataset, epochs=1, verbose=0, callbacks=[LossHistory(tmp_path / "l.csv")])
    gan.fit(dataset, epochs=1, verbose=0,
            callbacks=[LossHistory(tmp_path / "l.csv", append=True)])
    with open(tmp_path / "l.csv", newline="") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == list(range(1, 9))


def test_sample_grids_use_fixed_noise_and_the_gif_has_a_frame_per_epoch(
        tiny_gan, tiny_images, tmp_path):
    gan = tiny_gan()
    samples = tmp_path / "samples"
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16)
    gan.fit(dataset, epochs=3, verbose=0, callbacks=[
        SampleGrid(samples, num_images=9, seed=4, scale=2),
        TrainingGif(samples, tmp_path / "training.gif"),
    ])
    files = sorted(p.name for p in samples.iterdir())
    assert files == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    last = iio.imread(samples / "epoch_003.png")
    assert last.shape == (2 * (3 * 18 + 2), 2 * (3 * 18 + 2))
    # The last grid is the generator's images for the fixed noise, seed 4.
    expected = image_grid(gan.generate(9, seed=4).numpy())
    np.testing.assert_array_equal(last[::2, ::2], expected)
    frames = iio.imread(tmp_path / "training.gif", index=None)
    assert frames.shape[0] == 3
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_sample_grids_of_small_images_are_upscaled_to_512_pixels_by_default(
        tiny_gan, tiny_images, tmp_path):
    gan = tiny_gan()
    gan.fit(tf.data.Dataset.from_tensor_slices(tiny_images).batch(16), epochs=1, verbose=0,
            callbacks=[SampleGrid(tmp_path, num_images=9, seed=4)])
    grid = iio.imread(tmp_path / "epoch_001.png")
    assert grid.shape == (10 * 56, 10 * 56)  # 3x3 tiles of 16 + padding = 56, 10x to >= 512
    np.testing.assert_array_equal(grid[::10, ::10], image_grid(gan.generate(9, seed=4).numpy()))


def test_the_gif_keeps_the_frames_of_a_run_whose_grids_grew(tmp_path):
    from tf_dcgan.training.plots import write_gif

    small, large = np.full((10, 10), 50, np.uint8), np.full((30, 30), 200, np.uint8)
    odd = np.zeros((7, 9), np.uint8)  # not a whole fraction: left out
    write_gif([small, odd, large], tmp_path / "run.gif")
    frames = iio.imread(tmp_path / "run.gif", index=None)
    assert frames.shape[:3] == (2, 30, 30)


def test_the_model_card_adds_a_resumed_runs_time_to_the_time_before(tmp_path):
    import dataclasses
    import json

    from tf_dcgan.config import TrainConfig
    from tf_dcgan.model_card import run_card, write_card
    from tf_dcgan.training.callbacks import ModelCardWriter, SaveModels

    config = TrainConfig(image_size=28, channels=1, seed=0, epochs=3)
    write_card(tmp_path, run_card(dataclasses.asdict(config), 600, 1, 10, 100.0, "float32"))
    saver = SaveModels(tmp_path)
    writer = ModelCardWriter(tmp_path, config, 600, 10, saver)
    writer.on_train_begin()
    writer.on_epoch_end(1)  # the saver did not save epoch 2: the card stays as it was
    assert json.loads((tmp_path / "MODEL_CARD.json").read_text())["training"]["epochs_done"] == 1
    saver.last_saved_epoch = 2
    writer.on_epoch_end(1)
    training = json.loads((tmp_path / "MODEL_CARD.json").read_text())["training"]
    assert training["epochs_done"] == 2 and training["steps_done"] == 20
    assert 100.0 <= training["seconds"] < 160.0


def test_the_progress_line_covers_the_whole_run_and_follows_keras_own_line():
    from tf_dcgan.training.callbacks import EpochTimer, RunProgress

    timer, lines = EpochTimer(), []
    progress = RunProgress(timer, epochs=4, steps_per_epoch=10, batch_size=8,
                           precision="mixed_bfloat16", write=lines.append)
    progress.params = {"steps": 10}
    # The third epoch stops after 4 of its 10 steps (Ctrl-C): its line says what ran.
    for epoch, (seconds, steps) in enumerate([(30.0, 10), (5.0, 10), (2.0, 4)]):
        progress.on_epoch_begin(epoch)
        for batch in range(steps):
            progress.on_train_batch_end(batch)
        timer.seconds.append(seconds)
        progress.on_epoch_end(epoch)
    assert len(lines) == 2  # the last epoch's line waits until Keras has written its own
    progress.on_train_end()
    assert lines == [
        "epoch 1/4: 30.0 s, 3 images/s; step 10 of 40 (25%); about 2 min to go (mixed_bfloat16)",
        # The time left leaves out the first epoch (graph tracing): 3 s a step, 20 steps.
        "epoch 2/4: 5.0 s, 16 images/s; step 20 of 40 (50%); about 10 s to go (mixed_bfloat16)",
        "epoch 3/4: 2.0 s, 16 images/s; step 24 of 40 (60%); about 8 s to go (mixed_bfloat16)"]


def test_each_grid_is_quantized_once_however_long_the_run(tiny_gan, tiny_images, tmp_path,
                                                          monkeypatch):
    from tf_dcgan.training import callbacks, plots

    made = []

    def counted(frame):
        made.append(frame.shape)
        return plots.gif_frame(frame)

    monkeypatch.setattr(callbacks, "gif_frame", counted)
    samples = tmp_path / "samples"
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16)
    gan = tiny_gan()
    gan.fit(dataset, epochs=4, verbose=0, callbacks=[
        SampleGrid(samples, num_images=4, seed=0, scale=2),
        TrainingGif(samples, tmp_path / "training.gif")])
    assert len(made) == 4  # one per epoch, not 1 + 2 + 3 + 4
    frames = iio.imread(tmp_path / "training.gif", index=None)
    assert frames.shape[0] == 4
    # The GIF's last frame is the last grid (gray: no quantization).
    np.testing.assert_array_equal(frames[-1][..., 0] if frames.ndim == 4 else frames[-1],
                                  iio.imread(samples / "epoch_004.png"))


def test_what_users_name_cannot_inject_markdown_or_html_into_a_model_card():
    import dataclasses

    from tf_dcgan.config import TrainConfig
    from tf_dcgan.model_card import card_markdown, run_card

    evil = "/tmp/ds\n# Injected <img src=x onerror=alert(1)> [l](javascript:alert(1)) ```"
    config = dataclasses.asdict(TrainConfig(dataset=evil, image_size=28, channels=1, seed=0,
                                            conditional=True, class_names=[evil, "ok"]))
    card = run_card(config, 10, 1, 5, 3.0, "float32", metrics={
        "scores": {"fid": 1.0}, "num_generated": 10, "reference": evil, "num_reference": 4,
        "extractor": evil, "source": evil})
    card["files"] = [evil]
    text = card_markdown(card)
    import re

    # Code (the config block, the files' code spans) is shown as it is, never rendered.
    prose = re.sub(r"(`+) .*? \1|(`+)[^`].*?\2", "", text.split("## Config\n", 1)[0])
    assert not any(line.startswith("# Injected") for line in text.splitlines())
    assert "<img" not in prose and "&lt;img" in prose
    assert not re.search(r"(?<!\\)\]\(", prose) and "\\[l\\](javascript" in prose  # no link
    # The config block's fence is longer than any run of backticks inside it.
    fence = text.split("## Config\n", 1)[1].splitlines()[0]
    assert fence == "````json" and text.rstrip().endswith("\n````")


def test_a_long_runs_gif_keeps_evenly_spaced_frames_and_the_newest(tmp_path):
    from tf_dcgan.data.grids import write_png

    def shade(frame):  # the grey level of a frame (imageio may give 1 or 3 channels)
        return int(np.asarray(frame)[0, 0].ravel()[0]) // 20

    samples = tmp_path / "samples"
    samples.mkdir()
    gif = TrainingGif(samples, tmp_path / "training.gif", max_frames=4)
    gif.on_train_begin()
    for number in range(1, 11):
        write_png(samples / f"epoch_{number:03d}.png", np.full((8, 8), number * 20, np.uint8))
        gif.on_epoch_end(number - 1)
        frames = iio.imread(tmp_path / "training.gif", index=None)
        assert len(frames) <= 4 and shade(frames[-1]) == number  # the newest is last
    # After 10 epochs: every 4th epoch, and the newest.
    assert [shade(frame) for frame in frames] == [4, 8, 10]
    # A resumed run starts from the grids on disk with the same spacing.
    again = TrainingGif(samples, tmp_path / "again.gif", max_frames=4)
    again.on_train_begin()
    again.on_epoch_end(9)
    assert [shade(f) for f in iio.imread(tmp_path / "again.gif", index=None)] == [4, 8, 10]


def test_a_long_runs_gif_is_rewritten_about_20_frames_an_epoch_and_whole_at_the_end(tmp_path):
    from tf_dcgan.data.grids import write_png

    samples = tmp_path / "samples"
    samples.mkdir()
    gif = TrainingGif(samples, tmp_path / "training.gif", max_frames=200)
    gif.on_train_begin()
    written = []
    for number in range(1, 101):
        write_png(samples / f"epoch_{number:03d}.png", np.full((8, 8), number, np.uint8))
        before = gif.path.stat().st_mtime_ns if gif.path.exists() else None
        gif.on_epoch_end(number - 1)
        if gif.path.stat().st_mtime_ns != before:
            written.append(number)
    # Every epoch up to 20 frames, then once the epochs since the last write reach frames / 20.
    assert written[:20] == list(range(1, 21))
    assert written[-3:] == [88, 93, 98] and len(written) == 45  # 5 epochs apart at 90-100 frames
    write_png(samples / "epoch_101.png", np.full((8, 8), 101, np.uint8))
    gif.on_epoch_end(100)  # not written: 3 epochs since, 101 frames / 20
    assert len(iio.imread(gif.path, index=None)) == 98
    gif.on_train_end()  # the end (a stop too) writes it whole
    assert len(iio.imread(gif.path, index=None)) == 101
