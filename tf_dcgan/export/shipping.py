"""What `export.py` and `generate.py` write, as library functions of their configs: `export`
(`ExportConfig`) and `generate` (`GenerateConfig`)."""

import json
import os
import shlex
from collections.abc import Callable

from tf_dcgan import model_card
from tf_dcgan.config import ExportConfig, GenerateConfig
from tf_dcgan.export.cards import export_card
from tf_dcgan.export.images import (
    check_output_size,
    class_label,
    generate_images,
    gif_bytes,
    latent_walk,
    write_image_folder,
)
from tf_dcgan.export.loading import keras_generator_file, open_generator
from tf_dcgan.export.saved_model import export_saved_model
from tf_dcgan.export.tflite import export_tflite
from tf_dcgan.export.web import export_web
from tf_dcgan.model.saving import load_generator
from tf_dcgan.files import check_replaceable_folder
from tf_dcgan.run_folder import RunFolder


def export(config: ExportConfig, report: Callable[[str], None] = lambda line: None) -> str:
    """Writes `config`'s generator as a TF Serving SavedModel (OUT/<model-name>/<version>/), with
    `tflite` as OUT/<model-name>.tflite and with `web` as a page in OUT/web/, and the model card
    in OUT/<model-name>/ (and OUT/web/).

    A .tflite file or page that exists without `overwrite`, or `web` without LiteRT.js, is
    refused before anything is written.

    Args:
        config: the `ExportConfig`.
        report: called with one line for each thing written, as it is written.

    Returns:
        The last line: where the model card is.

    Raises:
        ValueError: a bad setting, a generator that cannot be loaded, or an output in the way
            (the message names it and the fix).

    Example:
        >>> export(ExportConfig(run="runs/mine", out="exports", tflite=True), report=print)
    """
    config.validate()
    config.check_outputs()
    generator = load_generator(run_dir=config.run, path=config.generator)
    version_dir = export_saved_model(generator, config.out, model_name=config.model_name,
                                     version=config.version, max_images=config.max_images,
                                     overwrite=config.overwrite)
    report(f"SavedModel: {version_dir}")
    written = [str(version_dir)]
    if config.tflite:
        quantize = config.quantize or "none"
        export_tflite(generator, config.tflite_path, quantize=quantize)
        report(f"TFLite ({quantize}): {config.tflite_path}")
        written.append(config.tflite_path)
    if config.web:
        quantize = config.quantize or "float16"
        web_dir = export_web(generator, config.out, name=config.model_name, quantize=quantize,
                             overwrite=config.overwrite)
        report(f"Web page ({quantize}): {web_dir}  view it: python -m http.server -d "
               f"{shlex.quote(str(web_dir))}")
        written.append(config.web_path)
    card = export_card(keras_generator_file(generator, config.generator or config.run),
                       config.run, [os.path.relpath(path, config.out) for path in written])
    for folder in [config.card_dir] + ([config.web_path] if config.web else []):
        model_card.write_card(folder, card)
    return f"Model card: {os.path.join(config.card_dir, model_card.CARD_MD)}"


def generate(config: GenerateConfig) -> str:
    """Writes `config.num_images` images of a run's generator (or a generator file of any kind)
    as `0000.png`, ... and `grid.png`, with `interpolate` a latent walk (`walk.gif`), and the
    model card saying what made them, into `config.out` (default RUN/generated/seed-SEED), all
    appearing at once.

    Returns:
        The line `generate.py` prints: what was written, and where.

    Raises:
        ValueError: a bad setting, a generator that cannot be opened, a --label it does not
            have, an output that is not a folder of ours or exists without `overwrite`, or a
            request too large for memory (the message names it and the fix).

    Example:
        >>> generate(GenerateConfig(run="runs/mine", num_images=16, seed=7))
    """
    config.validate()
    generator = open_generator(run_dir=config.run, path=config.generator)
    label = class_label(generator, config.label)
    out = config.out if config.out is not None else (
        RunFolder(config.run).path / "generated" / f"seed-{config.seed}")
    # A file, a link, or the run or model itself is refused before --overwrite touches it.
    check_replaceable_folder(out, protected=(config.run, config.generator))
    if os.path.exists(out) and not config.overwrite:  # before minutes of generating
        raise ValueError(f"{out} already exists; pass --overwrite to replace it, or pick another "
                         "--out.")
    check_output_size(generator, config.num_images, config.scale, config.interpolate)
    extras = {}
    if config.interpolate:
        extras["walk.gif"] = gif_bytes(latent_walk(generator, config.num_images, config.seed,
                                                   label, config.interpolate, config.scale))
    card = export_card(generator, config.run)
    card["generated"] = {"num_images": config.num_images, "seed": config.seed,
                         "label": label, "from": f"{generator.kind} {generator.path}"}
    extras[model_card.CARD_JSON] = (json.dumps(card, indent=2) + "\n").encode()
    extras[model_card.CARD_MD] = model_card.card_markdown(card).encode()
    folder = write_image_folder(out, generate_images(generator, config.num_images, config.seed,
                                                     label), config.overwrite, config.scale, extras)
    walk = " and walk.gif" if config.interpolate else ""
    return f"{config.num_images} images, grid.png{walk}: {folder}"
