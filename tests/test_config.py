import dataclasses
import json
import subprocess
import sys

import pytest

import train
from tests.helpers import ROOT
from tf_dcgan.config import PAPER_RECIPE, EvaluateConfig, GenerateConfig, TrainConfig


def test_config_round_trips_through_json():
    config = TrainConfig(dataset="cifar10:test", epochs=3, image_size=32, channels=3, seed=7,
                         d_update="joint", steps_per_epoch=5, jit=False, out="runs/x")
    assert TrainConfig.from_json(config.to_json()) == config
    assert TrainConfig.from_json(TrainConfig().to_json()) == TrainConfig()


# config.json of a real run made by an early version (the README's first run), before the recipe
# levers, EMA, evaluation and strategies existed.
OLD_CONFIG = """{
  "base_filters": 64,
  "batch_size": 128,
  "beta1": 0.5,
  "cache": "auto",
  "channels": 1,
  "d_update": "separate",
  "data_dir": null,
  "dataset": "fashion_mnist",
  "deterministic": false,
  "epochs": 20,
  "eval_every": null,
  "eval_images": 2000,
  "extractor": null,
  "image_size": 28,
  "inception_weights": null,
  "jit": true,
  "keep_best": false,
  "keep_checkpoints": 3,
  "latent_dim": 100,
  "learning_rate": 0.0002,
  "num_samples": 64,
  "out": "runs/fashion_mnist_run",
  "precision": "float32",
  "resize": "crop",
  "save_every_steps": null,
  "seed": 2024150129,
  "steps_per_epoch": null,
  "tensorboard": false
}"""


def test_an_older_runs_config_reads_back_with_what_that_version_did():
    config = TrainConfig.from_json(OLD_CONFIG)
    written = json.loads(OLD_CONFIG)
    for name, value in written.items():
        assert getattr(config, name) == value
    for field in dataclasses.fields(TrainConfig):
        if field.name in PAPER_RECIPE and field.name not in written:
            # That version had no such lever: it trained with the paper's value, and a resumed
            # run must go on with it, whatever today's default is.
            assert getattr(config, field.name) == PAPER_RECIPE[field.name]
        elif field.name not in written:  # settings added later take their defaults
            assert getattr(config, field.name) == field.default
    assert config.g_learning_rate is None and config.ema_decay is None
    config.validate()


@pytest.mark.parametrize("text, message", [
    ('{"epochs": 3, "learning_rte": 0.1}', "does not know: learning_rte"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"epochs": 3,', "is not valid JSON"),
])
def test_a_bad_config_file_names_the_problem(text, message):
    with pytest.raises(ValueError, match=message) as error:
        TrainConfig.from_json(text, source="runs/x/config.json")
    assert "runs/x/config.json" in str(error.value)


def _modules_after(code):
    """Runs `code` in a fresh interpreter and returns whether TensorFlow and Keras were imported."""
    probe = (f"import sys\n{code}\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    return result, result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, exit_code, shown", [
    (["--help"], 0, "python train.py --epochs 20"),
    (["--epochs", "0"], 2, "epochs must be a positive integer; received epochs=0"),
    (["--epochs", "ten"], 2, "invalid int value: 'ten'"),
    (["--resize", "fit"], 2, "invalid choice: 'fit'"),
    (["--dry-run", "--seed", "3"], 0, '"seed": 3'),
    (["--dataset", "/nonexistent/faces"], 2, "dataset folder '/nonexistent/faces' does not exist"),
    (["--out", "docs/fashion_mnist_run", "--resume", "--steps-per-epoch", "7"], 2,
     "steps_per_epoch cannot change when resuming; the run used steps_per_epoch=None"),
])
def test_help_bad_flags_and_dry_run_answer_without_importing_tensorflow(argv, exit_code, shown):
    code = ("import train\n"
            f"try:\n    code = train.main({argv!r})\nexcept SystemExit as stop:\n"
            "    code = stop.code\n"
            "print('exit', code)")
    result, modules = _modules_after(code)
    assert modules == "False False", result.stderr[-2000:]
    assert f"exit {exit_code}" in result.stdout
    assert shown in result.stdout + result.stderr


def test_generate_help_and_a_bad_flag_answer_without_importing_tensorflow():
    code = ("import generate\nfor argv in (['--help'], ['--seed', 'x']):\n    try:\n"
            "        generate.main(argv)\n    except SystemExit:\n        pass")
    result, modules = _modules_after(code)
    assert modules == "False False", result.stderr[-2000:]
    assert "--num-images NUM_IMAGES" in result.stdout and "invalid int value: 'x'" in result.stderr


@pytest.mark.parametrize("argv, shown", [
    (["--run", "docs/conditional_run", "--label", "Boot"],
     "label must be a class of the generator; received label='Boot'. The classes are 0 T-shirt"),
    (["--generator", "docs/fashion_mnist_run/generator.keras", "--label", "3"],
     "label is for a conditional generator (train.py --conditional); received label='3'"),
])
def test_a_wrong_label_is_refused_from_the_card_without_importing_tensorflow(argv, shown, tmp_path):
    code = f"import generate\nprint('exit', generate.main({argv + ['--out', str(tmp_path / 'g')]!r}))"
    result, modules = _modules_after(code)
    assert modules == "False False", result.stderr[-2000:]
    assert "exit 2" in result.stdout and shown in result.stderr
    assert not (tmp_path / "g").exists()


def test_export_refusals_answer_without_importing_tensorflow(tmp_path):
    (tmp_path / "out" / "web").mkdir(parents=True)
    argv = ["--generator", "docs/fashion_mnist_run/generator.keras", "--web"]
    code = (f"import os, export\nos.environ['TF_DCGAN_NODE_MODULES'] = {str(tmp_path / 'none')!r}\n"
            f"print('exit', export.main({argv + ['--out', str(tmp_path / 'new')]!r}))\n"
            f"print('exit', export.main({argv + ['--out', str(tmp_path / 'out')]!r}))")
    result, modules = _modules_after(code)
    assert modules == "False False", result.stderr[-2000:]
    assert result.stdout.count("exit 2") == 2
    assert "the LiteRT.js runtime is not installed" in result.stderr
    assert "web already exists; pass --overwrite" in result.stderr
    assert not (tmp_path / "new").exists()


def test_export_help_answers_without_importing_tensorflow():
    code = ("import export\ntry:\n    export.main(['--help'])\nexcept SystemExit:\n    pass")
    result, modules = _modules_after(code)
    assert modules == "False False", result.stderr[-2000:]
    assert "--quantize {none,float16,int8}" in result.stdout


def test_the_settings_layer_imports_without_tensorflow():
    result, modules = _modules_after(
        "import tf_dcgan, tf_dcgan.checks, tf_dcgan.config, tf_dcgan.run_folder, tf_dcgan.cli, "
        "tf_dcgan.environment, tf_dcgan.files")
    assert modules == "False False", result.stderr[-2000:]


def test_abbreviated_flags_are_refused(capsys):
    import train

    with pytest.raises(SystemExit) as stop:
        train.main(["--epoch", "3", "--dry-run"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --epoch" in capsys.readouterr().err


def test_recipe_paper_is_exactly_the_papers_recipe():
    config, _, _, _ = train.parse_args(["--recipe", "paper"])
    # Radford et al. 2015 as pytorch/examples runs it, and this project's default before the
    # quality work: these values, nothing averaged.
    paper = {"batch_size": 128, "learning_rate": 2e-4, "beta1": 0.5, "latent_dim": 100,
             "base_filters": 64, "d_update": "separate", "ema_decay": None,
             "d_learning_rate": None, "g_learning_rate": None, "beta2": 0.999,
             "label_smoothing": 0.0, "epochs": 20, "dataset": "fashion_mnist"}
    assert {name: getattr(config, name) for name in paper} == paper
    # The precision is the machine's, not the recipe's: bfloat16 trained the default recipe to
    # float32's FID (docs/training.md), so the paper's recipe takes auto as well.
    assert config.precision == "auto"
    # Every other setting is the default's.
    assert config == dataclasses.replace(TrainConfig(), batch_size=128, g_learning_rate=None)


def test_the_default_recipe_is_the_measured_one():
    # README, "Recipe ablation": chosen by FID on two seeds against the paper's recipe.
    config, _, _, _ = train.parse_args([])
    assert (config.batch_size, config.g_learning_rate, config.learning_rate) == (64, 4e-4, 2e-4)
    assert config.d_learning_rate is None and config.ema_decay is None
    config, _, _, _ = train.parse_args(["--g-learning-rate", "none"])
    assert config.g_learning_rate is None  # G back on --learning-rate


def test_the_retired_sndcgan_is_refused_in_one_line_that_says_why(capsys):
    for argv, message in ((["--recipe", "sndcgan"], "SNDCGAN, measured and retired"),
                          (["--discriminator", "sndcgan"], "unrecognized arguments")):
        with pytest.raises(SystemExit) as stop:
            train.main([*argv, "--dry-run"])
        err = capsys.readouterr().err.strip()
        assert stop.value.code == 2 and len(err.splitlines()) == 1 and message in err, err
    with pytest.raises(SystemExit):
        train.main(["--help"])
    assert "sndcgan" not in capsys.readouterr().out


def test_run_folders_of_a_spectral_d_are_refused_and_the_paper_d_reads_as_today():
    settings = json.loads(TrainConfig(image_size=28, channels=1).to_json())
    # Files of 0.1.0 named the D; the paper's ("d_norm": "batch", "discriminator": "dcgan") is
    # the one there is.
    for old in ({"d_norm": "batch"}, {"discriminator": "dcgan"}):
        assert TrainConfig.from_json(json.dumps({**settings, **old})) == TrainConfig.from_json(
            json.dumps(settings))
    for old in ({"d_norm": "spectral"}, {"discriminator": "sndcgan"}):
        with pytest.raises(ValueError, match="spectrally normalised D .*no longer builds.*0.1.0"):
            TrainConfig.from_json(json.dumps({**settings, **old}))


def test_hinge_with_label_smoothing_is_refused_in_one_line(capsys):
    assert train.main(["--loss", "hinge", "--label-smoothing", "0.1", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--label-smoothing 0 with --loss hinge" in err


def test_a_flag_given_explicitly_wins_over_the_recipe():
    config, _, _, given = train.parse_args(["--recipe", "paper", "--ema-decay", "0.99"])
    assert config.ema_decay == 0.99
    config, _, _, given = train.parse_args(["--ema-decay", "none"])
    assert config.ema_decay is None and "ema_decay" in given


def _help_words(text):
    return " ".join(text.split())


@pytest.mark.parametrize("script, settings_class", [("train", TrainConfig),
                                                    ("evaluate", EvaluateConfig),
                                                    ("generate", GenerateConfig)])
def test_every_setting_is_a_flag_whose_help_is_the_fields(script, settings_class, capsys):
    module = __import__(script)
    with pytest.raises(SystemExit):
        module.parse_args(["--help"])
    shown = _help_words(capsys.readouterr().out)
    for field in dataclasses.fields(settings_class):
        if "help" not in field.metadata:
            # Resolved from the dataset and recorded, never a flag.
            assert field.name in ("class_names", "dataset_fingerprint")
            continue
        flag = field.metadata["flag"] or "--" + field.name.replace("_", "-")
        assert flag in shown
        assert _help_words(field.metadata["help"])[:60] in shown.replace("- ", "-"), field.name


def test_flags_set_the_settings_they_are_made_from():
    config, _, _, given = train.parse_args(
        ["--no-jit", "--ema-decay", "0.99", "--g-learning-rate", "none", "--channels", "3",
         "--tensorboard", "--epochs=7"])
    assert (config.jit, config.ema_decay, config.g_learning_rate, config.channels) == (
        False, 0.99, None, 3)
    assert config.tensorboard and config.epochs == 7
    assert given == {"jit", "ema_decay", "g_learning_rate", "channels", "tensorboard", "epochs"}


def test_evaluate_needs_exactly_one_generator(capsys):
    import evaluate

    for argv in ([], ["--run", "a", "--generator", "b.keras"]):
        assert evaluate.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Pass --run RUN or --generator FILE.keras" in err


@pytest.mark.parametrize("edit, shown", [
    ({"cache": 5}, "config.json has cache=5, which must be str"),
    ({"dataset": ["a"]}, "config.json has dataset=['a'], which must be str"),
    ({"ema_decay": "0.9"}, "config.json has ema_decay='0.9', which must be float or null"),
    ({"deterministic": 1}, "config.json has deterministic=1, which must be bool"),
    ({"batch_size": -8}, "config.json holds a setting that is not valid: batch_size must be"),
])
def test_a_hand_edited_config_json_is_one_line_naming_the_file(tmp_path, capsys, edit, shown):
    from tf_dcgan.run_folder import RunFolder

    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig(seed=0, out=str(run.path)))
    settings = json.loads(run.config_path.read_text())
    run.config_path.write_text(json.dumps({**settings, **edit}))
    assert train.main(["--out", str(run.path), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and shown in err and f"Fix that value in {run.config_path}" in err


def test_augment_none_is_the_default_as_help_says():
    config, _, _, _ = train.parse_args(["--augment", "none", "--dry-run"])
    assert config.validate().augment is None
    assert config == train.parse_args(["--dry-run"])[0]


def test_an_installed_command_names_itself_in_help_and_errors():
    code = ("sys.argv[0] = '/venv/bin/tf-dcgan-export'\nimport export\n"
            "try:\n    export.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "from tf_dcgan.cli import fail\nfail('export.py', 'see python train.py --help')")
    result, modules = _modules_after(code)
    assert "tf-dcgan-export --generator" in result.stdout and "python export.py" not in result.stdout
    assert "tf-dcgan-export: error: see tf-dcgan-train --help" in result.stderr
