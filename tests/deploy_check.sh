#!/usr/bin/env bash
# Checks deploy/: Prometheus config and alert rules (promtool check + the rules' unit tests),
# and that the Grafana dashboard is valid JSON whose queries name only metrics we export.
set -euo pipefail
root="$1"
promtool check config "$root/deploy/prometheus/prometheus.yml"
promtool check rules "$root/deploy/prometheus/alerts.yml"
(cd "$root/deploy/prometheus" && promtool test rules alerts_test.yml)
python3 - "$root" <<'PY'
import json, re, sys, pathlib
root = pathlib.Path(sys.argv[1])
dash = json.loads((root / "deploy/grafana/license-edge-fleet.json").read_text())
exported = set(re.findall(r'"((?:le|process)_[a-z0-9_]+)"', "".join(p.read_text() for p in (root / "src").rglob("*.cpp")) ))
exported |= {"le_edge_http_requests_total", "le_edge_http_request_duration_seconds_bucket",
             "le_primary_http_requests_total"}
exported |= {f"le_edge_rocksdb_{n}" for n in re.findall(r'"rocksdb\.[a-z0-9-]+", "([a-z0-9_]+)"', (root / "src/metrics/admin.cpp").read_text())}
names = set()
for panel in dash["panels"]:
    for t in panel["targets"]:
        names |= set(re.findall(r'\b((?:le|process)_[a-z0-9_]+)', t["expr"]))
missing = sorted(n for n in names if n not in exported and n.rsplit("_bucket", 1)[0] + "_bucket" not in exported)
if missing:
    sys.exit(f"dashboard queries metrics that are not exported: {missing}")
print(f"dashboard: {len(dash['panels'])} panels, {len(names)} metrics, all exported")
PY
