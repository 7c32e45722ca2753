"""Stand-ins for TF Serving's front ends, over a real SavedModel, on loopback only.

No TF Serving binary installs from PyPI or Debian, so these reproduce what its REST and gRPC
predict APIs do with a request (input decoding, signature by name, `_bytes` outputs base64 in
REST), to test the export's contract and the example clients end to end.
"""

import base64
import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import tensorflow as tf


def rest_predict(signatures, body):
    """What TF Serving's REST predict API does with a JSON body: row ("instances") or columnar
    ("inputs") format, the signature by name, and base64 for string outputs named *_bytes."""
    request = json.loads(body)
    signature = signatures[request.get("signature_name", "serving_default")]
    specs = signature.structured_input_signature[1]
    if "instances" in request:
        rows = request["instances"]
        if rows and isinstance(rows[0], dict):  # named inputs: each instance has every input
            inputs = {k: tf.constant([row[k] for row in rows], dtype=specs[k].dtype)
                      for k in specs}
        else:
            name = next(iter(specs))
            inputs = {name: tf.constant(rows, dtype=specs[name].dtype)}
    else:
        inputs = {k: tf.constant(v, dtype=specs[k].dtype) for k, v in request["inputs"].items()}
    outputs = signature(**inputs)
    response = {}
    for name, tensor in outputs.items():
        value = tensor.numpy()
        if name.endswith("_bytes"):
            response[name] = [{"b64": base64.b64encode(v).decode()} for v in value]
        elif value.dtype == object:  # other strings go out as UTF-8 text
            response[name] = [v.decode() for v in value.ravel()]
        else:
            response[name] = value.tolist()
    key = "predictions" if "instances" in request else "outputs"
    return json.loads(json.dumps({key: response}))



class RestServer:
    """TF Serving's REST predict endpoint, `POST /v1/models/<name>:predict`, on 127.0.0.1."""

    def __init__(self, version_dir, model_name="dcgan"):
        signatures = tf.saved_model.load(str(version_dir), tags=["serve"]).signatures
        path = f"/v1/models/{model_name}:predict"

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != path:
                    self.send_error(404)
                    return
                reply = json.dumps(rest_predict(signatures, body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class GrpcServer:
    """TF Serving's gRPC PredictionService.Predict on 127.0.0.1."""

    def __init__(self, version_dir):
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        signatures = tf.saved_model.load(str(version_dir), tags=["serve"]).signatures

        class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
            def Predict(self, request, context):
                signature = signatures[request.model_spec.signature_name or "serving_default"]
                inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
                reply = predict_pb2.PredictResponse()
                for name, tensor in signature(**inputs).items():
                    reply.outputs[name].CopyFrom(tf.make_tensor_proto(tensor.numpy()))
                return reply

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), self.server)
        self.target = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop(grace=None)
