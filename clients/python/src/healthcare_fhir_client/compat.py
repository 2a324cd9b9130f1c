"""The one compatibility shim rapidsms-healthcare 0.1.0 needs at run time on a current Django.

Its ``healthcare/backends/base.py`` (imported by ``healthcare.api``) does
``from django.utils import importlib``, a copy of the standard library's ``importlib`` that
Django removed in 1.9 — and every Django that runs on Python >= 3.9 is newer than that.
``install()`` puts the standard module back under that name; nothing else is changed.
Call it before ``healthcare.api`` is imported, e.g. at the top of your settings module."""

from __future__ import annotations

import importlib
import sys


def install() -> None:
    """Makes ``from django.utils import importlib`` work again (idempotent)."""
    import django.utils

    if "django.utils.importlib" not in sys.modules:
        sys.modules["django.utils.importlib"] = importlib
    if not hasattr(django.utils, "importlib"):
        setattr(django.utils, "importlib", importlib)
