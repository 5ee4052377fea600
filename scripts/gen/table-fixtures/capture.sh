#!/bin/bash
# Captures Tests/KubeTableTests/Fixtures from the lab apiserver (a developer's tool, not CI):
#   kubectl apply -f scripts/gen/table-fixtures/objects.yaml; scripts/gen/table-fixtures/status.sh
#   kubectl -n table-fixtures delete pod pod-terminating --wait=false
#   scripts/gen/table-fixtures/capture.sh
# then clean up: clear pod-terminating's finalizer, delete the leases, roles and events, the nodes
# table-node-a/b and the namespace (no namespace controller in the lab: finalize it by hand).
# For each resource: RESOURCE.list.json (the plain list) and RESOURCE.table.json (the Table kubectl
# asks for), fetched back to back, and `captured-at` (epoch seconds, for the age cells).
# A non-curl User-Agent: the apiserver pretty-prints for curl.
set -u
out="$(dirname "$0")/../../../Tests/KubeTableTests/Fixtures"
mkdir -p "$out"
B=https://127.0.0.1:6443
C=(-A outpost-fixture-capture -s --cacert /var/tmp/kube-lab/run/pki/ca.crt -H 'Authorization: Bearer kube-lab-admin-token')
TABLE='application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'
N=/api/v1/namespaces/table-fixtures
cap() {
  curl "${C[@]}" -H 'Accept: application/json' "$B$2" -o "$out/$1.list.json" || echo "FAIL list $1"
  curl "${C[@]}" -H "Accept: $TABLE" "$B$2" -o "$out/$1.table.json" || echo "FAIL table $1"
}
date +%s > "$out/captured-at"
cap pods $N/pods
cap nodes "/api/v1/nodes?labelSelector=!purpose"
cap services $N/services
cap endpoints $N/endpoints
cap configmaps $N/configmaps
cap secrets $N/secrets
cap namespaces "/api/v1/namespaces?labelSelector=purpose%3Dtable-fixtures"
cap events $N/events
cap events-v1 /apis/events.k8s.io/v1/namespaces/table-fixtures/events
cap leases /apis/coordination.k8s.io/v1/namespaces/table-fixtures/leases
cap roles /apis/rbac.authorization.k8s.io/v1/namespaces/table-fixtures/roles
# Other shapes of one ask
curl "${C[@]}" -H "Accept: $TABLE" "$B$N/pods/pod-running" -o "$out/pod.get.table.json"
curl "${C[@]}" -H "Accept: $TABLE" "$B$N/pods?includeObject=Object&limit=2" -o "$out/pods.object.table.json"
curl "${C[@]}" -H "Accept: $TABLE" "$B$N/pods?includeObject=None" -o "$out/pods.none.table.json"
curl "${C[@]}" -H 'Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' "$B$N/pods" -o "$out/pods.metadata.json"
date +%s >> "$out/captured-at"
