"""Model bundle contract: a folder with a versioned, pydantic-validated ``manifest.json``.

A bundle holds the tokenizer files, the model config, the weights (safetensors, optionally ONNX
and TensorRT plans per GPU type) and a manifest that pins the label layout, the window geometry,
per-label thresholds and the sha256 of every file. The bundle digest is the sha256 of a
canonical JSON of the manifest without its own ``bundle_sha256`` field; because the file hashes
are part of that JSON, changing any file changes the digest. :func:`load_bundle` refuses a
bundle whose files or digest do not match.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from deid_pipeline.labels import BIO_TAGS

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

MANIFEST_NAME = "manifest.json"
#: 2 adds ``base`` (the pretrained encoder and where its frozen word embeddings come from).
SCHEMA_VERSION = 2
#: Key in a model's config.json that marks one of our two-head models.
TWO_HEAD_CONFIG_KEY = "deid_two_head"

FileRole = Literal[
    "tokenizer",
    "config",
    "weights_safetensors",
    "weights_onnx",
    "weights_onnx_int8",
    "tensorrt_plan",
    "vocabulary",
]
_HEX = frozenset("0123456789abcdef")


class BundleError(Exception):
    """A bundle folder cannot be read or written. Messages carry file names and figures only."""


class BundleIntegrityError(BundleError):
    """A bundle file is missing or its sha256, or the bundle digest, does not match."""


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX


class FileEntry(BaseModel):
    """One file of the bundle: relative POSIX path, sha256 and role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    sha256: str
    role: FileRole
    #: GPU type a TensorRT plan was built for (e.g. ``"NVIDIA H100 80GB HBM3"``).
    gpu: str | None = None

    @field_validator("path")
    @classmethod
    def _relative_posix(cls, value: str) -> str:
        posix = PurePosixPath(value)
        # A manifest must never point outside its folder, whatever wrote it.
        if (
            not value
            or "\\" in value
            or posix.is_absolute()
            or ".." in posix.parts
            or str(posix) != value
            or value == "."
        ):
            raise ValueError(f"file path {value!r} must be a normalised relative POSIX path")
        if value == MANIFEST_NAME:
            raise ValueError("the manifest cannot list itself")
        return value

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not _is_sha256(value):
            raise ValueError("sha256 must be 64 lowercase hex characters")
        return value

    @model_validator(mode="after")
    def _gpu_only_for_plans(self) -> FileEntry:
        if self.role == "tensorrt_plan" and not self.gpu:
            raise ValueError(f"tensorrt_plan {self.path!r} needs the gpu it was built for")
        if self.role != "tensorrt_plan" and self.gpu is not None:
            raise ValueError(f"gpu is only meaningful for tensorrt_plan files ({self.path!r})")
        return self


class TwoHeadLayout(BaseModel):
    """Our two-head model: BIO logits in ``bio`` order and entity logits in ``entity`` order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["two_head"] = "two_head"
    bio: list[str] = Field(default_factory=lambda: list(BIO_TAGS))
    entity: list[str]

    @field_validator("bio")
    @classmethod
    def _bio_order(cls, value: list[str]) -> list[str]:
        if tuple(value) != BIO_TAGS:
            raise ValueError(f"bio head must be {list(BIO_TAGS)}")
        return value

    @field_validator("entity")
    @classmethod
    def _entity_labels(cls, value: list[str]) -> list[str]:
        _check_label_names(value)
        return value

    @property
    def entity_labels(self) -> tuple[str, ...]:
        """Entity labels in the order of the entity head."""
        return tuple(self.entity)


class FlatBioLayout(BaseModel):
    """An ordinary HF token classifier: ``labels`` in id2label order, ``O``, ``B-X``, ``I-X``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["flat_bio"] = "flat_bio"
    labels: list[str]

    @field_validator("labels")
    @classmethod
    def _bio_labels(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("flat BIO labels must be unique")
        if value.count("O") != 1:
            raise ValueError("flat BIO labels need exactly one 'O'")
        for label in value:
            if label != "O" and (label[:2] not in ("B-", "I-") or not label[2:]):
                raise ValueError(f"label {label!r} is not 'O', 'B-<entity>' or 'I-<entity>'")
        if not any(label.startswith("B-") for label in value) or not any(
            label.startswith("I-") for label in value
        ):
            raise ValueError("flat BIO labels need at least one B- and one I- label")
        return value

    @property
    def entity_labels(self) -> tuple[str, ...]:
        """Entity names in order of first appearance among the B-/I- labels."""
        return tuple(dict.fromkeys(label[2:] for label in self.labels if label != "O"))


LabelLayout = Annotated[TwoHeadLayout | FlatBioLayout, Field(discriminator="kind")]


class BaseEncoder(BaseModel):
    """The pretrained encoder a bundle was fine-tuned from, and where its frozen word embeddings
    come from.

    ``word_embeddings == "external"``: the bundle's safetensors lack the word-embedding matrix;
    it is rebuilt from the pinned package's file (``file_sha256``) by gathering the base rows
    listed in the ``vocabulary`` file (new id -> base id), and must then hash to
    ``word_embeddings_sha256``. Such a bundle is a *source* bundle, as kept in git:
    :func:`materialize_bundle` turns it into a self-contained one (``"included"``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    license: str = Field(min_length=1)
    package: str = Field(min_length=1)
    package_version: str = Field(min_length=1)
    file: str = Field(min_length=1)
    file_sha256: str
    num_layers: int = Field(ge=1)
    vocabulary_file: str = Field(min_length=1)
    vocabulary_size: int = Field(ge=1)
    word_embeddings: Literal["external", "included"]
    word_embeddings_tensor: str = Field(min_length=1)
    word_embeddings_sha256: str

    @field_validator("file_sha256", "word_embeddings_sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not _is_sha256(value):
            raise ValueError("sha256 must be 64 lowercase hex characters")
        return value


def _check_label_names(labels: Sequence[str]) -> None:
    if not labels:
        raise ValueError("at least one entity label is required")
    if len(set(labels)) != len(labels):
        raise ValueError("entity labels must be unique")
    for label in labels:
        if not label or label != label.strip():
            raise ValueError(f"entity label {label!r} is empty or has surrounding blanks")


class Manifest(BaseModel):
    """The validated content of a bundle's ``manifest.json`` (schema version 1 or 2)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    label_layout: LabelLayout
    #: Tokens per model window, including [CLS] and [SEP].
    window_length: int = Field(ge=3, le=65536)
    #: Content tokens shared by consecutive windows.
    window_overlap: int = Field(ge=0)
    thresholds: dict[str, float] = Field(default_factory=dict)
    default_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    files: list[FileEntry]
    created_at: AwareDatetime
    #: Free-form provenance (data set, seed, metrics, ...). Never holds note text.
    training: dict[str, Any] | None = None
    #: The pretrained encoder, for fine-tuned bundles (schema version 2).
    base: BaseEncoder | None = None
    #: Digest of the source bundle this one was materialized from.
    materialized_from: str | None = None
    bundle_sha256: str

    @field_validator("bundle_sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not _is_sha256(value):
            raise ValueError("bundle_sha256 must be 64 lowercase hex characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if self.window_overlap >= self.window_length - 2:
            raise ValueError(
                f"window_overlap {self.window_overlap} must be < window_length - 2 "
                f"({self.window_length - 2} content tokens per window)"
            )
        labels = set(self.label_layout.entity_labels)
        for label, value in self.thresholds.items():
            if label not in labels:
                raise ValueError(f"threshold for unknown entity label {label!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold for {label!r} must be in [0, 1], got {value}")
        paths = [entry.path for entry in self.files]
        if len(set(paths)) != len(paths):
            raise ValueError("file paths must be unique")
        roles = {entry.role for entry in self.files}
        if "tokenizer" not in roles:
            raise ValueError("a bundle needs at least one tokenizer file")
        if not roles & {
            "weights_safetensors",
            "weights_onnx",
            "weights_onnx_int8",
            "tensorrt_plan",
        }:
            raise ValueError("a bundle needs at least one weights file")
        if self.base is not None:
            if self.schema_version < 2:
                raise ValueError("a base encoder needs schema_version 2")
            if self.base.vocabulary_file not in paths:
                raise ValueError(f"base vocabulary file {self.base.vocabulary_file!r} not listed")
        return self

    @property
    def needs_materialization(self) -> bool:
        """Whether the word embeddings must be rebuilt from the base package before use."""
        return self.base is not None and self.base.word_embeddings == "external"


def manifest_digest(manifest: Manifest | dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``manifest`` without its ``bundle_sha256`` field."""
    data = manifest.model_dump(mode="json") if isinstance(manifest, Manifest) else dict(manifest)
    data.pop("bundle_sha256", None)
    # Fields added by schema version 2 enter the digest only when set, so the digest of a
    # bundle written before them (schema 1) stays what it was.
    for key in ("base", "materialized_from"):
        if data.get(key) is None:
            data.pop(key, None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """Streamed sha256 of a file (weights can be large)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: its folder and its validated manifest."""

    root: Path
    manifest: Manifest

    @property
    def entity_labels(self) -> tuple[str, ...]:
        """Entity labels in the order of the entity head."""
        return self.manifest.label_layout.entity_labels

    @property
    def sha256(self) -> str:
        """The bundle digest (also recorded as provenance next to every output)."""
        return self.manifest.bundle_sha256

    @property
    def model_version(self) -> str:
        return self.manifest.model_version

    @property
    def window_length(self) -> int:
        return self.manifest.window_length

    @property
    def window_overlap(self) -> int:
        return self.manifest.window_overlap

    def threshold_for(self, label: str) -> float:
        """Decision threshold of ``label``; the manifest default when it has none of its own."""
        if label not in self.entity_labels:
            raise KeyError(f"unknown entity label {label!r}")
        return self.manifest.thresholds.get(label, self.manifest.default_threshold)

    def path_of(self, role: FileRole, gpu: str | None = None) -> Path | None:
        """Absolute path of the first file with ``role`` (and ``gpu``, for plans), or None."""
        for entry in self.manifest.files:
            if entry.role == role and (gpu is None or entry.gpu == gpu):
                return self.root / entry.path
        return None

    def load_tokenizer(self) -> PreTrainedTokenizerBase:
        """A fresh fast tokenizer from the bundle folder, never from the network."""
        return _load_tokenizer(self.root)

    @property
    def cls_token_id(self) -> int:
        return self._special_ids[0]

    @property
    def sep_token_id(self) -> int:
        return self._special_ids[1]

    @property
    def pad_token_id(self) -> int:
        return self._special_ids[2]

    @property
    def _special_ids(self) -> tuple[int, int, int]:
        return _special_token_ids(self.root, self.sha256)


def _load_tokenizer(root: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(root), local_files_only=True)
    if not tokenizer.is_fast:
        raise BundleError("the bundle tokenizer is not a fast tokenizer (offsets need one)")
    return tokenizer


@functools.lru_cache(maxsize=32)
def _special_token_ids(root: Path, digest: str) -> tuple[int, int, int]:
    # Keyed on the digest too, so a rewritten bundle in the same folder is not served stale ids.
    del digest
    tokenizer = _load_tokenizer(root)
    ids = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    if any(value is None for value in ids):
        raise BundleError("the bundle tokenizer lacks a CLS, SEP or PAD token")
    return (int(ids[0]), int(ids[1]), int(ids[2]))  # type: ignore[arg-type]


def read_manifest(root: Path | str) -> Manifest:
    """Parse and validate ``root/manifest.json`` without checking files."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise BundleError(f"no {MANIFEST_NAME} in bundle folder {path.parent.name!r}")
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as error:
        raise BundleError(f"invalid {MANIFEST_NAME}: {error}") from error


def verify_bundle(root: Path, manifest: Manifest) -> None:
    """Raise :class:`BundleIntegrityError` naming the first missing or altered file."""
    resolved_root = root.resolve()
    for entry in manifest.files:
        path = root / entry.path
        if not path.resolve().is_relative_to(resolved_root):
            raise BundleIntegrityError(f"file {entry.path} resolves outside the bundle folder")
        if not path.is_file():
            raise BundleIntegrityError(f"missing file: {entry.path}")
        actual = file_sha256(path)
        if actual != entry.sha256:
            raise BundleIntegrityError(
                f"sha256 mismatch for file: {entry.path} "
                f"(manifest {entry.sha256[:12]}, actual {actual[:12]})"
            )
    digest = manifest_digest(manifest)
    if digest != manifest.bundle_sha256:
        raise BundleIntegrityError(
            f"bundle digest mismatch: manifest says {manifest.bundle_sha256[:12]}, "
            f"content gives {digest[:12]}"
        )


def load_bundle(path: Path | str, verify: bool = True, materialize: bool = True) -> Bundle:
    """Load the bundle in ``path``; with ``verify`` check every file's sha256 and the digest.

    A source bundle (word embeddings from the base package, as kept in git) is served from its
    materialized copy in the bundle cache (see :func:`materialized_bundle_path`), which is built
    once when absent; ``materialize=False`` returns the source bundle itself.
    """
    root = Path(path)
    manifest = read_manifest(root)
    if verify:
        verify_bundle(root, manifest)
    if materialize and manifest.needs_materialization:
        target = materialized_bundle_path(manifest)
        if not (target / MANIFEST_NAME).is_file():
            materialize_bundle(root, target)
        loaded = load_bundle(target, verify=verify, materialize=False)
        if loaded.manifest.materialized_from != manifest.bundle_sha256:
            raise BundleIntegrityError(
                f"cached bundle {target.name} was not materialized from this bundle"
            )
        return loaded
    return Bundle(root=root, manifest=manifest)


def bundle_cache_dir() -> Path:
    """``$DEID_BUNDLE_CACHE``, else ``$XDG_CACHE_HOME/deid_pipeline/bundles`` (``~/.cache``)."""
    env = os.environ.get("DEID_BUNDLE_CACHE")
    if env:
        return Path(env)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "deid_pipeline" / "bundles"


def materialized_bundle_path(manifest: Manifest) -> Path:
    """Where the materialized copy of a source bundle lives: keyed by the source digest."""
    return bundle_cache_dir() / f"{manifest.name}-{manifest.bundle_sha256[:16]}"


def materialize_bundle(source: Path | str, out_dir: Path | str) -> Bundle:
    """Write a self-contained copy of a bundle into ``out_dir`` (absent or empty).

    For a source bundle the word embeddings are rebuilt from the pinned base package (its file
    sha256 and the rebuilt matrix's sha256 are both checked), the full weights are written as
    ``model.safetensors`` and exported to ``model.onnx``; every other file is copied. A bundle
    that is already self-contained is copied and verified. Two processes materializing the same
    bundle at once are serialised by a lock file; the copy appears by an atomic rename.
    """
    import fcntl

    src = Path(source)
    out = Path(out_dir)
    manifest = read_manifest(src)
    verify_bundle(src, manifest)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.parent / f".{out.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / MANIFEST_NAME).is_file():
            existing = load_bundle(out, verify=True, materialize=False)
            if existing.manifest.materialized_from == manifest.bundle_sha256:
                return existing
        if out.exists() and any(out.iterdir()):
            raise BundleError(f"output folder {out.name!r} exists and is not empty")
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
        try:
            _materialize_into(src, manifest, staging)
            if out.exists():
                out.rmdir()
            staging.rename(out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return load_bundle(out, verify=True, materialize=False)


def _materialize_into(src: Path, manifest: Manifest, staging: Path) -> None:
    files: list[FileSpec | FileEntry] = []
    weights = [entry for entry in manifest.files if entry.role == "weights_safetensors"]
    for entry in manifest.files:
        if manifest.needs_materialization and entry.role in (
            "weights_safetensors",
            "weights_onnx",
            "weights_onnx_int8",
        ):
            continue  # rewritten below with the word embeddings
        target = staging / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / entry.path, target)
        files.append(entry)
    base = manifest.base
    if manifest.needs_materialization:
        assert base is not None
        if len(weights) != 1:
            raise BundleError("a source bundle needs exactly one safetensors weights file")
        _write_full_weights(src / weights[0].path, src, base, staging / weights[0].path)
        files.append((weights[0].path, "weights_safetensors"))
        base = base.model_copy(update={"word_embeddings": "included"})
    fields = manifest.model_dump(mode="json")
    fields.update(
        {
            "files": [entry.model_dump() for entry in _hash_entries(staging, files)],
            "base": base.model_dump() if base is not None else None,
            "materialized_from": manifest.bundle_sha256,
            "bundle_sha256": "0" * 64,
        }
    )
    draft = Manifest.model_validate(fields)
    _write_manifest_file(
        staging, draft.model_copy(update={"bundle_sha256": manifest_digest(draft)})
    )
    if manifest.needs_materialization:
        from deid_pipeline.export import export_onnx, quantize_onnx_int8

        export_onnx(staging)
        quantize_onnx_int8(staging)


def _write_full_weights(partial: Path, src: Path, base: BaseEncoder, out: Path) -> None:
    from safetensors.numpy import load_file, save_file

    from deid_pipeline import base_model

    if (base.package, base.package_version, base.file) != (
        base_model.BASE_PACKAGE,
        base_model.BASE_PACKAGE_VERSION,
        base_model.BASE_FILE,
    ):
        raise BundleError(
            f"bundle needs base {base.package}=={base.package_version} {base.file}; this "
            f"version of deid_pipeline reads {base_model.BASE_PACKAGE}=="
            f"{base_model.BASE_PACKAGE_VERSION}"
        )
    try:
        e5 = base_model.read_e5_file(expected_sha256=base.file_sha256)
    except base_model.BaseModelError as error:
        raise BundleIntegrityError(str(error)) from error
    id_map = base_model.read_id_map(src / base.vocabulary_file)
    if len(id_map) != base.vocabulary_size:
        raise BundleIntegrityError("vocabulary file length differs from the manifest's")
    embeddings = base_model.word_embeddings(e5, id_map)
    if base_model.array_sha256(embeddings) != base.word_embeddings_sha256:
        raise BundleIntegrityError("rebuilt word embeddings do not match the manifest's sha256")
    state = load_file(str(partial))
    if base.word_embeddings_tensor in state:
        raise BundleError("a source bundle's weights must not contain the word embeddings")
    state[base.word_embeddings_tensor] = embeddings
    save_file(state, str(out), metadata={"format": "pt"})


FileSpec = tuple[str, FileRole] | tuple[str, FileRole, str | None]


def _write_manifest_file(root: Path, manifest: Manifest) -> None:
    # Write then rename, so a reader never sees a half-written manifest.
    text = json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".manifest.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, root / MANIFEST_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _hash_entries(root: Path, files: Iterable[FileSpec | FileEntry]) -> list[FileEntry]:
    entries: list[FileEntry] = []
    for spec in files:
        if isinstance(spec, FileEntry):
            rel, role, gpu = spec.path, spec.role, spec.gpu
        else:
            rel, role, gpu = spec[0], spec[1], (spec[2] if len(spec) > 2 else None)  # type: ignore[misc]
        path = root / rel
        if not path.is_file():
            raise BundleError(f"missing file: {rel}")
        entries.append(FileEntry(path=rel, sha256=file_sha256(path), role=role, gpu=gpu))
    return sorted(entries, key=lambda entry: entry.path)


def write_bundle_manifest(
    root: Path | str,
    *,
    name: str,
    model_version: str,
    label_layout: TwoHeadLayout | FlatBioLayout,
    window_length: int,
    window_overlap: int,
    files: Iterable[FileSpec | FileEntry],
    thresholds: dict[str, float] | None = None,
    default_threshold: float = 0.5,
    training: dict[str, Any] | None = None,
    created_at: dt.datetime | None = None,
    base: BaseEncoder | None = None,
) -> Bundle:
    """Hash the listed files (paths relative to ``root``), write ``manifest.json`` with the
    bundle digest and return the loaded bundle."""
    root = Path(root)
    fields: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "model_version": model_version,
        "label_layout": label_layout.model_dump(),
        "window_length": window_length,
        "window_overlap": window_overlap,
        "thresholds": dict(thresholds or {}),
        "default_threshold": default_threshold,
        "files": [entry.model_dump() for entry in _hash_entries(root, files)],
        "created_at": created_at or dt.datetime.now(dt.UTC),
        "training": training,
        "base": base.model_dump() if base is not None else None,
        "bundle_sha256": "0" * 64,
    }
    draft = Manifest.model_validate(fields)
    manifest = draft.model_copy(update={"bundle_sha256": manifest_digest(draft)})
    _write_manifest_file(root, manifest)
    return Bundle(root=root, manifest=manifest)


def add_bundle_files(root: Path | str, files: Iterable[FileSpec | FileEntry]) -> Bundle:
    """Add (or re-hash, when the path is already listed) files of a verified bundle and rewrite
    its manifest with the new digest. Used by the ONNX export and TensorRT plan builds."""
    root = Path(root)
    bundle = load_bundle(root, verify=True, materialize=False)
    new_entries = {entry.path: entry for entry in _hash_entries(root, files)}
    kept = [entry for entry in bundle.manifest.files if entry.path not in new_entries]
    merged = sorted([*kept, *new_entries.values()], key=lambda entry: entry.path)
    draft = bundle.manifest.model_copy(update={"files": merged})
    draft = Manifest.model_validate(draft.model_dump())
    manifest = draft.model_copy(update={"bundle_sha256": manifest_digest(draft)})
    _write_manifest_file(root, manifest)
    return Bundle(root=root, manifest=manifest)


def _flat_labels_from_config(config: dict[str, Any]) -> list[str]:
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise BundleError("config.json has no id2label; not a token-classification checkpoint")
    try:
        ordered = sorted(((int(key), str(value)) for key, value in id2label.items()))
    except ValueError as error:
        raise BundleError("config.json id2label keys are not integers") from error
    if [index for index, _ in ordered] != list(range(len(ordered))):
        raise BundleError("config.json id2label ids are not 0..n-1")
    return [label for _, label in ordered]


def wrap_hf_checkpoint(
    hf_dir: Path | str,
    out_dir: Path | str,
    *,
    name: str | None = None,
    model_version: str | None = None,
    window_length: int | None = None,
    window_overlap: int | None = None,
) -> Bundle:
    """Copy a local HF token-classification checkpoint into a new bundle folder.

    The layout is ``two_head`` when the checkpoint's config.json marks one of our models and
    ``flat_bio`` otherwise (labels from id2label). Weights must be safetensors (pickled
    ``.bin`` weights are refused); the tokenizer must load as a fast tokenizer and is saved in
    the bundle in its fast form. Defaults: name from the folder, model_version from the weights'
    sha256, window_length from the model's positions (at most 512), overlap a quarter of the
    window's content tokens.
    """
    from transformers import AutoTokenizer

    src = Path(hf_dir)
    out = Path(out_dir)
    config_path = src / "config.json"
    if not config_path.is_file():
        raise BundleError("checkpoint folder has no config.json")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    weight_files = sorted(p.name for p in src.glob("*.safetensors"))
    if not weight_files:
        raise BundleError("checkpoint has no .safetensors weights (pickled weights are refused)")
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"output folder {out.name!r} exists and is not empty")

    layout: TwoHeadLayout | FlatBioLayout
    if config.get(TWO_HEAD_CONFIG_KEY):
        layout = TwoHeadLayout(entity=list(config["entity_labels"]))
    else:
        try:
            layout = FlatBioLayout(labels=_flat_labels_from_config(config))
        except ValidationError as error:
            raise BundleError(f"checkpoint labels are not a BIO scheme: {error}") from error

    tokenizer = AutoTokenizer.from_pretrained(str(src), local_files_only=True)
    if not tokenizer.is_fast:
        raise BundleError("checkpoint tokenizer cannot be loaded as a fast tokenizer")

    out.mkdir(parents=True, exist_ok=True)
    # The folder is empty here, so everything save_pretrained writes is a tokenizer file.
    tokenizer.save_pretrained(str(out))
    tokenizer_files = sorted(p.name for p in out.iterdir() if p.is_file())
    shutil.copyfile(config_path, out / "config.json")
    copied = list(weight_files)
    index = src / "model.safetensors.index.json"
    if index.is_file():
        shutil.copyfile(index, out / index.name)
        copied.append(index.name)
    for file_name in weight_files:
        shutil.copyfile(src / file_name, out / file_name)

    max_positions = int(config.get("max_position_embeddings") or 512)
    length = window_length or min(512, max_positions)
    overlap = window_overlap if window_overlap is not None else (length - 2) // 4
    version = model_version or "hf-" + file_sha256(out / weight_files[0])[:12]
    files: list[FileSpec] = [(file_name, "tokenizer") for file_name in tokenizer_files]
    files.append(("config.json", "config"))
    files.extend((file_name, "weights_safetensors") for file_name in copied)
    training = {
        "source": "wrapped_hf_checkpoint",
        "model_type": config.get("model_type"),
        "architectures": config.get("architectures"),
    }
    return write_bundle_manifest(
        out,
        name=name or src.resolve().name,
        model_version=version,
        label_layout=layout,
        window_length=length,
        window_overlap=overlap,
        files=files,
        training=training,
    )


def default_bundle_path() -> Path:
    """``$DEID_BUNDLE_DIR`` when set, else the ``bundle`` folder next to the package."""
    env = os.environ.get("DEID_BUNDLE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "bundle"


def bundle_info(bundle: Bundle) -> dict[str, Any]:
    """JSON-ready summary of a bundle for ``deid-pipeline bundle info``."""
    manifest = bundle.manifest
    files = []
    for entry in manifest.files:
        path = bundle.root / entry.path
        files.append(
            {
                "path": entry.path,
                "role": entry.role,
                "gpu": entry.gpu,
                "sha256": entry.sha256,
                "bytes": path.stat().st_size if path.is_file() else None,
            }
        )
    roles = {entry.role for entry in manifest.files}
    backends = [
        backend
        for backend, role in (
            ("torch", "weights_safetensors"),
            ("onnx", "weights_onnx"),
            ("tensorrt", "tensorrt_plan"),
        )
        if role in roles
    ]
    return {
        "name": manifest.name,
        "model_version": manifest.model_version,
        "schema_version": manifest.schema_version,
        "bundle_sha256": manifest.bundle_sha256,
        "layout": manifest.label_layout.kind,
        "entity_labels": list(bundle.entity_labels),
        "window_length": manifest.window_length,
        "window_overlap": manifest.window_overlap,
        "thresholds": {label: bundle.threshold_for(label) for label in bundle.entity_labels},
        "default_threshold": manifest.default_threshold,
        "created_at": manifest.created_at.isoformat(),
        "backends": backends,
        "tensorrt_gpus": sorted({e.gpu for e in manifest.files if e.gpu}),
        "files": files,
        "base": manifest.base.model_dump() if manifest.base is not None else None,
        "materialized_from": manifest.materialized_from,
        "training": manifest.training,
    }


def cmd_bundle_info(args: argparse.Namespace) -> int:
    """``bundle info DIR``: verify the bundle and print its summary as JSON; 1 on mismatch."""
    try:
        bundle = load_bundle(args.dir, verify=True)
    except BundleError as error:
        print(f"bundle check failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(bundle_info(bundle), indent=2, ensure_ascii=False))
    return 0


def cmd_bundle_wrap(args: argparse.Namespace) -> int:
    """``bundle wrap HF_DIR OUT_DIR``: wrap a local HF checkpoint; prints the new digest."""
    try:
        bundle = wrap_hf_checkpoint(
            args.hf_dir,
            args.out_dir,
            name=args.name,
            model_version=args.model_version,
            window_length=args.window_length,
            window_overlap=args.overlap,
        )
    except (BundleError, ValidationError) as error:
        print(f"bundle wrap failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"bundle": str(bundle.root), "bundle_sha256": bundle.sha256}))
    return 0


def cmd_bundle_materialize(args: argparse.Namespace) -> int:
    """``bundle materialize BUNDLE OUT``: a self-contained copy (all weights, ONNX, manifest)."""
    try:
        bundle = materialize_bundle(args.dir, args.out_dir)
    except BundleError as error:
        print(f"bundle materialize failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"bundle": str(bundle.root), "bundle_sha256": bundle.sha256}))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``bundle`` command (``info``, ``wrap``, ``materialize``); each sets a handler."""
    parser = subparsers.add_parser("bundle", help="inspect, verify or create model bundles")
    commands = parser.add_subparsers(dest="bundle_command", required=True)

    info = commands.add_parser("info", help="verify a bundle and print its summary")
    info.add_argument("dir", type=Path, help="bundle folder")
    info.set_defaults(handler=cmd_bundle_info)

    materialize = commands.add_parser(
        "materialize",
        help="write a self-contained copy (word embeddings from the base package, ONNX)",
    )
    materialize.add_argument("dir", type=Path, help="bundle folder (e.g. the one in git)")
    materialize.add_argument("out_dir", type=Path, help="new folder (must be empty or absent)")
    materialize.set_defaults(handler=cmd_bundle_materialize)

    wrap = commands.add_parser("wrap", help="wrap a local HF token-classification checkpoint")
    wrap.add_argument("hf_dir", type=Path, help="HF checkpoint folder (config.json, safetensors)")
    wrap.add_argument("out_dir", type=Path, help="new bundle folder (must be empty or absent)")
    wrap.add_argument("--name", default=None)
    wrap.add_argument("--model-version", dest="model_version", default=None)
    wrap.add_argument("--window-length", dest="window_length", type=int, default=None)
    wrap.add_argument("--overlap", type=int, default=None, help="content tokens of overlap")
    wrap.set_defaults(handler=cmd_bundle_wrap)

    from deid_pipeline import tensorrt_build

    tensorrt_build.register(commands)
