"""The model card that travels with an export or a folder of generated images.

A run's own card (`tf_dcgan.model_card`, rewritten by `train.py` every epoch) is taken when there
is one; a generator file alone gets a card of what the file itself tells: its inputs, outputs and
classes, with the data and training marked as not recorded.
"""

import dataclasses
from pathlib import Path
from typing import Any

from tf_dcgan import model_card
from tf_dcgan.export.loading import GeneratorFile
from tf_dcgan.run_folder import RunFolder


def find_card(path: str | Path) -> dict[str, Any] | None:
    """The card that belongs to a generator at `path`: an export's own (`OUT/NAME/` for
    `OUT/NAME.tflite`), in its folder (a run's generator.keras) or up to two folders above (an
    export's SavedModel OUT/NAME/1)."""
    path = Path(path)
    folders = [path] if path.is_dir() else [model_card.card_path(path).parent]
    folders += list(path.parents)[:3]
    for folder in folders:
        card = model_card.read_card(folder)
        if card is not None:
            return card
    return None


def export_card(generator: GeneratorFile, run_dir: str | Path | None = None,
                files: list[str] | None = None) -> dict[str, Any]:
    """The card for what is written from `generator`: the run's card (or one made from the run's
    config.json, for runs older than cards), else the card beside the generator's file, else one
    made from the generator alone; `files` names what was written with it."""
    card = None
    if run_dir is not None:
        card = model_card.read_card(run_dir)
        if card is None:
            config = dataclasses.asdict(RunFolder.open(run_dir).read_config())
            card = model_card.make_card(_model(generator), config, {
                "dataset": config["dataset"], "images": None,
                "licence": model_card.dataset_licence(config["dataset"])})
    elif generator.path.exists():
        card = find_card(generator.path)
    card = dict(card) if card is not None else model_card.make_card(_model(generator))
    if files is not None:
        card["files"] = files
    return card


def _model(generator):
    latent = generator.latent
    probe = generator.images(latent.sample(1, 0))
    _, size, _, channels = probe.shape
    return model_card.model_section(size, channels, latent.latent_dim,
                                    latent.class_names if latent.conditional else None)
