# shellcheck shell=bash
# RabbitMQ, for scripts/servers.sh: a node of the script's own per port, order-service-<port>@localhost, with
# its configuration (a listener on the URL's port, the URL's user and vhost, the management plugin on port +
# 10000: http://127.0.0.1:15672 for 5672), data and log in $STATE_DIR/rabbitmq-<port>/. The machine's own
# RabbitMQ configuration is neither read nor changed. The node runs as the caller, through the package's
# scripts in /usr/lib/rabbitmq/bin rather than /usr/sbin's wrapper, which would switch to the rabbitmq user:
# that user may not reach the project's directory, and `stop` then needs no root.

RABBIT_BIN=/usr/lib/rabbitmq/bin

start_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null; then
    install_package rabbitmq rabbitmq-server
    # With an init system, the package starts its own node (on 5672): it is ours to set up, as we installed it.
    if answers rabbitmq; then
      as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
      note rabbitmq 'which started it; enabled rabbitmq_management'
      return 0
    fi
  fi
  local port=${URL[rabbitmq.port]}
  local dir=$STATE_DIR/rabbitmq-$port node=order-service-$port@localhost
  rabbit_check_free "$port" "${node%@*}"
  mkdir -p "$dir"
  rabbit_env_conf "$dir" "$node" >"$dir/rabbitmq-env.conf"
  (umask 077 && rabbit_conf >"$dir/rabbitmq.conf")
  echo '[rabbitmq_management].' >"$dir/enabled_plugins"
  # In the foreground (in a session of its own) rather than -detached, which loses what a failed start says.
  spawn "$dir/startup.log" env RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" "$RABBIT_BIN/rabbitmq-server"
  await_answer rabbitmq 120 "$dir/startup.log" "$SPAWNED"
  record rabbitmq "$port" node "$node" "$dir"
  note rabbitmq "started node $node (in $(shown "$dir"); management at http://127.0.0.1:$((port + 10000)))"
}

rabbit() { # dir script args...: one of RabbitMQ's scripts, for the node whose files are in dir
  local dir=$1 script=$2
  shift 2
  RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf "$RABBIT_BIN/$script" "$@"
}

# A node already running under our name, or on the Erlang distribution port ours needs (AMQP port + 20000),
# keeps ours from starting: say which, and what to do, rather than leave it to the node's log.
rabbit_check_free() { # port short-node-name
  local names holder
  names=$(epmd -names 2>/dev/null) || return 0 # no epmd: no Erlang node runs here
  if grep -q "^name $2 at port" <<<"$names"; then
    fail rabbitmq "does not answer, though node $2@localhost runs: stop it with scripts/servers.sh stop (or rabbitmqctl -n $2@localhost stop) and run this again."
  fi
  holder=$(awk -v port=$(($1 + 20000)) '$4 == port { print $2 }' <<<"$names")
  [[ -z $holder ]] ||
    fail rabbitmq "does not answer, though RabbitMQ node $holder runs on this machine (its application stopped?): start it with rabbitmqctl start_app, or stop it with rabbitmqctl stop, then run this again."
}

rabbit_env_conf() { # dir node
  cat <<CONF
# Written by scripts/servers.sh: the node for AMQP_URL's port, with all of its files in this directory.
NODENAME=$2
NODE_PORT=${URL[rabbitmq.port]}
CONFIG_FILE=$1/rabbitmq.conf
ADVANCED_CONFIG_FILE=$1/advanced.config
ENABLED_PLUGINS_FILE=$1/enabled_plugins
MNESIA_BASE=$1/mnesia
LOG_BASE=$1/log
PID_FILE=$1/rabbitmq.pid
export ERL_CRASH_DUMP=$1/erl_crash.dump
# Erlang's distribution port on the loopback interface only.
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
CONF
}

rabbit_conf() {
  local port=${URL[rabbitmq.port]} address i=0
  echo "# Written by scripts/servers.sh for AMQP_URL: this machine only, its user and vhost."
  for address in $(listen_addresses "${URL[rabbitmq.host]}"); do echo "listeners.tcp.$((++i)) = $address:$port"; done
  echo "log.console = false" # its log is in log/; the console (startup.log) keeps what a failed start says
  echo "management.tcp.ip = 127.0.0.1"
  echo "management.tcp.port = $((port + 10000))"
  echo "default_user = ${URL[rabbitmq.user]:-guest}"
  echo "default_pass = ${URL[rabbitmq.password]:-guest}"
  echo "default_vhost = ${URL[rabbitmq.path]:-/}"
}

stop_node() { # node dir
  if ! epmd -names 2>/dev/null | grep -q "^name ${1%@*} at port"; then echo "node $1 had already stopped"; return 0; fi
  # With the pid file, stop returns once the node's process has exited.
  rabbit "$2" rabbitmqctl -q -n "$1" stop "$2/rabbitmq.pid" >/dev/null
  echo "stopped node $1"
}
