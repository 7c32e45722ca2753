"""The model card every run folder and every export carries: MODEL_CARD.md and MODEL_CARD.json.

A card says what the generator is and how it was made (Mitchell et al. 2019, "Model Cards for
Model Reporting"): the data (name, size, licence where known), the full config, training time and
hardware, the latest metrics with the extractor and the number of images named, intended use and
limitations, and how to load each file. The JSON is the source; the Markdown is drawn from it.

`train.py` rewrites the run's card after every epoch (with the time trained so far, resumes
included), `evaluate.py` adds its scores to it, `export.py` writes one beside what it exports (the
run's, or one from the generator alone) and `generate.py` copies it along with the images.
TensorFlow-free.
"""

import json
import re
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from tf_dcgan.checks import DatasetSpec
from tf_dcgan.environment import cpu_flags
from tf_dcgan.files import atomic_output

CARD_MD = "MODEL_CARD.md"
CARD_JSON = "MODEL_CARD.json"

# Licences of the datasets tf-dcgan reads by name (TFDS names); anything else is "unknown".
DATASET_LICENCES = {
    "fashion_mnist": "MIT (Zalando Research, github.com/zalandoresearch/fashion-mnist)",
    "mnist": "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
    "cifar10": "no licence stated (Krizhevsky 2009, www.cs.toronto.edu/~kriz/cifar.html)",
    "celeb_a": "non-commercial research only (CelebA agreement, mmlab.ie.cuhk.edu.hk)",
}

# A folder of images may describe itself in this file: {"name": ..., "licence": ...}
# (scripts/get_emoji.py writes one). Its name picks the project's extractor for it.
DATASET_FILE = "DATASET.json"

INTENDED_USE = (
    "Making images like the training images, for learning, research, demos and art; studying "
    "GAN training. Not for deciding anything about people, and not as evidence of anything real.")
LIMITATIONS = [
    "It draws only what its training images show, at their size, with their biases; a small "
    "training set can be partly memorised (compare generated images with their nearest training "
    "images: evaluate.py --experiments).",
    "The scores are those of the extractor named with them: comparable across runs scored with "
    "the same extractor and reference, not with published FIDs (those use the 2015 TF-Inception "
    "graph).",
    "Images made from the same seed are the same for a .keras file and its SavedModel; TFLite "
    "agrees within a few grey levels (float32) and more for float16 or int8 weights.",
]


def hardware() -> dict[str, Any]:
    """This machine: CPU model, cores, and whether the CPU has native bfloat16 (AVX512_BF16/AMX)."""
    model, flags = cpu_flags()
    return {"cpu": model or platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "native_bfloat16": bool(flags & {"avx512_bf16", "amx_bf16"}),
            "platform": platform.platform()}


def software() -> dict[str, str]:
    """The versions of tf-dcgan, TensorFlow and Keras installed here."""
    versions = {}
    for name, package in (("tf_dcgan", "tf-dcgan"), ("tensorflow", "tensorflow-cpu"),
                          ("keras", "keras")):
        try:
            versions[name] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed" if name != "tensorflow" else _tensorflow_version()
    return versions


def _tensorflow_version():
    for package in ("tensorflow", "tf-nightly"):
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return "not installed"


# What a card says of data tf-dcgan knows no licence for: a folder or an array file of the user's.
OWN_LICENCE = "the data's own: unknown to tf-dcgan (state it when you share the model)"


def dataset_licence(dataset: str) -> str:
    """The licence of a named dataset ("fashion_mnist:train[:10%]" is fashion_mnist), or what is
    known of a folder's or file's (its `DATASET.json`). What the string names is decided by
    `checks.DatasetSpec`, as for reading it; a path that is not here (the card of a run made on
    another machine) is a folder of unknown licence."""
    try:
        spec = DatasetSpec.parse(dataset)
    except ValueError:
        return OWN_LICENCE
    if spec.kind == "tfds":
        return DATASET_LICENCES.get(spec.name, "unknown")
    described = described_dataset(dataset)
    if described and described.get("licence"):
        return str(described["licence"])
    return OWN_LICENCE


def described_dataset(dataset: str) -> dict[str, Any] | None:
    """The `DATASET.json` of a dataset folder (e.g. `{"name": "emoji", "licence": ...}`, as
    scripts/get_emoji.py writes), or None for a named dataset or a folder without a readable one.
    """
    path = Path(str(dataset)).expanduser() / DATASET_FILE
    try:
        described = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return described if isinstance(described, dict) else None


def model_section(image_size: int, channels: int, latent_dim: int,
                  class_names: list[str] | None = None) -> dict[str, Any]:
    """What the generator takes and makes."""
    section = {"architecture": "DCGAN generator (Radford, Metz and Chintala 2015): a projection "
                               "and fractionally-strided convolutions with BatchNorm, tanh output",
               "image_size": image_size, "channels": channels, "latent_dim": latent_dim,
               "conditional": bool(class_names), "class_names": list(class_names or []),
               "input": f"noise float32 [batch, {latent_dim}], standard normal"
                        + (", and label int32 [batch]" if class_names else ""),
               "output": f"images float32 [batch, {image_size}, {image_size}, {channels}] in "
                         "[-1, 1] (pixel = (x + 1) * 127.5)"}
    return section


def how_to_load(conditional: bool) -> dict[str, str]:
    """One line per file kind: how to load it and make images."""
    keras_import = "import tf_dcgan, keras; " if conditional else "import keras; "
    return {
        "generator.keras": keras_import + "g = keras.models.load_model('generator.keras'); "
                           "images = g(noise, training=False)",
        "command line": "tf-dcgan-generate --generator generator.keras --num-images 64 --out DIR "
                        "(also a SavedModel folder or a .tflite file)",
        "SavedModel": "tf.saved_model.load('dcgan/1').signatures['generate'](num_images=..., "
                      "seed=...); or TF Serving",
        "TFLite": "LiteRT CompiledModel or Interpreter: inputs noise [1, latent_dim]"
                  + (" and label [1]" if conditional else "") + "; docs/mobile.md",
    }


def make_card(model: dict[str, Any], config: dict[str, Any] | None = None,
              data: dict[str, Any] | None = None, training: dict[str, Any] | None = None,
              metrics: dict[str, Any] | None = None,
              files: list[str] | None = None) -> dict[str, Any]:
    """A model card (a JSON-ready dict) from its sections; unknown sections are None.

    Example:
        >>> card = make_card(model_section(28, 1, 100), config=config_dict)
    """
    return {"name": "tf-dcgan generator", "model": model, "data": data, "config": config,
            "training": training, "metrics": metrics, "intended_use": INTENDED_USE,
            "limitations": LIMITATIONS, "how_to_load": how_to_load(model["conditional"]),
            "files": files or []}


def run_card(config: dict[str, Any], num_images: int | None, epochs_done: int,
             steps_done: int, seconds: float, precision: str,
             metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card of a run folder after `epochs_done` epochs (`seconds` of training in all)."""
    model = model_section(config["image_size"], config["channels"], config["latent_dim"],
                          config.get("class_names") if config.get("conditional") else None)
    data = {"dataset": config["dataset"], "images": num_images,
            "licence": dataset_licence(config["dataset"])}
    training = {"epochs_done": epochs_done, "steps_done": steps_done,
                "seconds": round(seconds, 1), "precision": precision,
                "hardware": hardware(), "software": software()}
    # What train.py writes into the run folder (run_folder's layout; metrics with --eval-every).
    files = ["generator.keras", "dcgan.keras", "config.json", "checkpoints/", "samples/",
             "training.gif", "losses.csv", "losses.png"]
    if config.get("eval_every"):
        files += ["metrics.csv", "metrics.png"]
    return make_card(model, config, data, training, metrics, files=files)


def metrics_from_evaluation(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The card's metrics from an evaluation.json: the scores with the extractor, N and reference."""
    return {"scores": evaluation.get("scores"), "extractor": evaluation.get("extractor"),
            "num_generated": evaluation.get("num_generated"),
            "reference": evaluation.get("reference"),
            "num_reference": evaluation.get("num_reference"),
            "source": "evaluate.py (evaluation.json)"}


def card_path(model: str | Path) -> Path:
    """The model card of a model file: `OUT/NAME/MODEL_CARD.json` for an exported `OUT/NAME.tflite`
    (one card per exported model), else the card beside it (a run's generator.keras, exports
    before that layout)."""
    model = Path(model)
    own = model.parent / model.stem / CARD_JSON
    return own if own.is_file() else model.with_name(CARD_JSON)


def card_class_names(model: str | Path) -> list[str] | None:
    """The class names a model file's card gives ([] for an unconditional model), read without
    TensorFlow; None when there is no card or it does not say (the model itself is then asked)."""
    try:
        described = json.loads(card_path(model).read_text())["model"]
        conditional, names = described["conditional"], described["class_names"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if conditional is False:
        return []
    if (conditional is True and isinstance(names, list) and names
            and all(isinstance(name, str) for name in names)):
        return names
    return None


def read_card(folder: str | Path) -> dict[str, Any] | None:
    """The card in `folder` (its MODEL_CARD.json), or None when there is none or it is not a card
    this project can show (unreadable, or hand-edited without a field it needs): the caller then
    makes a new one from what it knows, rather than failing on it."""
    try:
        card = json.loads((Path(folder) / CARD_JSON).read_text())
    except (OSError, ValueError):
        return None
    if not (isinstance(card, dict) and isinstance(card.get("model"), dict)):
        return None
    try:
        card_markdown(card)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    return card


def write_card(folder: str | Path, card: dict[str, Any]) -> None:
    """Writes MODEL_CARD.json and MODEL_CARD.md into `folder`, each to a temporary name first."""
    folder = Path(folder)
    with atomic_output(folder / CARD_JSON) as tmp:
        tmp.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    with atomic_output(folder / CARD_MD) as tmp:
        tmp.write_text(card_markdown(card))


def _text(value: Any) -> str:
    """A value from a user (a path, class names, a licence) as inert Markdown text: on one line,
    with Markdown's and HTML's special characters escaped, so it cannot make a heading, a link,
    an image or raw HTML in the card."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # On one line nothing can start a heading or a list; without brackets, no link or image.
    return re.sub(r"([\\`*\[\]])", r"\\\1", text)


def _code(value: Any) -> str:
    """A value as inline code, fenced by more backticks than it holds, on one line."""
    text = " ".join(str(value).split())
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown: the same facts as the JSON, for people. What comes from users (paths,
    class names, licences, extractor names) is escaped (`_text`, `_code`)."""
    model, data, training = card["model"], card.get("data"), card.get("training")
    lines = ["# Model card: tf-dcgan generator", "",
             "## Model", f"- {_text(model['architecture'])}.",
             f"- Input: {_text(model['input'])}.", f"- Output: {_text(model['output'])}."]
    if model["conditional"]:
        lines.append("- Classes: " + ", ".join(f"{i} {_text(name)}" for i, name
                                               in enumerate(model["class_names"])) + ".")
    lines += ["", "## Data"]
    if data:
        size = f"{data['images']:,} images" if data.get("images") else "size not recorded"
        lines += [f"- {_text(data['dataset'])}: {size}.", f"- Licence: {_text(data['licence'])}."]
    else:
        lines.append("- Not recorded: this card was made from a generator file alone.")
    lines += ["", "## Training"]
    if training:
        hw = training["hardware"]
        lines += [f"- {training['epochs_done']} epochs ({training['steps_done']:,} steps) in "
                  f"{training['seconds'] / 60:.1f} min, precision {_text(training['precision'])}.",
                  f"- Hardware: {_text(hw['cpu'])}, {hw['cores']} cores "
                  f"({'native' if hw['native_bfloat16'] else 'no native'} bfloat16).",
                  "- Software: " + ", ".join(f"{_text(k)} {_text(v)}"
                                             for k, v in training["software"].items()) + "."]
    else:
        lines.append("- Not recorded: this card was made from a generator file alone.")
    lines += ["", "## Metrics"]
    metrics = card.get("metrics")
    if metrics and metrics.get("scores"):
        scores = ", ".join(f"{_text(name)} {value:.4g}" for name, value
                           in metrics["scores"].items() if isinstance(value, (int, float)))
        lines += [f"- {scores}.",
                  f"- {metrics['num_generated']:,} generated images against "
                  f"{_text(metrics['reference'])} ({metrics.get('num_reference') or '?'} images); "
                  f"extractor: {_text(metrics['extractor'])}; from {_text(metrics['source'])}."]
    else:
        lines.append("- None yet: run `tf-dcgan-evaluate --run RUN` (or evaluate.py).")
    lines += ["", "## Intended use", _text(card["intended_use"]), "", "## Limitations"]
    lines += [f"- {_text(text)}" for text in card["limitations"]]
    lines += ["", "## How to load"]
    lines += [f"- {_text(kind)}: {_code(how)}" for kind, how in card["how_to_load"].items()]
    if card.get("files"):
        lines += ["", "## Files", ", ".join(_code(name) for name in card["files"])]
    if card.get("config"):
        config = json.dumps(card["config"], indent=2, sort_keys=True)
        fence = "`" * (1 + max([2] + [len(run) for run in re.findall(r"`+", config)]))
        lines += ["", "## Config", f"{fence}json", config, fence]
    return "\n".join(lines) + "\n"
