"""The errors :func:`~steepest.train.fit` raises when training goes wrong."""

from __future__ import annotations


class DivergenceError(FloatingPointError):
    """Training diverged: :func:`~steepest.train.fit` never returns such a run as a success.

    Raised when the loss of a batch exceeds its value at the start of the run by orders of
    magnitude (``divergence=`` sets the factor), when the epoch loss rose for several epochs in
    a row together with the gradient norm, or when an update left a parameter NaN or infinite.
    The message names where it happened, the learning rate in force and a suggested one.

    Attributes
    ----------
    epoch, batch : int
        Where it was detected (both 1-based; ``batch`` is the epoch's last batch for the
        epoch-level rising-loss test).
    reason : str
        ``"growth"`` (loss far above its start), ``"rising"`` (loss and gradient norm rising
        epoch after epoch) or ``"nonfinite"`` (a loss, gradient or parameter is NaN or inf).
    lr : float or None
        The learning rate of the first parameter group in force at that update.
    suggested_lr : float or None
        A learning rate to try instead: ``min(limit / 2, lr / 10)``, where ``limit`` is the
        optimizer's stable limit on a quadratic of curvature ``L`` (``2 / L`` for plain
        gradient descent, ``2 (1 + m) / L`` with heavy-ball momentum ``m``; see
        ``steepest.train.divergence.stable_limit``) and ``L`` estimates the largest
        curvature (Hessian eigenvalue) of the loss on the offending batch, by power iteration
        on finite-difference Hessian-vector products starting along the gradient. For Adam,
        RMSprop and the other adaptive optimizers, whose step no curvature bounds, ``lr / 10``.
        ``None`` when no estimate could be made.
    curvature : float or None
        The estimate ``L`` itself.
    loss, start_loss : float or None
        The offending batch's loss, and the loss of the run's first batch.
    """

    def __init__(self, message: str, epoch: int, batch: int, reason: str,
                 lr: float | None = None, suggested_lr: float | None = None,
                 curvature: float | None = None, loss: float | None = None,
                 start_loss: float | None = None) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.reason = epoch, batch, reason
        self.lr, self.suggested_lr, self.curvature = lr, suggested_lr, curvature
        self.loss, self.start_loss = loss, start_loss


class NonFiniteError(DivergenceError):
    """A loss, gradient, parameter or input batch was NaN or infinite during :func:`fit`.

    A :class:`DivergenceError` with ``reason="nonfinite"`` (an input batch that is not finite is
    reported the same way, with ``suggested_lr=None``).

    Attributes
    ----------
    tensor : str
        What went non-finite: ``"loss"``, ``"input batch"``, ``"gradient of <parameter>"`` or
        ``"parameter <name>"``.
    """

    def __init__(self, message: str, epoch: int, batch: int, tensor: str,
                 lr: float | None = None, suggested_lr: float | None = None,
                 curvature: float | None = None, loss: float | None = None,
                 start_loss: float | None = None) -> None:
        super().__init__(message, epoch, batch, "nonfinite", lr, suggested_lr, curvature, loss,
                         start_loss)
        self.tensor = tensor
