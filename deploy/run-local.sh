#!/usr/bin/env bash
# The deploy/ example without Docker, on loopback: a real redis-server, three `engage serve --redis`
# from this checkout's build, and nginx running deploy/nginx.conf (its upstream and listen addresses
# rewritten to loopback ports). It then drives a signaling-only load test through nginx, shows which
# instance answered each /healthz, and stops everything. Needs redis-server and nginx (Debian:
# apt-get install redis-server nginx-light) and `npm run build`. Bounded: about 30 s, stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGAGE="node bin/engage.js"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --daemonize no >"$tmp/redis.log" &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "redis-server on 127.0.0.1:$redis_port"

urls=()
rewrite=()
for id in engage-1 engage-2 engage-3; do
  port=$(free_port)
  $ENGAGE serve --port "$port" --redis "redis://127.0.0.1:$redis_port" --instance-id "$id" --log-level warn \
    >"$tmp/$id.out" 2>"$tmp/$id.err" &
  pids+=($!)
  urls+=("ws://127.0.0.1:$port")
  rewrite+=(-e "s/server $id:8080/server 127.0.0.1:$port/")
done
for _ in $(seq 100); do [ "$(cat "$tmp"/engage-*.out | grep -c ws://)" = 3 ] && break; sleep 0.1; done
echo "engage serve --redis instances: ${urls[*]}"

nginx_port=$(free_port)
sed "${rewrite[@]}" -e "s/listen 80;/listen 127.0.0.1:$nginx_port;/" -e "s#pid /tmp/nginx.pid;#pid $tmp/nginx.pid;#" \
  deploy/nginx.conf >"$tmp/nginx.conf"
nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$nginx_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "nginx on 127.0.0.1:$nginx_port, running deploy/nginx.conf"

echo
echo "/healthz through nginx, six times (round robin over the instances):"
for _ in $(seq 6); do curl -fsS "http://127.0.0.1:$nginx_port/healthz"; echo; done

echo
echo "engage loadtest through nginx: 30 signaling-only bots in 6 rooms"
$ENGAGE loadtest -n 30 --rooms 6 --signaling-only --ramp 30 --duration 3s --url "ws://127.0.0.1:$nginx_port" \
  --threshold 'links_failed:count==0' --threshold 'signal_errors:count==0' | sed -n '1,/^GENERATOR/p'

echo
echo "sockets each instance took through nginx (engage_messages_in_total{action=\"new-join\"}):"
for url in "${urls[@]}"; do
  printf '  %s  ' "$url"
  curl -fsS "${url/ws/http}/metrics" | grep '^engage_messages_in_total{action="new-join"}' || echo '0'
done
