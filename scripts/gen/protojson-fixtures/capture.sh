#!/bin/bash
# Re-captures Tests/KubeProtoJSONTests/Fixtures from the lab apiserver (run by a developer, not CI).
#   kubectl apply -f scripts/gen/protojson-fixtures/objects.yaml
#   then PATCH the Pod's and Node's /status (see the curl commands in Fixtures/README.md)
#   then: scripts/gen/protojson-fixtures/capture.sh
# A non-curl User-Agent, because the apiserver pretty-prints JSON for curl.
set -u
out="$(dirname "$0")/../../../Tests/KubeProtoJSONTests/Fixtures"
B=https://127.0.0.1:6443
C=(-A outpost-fixture-capture -s --cacert /var/tmp/kube-lab/run/pki/ca.crt -H 'Authorization: Bearer kube-lab-admin-token')
cap() {
  curl "${C[@]}" -H 'Accept: application/json' "$B$2" -o "$out/$1.json" || echo "FAIL json $1"
  curl "${C[@]}" -H 'Accept: application/vnd.kubernetes.protobuf' "$B$2" -o "$out/$1.pb" || echo "FAIL pb $1"
}
N=/api/v1/namespaces/protojson-fixtures
cap pod $N/pods/pod-rich
cap service $N/services/svc-rich
cap node /api/v1/nodes/edge-node-1
cap configmap $N/configmaps/cm-rich
cap secret $N/secrets/secret-rich
cap endpoints $N/endpoints/svc-rich
cap namespace /api/v1/namespaces/protojson-fixtures
cap event-core $N/events/event-core
cap lease /apis/coordination.k8s.io/v1/namespaces/protojson-fixtures/leases/lease-rich
cap event-v1 /apis/events.k8s.io/v1/namespaces/protojson-fixtures/events/event-v1
cap endpointslice /apis/discovery.k8s.io/v1beta1/namespaces/protojson-fixtures/endpointslices/slice-rich
cap deployment /apis/apps/v1/namespaces/protojson-fixtures/deployments/deploy-rich
cap statefulset /apis/apps/v1/namespaces/protojson-fixtures/statefulsets/sts-rich
cap daemonset /apis/apps/v1/namespaces/protojson-fixtures/daemonsets/ds-rich
cap configmap-list "$N/configmaps"
cap status-notfound $N/pods/does-not-exist-xyz   # a 404 Status body in both formats
