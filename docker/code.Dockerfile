# Code-location / run image: the Dagster code (deid_pipeline.definitions), the CPU stages and
# ONNX Runtime. No torch, no CUDA, no model: the bundle comes from the bundle image (an init
# container copies it into an emptyDir at /opt/bundle), so code and model roll independently.
#
#   docker/build.sh REGISTRY TAG     (passes the pinned bases from docker/base-images.lock)
#
# Used by the Dagster chart's user-code deployment (gRPC server) and by every run pod that
# K8sRunLauncher starts; the inference step starts the worker image through PipesK8sClient.

ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY deid_pipeline ./deid_pipeline
# The code image must stay free of torch and CUDA: the build fails if anything pulled them in.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install ".[k8s]" \
 && /opt/venv/bin/python -c "import importlib.util as u, sys; bad=[m for m in ('torch','tensorrt','nvidia') if u.find_spec(m)]; sys.exit(f'unexpected packages: {bad}' if bad else 0)"

FROM ${PYTHON_IMAGE} AS code
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HOME=/tmp \
    DEID_BUNDLE_DIR=/opt/bundle DEID_BACKEND=onnx DEID_DEVICE=cpu
COPY --from=build /opt/venv /opt/venv
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin deid \
 && mkdir -p /opt/dagster/app /opt/bundle && chown 10001:10001 /opt/bundle
COPY workspace.yaml /opt/dagster/app/
WORKDIR /opt/dagster/app
USER 10001
EXPOSE 3030
# The chart's user-code deployment overrides this with its own dagster api grpc command.
CMD ["dagster", "api", "grpc", "-m", "deid_pipeline.definitions", "-h", "0.0.0.0", "-p", "3030"]
