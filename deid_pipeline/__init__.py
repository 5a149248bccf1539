"""deid_pipeline: de-identification of clinical free-text notes, as a Dagster pipeline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deid-pipeline")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
