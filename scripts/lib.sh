# shellcheck shell=bash
# Helpers shared by the developer-environment scripts (start, test, stack-check, stop).
# Source it; every sy_ensure_* function checks first and only acts when something is
# missing, so each script can run any number of times. The machine this targets is
# Debian 12 as root with no init system and no internet apart from the package
# registries (see shared/ENVIRONMENT.md): daemons are started detached by hand and
# nothing is downloaded from anywhere else.

SY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SY_STATE_DIR="${SWITCHYARD_STATE_DIR:-/var/lib/switchyard}"
SY_TOOLS_DIR="${SWITCHYARD_TOOLS_DIR:-/opt/switchyard-tools}"
# A bridge owned by the project; worker dockerds in network namespaces attach to it.
SY_BRIDGE="${SWITCHYARD_BRIDGE:-sybr0}"
SY_BRIDGE_CIDR="${SWITCHYARD_BRIDGE_CIDR:-10.213.0.1/24}"
SY_BRIDGE_ADDR="${SY_BRIDGE_CIDR%/*}"
# The swarm manager and the registry live on the bridge, not on loopback, so that the
# worker dockerds of scripts/cluster reach both (a worker's 127.0.0.1 is its own).
SY_REGISTRY_ADDR="${SWITCHYARD_REGISTRY_ADDR:-$SY_BRIDGE_ADDR:5000}"
# Empty: advertise 127.0.0.1 and fall back to the project's bridge if swarm refuses it.
SY_SWARM_ADDR="${SWITCHYARD_SWARM_ADDR-$SY_BRIDGE_ADDR}"
# The release build's npm tools (xtask/: wasm-opt, the JS glue's minifier, the style sheet's).
SY_SITE_TOOLS=(binaryen@132.0.0 esbuild@0.28.2 lightningcss-cli@1.33.0)
SY_DOCKERD_LOG="/var/log/dockerd.log"
SY_REGISTRY_LOG="/var/log/switchyard-registry.log"

export PATH="$SY_TOOLS_DIR/node_modules/.bin:${CARGO_HOME:-${HOME:-/root}/.cargo}/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

sy_log() { printf '==> %s\n' "$*" >&2; }
sy_warn() { printf '==> WARNING: %s\n' "$*" >&2; }
sy_die() {
  printf '==> ERROR: %s\n' "$*" >&2
  exit 1
}

# True when PID is alive and its executable's basename is NAME.
sy_pid_is() {
  local pid="$1" name="$2" exe
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [[ "$(basename "${exe% (deleted)}")" == "$name" ]]
}

# Poll URL until it answers 2xx or DEADLINE_SECS pass. With PID, fail early if it dies.
sy_wait_http() {
  local url="$1" deadline=$((SECONDS + ${2:-60})) pid="${3:-}" code
  while ((SECONDS < deadline)); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null)" || true
    [[ "$code" == 2?? ]] && return 0
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      sy_warn "process $pid exited while waiting for $url"
      return 1
    fi
    sleep 0.5
  done
  sy_warn "$url did not answer 2xx within ${2:-60}s (last status: ${code:-none})"
  return 1
}

# --- packages and toolchains -------------------------------------------------------

SY_APT_UPDATED=""
sy_ensure_apt() {
  local pkg missing=()
  for pkg in "$@"; do
    [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" == "install ok installed" ]] ||
      missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    sy_log "apt packages present: $*"
    return 0
  fi
  if [[ -z "$SY_APT_UPDATED" ]]; then
    sy_log "apt-get update (missing: ${missing[*]})"
    apt-get update -q >&2
    SY_APT_UPDATED=1
  fi
  sy_log "apt-get install ${missing[*]}"
  apt-get install -y -q "${missing[@]}" >&2
}

# cargo must already be there: no rustup installer can be fetched on these machines.
# Arguments: the rustup targets to add when missing.
sy_ensure_rust() {
  command -v cargo >/dev/null ||
    sy_die "cargo not found (looked on PATH and in ~/.cargo/bin). Install a Rust toolchain with rustup first; this script cannot fetch one."
  command -v rustup >/dev/null ||
    sy_die "rustup not found: it is needed to add the targets $*"
  local installed target
  installed="$(rustup target list --installed)"
  for target in "$@"; do
    if grep -qx "$target" <<<"$installed"; then
      sy_log "rust target present: $target"
    else
      sy_log "rustup target add $target"
      rustup target add "$target" >&2
    fi
  done
  sy_log "$(cargo --version)"
}

# Node and npm come with the machine (Debian's own nodejs is 18, too old for Playwright).
sy_ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    sy_die "node and npm not found: Node.js 20 or newer is needed"
  fi
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || sy_die "Node.js $(node --version) is too old: 20 or newer is needed"
  sy_log "node $(node --version), npm $(npm --version 2>/dev/null)"
}

# The npm tools the release build runs (cargo xtask build): binaryen's wasm-opt (Debian's binaryen
# is 108, too old for today's wasm), esbuild and lightningcss. Installed into SY_TOOLS_DIR, each
# at the version SY_SITE_TOOLS pins; nothing is installed when all are there at those versions.
sy_ensure_site_tools() {
  local spec name want have missing=()
  for spec in "${SY_SITE_TOOLS[@]}"; do
    name="${spec%@*}" want="${spec##*@}"
    have="$(node -p "require('$SY_TOOLS_DIR/node_modules/$name/package.json').version" 2>/dev/null || true)"
    [[ "$have" == "$want" ]] || missing+=("$spec")
  done
  if ((${#missing[@]} == 0)); then
    sy_log "site tools present: ${SY_SITE_TOOLS[*]}"
    return 0
  fi
  sy_ensure_node
  sy_log "npm install ${missing[*]} into $SY_TOOLS_DIR"
  mkdir -p "$SY_TOOLS_DIR"
  npm install --prefix "$SY_TOOLS_DIR" --no-audit --no-fund --no-update-notifier --save-exact --loglevel=error \
    "${missing[@]}" >&2
  hash -r
  local tool
  for tool in wasm-opt esbuild lightningcss; do
    "$tool" --version >/dev/null 2>&1 || sy_die "$tool from $SY_TOOLS_DIR does not run"
  done
}

# npm ci in end2end/ when node_modules is missing or was installed from another
# package-lock.json (a stamp in node_modules records the lock file's hash).
sy_ensure_e2e_deps() {
  sy_ensure_node
  local dir="$SY_ROOT/end2end" stamp want
  stamp="$dir/node_modules/.switchyard-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | awk '{print $1}')"
  if [[ -x "$dir/node_modules/.bin/playwright" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    sy_log "end2end node_modules up to date"
    return 0
  fi
  sy_log "npm ci in end2end"
  # Playwright's browser download cannot work here; Debian's chromium is used instead.
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >&2)
  echo "$want" >"$stamp"
}

# schemathesis (PyPI) for scripts/fuzz-api, in a virtualenv so the system Python is untouched.
SY_SCHEMATHESIS_VERSION="4.32.5"
sy_ensure_schemathesis() {
  local venv="$SY_TOOLS_DIR/schemathesis" have
  have="$("$venv/bin/st" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true)"
  if [[ "$have" == "$SY_SCHEMATHESIS_VERSION" ]]; then
    sy_log "schemathesis present: $have"
    return 0
  fi
  sy_log "pip install schemathesis==$SY_SCHEMATHESIS_VERSION into $venv (found: ${have:-none})"
  mkdir -p "$SY_TOOLS_DIR"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SY_SCHEMATHESIS_VERSION" >&2
}

# --- docker, swarm, registry -------------------------------------------------------

sy_docker_up() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# The project's bridge: its address serves as swarm advertise address when loopback
# is refused, and later as the manager's address for worker dockerds in namespaces.
sy_ensure_bridge() {
  if ! ip link show "$SY_BRIDGE" >/dev/null 2>&1; then
    sy_log "creating bridge $SY_BRIDGE ($SY_BRIDGE_CIDR)"
    ip link add "$SY_BRIDGE" type bridge
  fi
  if [[ " $(ip -o -4 addr show dev "$SY_BRIDGE") " != *" $SY_BRIDGE_CIDR "* ]]; then
    ip addr add "$SY_BRIDGE_CIDR" dev "$SY_BRIDGE"
  fi
  ip link set "$SY_BRIDGE" up
}

# True when ADDR (an IP) is assigned to one of this machine's interfaces.
sy_addr_is_local() {
  [[ -n "$1" ]] && ip -o addr show | awk -v a="$1" 'BEGIN { r = 1 } { sub(/\/.*/, "", $4); if ($4 == a) r = 0 } END { exit r }'
}

sy_ensure_dockerd() {
  if sy_docker_up; then
    sy_log "dockerd running: $(docker info --format '{{.ServerVersion}}')"
    return 0
  fi
  command -v dockerd >/dev/null || sy_die "dockerd not found: install the docker.io package"
  # Swarm state left on disk may advertise the project's bridge: recreate it before
  # dockerd starts, so the old swarm comes back instead of failing on a missing address.
  if [[ "$SY_SWARM_ADDR" == "$SY_BRIDGE_ADDR" ]] ||
    grep -qF "\"$SY_BRIDGE_ADDR" /var/lib/docker/swarm/docker-state.json 2>/dev/null; then
    sy_ensure_bridge
  fi
  local pid
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  if sy_pid_is "$pid" dockerd; then
    sy_log "dockerd (pid $pid) is starting; waiting for it"
  else
    sy_log "starting dockerd (log: $SY_DOCKERD_LOG)"
    "$SY_ROOT/scripts/detached" dockerd >>"$SY_DOCKERD_LOG" 2>&1 </dev/null &
  fi
  local deadline=$((SECONDS + 90))
  until sy_docker_up; do
    if ((SECONDS >= deadline)); then
      tail -n 30 "$SY_DOCKERD_LOG" >&2 || true
      sy_die "dockerd did not answer 'docker info' within 90s (log above: $SY_DOCKERD_LOG)"
    fi
    sleep 0.5
  done
  sy_log "dockerd up: $(docker info --format '{{.ServerVersion}}')"
}

sy_swarm_state() {
  docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}}' 2>/dev/null
}

sy_swarm_init() {
  local addr="$1"
  [[ "$addr" == "$SY_BRIDGE_ADDR" ]] && sy_ensure_bridge
  sy_log "docker swarm init --advertise-addr $addr"
  docker swarm init --advertise-addr "$addr" >/dev/null
}

# The address this machine's swarm manager advertises (after sy_ensure_swarm).
sy_swarm_addr() { docker info --format '{{.Swarm.NodeAddr}}'; }

sy_ensure_swarm() {
  local state control addr why="" deadline=$((SECONDS + 30))
  # A node coming back from disk shows "pending", or an active node whose raft is
  # not ready yet, for a few seconds: wait for that rather than destroy the swarm.
  while :; do
    read -r state control addr < <(sy_swarm_state) || true
    if [[ "$state" == active ]] && ! sy_addr_is_local "$addr"; then
      why="its advertised address ${addr:-?} no longer exists here"
    elif [[ "$state" == active && -n "$SY_SWARM_ADDR" && "$SY_SWARM_ADDR" != "$addr" ]]; then
      why="it advertises $addr but SWITCHYARD_SWARM_ADDR=$SY_SWARM_ADDR"
    elif [[ "$state" == active && "$control" == true ]] && docker node ls >/dev/null 2>&1; then
      sy_log "swarm manager active, advertising $addr"
      break
    elif [[ "$state" == inactive ]]; then
      why=""
    elif [[ "$state" == error || "$state" == locked ]]; then
      why="state=$state"
    elif ((SECONDS >= deadline)); then
      why="state=$state manager=$control after 30s"
    else
      sleep 0.5
      continue
    fi
    if [[ -n "$why" ]]; then
      sy_log "swarm unusable ($why): docker swarm leave --force"
      docker swarm leave --force >/dev/null 2>&1 || true
    fi
    if [[ -n "$SY_SWARM_ADDR" ]]; then
      sy_swarm_init "$SY_SWARM_ADDR"
    elif ! sy_swarm_init 127.0.0.1; then
      sy_warn "swarm refused 127.0.0.1; advertising the project bridge $SY_BRIDGE_ADDR instead"
      sy_swarm_init "$SY_BRIDGE_ADDR"
    fi
    read -r state control addr < <(sy_swarm_state) || true
    [[ "$state" == active && "$control" == true ]] ||
      sy_die "swarm init did not give an active manager (state=$state)"
    sy_log "swarm manager active, advertising $addr"
    break
  done
  # Switchyard attaches processes to attachable overlay networks: prove one can be made.
  local probe="switchyard-overlay-probe"
  docker network rm "$probe" >/dev/null 2>&1 || true
  docker network create -d overlay --attachable "$probe" >/dev/null ||
    sy_die "cannot create an attachable overlay network"
  docker network rm "$probe" >/dev/null
  sy_log "attachable overlay networks work"
}

sy_registry_trusted() {
  local list
  list="$(docker info --format '{{range $k, $v := .RegistryConfig.IndexConfigs}}{{$k}} {{$v.Secure}}{{"\n"}}{{end}}')"
  grep -qx "$1 false" <<<"$list"
}

# dockerd trusts 127.0.0.0/8 by default; any other registry address must be listed
# as insecure (plain HTTP). The setting is reloadable: SIGHUP, no restart.
sy_ensure_insecure_registry() {
  local addr="$1" host="${1%:*}"
  [[ "$host" == 127.* || "$host" == localhost ]] && return 0
  if sy_registry_trusted "$addr"; then
    sy_log "dockerd already trusts $addr as an insecure registry"
    return 0
  fi
  sy_log "adding $addr to insecure-registries in /etc/docker/daemon.json and reloading dockerd"
  mkdir -p /etc/docker
  python3 - "$addr" <<'EOF'
import json, os, sys
path = "/etc/docker/daemon.json"
conf = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
regs = conf.setdefault("insecure-registries", [])
if sys.argv[1] not in regs:
    regs.append(sys.argv[1])
with open(path, "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
EOF
  local pid
  pid="$(cat /var/run/docker.pid)"
  sy_pid_is "$pid" dockerd || sy_die "cannot find dockerd's pid to reload it"
  kill -HUP "$pid"
  local deadline=$((SECONDS + 20))
  until sy_registry_trusted "$addr"; do
    ((SECONDS < deadline)) || sy_die "dockerd did not pick up insecure registry $addr after SIGHUP"
    sleep 0.5
  done
}

sy_ensure_registry() {
  local addr="$SY_REGISTRY_ADDR" dir="$SY_STATE_DIR/registry"
  local config="$dir/config.yml"
  if [[ "${addr%:*}" == "$SY_BRIDGE_ADDR" ]]; then sy_ensure_bridge; fi
  sy_ensure_insecure_registry "$addr"
  if curl -fsS --max-time 5 -o /dev/null "http://$addr/v2/" 2>/dev/null; then
    sy_log "registry answering at http://$addr/v2/"
    return 0
  fi
  command -v docker-registry >/dev/null || sy_die "docker-registry not found: install the docker-registry package"
  mkdir -p "$dir/data"
  cat >"$config.new" <<EOF
# Written by scripts/lib.sh (sy_ensure_registry); rewritten on every start.
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  mv "$config.new" "$config"
  sy_log "starting docker-registry on $addr (config: $config, log: $SY_REGISTRY_LOG)"
  "$SY_ROOT/scripts/detached" docker-registry serve "$config" >>"$SY_REGISTRY_LOG" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/registry.pid"
  if ! sy_wait_http "http://$addr/v2/" 30 "$pid"; then
    tail -n 20 "$SY_REGISTRY_LOG" >&2 || true
    sy_die "registry did not answer at http://$addr/v2/ (log above: $SY_REGISTRY_LOG)"
  fi
  sy_log "registry answering at http://$addr/v2/ (pid $pid)"
}

# The config digest the registry serves for IMAGE (REGISTRY/REPO:TAG), or nothing if it has no
# such tag.
sy_registry_config_digest() {
  local ref="${1#*/}"
  curl -fsS --max-time 10 -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
    "http://$SY_REGISTRY_ADDR/v2/${ref%:*}/manifests/${ref##*:}" 2>/dev/null | jq -r '.config.digest // empty' 2>/dev/null || true
}

# Push IMAGE (built locally) unless the registry already serves the same image: its config digest
# is the local image id. Prints "unchanged" or "pushed"; dies when the registry does not serve the
# image after the push.
sy_push_if_changed() {
  local image="$1" id
  id="$(docker image inspect --format '{{.Id}}' "$image")"
  if [[ "$(sy_registry_config_digest "$image")" == "$id" ]]; then
    echo unchanged
    return 0
  fi
  sy_log "docker push $image"
  docker push -q "$image" >/dev/null
  [[ "$(sy_registry_config_digest "$image")" == "$id" ]] || sy_die "after the push the registry does not serve $image with config $id"
  echo pushed
}

# The whole local stack the server and the tests need.
sy_ensure_stack() {
  sy_ensure_dockerd
  sy_ensure_swarm
  sy_ensure_registry
}

# --- the Switchyard server ---------------------------------------------------------

SY_BIN="${SWITCHYARD_BIN:-$SY_ROOT/target/release/switchyard}"
SY_SITE="$SY_ROOT/target/site"
# The release build, one command for every script: the site (the editors split into modules of
# their own, every file named by its content's hash, a gzip and a Brotli copy of each) and the
# server, built alongside each other by xtask/ (README, "How it is built"). The first run compiles
# the tool itself, about a minute and a half.
SY_BUILD=(cargo xtask build)

sy_build_release() {
  sy_ensure_site_tools
  (cd "$SY_ROOT" && "${SY_BUILD[@]}" "$@")
}

# A TCP port nothing listens on at the moment, from the loopback-friendly high range.
sy_free_port() {
  local port _
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 20000))
    if [[ -z "$(ss -Htln "sport = :$port")" ]]; then
      echo "$port"
      return 0
    fi
  done
  sy_die "no free TCP port found"
}

# The URL to reach a listen address (0.0.0.0 and [::] are reached on loopback).
sy_listen_url() {
  local listen="$1" host port
  host="${listen%:*}" port="${listen##*:}"
  [[ "$host" == 0.0.0.0 || "$host" == "[::]" || -z "$host" ]] && host=127.0.0.1
  echo "http://$host:$port"
}

# Start the built server detached: sy_start_server LISTEN DATA_DIR LOG [VAR=VALUE...].
# The server's pid is left in SY_SERVER_PID. Returns non-zero (log tail shown) when
# /healthz does not answer 200 within 60 s.
sy_start_server() {
  local listen="$1" data_dir="$2" log="$3"
  shift 3
  [[ -x "$SY_BIN" ]] || sy_die "$SY_BIN not found: build with '${SY_BUILD[*]}' first"
  local port="${listen##*:}"
  if [[ -n "$(ss -Htln "sport = :$port")" ]]; then
    sy_warn "something already listens on port $port:"
    ss -Htlnp "sport = :$port" >&2 || true
    return 1
  fi
  mkdir -p "$data_dir" "$(dirname "$log")"
  # cwd is the repo root so leptos finds Cargo.toml; the LEPTOS_* values match its
  # metadata. env and scripts/detached exec, so $! is the server's own pid.
  env -C "$SY_ROOT" \
    SWITCHYARD_LISTEN="$listen" \
    SWITCHYARD_DATA_DIR="$data_dir" \
    SWITCHYARD_REGISTRY_URL="${SWITCHYARD_REGISTRY_URL:-http://$SY_REGISTRY_ADDR}" \
    LEPTOS_SITE_ROOT="$SY_SITE" \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_OUTPUT_NAME=switchyard \
    LEPTOS_SITE_ADDR="$listen" \
    LEPTOS_ENV=PROD \
    "$@" \
    "$SY_ROOT/scripts/detached" "$SY_BIN" >>"$log" 2>&1 </dev/null &
  SY_SERVER_PID=$!
  if ! sy_wait_http "$(sy_listen_url "$listen")/healthz" 60 "$SY_SERVER_PID"; then
    tail -n 30 "$log" >&2 || true
    return 1
  fi
}

# Stop a server by pid, if it is still the switchyard binary: TERM, then KILL after 15 s.
sy_stop_server() {
  local pid="$1" deadline
  sy_pid_is "$pid" "$(basename "$SY_BIN")" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      sy_warn "server $pid ignored SIGTERM for 15s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
}

# Remove every Docker object (swarm services, containers, networks) that the Switchyard
# installation with instance id $1 made; they carry the label org.switchyard.instance=$1.
sy_remove_instance() {
  local label="label=org.switchyard.instance=$1" ids n
  ids="$(docker service ls -q --filter "$label" 2>/dev/null || true)"
  [[ -z "$ids" ]] || docker service rm $ids >/dev/null 2>&1 || true
  ids="$(docker ps -aq --filter "$label" 2>/dev/null || true)"
  [[ -z "$ids" ]] || docker rm -f $ids >/dev/null 2>&1 || true
  for n in $(seq 1 40); do
    ids="$(docker network ls -q --filter "$label" 2>/dev/null || true)"
    [[ -n "$ids" ]] || return 0
    docker network rm $ids >/dev/null 2>&1 || true
    sleep 0.5
  done
  sy_warn "networks of Switchyard instance $1 are still there: $ids"
}

# deploy/switchyard.yml runs on the manager labelled switchyard-data=true (where its volume is):
# label this node unless it is. Prints "added" when it added the label (for sy_unlabel_data_node).
sy_label_data_node() {
  local node
  node="$(docker info --format '{{.Swarm.NodeID}}')"
  if [[ "$(docker node inspect --format '{{index .Spec.Labels "switchyard-data"}}' "$node")" != true ]]; then
    docker node update --label-add switchyard-data=true "$node" >/dev/null
    echo added
  fi
}
sy_unlabel_data_node() {
  docker node update --label-rm switchyard-data "$(docker info --format '{{.Swarm.NodeID}}')" >/dev/null 2>&1 || true
}

# Deploy deploy/switchyard.yml as stack NAME from IMAGE on PORT, with the settings of the compose
# file OVERRIDE merged on top (a second -c file): sy_stack_deploy NAME IMAGE PORT OVERRIDE.
sy_stack_deploy() {
  SWITCHYARD_IMAGE="$2" SWITCHYARD_PORT="$3" SWITCHYARD_REGISTRY_URL="http://$SY_REGISTRY_ADDR" \
    SWITCHYARD_REGISTRY_PREFIX=services/ \
    docker stack deploy -c "$SY_ROOT/deploy/switchyard.yml" -c "$4" "$1" >&2
}

# Remove stack NAME and what it leaves: its containers (waited for), the Docker objects of
# installation INSTANCE, its volume and its network: sy_stack_remove NAME INSTANCE.
sy_stack_remove() {
  local stack="$1" deadline
  docker stack rm "$stack" >/dev/null 2>&1 || true
  deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)) && [[ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ]]; do
    sleep 0.5
  done
  sy_remove_instance "$2"
  docker volume rm "${stack}_data" >/dev/null 2>&1 || sy_warn "volume ${stack}_data not removed"
  deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)) && docker network inspect "${stack}_default" >/dev/null 2>&1; do
    docker network rm "${stack}_default" >/dev/null 2>&1 || sleep 0.5
  done
}
