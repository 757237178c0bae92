#!/usr/bin/env bash
# scripts/db.sh: find, or start, the PostgreSQL that syncer's tests and demo use.
#
# Usage:
#   scripts/db.sh url [test|demo]   print a PostgreSQL URL that works (one line on stdout)
#   scripts/db.sh stop              stop what this script started (throwaway cluster, compose service)
#   scripts/db.sh help
#
# `url` tries, in this order, and prints the first that works:
#   1. $TEST_DATABASE_URL (test) or $DATABASE_URL (demo), as given.
#   2. A server on 127.0.0.1:5432 that lets the user postgres in without a password:
#        postgres://postgres@127.0.0.1:5432/syncer_test?sslmode=disable   (syncer_demo for demo)
#      The database is created when missing (with psql; without psql the URL names the
#      existing database `postgres` instead).
#   3. A throwaway cluster in ./.data/pg, made with the local PostgreSQL binaries (initdb and
#      pg_ctl on PATH or in /usr/lib/postgresql/*/bin, newest first), user postgres, trust
#      authentication, listening on 127.0.0.1:54329 (the next free port if that one is taken)
#      with its unix socket inside the data directory. As root it runs as the system user
#      `postgres`, or as a user `syncer-pg` that it creates. It is reused on the next call.
#   4. `docker compose up -d postgres` (docker-compose.yml maps it to 127.0.0.1:54330), when
#      `docker info` answers.
#   5. Otherwise it exits 1 and says how to provide a database.
# Progress and errors go to stderr; stdout carries only the URL. The script never prints a
# password of its own making (the URLs it builds carry none); a URL given in
# TEST_DATABASE_URL/DATABASE_URL is printed as given.
#
# Knobs (environment):
#   SYNCER_DB_SKIP_LOCAL=1     skip step 2, e.g. to try the throwaway cluster on a machine
#                              that runs its own server
#   SYNCER_DB_SKIP_CLUSTER=1   skip step 3
#   SYNCER_DB_SKIP_DOCKER=1    skip step 4
#   SYNCER_DB_PORT=54329       first port tried for the throwaway cluster
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA_PARENT="$ROOT/.data"
CLUSTER_LINK="$DATA_PARENT/pg"
COMPOSE_MARK="$DATA_PARENT/compose-started"
LOCAL_HOST=127.0.0.1
LOCAL_PORT=5432
CLUSTER_PORT=${SYNCER_DB_PORT:-54329}
COMPOSE_PORT=54330
PG_SUPERUSER=postgres
FALLBACK_USER=syncer-pg

# libpq settings for every psql this script runs: no password prompt (there is no stdin in
# CI), a short connect timeout, and no TLS, like the URLs it prints.
export PGCONNECT_TIMEOUT=5 PGSSLMODE=disable
unset PGSERVICE PGSERVICEFILE

REASONS=""

log() { printf 'db.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
note() { REASONS="${REASONS}  - $*"$'\n'; }
is_set() { [[ -n "${1:-}" && "$1" != 0 ]]; }

usage() {
	sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

resolve() { readlink -f "$1" 2>/dev/null || printf '%s\n' "$1"; }

# ---------------------------------------------------------------------------------------
# PostgreSQL binaries

# bin_dirs prints the directories that may hold the server binaries: the one of initdb on
# PATH first, then /usr/lib/postgresql/<version>/bin, newest version first.
bin_dirs() {
	local p
	if p=$(command -v initdb 2>/dev/null); then
		dirname "$(resolve "$p")"
	fi
	if compgen -G '/usr/lib/postgresql/*/bin' >/dev/null; then
		printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -rV
	fi
}

# major_of DIR prints the major version of the binaries in DIR ("15" for 15.19).
major_of() {
	local v
	v=$("$1/pg_ctl" --version 2>/dev/null | awk '{print $NF}') || return 1
	v=${v%%[!0-9]*}
	[[ -n "$v" ]] && printf '%s\n' "$v"
}

# server_bindir [MAJOR] prints the first directory holding initdb, pg_ctl and postgres,
# of the given major version when one is given.
server_bindir() {
	local want=${1:-} d
	while IFS= read -r d; do
		[[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] || continue
		if [[ -n "$want" && "$(major_of "$d" || true)" != "$want" ]]; then
			continue
		fi
		printf '%s\n' "$d"
		return 0
	done < <(bin_dirs | awk '!seen[$0]++')
	return 1
}

# client TOOL prints the path of a client program (psql, pg_isready), if there is one.
client() {
	local d
	if command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
		return 0
	fi
	while IFS= read -r d; do
		if [[ -x "$d/$1" ]]; then
			printf '%s\n' "$d/$1"
			return 0
		fi
	done < <(bin_dirs)
	return 1
}

# ---------------------------------------------------------------------------------------
# Probes

# tcp_open HOST PORT: something accepts TCP connections there.
# shellcheck disable=SC2016 # $1 and $2 are for the inner bash, on purpose
tcp_open() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
	else
		bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
	fi
}

# pg_ready HOST PORT: a PostgreSQL server accepts connections there (pg_isready when
# available, else a bare TCP connect).
pg_ready() {
	local isready
	if isready=$(client pg_isready); then
		"$isready" -q -h "$1" -p "$2" -t 3 </dev/null
	else
		tcp_open "$1" "$2"
	fi
}

# run_psql HOST PORT DB SQL: run one statement as the superuser, printing tuples only.
run_psql() {
	local psql
	psql=$(client psql) || return 127
	"$psql" -X -w -q -At -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U "$PG_SUPERUSER" -d "$3" -c "$4" </dev/null
}

# ensure_database HOST PORT NAME: make sure database NAME exists. Returns 0 when it does,
# 1 when the server refused us (the reason goes to stderr), 2 when there is no psql to ask.
ensure_database() {
	local host=$1 port=$2 name=$3 out err
	client psql >/dev/null || return 2
	err=$(mktemp)
	if ! out=$(run_psql "$host" "$port" postgres "SELECT 1 FROM pg_database WHERE datname = '$name'" 2>"$err"); then
		log "PostgreSQL on $host:$port refused user $PG_SUPERUSER: $(head -n1 "$err")"
		rm -f "$err"
		return 1
	fi
	if [[ "$out" != 1 ]]; then
		log "creating database $name on $host:$port"
		if ! run_psql "$host" "$port" postgres "CREATE DATABASE \"$name\"" >/dev/null 2>"$err"; then
			# Another caller may have created it in the meantime.
			out=$(run_psql "$host" "$port" postgres "SELECT 1 FROM pg_database WHERE datname = '$name'" 2>/dev/null || true)
			if [[ "$out" != 1 ]]; then
				log "could not create database $name on $host:$port: $(head -n1 "$err")"
				rm -f "$err"
				return 1
			fi
		fi
	fi
	rm -f "$err"
	return 0
}

url_for() { printf 'postgres://%s@%s:%s/%s?sslmode=disable\n' "$PG_SUPERUSER" "$1" "$2" "$3"; }

# ---------------------------------------------------------------------------------------
# Step 2: the machine's own server on 127.0.0.1:5432

try_local() {
	local db=$1 rc=0
	if ! pg_ready "$LOCAL_HOST" "$LOCAL_PORT"; then
		note "no PostgreSQL answers on $LOCAL_HOST:$LOCAL_PORT"
		return 1
	fi
	ensure_database "$LOCAL_HOST" "$LOCAL_PORT" "$db" || rc=$?
	case $rc in
	0) url_for "$LOCAL_HOST" "$LOCAL_PORT" "$db" ;;
	2)
		log "psql not found: using the existing database postgres on $LOCAL_HOST:$LOCAL_PORT"
		url_for "$LOCAL_HOST" "$LOCAL_PORT" postgres
		;;
	*)
		note "the server on $LOCAL_HOST:$LOCAL_PORT does not let $PG_SUPERUSER in without a password"
		return 1
		;;
	esac
}

# ---------------------------------------------------------------------------------------
# Step 3: a throwaway cluster under .data/pg

RUN_AS=""   # the user the cluster runs as when we are root; empty when we are not root
PGDIR=""    # the cluster's data directory (.data/pg, or where the .data/pg link points)

# pick_user chooses (and when needed creates) the user a cluster runs as under root.
pick_user() {
	[[ $EUID -eq 0 ]] || return 0
	if id -u postgres >/dev/null 2>&1; then
		RUN_AS=postgres
		return 0
	fi
	if ! id -u "$FALLBACK_USER" >/dev/null 2>&1; then
		log "creating system user $FALLBACK_USER to run the throwaway cluster (initdb refuses root)"
		if command -v useradd >/dev/null 2>&1; then
			useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$FALLBACK_USER" >&2
		elif command -v adduser >/dev/null 2>&1; then
			adduser -S -H -s /sbin/nologin "$FALLBACK_USER" >&2
		else
			die "running as root, there is no user postgres, and no useradd/adduser to create $FALLBACK_USER"
		fi
	fi
	RUN_AS=$FALLBACK_USER
}

# as_pg CMD...: run CMD as the cluster's user (from /, so an unreadable cwd does not
# matter), without the lock's file descriptor, which a server must not inherit.
as_pg() {
	if [[ -z "$RUN_AS" ]]; then
		"$@" 9>&-
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u "$RUN_AS" -- /bin/bash -c 'cd / && exec "$@"' _ "$@" 9>&-
	else
		su -s /bin/bash -c "cd / && exec $(printf '%q ' "$@")" "$RUN_AS" 9>&-
	fi
}

# locate_cluster sets PGDIR, making .data/pg (or, when the cluster's user cannot reach the
# work tree, a directory under /tmp that .data/pg links to).
locate_cluster() {
	mkdir -p "$DATA_PARENT"
	if [[ -L "$CLUSTER_LINK" ]]; then
		PGDIR=$(resolve "$CLUSTER_LINK")
		return 0
	fi
	PGDIR=$CLUSTER_LINK
	[[ -n "$RUN_AS" ]] || return 0
	chmod go+x "$DATA_PARENT" 2>/dev/null || true
	if [[ -d "$PGDIR" ]] || as_pg test -x "$DATA_PARENT" 2>/dev/null; then
		return 0
	fi
	# A parent of the work tree (such as /root) is closed to the cluster's user.
	local alt
	alt="${TMPDIR:-/tmp}/syncer-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
	log "$RUN_AS cannot reach $DATA_PARENT; keeping the cluster in $alt (linked from .data/pg)"
	mkdir -p "$alt"
	ln -sfn "$alt" "$CLUSTER_LINK"
	PGDIR=$alt
}

# cluster_running: pg_ctl sees a postmaster for PGDIR.
cluster_running() {
	local bindir=$1
	[[ -f "$PGDIR/postmaster.pid" ]] || return 1
	as_pg "$bindir/pg_ctl" status -D "$PGDIR" >/dev/null 2>&1
}

# cluster_port prints the port the running cluster listens on (line 4 of postmaster.pid).
cluster_port() { sed -n 4p "$PGDIR/postmaster.pid"; }

free_port() {
	local p=$1 last=$(($1 + 20))
	while ((p <= last)); do
		# Leave the compose service's port to it.
		if ((p != COMPOSE_PORT)) && ! tcp_open "$LOCAL_HOST" "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
		p=$((p + 1))
	done
	return 1
}

try_cluster() {
	local db=$1 bindir major port sockdir opts out rc=0
	if ! bindir=$(server_bindir); then
		note "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin"
		return 1
	fi
	pick_user
	locate_cluster

	if [[ -f "$PGDIR/PG_VERSION" ]]; then
		major=$(<"$PGDIR/PG_VERSION")
		if ! bindir=$(server_bindir "$major"); then
			note "the cluster in $PGDIR is PostgreSQL $major, and its binaries are gone (scripts/db.sh stop; rm -rf .data/pg to start afresh)"
			return 1
		fi
	else
		if [[ -d "$PGDIR" && -n "$(ls -A "$PGDIR" 2>/dev/null)" ]]; then
			log "$PGDIR holds a half-made cluster; starting it afresh"
			find "$PGDIR" -mindepth 1 -delete
		fi
		mkdir -p "$PGDIR"
		[[ -z "$RUN_AS" ]] || chown "$RUN_AS:" "$PGDIR"
		chmod 700 "$PGDIR"
		log "initialising a throwaway PostgreSQL $(major_of "$bindir") cluster in $PGDIR${RUN_AS:+ (as $RUN_AS)}"
		if ! out=$(as_pg "$bindir/initdb" -D "$PGDIR" -U "$PG_SUPERUSER" --auth=trust \
			--encoding=UTF8 --no-locale --no-sync 2>&1); then
			printf '%s\n' "$out" | tail -n 20 >&2
			note "initdb failed in $PGDIR (see above)"
			return 1
		fi
		# Test data only: trade durability for speed.
		# shellcheck disable=SC2016 # $1 is for the inner bash, on purpose
		as_pg /bin/bash -c 'cat >>"$1/postgresql.conf"' _ "$PGDIR" <<-'EOF'

			# Added by scripts/db.sh: a throwaway cluster for tests and the demo.
			max_connections = 200
			fsync = off
			synchronous_commit = off
			full_page_writes = off
		EOF
	fi

	if ! cluster_running "$bindir"; then
		if ! port=$(free_port "$CLUSTER_PORT"); then
			note "ports $CLUSTER_PORT-$((CLUSTER_PORT + 20)) on $LOCAL_HOST are all taken"
			return 1
		fi
		[[ "$port" == "$CLUSTER_PORT" ]] || log "port $CLUSTER_PORT is taken; using $port"
		sockdir=$PGDIR
		if ((${#sockdir} + 16 > 107)); then
			log "path too long for a unix socket: the cluster listens on TCP only"
			sockdir=""
		fi
		[[ "$PGDIR" != *"'"* ]] || die "the path $PGDIR contains a quote; move the work tree"
		opts="-p $port -h $LOCAL_HOST -k '$sockdir'"
		log "starting the throwaway cluster on $LOCAL_HOST:$port"
		if ! as_pg "$bindir/pg_ctl" start -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 -o "$opts" >/dev/null 2>&1; then
			tail -n 20 "$PGDIR/server.log" >&2 2>/dev/null || true
			note "the throwaway cluster in $PGDIR did not start (log above, in $PGDIR/server.log)"
			return 1
		fi
	fi
	port=$(cluster_port)
	if [[ -z "$port" ]]; then
		note "cannot read the port of the cluster in $PGDIR from postmaster.pid"
		return 1
	fi
	local i
	for ((i = 0; i < 30; i++)); do
		pg_ready "$LOCAL_HOST" "$port" && break
		sleep 1
	done
	ensure_database "$LOCAL_HOST" "$port" "$db" || rc=$?
	case $rc in
	0) url_for "$LOCAL_HOST" "$port" "$db" ;;
	2) url_for "$LOCAL_HOST" "$port" postgres ;;
	*)
		note "the throwaway cluster on $LOCAL_HOST:$port refused us"
		return 1
		;;
	esac
}

stop_cluster() {
	local bindir major
	[[ -e "$CLUSTER_LINK" ]] || return 0
	PGDIR=$(resolve "$CLUSTER_LINK")
	[[ -f "$PGDIR/postmaster.pid" && -f "$PGDIR/PG_VERSION" ]] || return 0
	major=$(<"$PGDIR/PG_VERSION")
	bindir=$(server_bindir "$major") || die "no PostgreSQL $major binaries to stop the cluster in $PGDIR with"
	pick_user
	if [[ -n "$RUN_AS" ]]; then
		# Run as whoever owns the cluster, which pg_ctl insists on.
		RUN_AS=$(stat -c %U "$PGDIR" 2>/dev/null || echo "$RUN_AS")
	fi
	if cluster_running "$bindir"; then
		log "stopping the throwaway cluster in $PGDIR"
		as_pg "$bindir/pg_ctl" stop -D "$PGDIR" -m fast -w -t 60 >/dev/null
	fi
}

# ---------------------------------------------------------------------------------------
# Step 4: docker compose

COMPOSE=()

find_compose() {
	command -v docker >/dev/null 2>&1 || return 1
	if command -v timeout >/dev/null 2>&1; then
		timeout 20 docker info >/dev/null 2>&1 || return 1
	else
		docker info >/dev/null 2>&1 || return 1
	fi
	if docker compose version >/dev/null 2>&1; then
		COMPOSE=(docker compose -f "$ROOT/docker-compose.yml")
	elif command -v docker-compose >/dev/null 2>&1; then
		COMPOSE=(docker-compose -f "$ROOT/docker-compose.yml")
	else
		return 1
	fi
}

try_docker() {
	local db=$1 i out
	if ! find_compose; then
		note "no Docker engine answers \`docker info\` (or it has no compose)"
		return 1
	fi
	log "starting the postgres service of docker-compose.yml"
	if ! "${COMPOSE[@]}" up -d postgres >&2; then
		note "\`docker compose up -d postgres\` failed (see above)"
		return 1
	fi
	mkdir -p "$DATA_PARENT"
	: >"$COMPOSE_MARK"
	for ((i = 0; i < 90; i++)); do
		"${COMPOSE[@]}" exec -T postgres pg_isready -q -h 127.0.0.1 -U "$PG_SUPERUSER" </dev/null >/dev/null 2>&1 && break
		sleep 1
	done
	if ((i == 90)); then
		note "the compose service postgres did not become ready in 90s"
		return 1
	fi
	psql_in() { "${COMPOSE[@]}" exec -T postgres psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U "$PG_SUPERUSER" -d postgres -c "$1" </dev/null; }
	out=$(psql_in "SELECT 1 FROM pg_database WHERE datname = '$db'")
	if [[ "$out" != 1 ]]; then
		log "creating database $db in the compose service"
		psql_in "CREATE DATABASE \"$db\"" >/dev/null 2>&1 ||
			[[ "$(psql_in "SELECT 1 FROM pg_database WHERE datname = '$db'")" == 1 ]] ||
			{ note "could not create $db in the compose service"; return 1; }
	fi
	url_for "$LOCAL_HOST" "$COMPOSE_PORT" "$db"
}

stop_docker() {
	[[ -f "$COMPOSE_MARK" ]] || return 0
	if find_compose; then
		log "stopping the compose service postgres"
		"${COMPOSE[@]}" stop postgres >&2
	fi
	rm -f "$COMPOSE_MARK"
}

# ---------------------------------------------------------------------------------------

lock() {
	mkdir -p "$DATA_PARENT"
	command -v flock >/dev/null 2>&1 || return 0
	exec 9>"$DATA_PARENT/.lock"
	flock -w 180 9 || die "another scripts/db.sh has held $DATA_PARENT/.lock for 3 minutes"
}

cmd_url() {
	local purpose=${1:-test} given db
	case $purpose in
	test) given=${TEST_DATABASE_URL:-} db=syncer_test ;;
	demo) given=${DATABASE_URL:-} db=syncer_demo ;;
	*)
		usage
		exit 2
		;;
	esac
	if [[ -n "$given" ]]; then
		printf '%s\n' "$given"
		return 0
	fi
	lock
	if is_set "${SYNCER_DB_SKIP_LOCAL:-}"; then
		note "skipped $LOCAL_HOST:$LOCAL_PORT (SYNCER_DB_SKIP_LOCAL)"
	elif try_local "$db"; then
		return 0
	fi
	if is_set "${SYNCER_DB_SKIP_CLUSTER:-}"; then
		note "skipped the throwaway cluster (SYNCER_DB_SKIP_CLUSTER)"
	elif try_cluster "$db"; then
		return 0
	fi
	if is_set "${SYNCER_DB_SKIP_DOCKER:-}"; then
		note "skipped Docker (SYNCER_DB_SKIP_DOCKER)"
	elif try_docker "$db"; then
		return 0
	fi
	local var=TEST_DATABASE_URL
	[[ $purpose == test ]] || var=DATABASE_URL
	{
		printf 'db.sh: no PostgreSQL to use for %s:\n%s' "$purpose" "$REASONS"
		printf 'Provide one of these:\n'
		printf '  - set %s, e.g. %s=postgres://USER@HOST:5432/DB?sslmode=disable\n' "$var" "$var"
		printf '  - install PostgreSQL (Debian/Ubuntu: apt-get install postgresql), so that this\n'
		printf '    script can run a throwaway cluster in .data/pg\n'
		printf '  - start Docker, so that this script can run: docker compose up -d postgres\n'
	} >&2
	exit 1
}

cmd_stop() {
	lock
	stop_cluster
	stop_docker
}

case ${1:-} in
url) cmd_url "${2:-test}" ;;
stop) cmd_stop ;;
help | -h | --help) usage ;;
*)
	usage
	exit 2
	;;
esac
