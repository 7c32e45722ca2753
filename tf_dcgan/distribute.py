"""`tf.distribute`: which strategy a run trains under, which worker writes, what workers agree on.

The training step itself knows nothing of this: Keras `fit` runs `DCGAN.train_step` on every
replica, averages the gradients, and hands each replica its share of the global batch. This module
picks the strategy (`make_strategy`), tells the chief from the other workers (`is_chief`), and
has every worker agree on the chief's values where a local choice would differ
(`agree_with_chief`: the run folder's name, which comes from a clock, and a random seed).

Create the strategy before TensorFlow runs anything else in the process: multi-worker and TPU
strategies must be set up first.
"""

import os

import tensorflow as tf

from tf_dcgan import environment
from tf_dcgan.checks import check_strategy


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The `tf.distribute.Strategy` named by `name` (one of `checks.STRATEGIES`).

    - auto: `MirroredStrategy` over all local GPUs when there are two or more, else default;
    - default: TensorFlow's default strategy (one device, no replication);
    - mirrored: `MirroredStrategy` over all local GPUs (or the CPU when there is none);
    - multiworker: `MultiWorkerMirroredStrategy`; the cluster comes from the `TF_CONFIG`
      environment variable, set on every machine (see docs/distributed.md);
    - tpu: `TPUStrategy` on the Cloud TPU this machine is attached to.

    Raises:
        ValueError: an unknown name, multiworker without `TF_CONFIG`, or tpu without a TPU.

    Example:
        >>> strategy = make_strategy("auto")
        >>> with strategy.scope():
        ...     gan = build_gan(config)
    """
    check_strategy(name)
    if name == "auto":
        name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "strategy=multiworker needs the cluster in the TF_CONFIG environment variable; "
                "received no TF_CONFIG. Set it on every machine (see docs/distributed.md, 'Several "
                "devices and machines' section), or use --strategy auto on one machine."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as error:
        raise ValueError(
            f"strategy=tpu needs a Cloud TPU; none was found ({str(error).splitlines()[0][:120]}). "
            "Run on a TPU VM, or use --strategy auto."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` spans more than one worker process (MultiWorkerMirroredStrategy).

    The same test as Keras' own (`_collective_all_reduce_multi_worker` in its TF trainer), which
    decides how `fit` reduces the logs.
    """
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def worker_index(strategy: tf.distribute.Strategy) -> tuple[str, int]:
    """(task type, task index) of this process in the cluster; ("chief", 0) outside one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not is_multi_worker(strategy):
        return "chief", 0
    return resolver.task_type, resolver.task_id


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: always, except on the non-chief workers.

    The chief is the `chief` task when the cluster has one, else worker 0 (TensorFlow's rule).
    """
    if not is_multi_worker(strategy):
        return True
    task_type, task_id = worker_index(strategy)
    if task_type == "chief":
        return True
    has_chief = "chief" in strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def agree_with_chief(strategy: tf.distribute.Strategy, values: list[int]) -> list[int]:
    """The chief's `values` (non-negative integers), on every worker.

    Outside a multi-worker cluster this returns `values` unchanged. Inside one, every worker must
    call it at the same point (it is a collective): the chief's replicas add their values into an
    all-reduce to which every other replica adds zeros.

    Args:
        strategy: the run's strategy.
        values: a list of ints under 2**62 (the chief's are used; the others' are ignored).

    Example:
        >>> stamp, seed = agree_with_chief(strategy, [20261202221500, random_seed])
    """
    values = [int(value) for value in values]
    if not is_multi_worker(strategy):
        return values
    chief = is_chief(strategy)
    local_replicas = len(strategy.extended.worker_devices)

    def contribution(context):
        # Only the chief's first local replica adds its values, once.
        first = context.replica_id_in_sync_group % local_replicas == 0
        return tf.constant(values if chief and first else [0] * len(values), tf.int64)

    per_replica = strategy.experimental_distribute_values_from_function(contribution)
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
    return [int(value) for value in total.numpy()]


def resolve_precision(precision: str, strategy: tf.distribute.Strategy | None = None) -> str:
    """The dtype policy `--precision auto` stands for on this machine; other values unchanged.

    `mixed_bfloat16` where bfloat16 is native: a TPU strategy, GPUs that all have it (compute
    capability 8.0 or more), or, with no GPU, a CPU with AVX512_BF16 or AMX; `float32` elsewhere,
    above all on AVX2-only CPUs, where bfloat16 is emulated and about 7x slower.

    Example:
        >>> resolve_precision("auto")   # on an AVX2-only CPU
        'float32'
    """
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if native_bfloat16(strategy)[0] else "float32"


def native_bfloat16(strategy: tf.distribute.Strategy | None = None) -> tuple[bool, str]:
    """(whether this machine computes bfloat16 natively, why), the reason as words for a person.

    Example:
        >>> native_bfloat16()   # on a Zen 4 CPU
        (True, 'this CPU has AVX512_BF16')
    """
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return True, "a TPU"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capabilities = [tuple(tf.config.experimental.get_device_details(gpu).get(
            "compute_capability", (0, 0))) for gpu in gpus]
        if all(capability >= (8, 0) for capability in capabilities):
            return True, "the GPUs have compute capability 8.0 or more"
        return False, f"a GPU of compute capability {min(capabilities)} (below 8.0)"
    if environment.native_bfloat16_cpu():
        flags = environment.cpu_flags()[1]
        names = [name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512_BF16"))
                 if flag in flags] or ["native bfloat16"]
        return True, f"this CPU has {' and '.join(names)}"
    return False, "this CPU has neither AVX512_BF16 nor AMX-BF16"


def describe_precision(precision: str, origin: str,
                       strategy: tf.distribute.Strategy | None = None) -> str:
    """The line `train.py` prints first: the precision a run trains in, and why.

    Args:
        precision: str. The resolved precision (not "auto").
        origin: str. "auto" (chosen by `--precision auto` now), "given" (a flag of this
            command) or "recorded" (a resumed run's config.json).
        strategy: the run's strategy.

    Example:
        >>> describe_precision("mixed_bfloat16", "auto")   # on a CPU with AMX
        'precision: mixed_bfloat16 (auto: this CPU has AMX-BF16 and AVX512_BF16)'
    """
    native, reason = native_bfloat16(strategy)
    where = {"auto": "auto", "given": "as asked",
             "recorded": "recorded in the run's config.json"}[origin]
    line = f"precision: {precision} ({where}: {reason})"
    if precision == "mixed_bfloat16" and not native:
        switch = ("resume with --precision float32 to switch" if origin == "recorded"
                  else "use --precision float32, or auto to let the machine choose")
        return (f"{line}; bfloat16 is emulated here, about 7x slower than float32: {switch} "
                "(the checkpoint loads in either)")
    if precision == "float32" and native and origin == "recorded":
        return (f"{line}; --precision mixed_bfloat16 would train faster here (the checkpoint "
                "loads in either)")
    return line
