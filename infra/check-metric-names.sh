#!/usr/bin/env bash
# Every intake_* metric the alert rules, the Grafana dashboard and the
# inbox's operations page query is
# one a service or `intake lag --serve` registers: a renamed metric must
# not leave a silent rule or an empty panel behind. Run by `make rules`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 -m json.tool infra/grafana/intake-operations.json >/dev/null
missing=0
for file in infra/grafana/intake-operations.json infra/prometheus/rules/*.yml services/inbox/src/operations.rs; do
    for metric in $(grep -o 'intake_[a-z_]*' "$file" | sort -u); do
        base=$(sed -E 's/_(total|bucket|count|sum)$//' <<<"$metric")
        if ! grep -rqF "\"$base\"" services --include='*.rs' --exclude=operations.rs; then
            echo "$file: $metric is registered by no service" >&2
            missing=1
        fi
    done
done
exit $missing
