"""Old call forms of public functions, still accepted with a `DeprecationWarning`.

When a public function's parameters change, its old form keeps working for a while: the
function is decorated with `old_form(legacy, is_old)`, where `legacy` has the old signature and
calls the new form, and `is_old` tells an old call from a new one by its arguments. The warning
names the new form; the deprecations are listed in docs/architecture.md ("Deprecated forms").
"""

import functools
import warnings
from typing import Callable


def old_form(legacy: Callable, is_old: Callable[[tuple, dict], bool]) -> Callable:
    """Decorator: calls that `is_old(args, kwargs)` recognises go to `legacy`, with a
    `DeprecationWarning` quoting `legacy`'s docstring (how to write the call now); every other
    call goes to the decorated function, whose signature `inspect.signature` reports.

    Example:
        >>> def _old(size, channels):
        ...     "pass ImageFormat(size, channels)"
        ...     return new(ImageFormat(size, channels))
        >>> @old_form(_old, lambda args, kwargs: bool(args) and isinstance(args[0], int))
        ... def new(image_format): ...
    """
    def wrap(function):
        @functools.wraps(function)
        def call(*args, **kwargs):
            if is_old(args, kwargs):
                warnings.warn(
                    f"{function.__name__}(...) was called in its old form, which is deprecated "
                    f"and will be removed: {' '.join(legacy.__doc__.split())}",
                    DeprecationWarning, stacklevel=2)
                return legacy(*args, **kwargs)
            return function(*args, **kwargs)

        call.old_form = legacy
        return call

    return wrap


def old_argument(position: int, keywords: set[str], looks_old: Callable[[object], bool]
                 ) -> Callable[[tuple, dict], bool]:
    """An `is_old` for `old_form`: the argument at `position` looks old (e.g. an int where an
    `ImageFormat` now goes), or a keyword only the old form had is given."""
    def is_old(args, kwargs):
        return ((len(args) > position and looks_old(args[position]))
                or bool(keywords & kwargs.keys()))

    return is_old
