# Helpers shared by the scripts in this directory.  Source it, do not run it:
#
#     ROOT=$(cd "$(dirname "$0")/.." && pwd)
#     . "$ROOT/scripts/lib.sh"
#
# Every function is safe under "set -euo pipefail".  Paths follow
# docs/CONVENTIONS-dev.md.

: "${ROOT:?lib.sh: set ROOT before sourcing}"

# Under "set -e" a failing command ends the script without a word: say
# which one (in the main shell only, not in $(...) or pipelines).
set -E
trap '[[ $- == *e* && $BASHPID == "$$" ]] && sbx_log "failed at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR

SBX_DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
SBX_DOCKER_API=v1.41
SBX_DOCKERD_LOG=/var/log/ngx-sandbox-dockerd.log
SBX_VAR=/var/lib/ngx-sandbox
SBX_RUN=$SBX_VAR/run
SBX_IMAGE_REPO=ngx-sandbox/runtime

# What a fresh Debian 12 needs to build, run and test everything.
# Installed without Recommends, so docker.io's and debootstrap's useful
# ones are listed.
SBX_PACKAGES=(
    build-essential pkg-config
    docker.io apparmor cgroupfs-mount ca-certificates xz-utils
    debian-archive-keyring
    nginx nginx-dev
    libhiredis-dev libcurl4-openssl-dev libcjson-dev libssl-dev
    redis-server
    debootstrap
    libtest-simple-perl libjson-pp-perl
    clang-format
    wrk hyperfine jq curl openssl
    iproute2 python3
)


sbx_log()
{
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}


sbx_die()
{
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}


sbx_need_root()
{
    [ "$(id -u)" -eq 0 ] || sbx_die "must run as root"
}


# Installs whichever of SBX_PACKAGES (plus any extra arguments) is missing.
# apt-get update runs only when something has to be installed.
sbx_install_deps()
{
    local pkg missing=()

    for pkg in "${SBX_PACKAGES[@]}" "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
             | grep -q 'ok installed'
        then
            missing+=("$pkg")
        fi
    done

    [ ${#missing[@]} -eq 0 ] && return 0

    sbx_need_root
    sbx_log "installing: ${missing[*]}"

    # Packages must not start their daemons (nginx on :80, redis on
    # :6379): the scripts start what they need.  policy-rc.d says so to
    # invoke-rc.d, unless the machine already has one.
    local policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
    fi

    export DEBIAN_FRONTEND=noninteractive
    local rc=0
    apt-get -qq update || rc=$?
    if [ "$rc" = 0 ]; then
        apt-get -qq -y -o Dpkg::Use-Pty=0 install --no-install-recommends \
            "${missing[@]}" >/dev/null || rc=$?
    fi

    [ -n "$policy" ] && rm -f "$policy"
    [ "$rc" = 0 ] || sbx_die "apt-get failed (exit $rc)"
}


# npm's piston-client (and its few dependencies, 5 packages, under 1 MB),
# for the Piston compatibility tests: t/data/piston-client-smoke.js
# finds it in build/node_modules.  And the official MCP TypeScript SDK,
# whose client t/data/mcp-client.mjs drives against /mcp (t/066).
# Pinned: a test must not change under us.
SBX_NODE_MODULES=$ROOT/build/node_modules
SBX_PISTON_CLIENT=piston-client@1.0.2
SBX_MCP_SDK=@modelcontextprotocol/sdk@1.32.2


# Installs Node.js, npm, SBX_PISTON_CLIENT and SBX_MCP_SDK into
# SBX_NODE_MODULES unless those versions are there already, so that an
# offline run with the cache in place needs nothing.  Both in one npm
# install: npm prunes what a later install does not name.  node and npm
# come from Debian only when the machine has none (a NodeSource nodejs
# brings its own npm and conflicts with Debian's npm package, so dpkg
# cannot say what is missing: the commands can).  A failure is a warning,
# not an error: the tests that need a client say that it is missing.
sbx_install_node_client()
{
    local pkgs=() version=${SBX_PISTON_CLIENT##*@}
    local pkg_json=$SBX_NODE_MODULES/piston-client/package.json
    local mcp_version=${SBX_MCP_SDK##*@} mcp_name=${SBX_MCP_SDK%@*}
    local mcp_json=$SBX_NODE_MODULES/$mcp_name/package.json

    if grep -qs "\"version\": *\"$version\"" "$pkg_json" \
       && [ -f "$SBX_NODE_MODULES/node-fetch/package.json" ] \
       && grep -qs "\"version\": *\"$mcp_version\"" "$mcp_json"
    then
        return 0
    fi

    command -v node >/dev/null || pkgs+=(nodejs)
    command -v npm >/dev/null || pkgs+=(npm)

    # a subshell: sbx_install_deps dies on failure, this must not
    if [ ${#pkgs[@]} -gt 0 ] && ! (sbx_install_deps "${pkgs[@]}"); then
        sbx_log "warning: could not install ${pkgs[*]}: no piston-client," \
                "no MCP SDK"
        return 0
    fi

    sbx_log "installing $SBX_PISTON_CLIENT and $SBX_MCP_SDK into" \
            "${SBX_NODE_MODULES#$ROOT/}"
    mkdir -p "${SBX_NODE_MODULES%/node_modules}"

    if ! npm install --prefix "${SBX_NODE_MODULES%/node_modules}" \
             --no-save --no-package-lock --no-audit --no-fund \
             --fetch-retries=1 --fetch-timeout=30000 \
             --loglevel=error "$SBX_PISTON_CLIENT" "$SBX_MCP_SDK" >/dev/null
    then
        sbx_log "warning: npm could not install $SBX_PISTON_CLIENT" \
                "$SBX_MCP_SDK"
    fi
}


# sbx_docker_api METHOD PATH [curl args...]: one Engine API call, body on
# stdout; fails on a transport error or an HTTP status >= 400.
sbx_docker_api()
{
    local method=$1 path=$2

    shift 2
    curl -sS --fail-with-body --unix-socket "$SBX_DOCKER_SOCK" \
         -X "$method" "http://localhost/$SBX_DOCKER_API$path" "$@"
}


sbx_docker_ping()
{
    curl -s --max-time 2 --unix-socket "$SBX_DOCKER_SOCK" \
         http://localhost/_ping 2>/dev/null | grep -qx OK
}


# Starts dockerd unless the socket already answers.  No systemd here:
# dockerd runs in the background and starts its own containerd.
sbx_start_dockerd()
{
    local i

    sbx_docker_ping && return 0

    sbx_need_root
    [ -x /usr/sbin/dockerd ] || sbx_die "/usr/sbin/dockerd not found"

    # Without systemd nobody may have mounted the cgroup hierarchy.
    if ! mountpoint -q /sys/fs/cgroup && command -v cgroupfs-mount >/dev/null
    then
        cgroupfs-mount || sbx_log "cgroupfs-mount failed; trying anyway"
    fi

    sbx_log "starting dockerd (log: $SBX_DOCKERD_LOG)"
    nohup /usr/sbin/dockerd >>"$SBX_DOCKERD_LOG" 2>&1 </dev/null &

    for i in $(seq 60); do
        sbx_docker_ping && return 0
        sleep 1
    done

    tail -n 20 "$SBX_DOCKERD_LOG" >&2 || true
    sbx_die "dockerd did not answer on $SBX_DOCKER_SOCK within 60 s"
}


# Removes every container labelled io.ngx-sandbox.instance=INSTANCE.
sbx_remove_containers()
{
    local instance=$1 filters ids id

    sbx_docker_ping || return 0

    filters=$(printf '{"label":["io.ngx-sandbox.instance=%s"]}' "$instance")
    ids=$(sbx_docker_api GET "/containers/json?all=1" -G \
              --data-urlencode "filters=$filters" | jq -r '.[].Id') || return 0

    for id in $ids; do
        sbx_docker_api DELETE "/containers/$id?force=1&v=1" >/dev/null \
            || sbx_log "could not remove container ${id:0:12}"
    done
}


# The workspace volumes of an instance (persistent sessions): for the test
# stacks only; scripts/down keeps them, that is what they are for.
sbx_remove_volumes()
{
    local instance=$1 filters names name

    sbx_docker_ping || return 0

    filters=$(printf '{"label":["io.ngx-sandbox.instance=%s"]}' "$instance")
    names=$(sbx_docker_api GET "/volumes" -G \
                --data-urlencode "filters=$filters" \
                | jq -r '.Volumes // [] | .[].Name') || return 0

    for name in $names; do
        sbx_docker_api DELETE "/volumes/$name" >/dev/null \
            || sbx_log "could not remove volume $name"
    done
}


sbx_redis_ping()
{
    local port=$1 host=${2:-127.0.0.1}

    redis-cli -h "$host" -p "$port" ping 2>/dev/null | grep -qx PONG
}


# sbx_start_redis PORT DIR: a private, memory-only redis-server on
# 127.0.0.1:PORT, unless something answers PING there already.
sbx_start_redis()
{
    local port=$1 dir=$2 i

    sbx_redis_ping "$port" && return 0

    mkdir -p "$dir"
    sbx_log "starting redis-server on 127.0.0.1:$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
                 --dir "$dir" --pidfile "$dir/redis-$port.pid" \
                 --logfile "$dir/redis-$port.log" \
                 --save '' --appendonly no >/dev/null

    for i in $(seq 50); do
        sbx_redis_ping "$port" && return 0
        sleep 0.1
    done

    sbx_die "redis-server did not answer on 127.0.0.1:$port"
}


# True when PID runs and is not a zombie (an exited child nobody reaped
# still answers kill -0).
sbx_pid_running()
{
    local state

    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}


sbx_pidfile_alive()
{
    local pid

    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [[ $pid =~ ^[0-9]+$ ]] && sbx_pid_running "$pid"
}


# sbx_stop_pidfile FILE [SECONDS]: TERM the process named in FILE, wait up
# to SECONDS (10), then KILL it; removes FILE.  Nothing to do is not an
# error.
sbx_stop_pidfile()
{
    local file=$1 wait=${2:-10} pid i

    if ! sbx_pidfile_alive "$file"; then
        rm -f "$file"
        return 0
    fi

    pid=$(cat "$file")
    kill -TERM "$pid" 2>/dev/null || true

    for i in $(seq $((wait * 10))); do
        sbx_pid_running "$pid" || break
        sleep 0.1
    done

    if sbx_pid_running "$pid"; then
        sbx_log "pid $pid ignored TERM, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi

    rm -f "$file"
}


sbx_build()
{
    "$ROOT/scripts/build"
}


# Prints the runtime image reference (ngx-sandbox/runtime:<recipe-hash>).
sbx_ensure_image()
{
    "$ROOT/scripts/build-image"
}


# Loads $ROOT/.env (KEY=value lines) without overriding variables that are
# already set in the environment.
sbx_load_env()
{
    local file=${1:-$ROOT/.env} line key value

    [ -f "$file" ] || return 0

    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        case $line in
        '' | '#'*) continue ;;
        esac
        line=${line#export }
        key=${line%%=*}
        value=${line#*=}
        [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        value=${value#\"}; value=${value%\"}
        value=${value#\'}; value=${value%\'}
        [ -n "${!key+x}" ] && continue
        export "$key=$value"
    done <"$file"
}


# sbx_write_sandboxd_conf OUT KEY=VALUE...: the example conf/sandboxd.conf
# without the given keys, then "key = value" lines for them, so that each
# key appears once whatever the parser does with duplicates.
sbx_write_sandboxd_conf()
{
    local out=$1 kv keys=()

    shift
    for kv in "$@"; do
        keys+=("${kv%%=*}")
    done

    {
        if [ -f "$ROOT/conf/sandboxd.conf" ]; then
            grep -Ev "^[[:space:]]*($(IFS='|'; echo "${keys[*]}"))[[:space:]]*=" \
                "$ROOT/conf/sandboxd.conf" || true
        fi
        echo
        echo "# set by ${0##*/}"
        for kv in "$@"; do
            printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
        done
    } >"$out.tmp"

    mv -f "$out.tmp" "$out"
}


# Fails when a sandboxd log holds a sanitizer or valgrind report.
sbx_check_log_clean()
{
    local log=$1

    [ -f "$log" ] || return 0

    if grep -nE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|==[0-9]+== (Invalid|Conditional|Mismatched|Syscall param|Source and destination)|definitely lost: [1-9]' \
           "$log" >&2
    then
        sbx_log "$log has sanitizer or valgrind reports (above)"
        return 1
    fi
}
