#!/bin/sh
# Runs one distributed engage loadtest over ssh: shard i of the plan on the i-th host, then the merge here.
#   deploy/ssh/run.sh ws://10.0.0.5:8080 gen1 gen2 gen3 -- -n 60 --rooms 1 --duration 60s
# Each host needs engage installed (npm ci in a checkout, `engage` on PATH) and a clock kept by NTP.
set -eu
URL=$1
shift
hosts=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do hosts="$hosts $1"; shift; done
[ $# -gt 0 ] && shift
n=$(echo $hosts | wc -w)
RUN_ID=run-$(date -u +%Y%m%d-%H%M%S)
START_AT=$(date -u -d "+30 seconds" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -v+30S +%Y-%m-%dT%H:%M:%SZ)
i=0
for h in $hosts; do
  # The same flags on every host; only --shard differs. Exit codes are kept: the merge judges the run.
  ssh "$h" engage loadtest --url "$URL" --run-id "$RUN_ID" --start-at "$START_AT" --shard "$i/$n" \
    --json "/tmp/$RUN_ID-$i.json" "$@" >"$RUN_ID-$i.log" 2>&1 &
  i=$((i + 1))
done
wait || true
i=0
for h in $hosts; do scp -q "$h:/tmp/$RUN_ID-$i.json" . ; i=$((i + 1)); done
exec engage report merge "$RUN_ID"-*.json --json "$RUN_ID.json" --html "$RUN_ID.html"
