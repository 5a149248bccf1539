#!/usr/bin/env bash
# Build the three images from pinned bases and print their digests for the release manifest.
#
#   docker/build.sh REGISTRY TAG            e.g. docker/build.sh registry.hospital.example/deid 1.4.0
#
# code image    REGISTRY/deid-code:TAG     Dagster code location + run pods (CPU stages, ONNX Runtime)
# worker image  REGISTRY/deid-worker:TAG   python -m deid_pipeline.worker on CUDA + TensorRT 10
# bundle image  REGISTRY/deid-bundle:<bundle digest[:16]>   the materialized model bundle only
set -euo pipefail
cd "$(dirname "$0")/.."
registry=${1:?registry} tag=${2:?tag}
declare -A base
while read -r name image digest; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ "$digest" == sha256:* ]] || { echo "no digest for $name in docker/base-images.lock: run docker/pin-base-images.sh" >&2; exit 2; }
  base[$name]="$image@$digest"
done < docker/base-images.lock
args=(--build-arg "PYTHON_IMAGE=${base[PYTHON_IMAGE]}" --build-arg "BUSYBOX_IMAGE=${base[BUSYBOX_IMAGE]}"
      --build-arg "TENSORRT_IMAGE=${base[TENSORRT_IMAGE]}" --provenance=true --push)
docker buildx build "${args[@]}" -f docker/code.Dockerfile -t "$registry/deid-code:$tag" \
  --metadata-file build/code.json .
docker buildx build "${args[@]}" -f docker/worker.Dockerfile -t "$registry/deid-worker:$tag" \
  --metadata-file build/worker.json .
bundle_tag=${BUNDLE_TAG:-$tag}
docker buildx build "${args[@]}" -f docker/bundle.Dockerfile --build-arg "BUNDLE=${BUNDLE:-bundle}" \
  -t "$registry/deid-bundle:$bundle_tag" --metadata-file build/bundle.json .
for image in code worker bundle; do
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sys.argv[2], m["image.name"].split(",")[0] + "@" + m["containerimage.digest"])' \
    "build/$image.json" "$image"
done
