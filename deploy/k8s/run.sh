#!/bin/sh
# Runs one distributed engage loadtest on Kubernetes: SHARDS pods of one plan, then the merge.
#   deploy/k8s/run.sh [SHARDS] [RUN_ID]
# Needs kubectl, the image engage:latest (deploy/Dockerfile) and an engage serve reachable as
# ws://engage-serve:8080 from the pods (or edit --url in loadtest-job.yaml).
set -eu
SHARDS=${1:-3}
RUN_ID=${2:-run-$(date -u +%Y%m%d-%H%M%S)}
# Far enough ahead for every pod to be scheduled and pull the image: shards ramp as one from then.
START_AT=$(date -u -d "+90 seconds" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -v+90S +%Y-%m-%dT%H:%M:%SZ)
dir=$(dirname "$0")
fill() { sed -e "s/RUN_ID/$RUN_ID/g" -e "s/START_AT/$START_AT/g" -e "s/SHARDS/$SHARDS/g" "$1"; }
fill "$dir/loadtest-job.yaml" | kubectl apply -f -
# Complete or failed, every shard wrote its report: merge either way (a failed shard shows in the merge).
kubectl wait --for=condition=complete --timeout=30m "job/engage-loadtest-$RUN_ID" ||
  echo "some shard failed; merging what was written" >&2
fill "$dir/merge-job.yaml" | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=5m "job/engage-merge-$RUN_ID" || true
kubectl logs "job/engage-merge-$RUN_ID"
