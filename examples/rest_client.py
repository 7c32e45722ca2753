"""Ask a TF Serving REST endpoint for generated images and save them as PNG files.

Serve an export first (see docs/export.md):
    docker run -p 8501:8501 -v "$PWD/exports/dcgan:/models/dcgan" -e MODEL_NAME=dcgan tensorflow/serving
Then:
    python examples/rest_client.py --num-images 8 --seed 42 --out generated/
    python examples/rest_client.py --label 7 --out sneakers/   # a conditional model's class 7
"""

import argparse
import base64
from pathlib import Path

import requests


def generate_png_body(num_images, seed, label=None):
    """The REST body for the `generate_png` signature (columnar "inputs": scalars stay scalars);
    `label`: the class of every image, for a conditional model."""
    inputs = {"num_images": num_images, "seed": seed}
    if label is not None:
        inputs["label"] = label
    return {"signature_name": "generate_png", "inputs": inputs}


def noise_body(noise, labels=None):
    """The REST body for `serving_default`: one row of `latent_dim` floats per image (and, for a
    conditional model, each row's class: named inputs per instance)."""
    if labels is None:
        return {"instances": [list(map(float, row)) for row in noise]}
    return {"instances": [{"noise": list(map(float, row)), "label": int(label)}
                          for row, label in zip(noise, labels)]}


def class_names(url, model="dcgan", timeout=30):
    """A conditional model's class names, in label order (its `classes` signature)."""
    reply = requests.post(f"{url}/v1/models/{model}:predict",
                          json={"signature_name": "classes", "inputs": {}}, timeout=timeout)
    reply.raise_for_status()
    return reply.json()["outputs"]["class_names"]


def generate_pngs(url, model="dcgan", num_images=4, seed=0, timeout=30, label=None):
    """Returns `num_images` PNG files (bytes) from the server at `url`, the same for one seed."""
    reply = requests.post(f"{url}/v1/models/{model}:predict",
                          json=generate_png_body(num_images, seed, label), timeout=timeout)
    reply.raise_for_status()
    # TF Serving base64-encodes string outputs whose name ends in `_bytes`.
    return [base64.b64decode(item["b64"]) for item in reply.json()["outputs"]["png_bytes"]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://localhost:8501")
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--num-images", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", type=int, default=None,
                        help="a conditional model's class (see its classes signature)")
    parser.add_argument("--out", default="generated")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pngs = generate_pngs(args.url, args.model, args.num_images, args.seed, label=args.label)
    for index, png in enumerate(pngs):
        (out / f"seed{args.seed}_{index:03d}.png").write_bytes(png)
    print(f"wrote {args.num_images} images to {out}")


if __name__ == "__main__":
    main()
