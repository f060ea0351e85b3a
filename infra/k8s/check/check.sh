#!/usr/bin/env bash
# Validates every manifest of infra/k8s offline (see validate_core.py).
# The validators are installed by infra/local/prereqs.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s="$(dirname "$here")"
tools="${INTAKE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/intake}"
venv="$tools/kubernetes-validate-${KUBERNETES_VALIDATE_VERSION:-1.37.0}"
# The oldest Kubernetes the manifests promise to run on (native sidecars).
version="${KUBERNETES_VERSION:-1.33.0}"
[ -x "$venv/bin/python" ] || { echo "k8s: the validator is not installed; run make prereqs" >&2; exit 1; }
[ -d "$here/node_modules/@kubernetes-models/keda" ] || { echo "k8s: the CRD validators are not installed; run make prereqs" >&2; exit 1; }
mapfile -t files < <(find "$k8s" -maxdepth 1 -name '*.yaml' | sort)
core=0
custom=$("$venv/bin/python" "$here/validate_core.py" "$version" "${files[@]}") || core=$?
cd "$here" && node validate_custom.mjs <<<"$custom"
exit "$core"
