-- syncer's database roles (docs/operations.md#roles):
--
--   writer   the role syncer connects as. It owns syncer's tables, views and
--            functions in the warehouse's schema and the bookkeeping schema,
--            may create in both (so syncer migrate up runs as it), and may
--            connect, create schemas and make temporary tables in the
--            database. NOLOGIN unless it is given a password.
--   analyst  read-only, a NOLOGIN group role: USAGE on the warehouse's
--            schema and SELECT on its tables and views, now and later (the
--            default privileges of the writer there), nothing on the
--            bookkeeping schema, no write anywhere. People and BI tools log in
--            as LOGIN roles that are its members.
--
-- This file defines one function, pg_temp.syncer_roles, that lives only as
-- long as the session that made it. Calling it does the work and returns a
-- line for each thing it created, granted, revoked or handed over. It is
-- safe to call again: it creates only what is missing and grants only what
-- is not granted, so a second call returns nothing (but the passwords it is
-- given, which it sets again). No value is pasted into SQL text: the
-- arguments are values, and the statements it builds quote them with %I and
-- %L.
--
-- syncer migrate roles runs it in one transaction, with the schemas of the
-- configured warehouse. By hand, as a superuser (or a user with CREATEROLE
-- that owns the warehouse's tables):
--
--   psql "$DATABASE_URL" -1 -v ON_ERROR_STOP=1 -f sql/roles.sql \
--     -c "SELECT * FROM pg_temp.syncer_roles('public', 'syncer', 'syncer_writer', 'syncer_analyst')"
--
-- then, to let the writer log in, `\password syncer_writer` and
-- `ALTER ROLE syncer_writer LOGIN` in psql, which send the server a SCRAM
-- verifier rather than the password.
--
-- Arguments:
--   warehouse        the warehouse's schema (`schema` in the config, else public)
--   bookkeeping      its bookkeeping schema: syncer beside public, <schema>_syncer beside others
--   writer, analyst  the two roles' names
--   writer_password  NULL: the writer's login is left as it is (NOLOGIN when new);
--                    else the writer logs in with it. A SCRAM-SHA-256 verifier is
--                    stored as given (syncer migrate roles sends only verifiers).
--   logins           LOGIN roles to make (or keep) members of the analyst role
--   login_passwords  their passwords, in the same order, as writer_password

CREATE OR REPLACE FUNCTION pg_temp.syncer_roles(
    warehouse text, bookkeeping text, writer text, analyst text,
    writer_password text DEFAULT NULL,
    logins text[] DEFAULT '{}', login_passwords text[] DEFAULT '{}')
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    me          name := current_user;
    db          name := current_database();
    writer_oid  oid;
    analyst_oid oid;
    w_oid       oid;  -- the warehouse's schema
    b_oid       oid;  -- the bookkeeping schema
    s           text;
    r           record;
    cnt         int;
    i           int;
BEGIN
    logins := coalesce(logins, '{}');
    login_passwords := coalesce(login_passwords, '{}');
    -- Two runs at once would both create the same roles.
    PERFORM pg_advisory_xact_lock(7386401229316710712);

    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = me AND (rolsuper OR rolcreaterole)) THEN
        RAISE EXCEPTION 'user % may not create roles', me
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Connect as a superuser (such as postgres), or as a user with CREATEROLE that owns the warehouse''s tables (a cloud provider''s admin user).';
    END IF;
    IF warehouse IS NULL OR bookkeeping IS NULL OR warehouse = bookkeeping
       OR writer IS NULL OR analyst IS NULL OR writer = analyst
       OR writer = ANY (logins) OR analyst = ANY (logins)
       OR cardinality(logins) <> cardinality(login_passwords)
       OR array_position(logins, NULL) IS NOT NULL OR array_position(login_passwords, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'syncer_roles: two schemas, a writer and an analyst, all different, and a password for each login'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A warehouse from before the bookkeeping schema: the bookkeeping
    -- tables would become readable. syncer migrate up moves them first.
    IF EXISTS (SELECT FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
               WHERE ns.nspname = warehouse AND c.relname IN ('sync_state', 'goose_db_version')) THEN
        RAISE EXCEPTION 'schema % still holds syncer''s bookkeeping tables', warehouse
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run syncer migrate up first, which moves them to schema ' || bookkeeping || '.';
    END IF;

    -- The roles.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = writer) THEN
        IF writer_password IS NULL THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', writer);
            RETURN NEXT format('created role %I (NOLOGIN until it is given a password)', writer);
        ELSE
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', writer, writer_password);
            RETURN NEXT format('created role %I, which logs in with its password', writer);
        END IF;
    ELSIF writer_password IS NOT NULL THEN
        EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', writer, writer_password);
        RETURN NEXT format('set the password of role %I, which logs in with it', writer);
    END IF;
    SELECT oid INTO writer_oid FROM pg_roles WHERE rolname = writer;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = analyst) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', analyst);
        RETURN NEXT format('created role %I (NOLOGIN: a group role; people and BI tools log in as its members)', analyst);
    END IF;
    SELECT oid INTO analyst_oid FROM pg_roles WHERE rolname = analyst;
    FOR i IN 1 .. coalesce(cardinality(logins), 0) LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = logins[i]) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', logins[i], login_passwords[i], analyst);
            RETURN NEXT format('created role %I, which logs in with its password and reads as a member of %I', logins[i], analyst);
        ELSE
            EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', logins[i], login_passwords[i]);
            RETURN NEXT format('set the password of role %I, which logs in with it', logins[i]);
            IF NOT pg_has_role(logins[i], analyst, 'MEMBER') THEN
                EXECUTE format('GRANT %I TO %I', analyst, logins[i]);
                RETURN NEXT format('granted role %I to %I', analyst, logins[i]);
            END IF;
        END IF;
    END LOOP;
    -- Read-only means no way to the writer's rights.
    FOR r IN SELECT rolname FROM pg_roles
             WHERE rolname = analyst OR rolname = ANY (logins) LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r.rolname AND (rolsuper OR rolbypassrls))
           OR pg_has_role(r.rolname, writer, 'MEMBER') THEN
            RAISE EXCEPTION 'role % is a superuser or a member of %: it cannot be read-only', r.rolname, writer
                USING ERRCODE = 'invalid_grant_operation',
                      HINT = format('Choose another name, or REVOKE %I FROM %I.', writer, r.rolname);
        END IF;
    END LOOP;
    -- A user with CREATEROLE but not superuser hands objects to the writer
    -- and sets its default privileges only as a member of it.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = me) AND NOT pg_has_role(me, writer, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', writer, me);
        RETURN NEXT format('granted role %I to %I, to hand it syncer''s tables', writer, me);
    END IF;

    -- The database and the two schemas.
    IF NOT (has_database_privilege(writer_oid, db, 'CONNECT') AND has_database_privilege(writer_oid, db, 'CREATE')
            AND has_database_privilege(writer_oid, db, 'TEMPORARY')) THEN
        EXECUTE format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO %I', db, writer);
        RETURN NEXT format('granted CONNECT, CREATE and TEMPORARY on database %I to %I', db, writer);
    END IF;
    IF NOT has_database_privilege(analyst_oid, db, 'CONNECT') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', db, analyst);
        RETURN NEXT format('granted CONNECT on database %I to %I', db, analyst);
    END IF;
    FOREACH s IN ARRAY ARRAY[warehouse, bookkeeping] LOOP
        IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
            EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', s, writer);
            RETURN NEXT format('created schema %I, owned by %I', s, writer);
        ELSIF NOT (has_schema_privilege(writer_oid, (SELECT oid FROM pg_namespace WHERE nspname = s), 'USAGE')
                   AND has_schema_privilege(writer_oid, (SELECT oid FROM pg_namespace WHERE nspname = s), 'CREATE')) THEN
            EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', s, writer);
            RETURN NEXT format('granted USAGE and CREATE on schema %I to %I', s, writer);
        END IF;
    END LOOP;
    SELECT oid INTO w_oid FROM pg_namespace WHERE nspname = warehouse;
    SELECT oid INTO b_oid FROM pg_namespace WHERE nspname = bookkeeping;

    -- The writer owns syncer's objects, so that syncer migrate up can alter
    -- the tables and remake the views as the writer: everything in the
    -- bookkeeping schema, and what the same roles (those that ran the
    -- migrations) own in the warehouse's schema. Other objects there stay
    -- as they are. A sequence of a serial or identity column goes with its
    -- table; array and row types go with theirs.
    cnt := 0;
    FOR r IN
        WITH migrators AS (
            SELECT DISTINCT relowner AS owner FROM pg_class WHERE relnamespace = b_oid AND relowner <> writer_oid
        )
        SELECT format('ALTER %s %I.%I OWNER TO %I',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                     WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END,
                      ns.nspname, c.relname, writer) AS stmt
        FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
          AND c.relowner <> writer_oid
          AND (c.relnamespace = b_oid OR (c.relnamespace = w_oid AND c.relowner IN (SELECT owner FROM migrators)))
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d
                                               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
        UNION ALL
        SELECT format('ALTER ROUTINE %I.%I(%s) OWNER TO %I', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid), writer)
        FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p') AND p.proowner <> writer_oid
          AND (p.pronamespace = b_oid OR (p.pronamespace = w_oid AND p.proowner IN (SELECT owner FROM migrators)))
        UNION ALL
        SELECT format('ALTER TYPE %I.%I OWNER TO %I', ns.nspname, t.typname, writer)
        FROM pg_type t JOIN pg_namespace ns ON ns.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd', 'r') AND t.typowner <> writer_oid
          AND (t.typnamespace = b_oid OR (t.typnamespace = w_oid AND t.typowner IN (SELECT owner FROM migrators)))
    LOOP
        EXECUTE r.stmt;
        cnt := cnt + 1;
    END LOOP;
    IF cnt > 0 THEN
        RETURN NEXT format('handed %s of syncer''s tables, views, functions and types in schemas %I and %I to %I', cnt, warehouse, bookkeeping, writer);
    END IF;

    -- The analyst reads the warehouse's schema: its tables and views, and
    -- those the writer makes there later (syncer migrate up, when it makes
    -- a view anew).
    IF NOT has_schema_privilege(analyst_oid, w_oid, 'USAGE') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', warehouse, analyst);
        RETURN NEXT format('granted USAGE on schema %I to %I', warehouse, analyst);
    END IF;
    SELECT count(*) INTO cnt FROM pg_class c
    WHERE c.relnamespace = w_oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT has_table_privilege(analyst_oid, c.oid, 'SELECT');
    IF cnt > 0 THEN
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', warehouse, analyst);
        RETURN NEXT format('granted SELECT on %s tables and views of schema %I to %I', cnt, warehouse, analyst);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_default_acl d, aclexplode(d.defaclacl) a
                   WHERE d.defaclrole = writer_oid AND d.defaclnamespace = w_oid AND d.defaclobjtype = 'r'
                     AND a.grantee = analyst_oid AND a.privilege_type = 'SELECT') THEN
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES TO %I', writer, warehouse, analyst);
        RETURN NEXT format('granted SELECT on the tables and views %I makes in schema %I from now on to %I', writer, warehouse, analyst);
    END IF;

    -- ... and nothing else: no write on the warehouse's tables, no creating
    -- in its schema, nothing in the bookkeeping schema (the views run with
    -- their owner's rights, and need none of it). PUBLIC counts, as every
    -- role is a member of it. PostgreSQL 15 and later revoke CREATE on
    -- schema public from PUBLIC already; earlier versions grant it.
    cnt := 0;
    FOR r IN
        SELECT format('REVOKE %s ON %I.%I FROM %s', a.privilege_type, ns.nspname, c.relname,
                      CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END) AS stmt
        FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace, aclexplode(c.relacl) a
        WHERE a.grantee IN (0, analyst_oid)
          AND ((c.relnamespace = w_oid AND a.privilege_type <> 'SELECT') OR c.relnamespace = b_oid)
    LOOP
        EXECUTE r.stmt;
        cnt := cnt + 1;
    END LOOP;
    IF cnt > 0 THEN
        RETURN NEXT format('revoked %s privileges other than reading the warehouse from %I and PUBLIC', cnt, analyst);
    END IF;
    FOR r IN
        SELECT format('REVOKE %s ON SCHEMA %I FROM %s', a.privilege_type, ns.nspname,
                      CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END) AS stmt,
               format('revoked %s on schema %I from %s', a.privilege_type, ns.nspname,
                      CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END) AS said
        FROM pg_namespace ns, aclexplode(ns.nspacl) a
        WHERE a.grantee IN (0, analyst_oid)
          AND ((ns.oid = w_oid AND a.privilege_type = 'CREATE') OR ns.oid = b_oid)
    LOOP
        EXECUTE r.stmt;
        RETURN NEXT r.said;
    END LOOP;
    -- What another role's membership still gives, this cannot take back.
    IF has_schema_privilege(analyst_oid, w_oid, 'CREATE') OR has_schema_privilege(analyst_oid, b_oid, 'USAGE') THEN
        RAISE EXCEPTION 'role % may still create in schema % or read schema % through another role it is a member of', analyst, warehouse, bookkeeping
            USING ERRCODE = 'invalid_grant_operation',
                  HINT = 'See \du ' || analyst || ' in psql, and revoke that membership.';
    END IF;
END
$fn$;
