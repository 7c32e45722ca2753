"""--precision auto: bfloat16 only where the hardware has it natively, and config.json says which."""

import json

import pytest

from tf_dcgan import distribute, environment
from tf_dcgan.config import TrainConfig

FLAGS = "flags\t\t: fpu vme sse sse2 avx avx2 fma {extra}\n"


@pytest.mark.parametrize("extra, native", [("", False), ("avx512f avx512_bf16", True),
                                           ("amx_tile amx_bf16", True), ("avx512f", False)])
def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path, extra, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: AMD EPYC\n" + FLAGS.format(extra=extra))
    assert environment.native_bfloat16_cpu(str(cpuinfo)) is native
    assert environment.cpu_flags(str(cpuinfo))[0] == "AMD EPYC"
    assert environment.native_bfloat16_cpu(str(tmp_path / "missing")) is False


@pytest.mark.parametrize("native, chosen", [(False, "float32"), (True, "mixed_bfloat16")])
def test_auto_picks_bfloat16_only_where_it_is_native_and_config_json_records_it(
        tmp_path, monkeypatch, native, chosen):
    from tf_dcgan.training import prepare_run

    monkeypatch.setattr(environment, "native_bfloat16_cpu", lambda *args: native)
    assert distribute.resolve_precision("auto") == chosen  # (this machine has no GPU)
    assert distribute.resolve_precision("mixed_float16") == "mixed_float16"
    run = prepare_run(TrainConfig(precision="auto", epochs=1, steps_per_epoch=2, batch_size=8,
                                  seed=0, out=str(tmp_path / "run")))
    try:
        assert run.config.precision == chosen
        assert json.loads((tmp_path / "run" / "config.json").read_text())["precision"] == chosen
    finally:
        run.folder.release()
