# shellcheck shell=bash
# Redis, for scripts/servers.sh: a redis-server of the script's own on the URL's port, run as the caller,
# keeping nothing on disk (the projection in it is rebuilt from PostgreSQL), with its configuration and log in
# $STATE_DIR/redis-<port>/.

start_redis() {
  if ! command -v redis-server >/dev/null; then
    install_package redis redis-server
    # With an init system, the package starts its own Redis (on 6379).
    if answers redis; then note redis 'which started it'; return 0; fi
  fi
  local dir=$STATE_DIR/redis-${URL[redis.port]}
  mkdir -p "$dir"
  (umask 077 && redis_config "$dir" >"$dir/redis.conf")
  spawn "$dir/redis.log" redis-server "$dir/redis.conf"
  await_answer redis 30 "$dir/redis.log" "$SPAWNED"
  record redis "${URL[redis.port]}" pid "$SPAWNED" redis-server
  note redis "started redis-server (pid $SPAWNED, log $(shown "$dir/redis.log"))"
}

redis_config() { # dir
  local password=${URL[redis.password]}
  cat <<CONF
# Written by scripts/servers.sh for REDIS_URL: this machine only, nothing kept on disk.
port ${URL[redis.port]}
bind $(listen_addresses "${URL[redis.host]}")
save ""
appendonly no
dir $1
CONF
  # The URL's password, escaped for a double-quoted value.
  if [[ -n $password ]]; then
    password=${password//\\/\\\\}
    printf 'requirepass "%s"\n' "${password//\"/\\\"}"
  fi
}
