"""Shared pytest fixtures. Keep this file small; append fixtures below with a docstring each."""

from __future__ import annotations

import os

# Tests never reach a model hub: everything loads from local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import pytest

from deid_pipeline.bundle import Bundle, load_bundle


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny random two-head bundle (window 64, overlap 16, with model.onnx).

    Shared by the whole session: treat it as read-only (copy it to alter files).
    """
    from deid_pipeline.testing import make_tiny_bundle

    root = tmp_path_factory.mktemp("tiny_bundle") / "bundle"
    make_tiny_bundle(root, window_length=64, window_overlap=16, seed=0, with_onnx=True)
    return root


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir: Path) -> Bundle:
    """The verified :class:`~deid_pipeline.bundle.Bundle` in ``tiny_bundle_dir``."""
    return load_bundle(tiny_bundle_dir, verify=True)
