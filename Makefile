# The two commands a new user needs: `make run` and `make test`. Both install what they need first, then make
# sure PostgreSQL, Redis and RabbitMQ answer (scripts/servers.sh starts those of this machine that do not).
# Settings come from the environment, then .env, then .env.example (see README.md, "Configuration").

.PHONY: run test install servers servers-stop faults bench typecheck

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: node_modules/.package-lock.json

## Start whichever of the configured local PostgreSQL, Redis and RabbitMQ does not answer (quiet when all do).
servers: install
	scripts/servers.sh ensure

## Stop what `make servers` started, and nothing else.
servers-stop:
	scripts/servers.sh stop

## Install, start the servers, generate the Prisma client, create and migrate the database, start every role.
run: servers
	npm start

# The servers the test suite connects to: those of its TEST_* variables, else the local defaults. Not the
# service's DATABASE_URL, REDIS_URL and AMQP_URL, which a .env may point elsewhere.
TEST_SERVERS = DATABASE_URL=$${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432}/postgres \
  REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379} AMQP_URL=$${TEST_AMQP_BASE:-amqp://guest:guest@127.0.0.1:5672}

## Install, start the suite's servers, generate, type-check, then run the whole suite against them.
test: install
	$(TEST_SERVERS) scripts/servers.sh ensure
	npm test

## Slow fault and soak suites (not part of `make test`). The fault steps stop the machine's RabbitMQ, Redis and
## PostgreSQL, so they run on their own, after the fuzz files (which need all three), one file at a time.
faults: install
	npm run --silent generate && npm run test:faults -- test/fuzz && npm run test:faults -- --no-file-parallelism test/faults

## Benchmarks: print figures and write bench/REPORT.md.
bench: install
	npm run --silent generate && npm run bench

typecheck: install
	npm run --silent generate && npm run typecheck
