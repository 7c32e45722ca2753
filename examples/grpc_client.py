"""Ask a TF Serving gRPC endpoint for generated images and save them as PNG files.

Needs grpcio (`pip install "tf-dcgan[serving]"`) and `tensorflow-serving-api`, installed without
its dependencies so that it does not pull a second, full TensorFlow next to tensorflow-cpu:
    pip install --no-deps tensorflow-serving-api==2.21.0
Serve an export first (see docs/export.md), with port 8500 published, then:
    python examples/grpc_client.py --num-images 8 --seed 42 --out generated/
    python examples/grpc_client.py --label 7 --out sneakers/   # a conditional model's class 7
"""

import argparse
import sys
from pathlib import Path

INSTALL = ('pip install "tf-dcgan[serving]" && pip install --no-deps '
           "tensorflow-serving-api==2.21.0")


def _serving_apis():
    """grpc, TensorFlow and the serving protos, imported when a request is made (so --help works
    without them), or one line that says how to install them."""
    try:
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError as error:
        sys.exit(f"grpc_client.py: error: {error.name} is not installed; run: {INSTALL}")
    return grpc, tf, predict_pb2, prediction_service_pb2_grpc


def generate_png_request(model="dcgan", num_images=4, seed=0, label=None):
    """A PredictRequest for the `generate_png` signature (`label`: a conditional model's class)."""
    _, tf, predict_pb2, _ = _serving_apis()
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "generate_png"
    request.inputs["num_images"].CopyFrom(tf.make_tensor_proto(num_images, dtype=tf.int32))
    request.inputs["seed"].CopyFrom(tf.make_tensor_proto(seed, dtype=tf.int64))
    if label is not None:
        request.inputs["label"].CopyFrom(tf.make_tensor_proto(label, dtype=tf.int32))
    return request


def generate_pngs(target="localhost:8500", model="dcgan", num_images=4, seed=0, timeout=30,
                  label=None):
    """Returns `num_images` PNG files (bytes) from the gRPC server at `target`."""
    grpc, tf, _, prediction_service_pb2_grpc = _serving_apis()
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        reply = stub.Predict(generate_png_request(model, num_images, seed, label),
                             timeout=timeout)
    return list(tf.make_ndarray(reply.outputs["png_bytes"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="localhost:8500")
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--num-images", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", type=int, default=None,
                        help="a conditional model's class (see its classes signature)")
    parser.add_argument("--out", default="generated")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pngs = generate_pngs(args.target, args.model, args.num_images, args.seed, label=args.label)
    for index, png in enumerate(pngs):
        (out / f"seed{args.seed}_{index:03d}.png").write_bytes(png)
    print(f"wrote {args.num_images} images to {out}")


if __name__ == "__main__":
    main()
