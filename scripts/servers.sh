#!/usr/bin/env bash
# The PostgreSQL, Redis and RabbitMQ the service is configured for, made to answer.
#
#   scripts/servers.sh ensure   start each server of this machine that the service needs and that does not answer
#   scripts/servers.sh stop     stop what `ensure` started, and nothing else
#
# `make run`, `make test` and .ci/run call `ensure` (`make servers`); `make servers-stop` calls `stop`.
#
# Which servers: DATABASE_URL, REDIS_URL and AMQP_URL as the service reads them (the environment, then .env,
# then .env.example, then the service's defaults; see scripts/server-urls.mjs). A server whose URL names this
# machine (127.0.0.1, localhost, ::1) and does not answer is started on the URL's port, the first way that works:
#   1. `docker compose up -d <server>` (scripts/servers.compose.yml) when a Docker engine answers;
#   2. from the system's packages (scripts/servers/*.sh), installed with apt-get when missing, as root or with `sudo -n`;
#   3. otherwise it stops with one sentence saying what to install or start.
# A URL naming another host is only checked and reported. A server that answers is never touched, so with all
# three up the script prints nothing. What it starts is listed in $SERVERS_STATE_DIR/started (default
# .servers/, gitignored), with the data and logs of what it runs itself; `stop` reads that list.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=$(realpath -m "${SERVERS_STATE_DIR:-.servers}")
STATE_FILE=$STATE_DIR/started
declare -A NAME=([postgres]=PostgreSQL [redis]=Redis [rabbitmq]=RabbitMQ)
declare -A URL # "<server>.<part>" -> value, from scripts/server-urls.mjs

source scripts/servers/postgres.sh
source scripts/servers/redis.sh
source scripts/servers/rabbitmq.sh

main() {
  case ${1:-} in
    ensure) ensure_all ;;
    stop) stop_all ;;
    *) echo 'usage: scripts/servers.sh ensure|stop' >&2; exit 2 ;;
  esac
}

ensure_all() {
  load_urls
  local server
  for server in postgres redis rabbitmq; do
    ensure_server "$server"
    end_line
  done
}

ensure_server() { # server
  local server=$1 variable=${URL[$1.variable]}
  if answers "$server"; then
    is_local "$server" || note "$server" "answers (another host: only checked)"
    return 0
  fi
  is_local "$server" ||
    fail "$server" "does not answer, and $variable names another host, which this script never starts: start it there, or set $variable to a server that runs."
  if port_open "$server"; then
    fail "$server" "does not answer, and something else holds port ${URL[$server.port]}: stop it, or set $variable to a free port."
  fi
  case ${URL[$server.scheme]} in
    rediss | amqps) fail "$server" "does not answer, and this script does not start servers with TLS (${URL[$server.scheme]}://): start one yourself, or use ${URL[$server.scheme]%s}:// for a local one." ;;
  esac
  if docker_engine; then compose_up "$server"; else "start_$server"; fi
}

# --- Output: one line per server, written as its steps happen (an install can take minutes) ---------------

LINE_OPEN=0

note() { # server text: starts the server's line, or continues it
  if ((LINE_OPEN)); then printf ', %s' "$2"; else printf 'servers: %s %s: %s' "${NAME[$1]}" "$(where "$1")" "$2"; fi
  LINE_OPEN=1
}

end_line() { if ((LINE_OPEN)); then printf '\n'; fi; LINE_OPEN=0; }

fail() { # server sentence: the one sentence that says what to do, then exit
  end_line
  printf 'servers: %s %s: %s\n' "${NAME[$1]}" "$(where "$1")" "$2" >&2
  exit 1
}

where() { # server: host:port, with an IPv6 address in brackets
  local host=${URL[$1.host]}
  [[ $host != *:* ]] || host="[$host]"
  printf '%s:%s' "$host" "${URL[$1.port]}"
}

shown() { printf '%s' "${1#"$PWD/"}"; } # a path, relative to the project when inside it

# --- The URLs, resolved as the service resolves them ----------------------------------------------------------

load_urls() {
  command -v node >/dev/null || { echo 'servers: Node.js 20+ is needed (the service reads its settings with it): install it first.' >&2; exit 1; }
  [[ -d node_modules/dotenv ]] || { echo 'servers: run make install (npm ci) first: reading the settings needs dotenv.' >&2; exit 1; }
  local lines key value
  lines=$(node scripts/server-urls.mjs)
  while IFS='=' read -r key value; do URL[$key]=$value; done <<<"$lines"
}

is_local() { [[ ${URL[$1.host]} == @(127.0.0.1|localhost|::1) ]]; }

# --- Does it answer? Each server's own protocol, over bash's /dev/tcp, so that a server on another host is
# checked without its client tools, and a port held by something else does not count. ------------------------

probe_postgres() { # an SSLRequest, which PostgreSQL answers with one byte: S or N
  printf '\0\0\0\x08\x04\xd2\x16\x2f' >&3 && [[ $(head -c1 <&3) == [SN] ]]
}
probe_redis() { # PING: +PONG, or an error such as -NOAUTH from a Redis that wants a password
  printf 'PING\r\n' >&3 && [[ $(head -c1 <&3) == [+-] ]]
}
probe_rabbitmq() { # the AMQP 0-9-1 header, which the broker answers with a method frame (type 1)
  printf 'AMQP\0\0\x09\x01' >&3 && [[ $(head -c1 <&3 | od -An -tx1) == ' 01' ]]
}

answers() { # server: within 3 s, so that an unreachable host does not hang the caller
  export -f "probe_$1"
  # shellcheck disable=SC2016 # $0..$2 belong to the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && "probe_$0"' "$1" "${URL[$1.host]}" "${URL[$1.port]}" 2>/dev/null
}

port_open() { # server: something accepts connections on its port
  # shellcheck disable=SC2016 # $0 and $1 belong to the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${URL[$1.host]}" "${URL[$1.port]}" 2>/dev/null
}

# Starts a server process in a session of its own, so that Ctrl-C on `make run` (sent to the whole foreground
# process group) does not stop it too; its output goes to a log. Sets SPAWNED to its pid.
spawn() { # log command...
  setsid "${@:2}" >"$1" 2>&1 </dev/null &
  SPAWNED=$!
}

# Waits for a server this script started: fails at once if its process is gone, else at the deadline.
await_answer() { # server seconds log pid
  local deadline=$((SECONDS + $2))
  until answers "$1"; do
    kill -0 "$4" 2>/dev/null || fail "$1" "exited while starting; see $(shown "$3")."
    ((SECONDS < deadline)) || fail "$1" "was started but did not answer within $2 s; see $(shown "$3")."
    sleep 0.2
  done
}

# The addresses a server started for a URL listens on: the URL's own; both loopbacks for "localhost", which
# clients may resolve either way, when this machine has IPv6.
listen_addresses() { # host
  case $1 in
    ::1) echo '::1' ;;
    localhost) if grep -qs ' lo$' /proc/net/if_inet6; then echo '127.0.0.1 ::1'; else echo '127.0.0.1'; fi ;;
    *) echo '127.0.0.1' ;;
  esac
}

# --- Installing: Debian/Ubuntu packages, as root or through sudo without a password --------------------------

can_be_root() { [[ $EUID -eq 0 ]] || sudo -n true 2>/dev/null; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }

install_package() { # server package
  if ! command -v apt-get >/dev/null || ! can_be_root; then
    fail "$1" "does not answer, and Debian's $2 is not installed, nor can this script install it (that needs apt-get, and root or sudo without a password): install or start ${NAME[$1]} on port ${URL[$1.port]} yourself, start a Docker engine, or set ${URL[$1.variable]} to a server elsewhere."
  fi
  note "$1" "installing $2"
  mkdir -p "$STATE_DIR"
  local log=$STATE_DIR/apt.log
  { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >"$log" 2>&1 ||
    fail "$1" "apt-get install $2 failed; see $(shown "$log")."
}

# --- What this script started: one line each, "<server> <port> <kind> <details...>" ---------------------------

record() { # server port kind details...: replaces an earlier line for the same server and port
  mkdir -p "$STATE_DIR"
  { grep -v "^$1 $2 " "$STATE_FILE" 2>/dev/null || true; echo "$*"; } >"$STATE_FILE.new"
  mv "$STATE_FILE.new" "$STATE_FILE"
}

stop_all() {
  local lines line fields
  [[ -s $STATE_FILE ]] || { echo 'servers: nothing to stop (this script started nothing that still runs)'; return 0; }
  mapfile -t lines <"$STATE_FILE"
  for line in "${lines[@]}"; do
    read -r -a fields <<<"$line" # server port kind details...
    printf 'servers: %s on port %s: ' "${NAME[${fields[0]}]}" "${fields[1]}"
    "stop_${fields[2]}" "${fields[@]:3}"
    grep -vxF "$line" "$STATE_FILE" >"$STATE_FILE.new" || true
    mv "$STATE_FILE.new" "$STATE_FILE"
  done
}

# Stops a process this script started, only while its pid still belongs to that program (pids are reused).
stop_pid() { # pid program
  if [[ $(ps -o comm= -p "$1" 2>/dev/null) != "$2" ]]; then echo "$2 (pid $1) had already stopped"; return 0; fi
  kill "$1"
  while kill -0 "$1" 2>/dev/null; do sleep 0.1; done
  echo "stopped $2 (pid $1)"
}

# --- Docker: the servers' own compose project, with ports and logins taken from the URLs ---------------------

# `docker info` fails when only the client is installed (no engine to talk to).
docker_engine() {
  command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1
}

compose() {
  local postgres_auth=trust
  [[ -z ${URL[postgres.password]} ]] || postgres_auth=scram-sha-256
  SERVERS_POSTGRES_PORT=${URL[postgres.port]} SERVERS_POSTGRES_USER=${URL[postgres.user]:-postgres} \
    SERVERS_POSTGRES_PASSWORD=${URL[postgres.password]} SERVERS_POSTGRES_AUTH=$postgres_auth \
    SERVERS_REDIS_PORT=${URL[redis.port]} SERVERS_REDIS_PASSWORD=${URL[redis.password]} \
    SERVERS_RABBITMQ_PORT=${URL[rabbitmq.port]} SERVERS_RABBITMQ_MANAGEMENT_PORT=$((${URL[rabbitmq.port]} + 10000)) \
    SERVERS_RABBITMQ_USER=${URL[rabbitmq.user]:-guest} SERVERS_RABBITMQ_PASSWORD=${URL[rabbitmq.password]:-guest} \
    SERVERS_RABBITMQ_VHOST=${URL[rabbitmq.path]:-/} \
    docker compose --project-name order-service-servers --file scripts/servers.compose.yml "$@"
}

compose_up() { # server
  local log=$STATE_DIR/docker.log container
  mkdir -p "$STATE_DIR"
  compose up --detach --wait "$1" >"$log" 2>&1 || fail "$1" "docker compose up -d $1 failed; see $(shown "$log")."
  container=$(compose ps --quiet "$1")
  record "$1" "${URL[$1.port]}" container "$container"
  note "$1" "started with docker compose (container ${container:0:12})"
}

stop_container() { # id
  docker stop "$1" >/dev/null
  echo "stopped container ${1:0:12}"
}

main "$@"
