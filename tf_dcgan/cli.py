"""What the command lines share: an argument parser whose errors are one line, and `fail`.

TensorFlow-free: a CLI parses and checks its flags with this module and `tf_dcgan.checks` before
anything imports TensorFlow, so `--help` and a bad flag are answered at once.
"""

import argparse
import dataclasses
import os
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

from tf_dcgan.environment import import_tensorflow_quietly


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr with exit code 2.

    Abbreviated flags are not accepted (`--epoch 3` is an error, not `--epochs 3`), and the
    `examples` text is shown at the end of `--help`.

    Args:
        examples: text shown after the flags in `--help`.
        **kwargs: passed to `argparse.ArgumentParser`.

    Example:
        >>> parser = Parser(description="Train a DCGAN.", examples="examples:\\n  train.py")
    """

    def __init__(self, *args, examples="", **kwargs):
        super().__init__(*args, epilog=as_invoked(examples), allow_abbrev=False,
                         formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# The installed command of each script (pyproject's [project.scripts]).
INSTALLED = {"train.py": "tf-dcgan-train", "evaluate.py": "tf-dcgan-evaluate",
             "export.py": "tf-dcgan-export", "generate.py": "tf-dcgan-generate"}


def _installed() -> bool:
    """Whether this process was started as an installed command (`tf-dcgan-train`, ...)."""
    return os.path.basename(sys.argv[0] if sys.argv else "").startswith("tf-dcgan-")


def as_invoked(text: str) -> str:
    """`text` naming the commands as the user runs them: started as an installed command
    (`tf-dcgan-train`), `python train.py` becomes `tf-dcgan-train`, and so on; else unchanged."""
    if not _installed():
        return text
    for script, command in INSTALLED.items():
        text = text.replace(f"python {script}", command)
    return text


def fail(program: str, error: Exception | str) -> int:
    """Prints `program: error: <message>` as one line on stderr and returns exit code 2 (the
    installed command's name, e.g. `tf-dcgan-export: error:`, when it was started as one)."""
    message = " ".join(str(error).split("\n"))
    if _installed():
        program = INSTALLED.get(program, program)
    print(f"{program}: error: {as_invoked(message)}", file=sys.stderr)
    return 2


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_or_none(text: str) -> Any:
        return None if text.lower() == "none" else parse(text)

    parse_or_none.__name__ = parse.__name__  # argparse names the type in its error
    return parse_or_none


def add_setting_flags(parser: argparse.ArgumentParser, settings_class: type) -> dict[str, str]:
    """Adds a flag for every field of the dataclass `settings_class` made with `config.setting`.

    The flag's type comes from the field's annotation (`int`, `float`, `str`, `bool`, or one of
    them or None: then the word `none` gives None), its help and choices from the field.

    Returns:
        {flag: field name} of the flags added, e.g. {"--no-jit": "jit"}.
    """
    flags = {}
    for field in dataclasses.fields(settings_class):
        if "help" not in field.metadata:
            continue
        flag = field.metadata["flag"] or "--" + field.name.replace("_", "-")
        help_text = field.metadata["help"].replace("%", "%%")
        kinds = [kind for kind in typing.get_args(field.type) if kind is not type(None)]
        kind = kinds[0] if kinds else field.type
        if kind is bool:
            action = "store_false" if flag.startswith("--no-") else "store_true"
            parser.add_argument(flag, dest=field.name, action=action, default=field.default,
                                help=help_text)
        else:
            if field.default is not None:
                help_text += " (default: %(default)s)"
            parse = _optional(kind) if kinds and kind is not str else kind
            parser.add_argument(flag, dest=field.name, type=parse, default=field.default,
                                choices=field.metadata["choices"], help=help_text)
        flags[flag] = field.name
    return flags


def parse_settings(parser: argparse.ArgumentParser, settings_class: type,
                   argv: Sequence[str] | None = None) -> Any:
    """Adds the flags of `settings_class`'s fields to `parser`, parses `argv`, and returns the
    settings (not yet validated). A usage error exits as the parser does (one line, code 2)."""
    add_setting_flags(parser, settings_class)
    args = parser.parse_args(argv)
    return settings_class(**{field.name: getattr(args, field.name)
                             for field in dataclasses.fields(settings_class)})


def run_command(program: str, settings: Any, work: Callable[[Any], str],
                precheck: Callable[[Any], None] | None = None) -> int:
    """What a thin command line does once its flags are parsed: checks the settings (and runs
    `precheck(settings)`, the checks of files on disk that need no TensorFlow), imports
    TensorFlow (only now: 3-10 s), runs `work(settings)` and prints what it returns.

    Returns:
        The exit code: 0, or 2 after one `program: error:` line for a `ValueError`.
    """
    try:
        settings.validate()
        if precheck is not None:
            precheck(settings)
        import_tensorflow_quietly()
        message = work(settings)
    except ValueError as error:
        return fail(program, error)
    print(message)
    return 0


def flags_given(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The `dest` names of the options that appear in `argv` (`--flag value` or `--flag=value`)."""
    words = {word.split("=")[0] for word in argv if word.startswith("--")}
    return {action.dest for option, action in parser._option_string_actions.items()
            if option in words}


__all__ = ["INSTALLED", "Parser", "add_setting_flags", "as_invoked", "fail", "flags_given",
           "import_tensorflow_quietly",
           "parse_settings", "run_command"]
