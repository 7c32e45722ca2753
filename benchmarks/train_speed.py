"""Training speed: our DCGAN step against a plain TensorFlow loop and PyTorch as its users run it
(eager, channels-last, `torch.compile`; float32 and bfloat16), on the same CPU, in one table.

Every variant does the same work per batch, the pytorch/examples DCGAN step in our default order:
D on a real batch (optimizer step), D on the generated batch detached from G (optimizer step),
then G with the non-saturating loss through the updated D, G's forward pass computed once.

- **ours**: `DCGAN`'s compiled train function, the one `fit` calls for each step (data from
  memory, after warm-up), with the library's layers (fused BatchNorm, `FastConv2D`) and
  `--precision` policy;
- **plain loop**: the same step as a hand-written `tf.function` over Keras' stock layers
  (`stock_copy`: Keras 3 BatchNormalization, unfused on TensorFlow, and Keras' convolutions),
  channels-last, as in the TensorFlow DCGAN tutorial with G's forward pass reused;
- **PyTorch** (when `torch` is installed: `pip install -r benchmarks/requirements.txt`): the same
  networks (pytorch/examples' DCGAN, generalised to 28x28 and 32x32), bfloat16 through
  `torch.autocast`, in three forms: eager channels-first (pytorch/examples as written), eager
  channels-last, and both networks `torch.compile`d, channels-last.

The variants are long-lived and driven one step at a time in turn (A B C ... then C B A, so
that the host's drift hits all alike), each step timed to the end of its computation; the table
gives each variant's median images/s over `--cycles` cycles (with the quartiles) and our step
over it. Under each configuration, the floor (`arithmetic.py`): the images/s at which the step's
convolutions and dense layers alone would run at the rate of a large matrix product in the same
precision, measured in the same run, and the share of it that ours and the best PyTorch reach.
The CPU's flags that decide bfloat16's speed (AVX-512, AVX512_BF16, AMX) are printed with the
table.

    python benchmarks/train_speed.py                                   # the whole table
    python benchmarks/train_speed.py --sizes 64 --batches 64 128 --precisions mixed_bfloat16
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_dcgan.checks import ImageFormat  # noqa: E402
from tf_dcgan.environment import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_dcgan import DCGAN, build_discriminator, build_generator  # noqa: E402
from tf_dcgan.model import stock_copy  # noqa: E402
from tf_dcgan.training.callbacks import LossHistory  # noqa: E402

from arithmetic import cpu_line, matmul_rate, step_flops  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is a benchmark-only dependency
    torch = None

LATENT = 100
CHANNELS = {28: 1, 32: 3, 64: 3}  # Fashion-MNIST's gray 28x28, CIFAR-like 32x32, the paper's 64x64


def ours(size, batch, precision, data):
    dtype = None if precision == "float32" else precision
    gan = DCGAN(build_generator(ImageFormat(size, CHANNELS[size]), LATENT, seed=1, dtype=dtype),
                build_discriminator(ImageFormat(size, CHANNELS[size]), seed=2, dtype=dtype), seed=3)
    gan.compile(jit_compile=False)
    gan.make_train_function()
    train_function = gan.train_function
    iterator = iter(tf.data.Dataset.from_tensor_slices(data).repeat())

    def run(steps):
        for _ in range(steps):
            logs = train_function(iterator)
        # Steps run asynchronously until a value is read, as in fit's progress bar.
        float(logs["g_loss"])

    return run, gan


def plain_loop(gan, data):
    generator, discriminator = stock_copy(gan.generator), stock_copy(gan.discriminator)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_vars, g_vars = discriminator.trainable_variables, generator.trainable_variables

    @tf.function
    def step(real):
        noise = tf.random.normal([tf.shape(real)[0], LATENT])
        with tf.GradientTape() as g_tape:
            fake = generator(noise, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as tape:
                    logits = tf.cast(discriminator(real, training=True), tf.float32)
                    loss = bce(tf.ones_like(logits), logits)
                d_opt.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))
                with tf.GradientTape() as tape:
                    logits = tf.cast(discriminator(tf.stop_gradient(fake), training=True),
                                     tf.float32)
                    loss = bce(tf.zeros_like(logits), logits)
                d_opt.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))
            logits = tf.cast(discriminator(fake, training=True), tf.float32)
            g_loss = bce(tf.ones_like(logits), logits)
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return g_loss

    iterator = iter(tf.data.Dataset.from_tensor_slices(data).repeat())

    def run(steps):
        for _ in range(steps):
            loss = step(next(iterator))
        float(loss)

    return run


def pytorch_step(size, batch, precision, data, channels_last=False, compiled=False):
    """The same networks and step in PyTorch (pytorch/examples' DCGAN, generalised to 28/32):
    eager channels-first as written there, or channels-last, or both networks compiled."""
    nn = torch.nn
    channels = CHANNELS[size]
    doublings, base = {28: (2, 7), 32: (3, 4), 64: (4, 4)}[size]
    filters = 64 * 2 ** (doublings - 1)
    torch.manual_seed(0)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(LATENT, base * base * filters, bias=False)
            layers, f = [nn.BatchNorm2d(filters), nn.ReLU(True)], filters
            for _ in range(doublings - 1):
                layers += [nn.ConvTranspose2d(f, f // 2, 4, 2, 1, bias=False),
                           nn.BatchNorm2d(f // 2), nn.ReLU(True)]
                f //= 2
            layers += [nn.ConvTranspose2d(f, channels, 4, 2, 1), nn.Tanh()]
            self.main = nn.Sequential(*layers)

        def forward(self, z):
            x = self.project(z).view(-1, filters, base, base)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return self.main(x)

    layers, f = [], 64
    for i in range(doublings):
        layers += [nn.Conv2d(channels if i == 0 else f // 2, f, 4, 2, 1, bias=False)]
        layers += ([nn.BatchNorm2d(f)] if i else []) + [nn.LeakyReLU(0.2, inplace=True)]
        f *= 2
    discriminator = nn.Sequential(*layers, nn.Flatten(), nn.Linear(f // 2 * base * base, 1))
    generator = Generator()
    batches = torch.from_numpy(data).permute(0, 1, 4, 2, 3).contiguous()
    if channels_last:
        generator = generator.to(memory_format=torch.channels_last)
        discriminator = discriminator.to(memory_format=torch.channels_last)
        batches = torch.stack([b.contiguous(memory_format=torch.channels_last) for b in batches])
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    if compiled:
        # Static shapes: D sees three kinds of input a step (real, detached, with grad), and
        # dynamic-shape recompiles failed in inductor on 2.13 ("cannot determine truth value").
        # Dynamo's compiled graphs are cached per code object for the whole process, up to
        # `recompile_limit` (8) of them; without a reset the table's later rows (three graphs a
        # configuration) hit that limit and ran D eager, so every compiled variant starts afresh.
        torch.compiler.reset()
        generator = torch.compile(generator, dynamic=False)
        discriminator = torch.compile(discriminator, dynamic=False)
    bce = nn.BCEWithLogitsLoss()
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if precision == "mixed_bfloat16"
                else torch.autocast("cpu", enabled=False))
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    position = [0]

    def step():
        real = batches[position[0] % len(batches)]
        if channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        position[0] += 1
        with autocast:
            fake = generator(torch.randn(batch, LATENT))
            d_opt.zero_grad()
            bce(discriminator(real).float(), ones).backward()
            d_opt.step()
            d_opt.zero_grad()
            bce(discriminator(fake.detach()).float(), zeros).backward()
            d_opt.step()
            g_opt.zero_grad()
            loss = bce(discriminator(fake).float(), ones)
            loss.backward()
            g_opt.step()
        return loss

    def run(steps):
        for _ in range(steps):
            loss = step()
        loss.item()

    return run


def measure(variants, batch, cycles):
    """Each variant one step at a time, in turn (A B C, then C B A, ...): images/s per step."""
    for run in variants.values():
        for _ in range(3):  # trace or compile, build, warm up
            run(1)
    rates = {name: [] for name in variants}
    order = list(variants)
    for cycle in range(cycles):
        for name in (order if cycle % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            variants[name](1)
            rates[name].append(batch / (time.perf_counter() - start))
    return rates


def loss_history_cost(rounds, steps=100, batch=128):
    """Seconds per epoch of `fit` with and without the per-step `LossHistory`, interleaved."""
    gan = DCGAN(build_generator(ImageFormat(28, 1), LATENT, seed=1),
                build_discriminator(ImageFormat(28, 1), seed=2), seed=3)
    gan.compile(jit_compile=False)
    data = np.random.default_rng(0).uniform(-1, 1, (4, batch, 28, 28, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(data).repeat()
    times = {"fit": [], "fit + LossHistory": []}
    with tempfile.TemporaryDirectory() as tmp:
        history = LossHistory(Path(tmp) / "losses.csv", plot_path=None)
        for round_index in range(rounds + 1):  # round 0 warms up
            for name, callbacks in (("fit", []), ("fit + LossHistory", [history])):
                start = time.perf_counter()
                gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=callbacks)
                if round_index:
                    times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


TORCH_VARIANTS = {"PyTorch eager": {}, "PyTorch eager, channels-last": {"channels_last": True},
                  "torch.compile, channels-last": {"channels_last": True, "compiled": True}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64], choices=[28, 32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--cycles", type=int, default=20,
                        help="steps of each variant, in turn (default: %(default)s)")
    parser.add_argument("--no-torch-compile", action="store_true",
                        help="leave out the torch.compile variant (its compile takes a minute)")
    parser.add_argument("--no-callback-cost", action="store_true",
                        help="skip the cost of the per-step loss history (28x28, batch 128)")
    args = parser.parse_args()

    matmul = {precision: matmul_rate(tf.float32 if precision == "float32" else tf.bfloat16)
             for precision in args.precisions}
    print(cpu_line())
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"PyTorch {torch.__version__ if torch else 'not installed'}; 2048x2048 matrix product "
          "(TensorFlow): " + ", ".join(f"{precision} {rate:.0f} GFLOP/s"
                                       for precision, rate in matmul.items()))
    print(f"each variant {args.cycles} steps, one at a time in turn; images/s: median "
          "(quartiles); ours / variant")
    print(f"{'size':>4} {'batch':>5} {'precision':>14}  {'variant':<30} {'images/s':>22} "
          f"{'ours / it':>9}")
    our_float32 = {}
    for size in args.sizes:
        for batch in args.batches:
            data = np.random.default_rng(0).uniform(
                -1, 1, (4, batch, size, size, CHANNELS[size])).astype("float32")
            for precision in args.precisions:
                keras.backend.clear_session()
                run_ours, gan = ours(size, batch, precision, data)
                variants = {"ours": run_ours, "plain TensorFlow loop": plain_loop(gan, data)}
                if torch is not None:
                    for name, options in TORCH_VARIANTS.items():
                        if not (args.no_torch_compile and options.get("compiled")):
                            variants[name] = pytorch_step(size, batch, precision, data, **options)
                rates = measure(variants, batch, args.cycles)
                median = {name: statistics.median(values) for name, values in rates.items()}
                for name, values in rates.items():
                    q1, _, q3 = statistics.quantiles(values, n=4)
                    cell = f"{median[name]:7.1f} ({q1:.0f}-{q3:.0f})"
                    print(f"{size:>4} {batch:>5} {precision:>14}  {name:<30} {cell:>22} "
                          f"{median['ours'] / median[name]:8.2f}x", flush=True)
                # The floor: the step's convolutions at the matrix product's rate.
                most = matmul[precision] / (step_flops(gan.generator, gan.discriminator) / 1e9)
                line = (f"{'':>26}the matrix product's rate allows {most:.0f} images/s "
                        f"(convolutions and dense layers only): ours runs at "
                        f"{median['ours'] / most:.0%} of it")
                torch_rates = [value for name, value in median.items() if name in TORCH_VARIANTS]
                if torch_rates:
                    line += f", the best PyTorch at {max(torch_rates) / most:.0%}"
                if precision == "float32":
                    our_float32[size, batch] = median["ours"]
                elif (size, batch) in our_float32:
                    line += (f"; bfloat16 / float32 (ours): "
                             f"{median['ours'] / our_float32[size, batch]:.2f}x")
                print(line, flush=True)

    if not args.no_callback_cost:
        seconds = loss_history_cost(5)
        cost = seconds["fit + LossHistory"] / seconds["fit"] - 1
        print(f"per-step loss history (LossHistory) in fit, 28x28 batch 128, 100 steps: "
              f"{seconds['fit']:.2f} s without, {seconds['fit + LossHistory']:.2f} s with: "
              f"{100 * cost:+.1f}% of the step")


if __name__ == "__main__":
    main()
