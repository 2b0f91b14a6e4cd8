"""Gradient norms and clipping for the training loop: the functions of :mod:`steepest.nn.utils`."""

from __future__ import annotations

from ..nn.utils import clip_grad_norm_, clip_grad_value_
from ..nn.utils import global_norm as _global_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "_global_norm"]
