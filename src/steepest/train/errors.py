"""The errors :func:`~steepest.train.fit` raises when training goes wrong."""

from __future__ import annotations


# --------------------------------------------------------------------------- errors
class NonFiniteError(FloatingPointError):
    """A loss or gradient became NaN or infinite during :func:`fit`.

    Attributes
    ----------
    epoch, batch : int
        Where it happened (both 1-based).
    tensor : str
        What went non-finite: ``"loss"``, ``"input batch"``, ``"gradient of <parameter>"`` or
        ``"parameter <name>"``.
    """

    def __init__(self, message: str, epoch: int, batch: int, tensor: str) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.tensor = epoch, batch, tensor
