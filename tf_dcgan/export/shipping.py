"""`export`: everything `export.py` writes for one `ExportConfig`, as a library function."""

import os
import shlex
from collections.abc import Callable

from tf_dcgan.config import ExportConfig
from tf_dcgan.export.cards import export_card
from tf_dcgan.export.loading import keras_generator_file
from tf_dcgan.export.saved_model import export_saved_model
from tf_dcgan.export.tflite import export_tflite
from tf_dcgan.export.web import export_web
from tf_dcgan.model.saving import load_generator
from tf_dcgan.model_card import CARD_MD, write_card


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
        write_card(folder, card)
    return f"Model card: {os.path.join(config.card_dir, CARD_MD)}"
