"""User-facing errors.

Every problem a user can fix (bad file, wrong modality, a transducer that does not fit) is raised as
:class:`TfusInputError` with a one-line message that names the problem and the fix. The CLI prints that line and exits
non-zero without a traceback; library users catch the exception.

Example:
    >>> from tfus.pipeline.errors import TfusInputError
    >>> try:
    ...     raise TfusInputError("image is 2D; pass a 3D volume")
    ... except TfusInputError as err:
    ...     print(err)
    image is 2D; pass a 3D volume
"""

from __future__ import annotations


class TfusInputError(ValueError):
    """A problem with user input; the message is one line: what is wrong and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
