#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Request throughput of lifetime-demo GET /hello against peers measured in the same run.
#
#   bench/http/throughput.sh [--quick] [--demo PATH] [--rounds N] [--duration SECONDS]
#                            [--connections N] [--wrk-threads N] [--server-threads N]
#                            [--compare PATH]
#
# Servers, all on 127.0.0.1, all with the same number of server threads:
#   demo      lifetime-demo, GET /hello
#   demo-off  lifetime-demo --request-cancellation=off: no request token, no disconnect read
#   beast     Boost.Beast's own example http_server_async (Debian's libboost1.81-doc), built here
#             with g++ -O2, serving a file with the same body as the demo's /hello
#   nginx     nginx `return 200` with the same body: the ceiling
#   go        bench/peers/go (Go net/http, GOMAXPROCS = server threads), built with Debian's go
#   compare   with --compare PATH: another lifetime-demo binary (a patched build), same options
# Each round runs wrk once against every server, in an order that rotates from round to round;
# the table reports the median of the per-round ratios, because single runs on a small shared
# machine vary a lot. Missing wrk, nginx, go or the Beast example source: said and skipped (the
# script installs nothing; scripts/install-deps --bench does). Without a lifetime-demo binary, only the peers are measured.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

rounds=5
duration=5
connections=64
wrk_threads=1
server_threads=1
demo=${LIFETIME_DEMO-auto}
compare=
quick=0
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --demo) demo=$2; shift ;;
    --compare) compare=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --wrk-threads) wrk_threads=$2; shift ;;
    --server-threads) server_threads=$2; shift ;;
    -h|--help) sed -n '3,20p' "$0"; exit 0 ;;
    *) echo "throughput.sh: unknown argument $1" >&2; exit 64 ;;
  esac
  shift
done
if ((quick)); then
  rounds=1
  duration=1
  connections=16
fi

if ! command -v wrk >/dev/null; then
  echo "throughput.sh: wrk not installed (apt-get install wrk): skipped"
  exit 0
fi

if [[ $demo == auto ]]; then
  # The newest optimised build (Release or RelWithDebInfo, no sanitizer), else the newest.
  demo=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib
try:
    print(benchlib.find_demo())
except benchlib.Skip:
    pass' "$here")
fi
[[ -n $demo ]] && echo "lifetime-demo: $demo"
if [[ -n $demo && ! -x $demo ]]; then
  echo "throughput.sh: $demo is not an executable" >&2
  exit 66
fi

work=$(mktemp -d /tmp/lifetime-throughput.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Prints the body of GET $1; fails unless it answers 200.
http_get() {
  python3 -c 'import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.stdout.buffer.write(r.read())' "$1" 2>/dev/null
}

# Waits until GET http://127.0.0.1:$1$2 answers 200, up to 10 s.
wait_ready() {
  local deadline=$((SECONDS + 10))
  until http_get "http://127.0.0.1:$1$2" >/dev/null; do
    if ((SECONDS > deadline)); then
      echo "throughput.sh: server on port $1 did not answer $2" >&2
      return 1
    fi
    sleep 0.05
  done
}

# --- servers ------------------------------------------------------------------------------------
declare -A url pid_of
names=()

# Takes the server just started in the background (the last pid) as `name`, once
# http://127.0.0.1:$port$path answers.
add_server() {
  local name=$1 port=$2 path=$3
  pids+=($!)
  wait_ready "$port" "$path"
  url[$name]="http://127.0.0.1:$port$path"
  pid_of[$name]=${pids[-1]}
  names+=("$name")
}

body="Hello, world!"$'\n'
if [[ -n $demo ]]; then
  modes=(on off)
  [[ -n $compare ]] && modes+=(compare)
  for mode in "${modes[@]}"; do
    port=$(free_port)
    args=(--listen "127.0.0.1:$port" --threads "$server_threads" --storage-dir "$work/storage-$mode"
          --log-level warn)
    [[ $mode == off ]] && args+=(--request-cancellation=off)
    # shellcheck disable=SC2206
    args+=(${LIFETIME_DEMO_ARGS:-})
    binary=$demo
    [[ $mode == compare ]] && binary=$compare
    "$binary" "${args[@]}" >"$work/demo-$mode.log" 2>&1 &
    pids+=($!)
    wait_ready "$port" /hello || { cat "$work/demo-$mode.log" >&2; exit 1; }
    name=demo; [[ $mode == off ]] && name=demo-off; [[ $mode == compare ]] && name=compare
    url[$name]="http://127.0.0.1:$port/hello"
    pid_of[$name]=$!
    names+=("$name")
  done
  body=$(http_get "${url[demo]}"; printf x)
  body=${body%x}
else
  echo "throughput.sh: no lifetime-demo binary (build/*/demo/lifetime-demo or --demo): measuring the peers only"
fi
body_size=${#body}

beast_src=/usr/share/doc/libboost1.81-doc/examples/libs/beast/example/http/server/async/http_server_async.cpp
if [[ -f $beast_src ]]; then
  cache=${LIFETIME_BENCH_CACHE:-/tmp/lifetime-bench-cache}
  mkdir -p "$cache"
  beast_bin=$cache/http_server_async-$(sha256sum "$beast_src" | cut -c1-16)
  if [[ ! -x $beast_bin ]]; then
    echo "building Boost.Beast's http_server_async (g++ -O2) ..."
    g++ -O2 -std=c++17 -w -o "$beast_bin.tmp" "$beast_src" -pthread
    mv "$beast_bin.tmp" "$beast_bin"
  fi
  mkdir -p "$work/docroot"
  printf '%s' "$body" >"$work/docroot/hello"
  port=$(free_port)
  "$beast_bin" 127.0.0.1 "$port" "$work/docroot" "$server_threads" >"$work/beast.log" 2>&1 &
  add_server beast "$port" /hello
else
  echo "throughput.sh: $beast_src missing (apt-get install libboost1.81-doc): Beast baseline skipped"
fi

if command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; then
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  port=$(free_port)
  mkdir -p "$work/nginx"
  escaped=${body//\\/\\\\}
  escaped=${escaped//\"/\\\"}
  escaped=${escaped//$'\n'/\\n}
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $server_threads;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "$escaped"; }
  }
}
EOF
  "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" \
    >"$work/nginx.log" 2>&1 &
  add_server nginx "$port" /
else
  echo "throughput.sh: nginx not installed (apt-get install nginx-light): ceiling skipped"
fi

if command -v go >/dev/null; then
  go_bin=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib
print(benchlib.build_go_peer())' "$here")
  port=$(free_port)
  GOMAXPROCS=$server_threads "$go_bin" --listen "127.0.0.1:$port" >"$work/go.log" 2>&1 &
  add_server go "$port" /hello
else
  echo "throughput.sh: go not installed (apt-get install golang-go): Go net/http peer skipped"
fi

if ((${#names[@]} == 0)); then
  echo "throughput.sh: nothing to measure"
  exit 0
fi

# CPU time (clock ticks, user + system) of a server process and its children (nginx workers).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    if [[ -r /proc/$pid/stat ]]; then
      # Fields after the command name (which may hold spaces): utime is 14th, stime 15th overall.
      local rest
      rest=$(sed 's/^.*) //' "/proc/$pid/stat")
      total=$((total + $(awk '{print $12 + $13}' <<<"$rest")))
    fi
  done
  echo "$total"
}

# --- rounds -------------------------------------------------------------------------------------
# One line per measurement: round name requests_per_second socket_errors non_2xx cpu_us_per_request
results=$work/results.txt
: >"$results"
echo "wrk -t$wrk_threads -c$connections -d${duration}s, $server_threads server thread(s), $rounds round(s), body $body_size bytes"
for ((round = 1; round <= rounds; ++round)); do
  count=${#names[@]}
  for ((k = 0; k < count; ++k)); do
    name=${names[$(((k + round - 1) % count))]}
    ticks_before=$(cpu_ticks "${pid_of[$name]}")
    out=$(wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" "${url[$name]}")
    ticks_after=$(cpu_ticks "${pid_of[$name]}")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
      'BEGIN { printf "%.3f", (n > 0 ? t * 1e6 / hz / n : 0) }')
    errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    [[ -n $rps ]] || { echo "wrk failed against $name:" >&2; echo "$out" >&2; exit 1; }
    echo "$round $name $rps ${errors:-0} ${non2xx:-0} $cpu_us" >>"$results"
    printf '  round %d %-9s %12.0f req/s %8.2f us CPU/request\n' "$round" "$name" "$rps" "$cpu_us"
  done
done

# --- table --------------------------------------------------------------------------------------
python3 - "$results" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
by = {}
for r, name, rps, errors, non2xx, cpu in rows:
    by.setdefault(name, {})[int(r)] = (float(rps), int(errors), int(non2xx), float(cpu))
names = list(by)
rounds = sorted(next(iter(by.values())))

def ratios(a, b, field=0):
    return [by[a][r][field] / by[b][r][field] for r in rounds
            if r in by[a] and r in by[b] and by[b][r][field] > 0]

def fmt(values):
    if not values:
        return "n/a"
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"

print()
print("| server | median req/s | req/s ratio to Beast, median of rounds (min–max) | "
      "server CPU µs/request | CPU/request ratio to Beast (min–max) | socket errors | non-2xx |")
print("|---|---:|---|---:|---|---:|---:|")
for name in names:
    med = statistics.median(v[0] for v in by[name].values())
    cpu = statistics.median(v[3] for v in by[name].values())
    errs = sum(v[1] for v in by[name].values())
    bad = sum(v[2] for v in by[name].values())
    ratio = fmt(ratios(name, "beast")) if "beast" in by else "n/a"
    cpu_ratio = fmt(ratios(name, "beast", 3)) if "beast" in by else "n/a"
    print(f"| {name} | {med:,.0f} | {ratio} | {cpu:.2f} | {cpu_ratio} | {errs} | {bad} |")
print()
if "demo" in by and "beast" in by:
    print(f"- lifetime-demo / Beast example, req/s: {fmt(ratios('demo', 'beast'))} (target >= 1.0); "
          f"CPU per request: {fmt(ratios('demo', 'beast', 3))} (lower is better)")
if "demo" in by and "demo-off" in by:
    costs = [1 - x for x in ratios("demo", "demo-off")]
    cpu_costs = [x - 1 for x in ratios("demo", "demo-off", 3)]
    print(f"- cost of request tokens and disconnect detection (target <= 3 %): "
          f"req/s 1 - on/off {100 * statistics.median(costs):.1f} % "
          f"(rounds {', '.join(f'{100 * c:.1f}' for c in costs)}); "
          f"CPU per request on/off - 1 {100 * statistics.median(cpu_costs):.1f} % "
          f"(rounds {', '.join(f'{100 * c:.1f}' for c in cpu_costs)})")
if "compare" in by and "demo" in by:
    print(f"- --compare build / lifetime-demo: req/s {fmt(ratios('compare', 'demo'))}, "
          f"CPU per request {fmt(ratios('compare', 'demo', 3))}")
if "compare" in by and "demo-off" in by:
    cpu_costs = [x - 1 for x in ratios("compare", "demo-off", 3)]
    print(f"- --compare build, CPU per request / --request-cancellation=off - 1: "
          f"{100 * statistics.median(cpu_costs):.1f} % (rounds {', '.join(f'{100 * c:.1f}' for c in cpu_costs)})")
if "go" in by and "demo" in by:
    print(f"- lifetime-demo / Go net/http: req/s {fmt(ratios('demo', 'go'))}, "
          f"CPU per request {fmt(ratios('demo', 'go', 3))}")
if "nginx" in by and "demo" in by:
    print(f"- lifetime-demo / nginx `return 200` (target >= 0.9): req/s {fmt(ratios('demo', 'nginx'))}, "
          f"CPU per request {fmt(ratios('demo', 'nginx', 3))}")
if "nginx" in by and "compare" in by:
    print(f"- --compare build / nginx: req/s {fmt(ratios('compare', 'nginx'))}")
EOF
