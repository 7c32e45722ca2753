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


def _host(monkeypatch, native):
    """Fakes this CPU's flags: a Zen 4 with AVX512_BF16, or an AVX2-only EPYC."""
    flags = {"avx2", "fma", "avx512f", "avx512_bf16"} if native else {"avx2", "fma"}
    monkeypatch.setattr(environment, "native_bfloat16_cpu", lambda *args: native)
    monkeypatch.setattr(environment, "cpu_flags", lambda *args: ("faked", flags))


def test_the_default_is_auto_and_a_config_json_without_a_precision_was_float32():
    assert TrainConfig().precision == "auto"
    settings = json.loads(TrainConfig(seed=0).to_json())
    del settings["precision"]  # written before the precision existed: float32 was all there was
    assert TrainConfig.from_json(json.dumps(settings)).precision == "float32"


@pytest.mark.parametrize("native, line", [
    (True, "precision: mixed_bfloat16 (auto: this CPU has AVX512_BF16)"),
    (False, "precision: float32 (auto: this CPU has neither AVX512_BF16 nor AMX-BF16)")])
def test_train_py_picks_and_prints_the_precision_by_itself(tmp_path, monkeypatch, capsys,
                                                            native, line):
    import train
    from tests.helpers import TINY_RUN

    _host(monkeypatch, native)
    out = tmp_path / "run"
    assert train.main([*TINY_RUN, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1] == line  # first thing after the run folder
    assert not (out / ".lock").exists()  # a finished run leaves no lock file behind
    chosen = line.split()[1]
    assert json.loads((out / "config.json").read_text())["precision"] == chosen
    card = json.loads((out / "MODEL_CARD.json").read_text())
    assert card["training"]["precision"] == chosen
    # The card's file list names every file the run wrote, and each is there.
    assert {"samples/", "training.gif", "losses.csv", "losses.png"} <= set(card["files"])
    assert all((out / name).exists() for name in card["files"])
    # The per-epoch progress line says it too.
    assert any(row.startswith("epoch 1/1: ") and row.endswith(f"done ({chosen})")
               for row in printed)


@pytest.mark.slow
def test_a_bfloat16_run_resumed_where_bfloat16_is_emulated_says_so_and_may_switch(
        tmp_path, monkeypatch, capsys):
    import train
    from tests.helpers import TINY_RUN

    out = tmp_path / "run"
    _host(monkeypatch, native=True)
    assert train.main([*TINY_RUN, "--out", str(out)]) == 0
    _host(monkeypatch, native=False)
    capsys.readouterr()
    # `--precision auto` again is not a change: the run keeps what auto chose when it began.
    assert train.main(["--out", str(out), "--resume", "--epochs", "2", "--precision", "auto"]) == 0
    warning = capsys.readouterr().out.splitlines()[1]
    assert warning.startswith("precision: mixed_bfloat16 (recorded in the run's config.json: "
                              "this CPU has neither")
    assert "emulated here, about 7x slower than float32: resume with --precision float32" \
        in warning
    assert json.loads((out / "config.json").read_text())["precision"] == "mixed_bfloat16"
    # Switching on resume: the float32 checkpoint weights load, and the run goes on from step 6.
    assert train.main(["--out", str(out), "--resume", "--epochs", "3",
                       "--precision", "float32"]) == 0
    printed = capsys.readouterr().out
    assert "precision: float32 (as asked: this CPU has neither" in printed
    assert "resumed from the checkpoint of step 6" in printed
    assert json.loads((out / "config.json").read_text())["precision"] == "float32"
    import csv
    with open(out / "losses.csv", newline="") as f:
        assert [int(row["step"]) for row in csv.DictReader(f)] == list(range(1, 10))
