# shellcheck shell=bash
# PostgreSQL, for scripts/servers.sh: the Debian cluster configured on the URL's port (after a fresh install,
# the package's "main" cluster on 5432), started with pg_ctlcluster; where no cluster has that port, a cluster
# of the script's own, order-service-<port>, created with pg_createcluster. A cluster the script created, or
# whose package it installed, is given the URL's login; the login of any cluster it starts is checked.

start_postgres() {
  local version name fresh=0 user=${URL[postgres.user]:-postgres}
  if ! command -v pg_ctlcluster >/dev/null; then
    install_package postgres postgresql
    fresh=1
  fi
  read -r version name < <(pg_cluster_on_port "${URL[postgres.port]}") || true
  if [[ -z $name ]]; then
    version=$(pg_newest_version) name=order-service-${URL[postgres.port]}
    pg_create "$version" "$name"
    fresh=1
  fi
  # With an init system, the package has started its main cluster already.
  answers postgres || pg_start "$version" "$name"
  if ((fresh)); then pg_allow_login "$version" "$name"; fi
  pg_login_works ||
    fail postgres "answers, but refuses user $user: allow it in /etc/postgresql/$version/$name/pg_hba.conf (e.g. host all $user 127.0.0.1/32 trust), or put its password in DATABASE_URL."
}

pg_cluster_on_port() { pg_lsclusters --no-header | awk -v port="$1" '$3 == port { print $1, $2; exit }'; }

# The newest PostgreSQL server installed (Debian keeps each major version in its own directory).
pg_newest_version() { find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1; }

pg_create() { # version name
  can_be_root ||
    fail postgres "does not answer, no PostgreSQL cluster has port ${URL[postgres.port]}, and creating one needs root or sudo: run sudo pg_createcluster --start -p ${URL[postgres.port]} $1 $2, or set DATABASE_URL to a server that runs."
  # manual: the system does not start it at boot; `ensure` does when it is needed.
  as_root pg_createcluster --start-conf=manual -p "${URL[postgres.port]}" "$1" "$2" >/dev/null
  note postgres "created cluster $1/$2 (pg_dropcluster $1 $2 deletes it)"
}

pg_start() { # version name
  local log=/var/log/postgresql/postgresql-$1-$2.log
  [[ $(pg_lsclusters --no-header "$1" "$2" | awk '{ print $4 }') != online* ]] ||
    fail postgres "does not answer, though cluster $1/$2 runs: see listen_addresses in /etc/postgresql/$1/$2/postgresql.conf."
  can_be_root || fail postgres "does not answer, and starting cluster $1/$2 needs root or sudo: run sudo pg_ctlcluster $1 $2 start."
  as_root pg_ctlcluster --skip-systemctl-redirect "$1" "$2" start || fail postgres "pg_ctlcluster $1 $2 start failed; see $log."
  await_answer postgres 60 "$log"
  record postgres "${URL[postgres.port]}" cluster "$1" "$2"
  note postgres "started cluster $1/$2"
}

stop_cluster() { # version name
  if [[ $(pg_lsclusters --no-header "$1" "$2" | awk '{ print $4 }') != online* ]]; then echo "cluster $1/$2 had already stopped"; return 0; fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$1" "$2" stop
  echo "stopped cluster $1/$2"
}

# The URL's user, with the URL's password; without one, trusted from this machine's loopback addresses only.
pg_allow_login() { # version name
  local user=${URL[postgres.user]:-postgres} password=${URL[postgres.password]}
  [[ $user =~ ^[A-Za-z0-9_.-]+$ ]] ||
    fail postgres "the user name in DATABASE_URL has characters this script does not write into pg_hba.conf: create user $user in cluster $1/$2 yourself."
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "${URL[postgres.port]}" -d postgres -v user="$user" -v password="$password" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'user', :'password') WHERE :'password' <> '' \gexec
SQL
  if [[ -n $password ]]; then note postgres "gave user $user the URL's password"; return 0; fi
  local hba=/etc/postgresql/$1/$2/pg_hba.conf
  # At the top: the first line that matches a connection decides.
  as_root sed -i "1i # Added by scripts/servers.sh: $user logs in from this machine without a password.\nhost all $user 127.0.0.1/32 trust\nhost all $user ::1/128 trust" "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$1" "$2" reload
  note postgres "let user $user log in from this machine without a password"
}

as_postgres() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi; }

pg_login_works() { # as the service will: the URL's host, port, user and password
  local -a login=(PGHOST="${URL[postgres.host]}" PGPORT="${URL[postgres.port]}" PGDATABASE=postgres PGCONNECT_TIMEOUT=5)
  [[ -z ${URL[postgres.user]} ]] || login+=(PGUSER="${URL[postgres.user]}")
  [[ -z ${URL[postgres.password]} ]] || login+=(PGPASSWORD="${URL[postgres.password]}")
  env "${login[@]}" psql -X -q -c 'SELECT 1' >/dev/null 2>&1
}
