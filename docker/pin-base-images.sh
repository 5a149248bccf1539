#!/usr/bin/env bash
# Resolve every tag of docker/base-images.lock to its digest and write it into the file.
# Needs registry access and `docker buildx` (or set RESOLVER="crane digest").
set -euo pipefail
cd "$(dirname "$0")"
resolve() {
  if [[ -n "${RESOLVER:-}" ]]; then $RESOLVER "$1"; else
    docker buildx imagetools inspect "$1" --format '{{json .Manifest}}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])'
  fi
}
tmp=$(mktemp)
while IFS= read -r line; do
  if [[ "$line" =~ ^([A-Z_]+)[[:space:]]+([^[:space:]]+) ]]; then
    name=${BASH_REMATCH[1]} tag=${BASH_REMATCH[2]}
    printf '%-15s %-41s %s\n' "$name" "$tag" "$(resolve "$tag")" >> "$tmp"
  else
    echo "$line" >> "$tmp"
  fi
done < base-images.lock
mv "$tmp" base-images.lock
git --no-pager diff -- base-images.lock || true
