"""Fetch about 3,800 real 64x64 colour images, licensed and offline-cacheable: the Noto (Google)
and Twemoji (Twitter) emoji of the npm packages `emoji-datasource-google` and
`emoji-datasource-twitter` 16.0.0, as a folder of class sub-folders by emoji category.

    python scripts/get_emoji.py data/emoji                        # both sets, via npm
    python scripts/get_emoji.py data/emoji --sets google          # Noto only
    python scripts/get_emoji.py data/emoji --skin-tones all       # + every skin tone (7,500)
    python scripts/get_emoji.py data/emoji --categories smileys_and_emotion,animals_and_nature
    python scripts/get_emoji.py data/emoji --tarballs ~/Downloads  # tarballs fetched before

By default each emoji comes once per set, in its default (yellow) skin tone: with `--skin-tones
all` every skin-tone variant is an image of its own, and People & Body becomes 60% of the folder
(five colourings of the same hands), which a GAN spends its capacity on.

writes `DIR/<category>/<short_name>[-<skin tone>]-<set>.png` (RGBA, 64x64; the nine categories
with images, e.g. `smileys_and_emotion/`, `animals_and_nature/`), `DIR/NOTICE` naming both
licences, and `DIR/DATASET.json` (name "emoji", the sets, skin tones and categories chosen,
counts, licences: evaluate.py then scores with the project's emoji classifier, and model cards
state the licences). Each tarball is `npm pack`ed at its pinned version and checked against the registry's
SHA-512 integrity pinned here before anything is read from it. The folder appears whole or not at
all; an existing one is replaced only with --overwrite. Train on it with
`train.py --dataset DIR --image-size 64 --channels 3` (alpha is composited over white).
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_dcgan.files import (  # noqa: E402
    check_replaceable_folder,
    process_alive,
    replace_directory,
)
from tf_dcgan.model_card import DATASET_FILE  # noqa: E402

# set: (npm package, version, the registry's dist.integrity, the images' licence)
PACKAGES = {
    "google": ("emoji-datasource-google", "16.0.0",
               "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJ"
               "CoT8DlPhfQ3A==",
               "Noto Emoji images by Google, Apache License 2.0 "
               "(https://github.com/googlefonts/noto-emoji)"),
    "twitter": ("emoji-datasource-twitter", "16.0.0",
                "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewW"
                "g8jBbuL2eyELQ==",
                "Twemoji images by Twitter, Inc and other contributors, CC-BY 4.0 "
                "(https://github.com/twitter/twemoji); attribution: Twemoji"),
}
# Skin-tone swatches and hair parts, not pictures of anything.
SKIPPED_CATEGORIES = {"Component"}
# The folders of the nine categories with images (emoji.json's names, `category_folder`).
CATEGORIES = ("activities", "animals_and_nature", "flags", "food_and_drink", "objects",
              "people_and_body", "smileys_and_emotion", "symbols", "travel_and_places")


# Marks a partial folder as this script's, with the PID of the process writing it.
PARTIAL_MARKER = ".get_emoji-pid"


def remove_stale_partials(out: Path) -> None:
    """Deletes the `.OUT.partial-*` folders of earlier runs of this script that were killed.

    Only a folder holding our marker, naming a process that has ended, is removed; a user's own
    folder of that name, or a run still writing, is left alone.
    """
    for path in out.parent.glob(f".{out.name}.partial-*"):
        marker = path / PARTIAL_MARKER
        if path.is_symlink() or not marker.is_file():
            continue
        pid = marker.read_text().strip()
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _fail(message: str) -> int:
    print(f"get_emoji.py: error: {message}", file=sys.stderr)
    return 2


def integrity(path: Path) -> str:
    """npm's `sha512-<base64>` integrity string of a file."""
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def fetch(name: str, version: str, folder: Path) -> Path:
    """`npm pack name@version` into `folder`; the tarball's path."""
    if shutil.which("npm") is None:
        raise ValueError("npm is not installed; install Node.js's npm (scripts/setup.sh does) or "
                         "pass --tarballs with the .tgz files.")
    result = subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination",
                             str(folder), "--json"], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        tail = " ".join(result.stderr.strip().splitlines()[-2:])
        raise ValueError(f"npm pack {name}@{version} failed ({tail}). Check the network to the "
                         "npm registry, or pass --tarballs with the .tgz files.")
    return folder / json.loads(result.stdout)[0]["filename"]


def category_folder(category: str) -> str:
    """'Smileys & Emotion' -> 'smileys_and_emotion'."""
    return re.sub(r"[^a-z0-9]+", "_", category.lower().replace("&", "and")).strip("_")


SKIN_TONES = ("default", "all")


def extract(tarball: Path, set_name: str, out: Path, skin_tones: str = "default",
            categories: frozenset[str] | None = None) -> Counter:
    """Writes the 64x64 images of one set into `out/<category>/`; the count per category.

    Args:
        skin_tones: "default" (each emoji once) or "all" (every skin-tone variant too).
        categories: folder names of the categories to keep (`category_folder`); None: all.
    """
    prefix = f"package/img/{set_name}/64/"
    counts = Counter()
    with tarfile.open(tarball) as archive:
        emoji = json.load(archive.extractfile("package/emoji.json"))
        members = {member.name: member for member in archive.getmembers()
                   if member.name.startswith(prefix) and member.isfile()}
        for entry in emoji:
            if entry["category"] in SKIPPED_CATEGORIES or (
                    categories is not None and category_folder(entry["category"]) not in categories):
                continue
            variants = [("", entry)]
            if skin_tones == "all":
                variants += [(f"-{tone.lower()}", variant) for tone, variant
                             in (entry.get("skin_variations") or {}).items()]
            for suffix, variant in variants:
                member = members.get(prefix + variant["image"])
                if not variant.get(f"has_img_{set_name}") or member is None:
                    continue
                folder = out / category_folder(entry["category"])
                folder.mkdir(parents=True, exist_ok=True)
                # A name is a file name, never a path (emoji.json is pinned, but still data).
                name = re.sub(r"[^A-Za-z0-9_+-]", "_", f"{entry['short_name']}{suffix}")
                target = folder / f"{name}-{set_name}.png"
                target.write_bytes(archive.extractfile(member).read())
                counts[entry["category"]] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the folder to write")
    parser.add_argument("--sets", default="google,twitter",
                        help="comma-separated: google, twitter (default: %(default)s)")
    parser.add_argument("--tarballs", default=None,
                        help="a folder holding the packages' .tgz files already (no npm needed)")
    parser.add_argument("--skin-tones", default="default", choices=SKIN_TONES,
                        help="default: each emoji once per set, in its default skin tone; all: "
                        "every skin-tone variant as an image of its own, which makes People & "
                        "Body 60%% of the folder (default: %(default)s)")
    parser.add_argument("--categories", default=None,
                        help="comma-separated categories to keep, among "
                        f"{', '.join(CATEGORIES)} (default: all nine)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    unknown = [name for name in sets if name not in PACKAGES]
    if unknown or not sets:
        return _fail(f"sets must be among {', '.join(PACKAGES)}; received {args.sets!r}. Use e.g. "
                     "--sets google,twitter.")
    categories = None
    if args.categories is not None:
        categories = frozenset(name.strip() for name in args.categories.split(",") if name.strip())
        unknown = sorted(categories - set(CATEGORIES))
        if unknown or not categories:
            return _fail(f"categories must be among {', '.join(CATEGORIES)}; received "
                         f"{args.categories!r}. Use e.g. --categories "
                         "smileys_and_emotion,animals_and_nature.")
    try:
        check_replaceable_folder(out, flag="out")
    except ValueError as error:
        return _fail(str(error))
    if out.exists() and not args.overwrite:
        return _fail(f"{out} already exists; pass --overwrite to replace it, or pick another "
                     "folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's is private; the folder is data for anyone to read
    (staging / PARTIAL_MARKER).write_text(f"{os.getpid()}\n")
    # SIGTERM unwinds like Ctrl-C, so the partial folder is removed (SIGKILL's is removed by the
    # next run, `remove_stale_partials`).
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        downloads = staging / ".tarballs"
        downloads.mkdir()
        notice = ["Images fetched by tf-dcgan's scripts/get_emoji.py from npm:", ""]
        total = Counter()
        for name in sets:
            package, version, expected, licence = PACKAGES[name]
            tarball = (Path(args.tarballs) / f"{package}-{version}.tgz" if args.tarballs
                       else fetch(package, version, downloads))
            if not tarball.is_file():
                raise ValueError(f"{tarball} not found; pass --tarballs with the folder that "
                                 f"holds {package}-{version}.tgz, or leave it out to use npm.")
            found = integrity(tarball)
            if found != expected:
                raise ValueError(f"{tarball.name} has integrity {found[:30]}..., not the "
                                 f"registry's {expected[:30]}... for {package}@{version}. "
                                 "Fetch it again.")
            counts = extract(tarball, name, staging, args.skin_tones, categories)
            total.update(counts)
            notice += [f"- {package}@{version} ({expected}): {sum(counts.values())} images.",
                       f"  {licence}.",
                       "  The package's own code and emoji.json: MIT (Cal Henderson, "
                       "emoji-data)."]
        shutil.rmtree(downloads)
        (staging / PARTIAL_MARKER).unlink()
        (staging / "NOTICE").write_text("\n".join(notice) + "\n")
        # The folder names itself: evaluate.py and train.py --eval-every then pick the emoji
        # classifier, and model cards state the licences.
        licences = "; ".join(PACKAGES[name][3] for name in sets)
        (staging / DATASET_FILE).write_text(json.dumps(
            {"name": "emoji", "sets": sets, "skin_tones": args.skin_tones,
             "categories_chosen": sorted(categories) if categories else "all",
             "images": sum(total.values()),
             "categories": dict(total.most_common()), "licence": f"{licences} (see NOTICE)"},
            indent=2) + "\n")
        replace_directory(staging, out)  # an existing folder is swapped out in one step
    except (ValueError, OSError, tarfile.TarError, KeyError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        return _fail(str(error))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary = ", ".join(f"{category} {count}" for category, count in total.most_common())
    print(f"{sum(total.values())} images in {len(total)} categories ({summary}): {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
