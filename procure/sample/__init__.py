"""The demo workspace: its records (``workspace.yaml``, package data) and generated label files."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.sample.loader import load_sample

__getattr__, __all__ = lazy_front(__name__)
