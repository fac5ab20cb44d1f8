#!/bin/sh
# Renders definitions.json (mounted at $1) into $2 with the values of the environment, then starts RabbitMQ.
# The placeholders are ${NAME}; values must be URL-safe (letters, digits, - _ . ~), as docker-compose.yml asks,
# since they also go into connection URLs. A placeholder left without a value stops the container with its name.
set -eu
template=$1
out=$2
umask 077
rendered=$(cat "$template")
for name in RABBITMQ_VHOST RABBITMQ_USER RABBITMQ_PASSWORD CUSTOMER_RABBITMQ_USER CUSTOMER_RABBITMQ_PASSWORD RABBITMQ_ADMIN_USER RABBITMQ_ADMIN_PASSWORD; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then echo "render-definitions: $name is not set" >&2; exit 1; fi
  case $value in *[!A-Za-z0-9._~-]*) echo "render-definitions: $name must be URL-safe (letters, digits, - _ . ~)" >&2; exit 1 ;; esac
  rendered=$(printf '%s' "$rendered" | sed "s|\${$name}|$value|g")
done
printf '%s\n' "$rendered" > "$out"
shift 2
exec "$@"
