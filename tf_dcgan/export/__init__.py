"""Shipping the generator: a SavedModel for TF Serving, a TFLite (LiteRT) model for phones, a web
page that runs it in the browser, and PNG images (generate.py).
"""

from tf_dcgan.environment import LITERTJS_VERSION
from tf_dcgan.export.cards import (
    export_card,
    find_card,
)
from tf_dcgan.export.images import (
    GRID_MIN_WIDTH,
    MAX_OUTPUT_BYTES,
    check_output_size,
    class_label,
    generate_images,
    gif_bytes,
    latent_walk,
    write_image_folder,
    write_images,
)
from tf_dcgan.export.loading import (
    GeneratorFile,
    keras_generator_file,
    open_generator,
)
from tf_dcgan.export.saved_model import (
    build_archive,
    export_saved_model,
    next_version,
)
from tf_dcgan.export.shipping import (
    export,
    generate,
)
from tf_dcgan.export.staging import (
    remove_stale_staging,
    write_failed,
)
from tf_dcgan.export.tflite import (
    export_tflite,
)
from tf_dcgan.export.web import (
    MODEL_FILE,
    PAGE_DIR,
    PAGE_FILES,
    WASM_BUILDS,
    export_web,
    find_litertjs,
)

__all__ = [
    "GRID_MIN_WIDTH",
    "MAX_OUTPUT_BYTES",
    "check_output_size",
    "class_label",
    "export",
    "generate",
    "generate_images",
    "gif_bytes",
    "latent_walk",
    "write_image_folder",
    "write_images",
    "GeneratorFile",
    "keras_generator_file",
    "open_generator",
    "export_card",
    "find_card",
    "MODEL_FILE",
    "PAGE_DIR",
    "LITERTJS_VERSION",
    "PAGE_FILES",
    "WASM_BUILDS",
    "build_archive",
    "export_saved_model",
    "export_tflite",
    "export_web",
    "find_litertjs",
    "next_version",
    "remove_stale_staging",
    "write_failed",
]
