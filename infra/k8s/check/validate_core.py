"""Validates every resource in infra/k8s offline: core kinds here against
the Kubernetes schemas kubernetes-validate carries (strict: an unknown
field is an error), custom resources by validate_custom.mjs against the
validators generated from their CRDs. A document neither knows fails, so
nothing is left unvalidated. Also parses the configuration the ConfigMap
carries, so a TOML mistake fails here and not at a pod's start.

Usage: python validate_core.py KUBERNETES_VERSION FILE... ; prints the
custom resources (JSON lines: file, index) for validate_custom.mjs.
"""

import json
import sys
import tomllib

import kubernetes_validate
import yaml

# The operators whose resources validate_custom.mjs knows.
CUSTOM_GROUPS = ("keda.sh", "kafka.strimzi.io", "external-secrets.io")


def group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def unlisted(files: list[str]) -> list[str]:
    """Files kustomization.yaml does not apply, or names without them."""
    kustomization = [f for f in files if f.endswith("/kustomization.yaml")]
    if not kustomization:
        return []
    with open(kustomization[0], encoding="utf-8") as f:
        listed = set(yaml.safe_load(f).get("resources", []))
    present = {f.rsplit("/", 1)[-1] for f in files if f not in kustomization}
    return sorted(listed ^ present)


def main() -> int:
    version, files = sys.argv[1], sys.argv[2:]
    failures = 0
    core = 0
    for name in unlisted(files):
        print(f"kustomization.yaml and the files disagree on {name}", file=sys.stderr)
        failures += 1
    files = [f for f in files if not f.endswith("/kustomization.yaml")]
    for path in files:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
        if not documents:
            print(f"{path}: no resources", file=sys.stderr)
            failures += 1
        for index, doc in enumerate(documents):
            what = f"{path}#{index} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            if group(doc.get("apiVersion", "")) in CUSTOM_GROUPS:
                print(json.dumps({"file": path, "index": index}))
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
                core += 1
            except kubernetes_validate.SchemaNotFoundError as e:
                print(f"{what}: no schema ({e}); not a kind of Kubernetes {version}", file=sys.stderr)
                failures += 1
            except kubernetes_validate.ValidationError as e:
                print(f"{what}: {'.'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
                failures += 1
            if doc.get("kind") == "ConfigMap":
                for key, value in doc.get("data", {}).items():
                    if key.endswith(".toml"):
                        try:
                            tomllib.loads(value)
                        except tomllib.TOMLDecodeError as e:
                            print(f"{what}: {key}: {e}", file=sys.stderr)
                            failures += 1
    print(f"core: {core} resources valid against Kubernetes {version}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
