#!/bin/bash
# Sets the statuses a kubelet would (there is none in the lab) on the objects of objects.yaml.
set -eu
B=https://127.0.0.1:6443
C=(-s -o /dev/null -w '%{http_code} ' --cacert /var/tmp/kube-lab/run/pki/ca.crt -H 'Authorization: Bearer kube-lab-admin-token'
   -X PATCH -H 'Content-Type: application/merge-patch+json')
P=$B/api/v1/namespaces/table-fixtures/pods
T=2026-12-01T08:00:00Z
curl "${C[@]}" $P/pod-running/status -d '{"status":{"phase":"Running","podIP":"10.1.0.1","podIPs":[{"ip":"10.1.0.1"},{"ip":"fd00::1"}],"nominatedNodeName":"table-node-b","conditions":[{"type":"Ready","status":"True"},{"type":"example.com/gate","status":"True"}],"containerStatuses":[{"name":"a","ready":true,"restartCount":2,"image":"busybox","imageID":"","state":{"running":{"startedAt":"'$T'"}}},{"name":"b","ready":false,"restartCount":1,"image":"busybox","imageID":"","state":{"running":{"startedAt":"'$T'"}}}]}}'
curl "${C[@]}" $P/pod-crash/status -d '{"status":{"phase":"Running","containerStatuses":[{"name":"a","ready":false,"restartCount":12,"image":"busybox","imageID":"","state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}'
curl "${C[@]}" $P/pod-done/status -d '{"status":{"phase":"Succeeded","containerStatuses":[{"name":"a","ready":false,"restartCount":0,"image":"busybox","imageID":"","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}'
curl "${C[@]}" $P/pod-init/status -d '{"status":{"phase":"Pending","initContainerStatuses":[{"name":"i1","ready":false,"restartCount":0,"image":"busybox","imageID":"","state":{"terminated":{"exitCode":0}}},{"name":"i2","ready":false,"restartCount":3,"image":"busybox","imageID":"","state":{"running":{}}}]}}'
curl "${C[@]}" $P/pod-initfail/status -d '{"status":{"phase":"Pending","initContainerStatuses":[{"name":"i1","ready":false,"restartCount":1,"image":"busybox","imageID":"","state":{"terminated":{"exitCode":2,"signal":9}}}]}}'
curl "${C[@]}" $P/pod-failed/status -d '{"status":{"phase":"Failed","reason":"Evicted","containerStatuses":[{"name":"a","ready":false,"restartCount":0,"image":"busybox","imageID":"","state":{"terminated":{"exitCode":137}}}]}}'
curl "${C[@]}" $B/api/v1/nodes/table-node-a/status -d '{"status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}],"addresses":[{"type":"InternalIP","address":"10.0.0.5"},{"type":"ExternalIP","address":"203.0.113.5"},{"type":"Hostname","address":"a"}],"nodeInfo":{"kubeletVersion":"v1.20.2","osImage":"Debian GNU/Linux 12","kernelVersion":"6.1.0","containerRuntimeVersion":"containerd://1.6","machineID":"","systemUUID":"","bootID":"","kubeProxyVersion":"","operatingSystem":"linux","architecture":"amd64"}}}'
curl "${C[@]}" $B/api/v1/nodes/table-node-b/status -d '{"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}}'
curl "${C[@]}" $B/api/v1/namespaces/table-fixtures/services/svc-lb/status -d '{"status":{"loadBalancer":{"ingress":[{"hostname":"lb.example.com"},{"ip":"198.51.100.7"}]}}}'
echo
