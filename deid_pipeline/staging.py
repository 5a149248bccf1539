"""Shard and logits files staged through object storage, so GPU worker pods need no shared volume.

The run pod keeps its shard and logits files where the stages expect them (the storage root's
``files/`` folders); only the trip to and from the worker goes through object storage:

1. ``stage_in``: the launcher uploads each requested shard to ``<staging>/shards/<id>.shard`` and
   adds ``staging_uri`` to the worker request;
2. the worker downloads each shard to its own ``/tmp``, checks its sha256 as always, writes the
   logits locally and uploads them to ``<staging>/logits/<file>``; it reports the path the run
   pod will have (``out_dir/<file>``), so the stage's checks and index stay as they are;
3. ``stage_out``: the launcher downloads every logits file into its ``out_dir`` (atomic
   rename), then ``delete`` removes the staging prefix (the files are PHI-equivalent).

URIs are anything ``pyarrow.fs.FileSystem.from_uri`` opens: ``s3://`` (credentials and endpoint
from the standard ``AWS_*`` variables or the pod's identity), ``gs://``, ``abfs://``, or a local
path. Nothing here logs a path's contents; messages carry shard ids and figures only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SHARD_SUFFIX = ".shard"


def join(uri: str, *parts: str) -> str:
    """``uri`` with ``parts`` appended by ``/``."""
    return "/".join([uri.rstrip("/"), *(part.strip("/") for part in parts)])


def _fs(uri: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if "://" not in uri:
        return pafs.LocalFileSystem(), str(Path(uri).resolve())
    return pafs.FileSystem.from_uri(uri)


def upload(local: Path | str, uri: str) -> None:
    """Copy a local file to ``uri`` (an object appears whole or not at all)."""
    fs, path = _fs(uri)
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    with open(local, "rb") as source, fs.open_output_stream(path) as target:
        while chunk := source.read(8 << 20):
            target.write(chunk)


def download(uri: str, local: Path | str) -> None:
    """Copy ``uri`` to a local file through a temporary file and a rename."""
    fs, path = _fs(uri)
    target = Path(local)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, fs.open_input_stream(path) as source:
            while chunk := source.read(8 << 20):
                out.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def exists(uri: str) -> bool:
    import pyarrow.fs as pafs

    fs, path = _fs(uri)
    return bool(fs.get_file_info(path).type == pafs.FileType.File)


def delete(uri: str) -> None:
    """Remove the staging prefix and everything under it (missing is fine)."""
    import pyarrow.fs as pafs

    fs, path = _fs(uri)
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        fs.delete_dir(path)


def shard_uri(staging_uri: str, shard_id: str) -> str:
    return join(staging_uri, "shards", f"{shard_id}{SHARD_SUFFIX}")


def logits_uri(staging_uri: str, shard_id: str) -> str:
    from deid_pipeline.worker import logits_file_name

    return join(staging_uri, "logits", logits_file_name(shard_id))


def stage_in(params: Mapping[str, Any], staging_uri: str) -> dict[str, Any]:
    """Upload the request's shards and return the request with ``staging_uri`` set."""
    for shard in params["shards"]:
        upload(shard["path"], shard_uri(staging_uri, shard["shard_id"]))
    return {**params, "staging_uri": staging_uri}


def stage_out(params: Mapping[str, Any], staging_uri: str) -> int:
    """Download every logits file the worker uploaded into its ``out_dir``; returns the count."""
    from deid_pipeline.worker import logits_file_name

    fetched = 0
    for shard in params["shards"]:
        source = logits_uri(staging_uri, shard["shard_id"])
        if not exists(source):
            continue  # the stage reports missing shards
        out_dir = Path(shard.get("out_dir") or params["out_dir"])
        download(source, out_dir / logits_file_name(shard["shard_id"]))
        fetched += 1
    return fetched
