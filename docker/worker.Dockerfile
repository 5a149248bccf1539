# GPU inference worker: `python -m deid_pipeline.worker` on CUDA + TensorRT 10 (+ torch for
# CUDA tensors), started by the `logits` step through PipesK8sClient. It runs nothing else.
# No model inside: the bundle image's init container copies the materialized bundle to
# /opt/bundle; TensorRT plans come from /var/cache/deid-plans (DEID_TENSORRT_PLAN_DIR), filled
# by `deid-pipeline bundle build-trt` (release job) or built once per node at start
# (DEID_TENSORRT_BUILD=missing).
#
# Base: NVIDIA's TensorRT container (25.01: TensorRT 10.8.0.43, CUDA 12.8, Python 3.12),
# pinned by digest through docker/base-images.lock.

ARG TENSORRT_IMAGE=nvcr.io/nvidia/tensorrt:25.01-py3

FROM ${TENSORRT_IMAGE} AS worker
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    HOME=/tmp DEID_BUNDLE_DIR=/opt/bundle DEID_BACKEND=tensorrt DEID_DEVICE=cuda \
    DEID_TENSORRT_PLAN_DIR=/var/cache/deid-plans DEID_TENSORRT_BUILD=never
WORKDIR /src
COPY pyproject.toml README.md ./
COPY deid_pipeline ./deid_pipeline
# The base image's tensorrt (10.x) satisfies the gpu extra; torch comes with its CUDA wheels.
RUN python3 -m pip install ".[gpu]" \
 && python3 -c "import tensorrt; assert tensorrt.__version__.startswith('10.'), tensorrt.__version__" \
 && rm -rf /src \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin deid \
 && mkdir -p /opt/bundle /var/cache/deid-plans \
 && chown 10001:10001 /opt/bundle /var/cache/deid-plans
WORKDIR /tmp
USER 10001
ENTRYPOINT ["python3", "-m", "deid_pipeline.worker"]
