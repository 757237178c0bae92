-- syncer's database roles (docs/operations.md#roles):
--
--   writer   the role syncer connects as. It owns syncer's objects (below)
--            in the warehouse's schema and the bookkeeping schema, may
--            create in both (so syncer migrate up runs as it), and may
--            connect and make temporary tables in the database; it may
--            create schemas there only when asked (writer_creates_schemas):
--            this function makes both schemas, owned by it, and syncer
--            migrate up creates a schema only when it is missing. NOLOGIN
--            unless it is given a password.
--   analyst  read-only, a NOLOGIN group role: USAGE on the warehouse's
--            schema and SELECT on syncer's tables and views there, now and
--            later (the default privileges of the writer there), nothing on
--            the bookkeeping schema, no write anywhere. People and BI tools
--            log in as LOGIN roles that are its members.
--
-- syncer's objects are, in the warehouse's schema, the tables sources,
-- channels, contacts, agents, departments, conversations and messages (with
-- their sequences and indexes), the views v_messages, v_daily_volume,
-- v_conversation_metrics, v_agent_load, v_hourly_heatmap, daily_message_volume,
-- conversation_first_response, conversation_handling_time and
-- agent_daily_load (known_tables and known_views below), by name and no
-- other; in the bookkeeping schema, everything. Members of an extension are
-- never syncer's, wherever they are. Other objects in the warehouse's schema
-- (another application's tables and views in a shared public, whatever their
-- names) keep their owner and their grants.
--
-- This file defines one function, pg_temp.syncer_roles, that lives only as
-- long as the session that made it. Calling it does the work and returns a
-- row for each role (created, or found and its password set, or found and
-- left as it was) and for each thing it granted, revoked or handed over;
-- `changed` is false on the rows of roles left as they were. It is safe to
-- call again: it creates only what is missing and grants only what is not
-- granted, so a second call changes nothing (but the passwords it is given,
-- which it sets again). No value is pasted into SQL text: the arguments are
-- values, and the statements it builds quote them with %I and %L.
--
-- It refuses, and so changes nothing as the caller's transaction rolls
-- back, when the analyst or a login could do more than read syncer's
-- tables and views: when it is a superuser, may create roles or bypass row
-- security, is a member of the writer or of such a role, or may write to
-- syncer's tables, create in the warehouse's schema or touch the
-- bookkeeping schema, directly or through a role it is a member of. Its
-- error lists what to revoke. The one grant it takes back by itself is
-- the analyst's SELECT, given by the writer's default privileges, on the
-- bookkeeping tables that migration 00011 moved out of the warehouse's
-- schema; and it revokes from PUBLIC what PUBLIC has on syncer's objects
-- beyond reading the warehouse, and CREATE on the warehouse's schema.
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
--   login_passwords  their passwords, in the same order, as writer_password; NULL
--                    leaves an existing login's password as it is (a new login
--                    needs one)
--   writer_creates_schemas
--                    true: the writer may create schemas in the database (syncer
--                    demo drops and makes its schemas). Else it gets no CREATE on
--                    the database: this function makes both schemas, owned by
--                    the writer, and syncer migrate up creates a schema only when
--                    it is missing, so its first run needs none.

CREATE OR REPLACE FUNCTION pg_temp.syncer_roles(
    warehouse text, bookkeeping text, writer text, analyst text,
    writer_password text DEFAULT NULL,
    logins text[] DEFAULT '{}', login_passwords text[] DEFAULT '{}',
    writer_creates_schemas boolean DEFAULT false)
RETURNS TABLE (changed boolean, said text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    -- syncer's tables and views in the warehouse's schema, and nothing
    -- else there: a view runs with its owner's rights, so another
    -- application's view handed to the writer would break. A migration that
    -- adds a table or view to the warehouse's schema must add it here
    -- (TestRolesKnowEveryWarehouseRelation fails until it does).
    known_tables constant text[] := ARRAY['sources', 'channels', 'contacts', 'agents', 'departments',
                                          'conversations', 'messages'];
    known_views  constant text[] := ARRAY['v_messages', 'v_daily_volume', 'v_conversation_metrics', 'v_agent_load',
                                          'v_hourly_heatmap', 'daily_message_volume', 'conversation_first_response',
                                          'conversation_handling_time', 'agent_daily_load'];
    me           name := current_user;
    db           name := current_database();
    writer_oid   oid;
    analyst_oid  oid;
    w_oid        oid;  -- the warehouse's schema
    b_oid        oid;  -- the bookkeeping schema
    mine         oid[];  -- syncer's tables and views in the warehouse's schema
    mine_seqs    oid[];  -- and the sequences of their serial and identity columns
    need_create  boolean;
    maintain     text[] := CASE WHEN current_setting('server_version_num')::int >= 170000 THEN '{MAINTAIN}' ELSE '{}' END;
    problems     text[] := '{}';
    fixes        text[] := '{}';
    refused      text[] := '{}';  -- the roles with problems
    s            text;
    r            record;
    q            record;
    cnt          int;
    i            int;
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
       OR array_position(logins, NULL) IS NOT NULL
       OR (SELECT count(DISTINCT l) FROM unnest(logins) l) <> cardinality(logins) THEN
        RAISE EXCEPTION 'syncer_roles: two schemas, a writer, an analyst and logins, all different, and a password (or NULL) for each login'
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
    -- The roles: each says whether it was created, given its password, or
    -- left as it was.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = writer) THEN
        IF writer_password IS NULL THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', writer);
            RETURN QUERY SELECT true, format('writer %I: created, NOLOGIN until it is given a password', writer);
        ELSE
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', writer, writer_password);
            RETURN QUERY SELECT true, format('writer %I: created; it logs in with its password', writer);
        END IF;
    ELSIF writer_password IS NOT NULL THEN
        EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', writer, writer_password);
        RETURN QUERY SELECT true, format('writer %I: exists: password set; it logs in with it', writer);
    ELSE
        RETURN QUERY SELECT false, format('writer %I: exists: left as it was%s', writer,
                                          CASE WHEN rolcanlogin THEN '' ELSE ' (NOLOGIN)' END)
                     FROM pg_roles WHERE rolname = writer;
    END IF;
    SELECT oid INTO writer_oid FROM pg_roles WHERE rolname = writer;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = analyst) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', analyst);
        RETURN QUERY SELECT true, format('analyst %I: created, NOLOGIN: a group role; people and BI tools log in as its members', analyst);
    ELSE
        RETURN QUERY SELECT false, format('analyst %I: exists: left as it was', analyst);
    END IF;
    SELECT oid INTO analyst_oid FROM pg_roles WHERE rolname = analyst;
    FOR i IN 1 .. cardinality(logins) LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = logins[i]) THEN
            IF login_passwords[i] IS NULL THEN
                RAISE EXCEPTION 'analyst login % does not exist, and a new login needs a password', logins[i]
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = format('Name the environment variable that holds it with --analyst-password-env VAR right after --analyst-login %s.', logins[i]);
            END IF;
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', logins[i], login_passwords[i], analyst);
            RETURN QUERY SELECT true, format('analyst login %I: created; it logs in with its password and reads as a member of %I', logins[i], analyst);
        ELSE
            IF login_passwords[i] IS NOT NULL THEN
                EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', logins[i], login_passwords[i]);
                RETURN QUERY SELECT true, format('analyst login %I: exists: password set; it logs in with it', logins[i]);
            ELSE
                RETURN QUERY SELECT false, format('analyst login %I: exists: left as it was%s', logins[i],
                                                  CASE WHEN rolcanlogin THEN '' ELSE ' (NOLOGIN: it cannot log in until it is given a password)' END)
                             FROM pg_roles WHERE rolname = logins[i];
            END IF;
            IF NOT pg_has_role(logins[i], analyst, 'MEMBER') THEN
                EXECUTE format('GRANT %I TO %I', analyst, logins[i]);
                RETURN QUERY SELECT true, format('granted role %I to %I', analyst, logins[i]);
            END IF;
        END IF;
    END LOOP;

    -- Read-only means no way to more: neither the role nor a role it may
    -- become is a superuser, may create roles (and so grant itself the
    -- writer) or bypass row security, is the writer, or reads or writes
    -- every table (pg_read_all_data, pg_write_all_data). A role found so
    -- is not looked at further (below): that comes after this is fixed.
    FOR r IN SELECT ro.oid, ro.rolname, ro.rolsuper,
                    array_to_string(array_remove(ARRAY[CASE WHEN ro.rolsuper THEN 'SUPERUSER' END,
                                                       CASE WHEN ro.rolcreaterole THEN 'CREATEROLE' END,
                                                       CASE WHEN ro.rolbypassrls THEN 'BYPASSRLS' END], NULL), ', ') AS attrs
             FROM pg_roles ro
             WHERE ro.rolname = analyst OR ro.rolname = ANY (logins)
             ORDER BY ro.rolname <> analyst, ro.rolname LOOP
        IF r.attrs <> '' THEN
            refused := refused || r.rolname::text;
            problems := problems || format('%I is %s', r.rolname, r.attrs);
            fixes := fixes || format('choose another role than %I for a read-only one, or, if %I should not be %s: ALTER ROLE %I %s;',
                                     r.rolname, r.rolname, r.attrs, r.rolname,
                                     (SELECT string_agg('NO' || x, ' ') FROM unnest(string_to_array(r.attrs, ', ')) x));
        END IF;
        CONTINUE WHEN r.rolsuper;  -- a superuser is a member of every role
        FOR q IN SELECT h.oid, h.rolname,
                        CASE WHEN h.oid = writer_oid THEN 'is the writer'
                             WHEN h.rolname = 'pg_read_all_data' THEN 'reads every table'
                             WHEN h.rolname = 'pg_write_all_data' THEN 'writes every table'
                             ELSE 'is ' || array_to_string(array_remove(ARRAY[CASE WHEN h.rolsuper THEN 'SUPERUSER' END,
                                                                              CASE WHEN h.rolcreaterole THEN 'CREATEROLE' END,
                                                                              CASE WHEN h.rolbypassrls THEN 'BYPASSRLS' END], NULL), ', ') END AS what,
                        EXISTS (SELECT FROM pg_auth_members m WHERE m.member = r.oid AND m.roleid = h.oid) AS direct
                 FROM pg_roles h
                 WHERE h.oid <> r.oid AND pg_has_role(r.oid, h.oid, 'MEMBER')
                   AND (h.rolsuper OR h.rolcreaterole OR h.rolbypassrls OR h.oid = writer_oid
                        OR h.rolname IN ('pg_read_all_data', 'pg_write_all_data'))
                   -- what a login has through the analyst is said of the analyst
                   AND (r.oid = analyst_oid OR NOT pg_has_role(analyst_oid, h.oid, 'MEMBER'))
                 ORDER BY h.rolname LOOP
            refused := refused || r.rolname::text;
            problems := problems || format('%I is a member of %I, which %s', r.rolname, q.rolname, q.what);
            fixes := fixes || CASE WHEN q.direct THEN format('REVOKE %I FROM %I;', q.rolname, r.rolname)
                                   ELSE format('take %I out of %I (it is a member through another role: \du %I in psql)', r.rolname, q.rolname, r.rolname) END;
        END LOOP;
    END LOOP;
    -- A user with CREATEROLE but not superuser hands objects to the writer
    -- and sets its default privileges only as a member of it.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = me) AND NOT pg_has_role(me, writer, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', writer, me);
        RETURN QUERY SELECT true, format('granted role %I to %I, to hand it syncer''s tables', writer, me);
    END IF;

    -- The database and the two schemas. The writer creates schemas only
    -- when asked: the two it needs are made here.
    IF NOT (has_database_privilege(writer_oid, db, 'CONNECT') AND has_database_privilege(writer_oid, db, 'TEMPORARY')) THEN
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', db, writer);
        RETURN QUERY SELECT true, format('granted CONNECT and TEMPORARY on database %I to %I', db, writer);
    END IF;
    IF NOT has_database_privilege(analyst_oid, db, 'CONNECT') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', db, analyst);
        RETURN QUERY SELECT true, format('granted CONNECT on database %I to %I', db, analyst);
    END IF;
    FOREACH s IN ARRAY ARRAY[warehouse, bookkeeping] LOOP
        IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
            EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', s, writer);
            RETURN QUERY SELECT true, format('created schema %I, owned by %I', s, writer);
        ELSIF NOT (has_schema_privilege(writer_oid, (SELECT oid FROM pg_namespace WHERE nspname = s), 'USAGE')
                   AND has_schema_privilege(writer_oid, (SELECT oid FROM pg_namespace WHERE nspname = s), 'CREATE')) THEN
            EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', s, writer);
            RETURN QUERY SELECT true, format('granted USAGE and CREATE on schema %I to %I', s, writer);
        END IF;
    END LOOP;
    SELECT oid INTO w_oid FROM pg_namespace WHERE nspname = warehouse;
    SELECT oid INTO b_oid FROM pg_namespace WHERE nspname = bookkeeping;
    -- After the schemas are made: syncer migrate up creates a schema only
    -- when it is missing, so the writer needs CREATE on the database only
    -- when asked (or were a schema still missing, which the loop above
    -- rules out).
    need_create := writer_creates_schemas OR w_oid IS NULL OR b_oid IS NULL;
    IF need_create AND NOT has_database_privilege(writer_oid, db, 'CREATE') THEN
        EXECUTE format('GRANT CREATE ON DATABASE %I TO %I', db, writer);
        IF writer_creates_schemas THEN
            RETURN QUERY SELECT true, format('granted CREATE on database %I to %I, which may create schemas there', db, writer);
        ELSE
            RETURN QUERY SELECT true, format('granted CREATE on database %I to %I, to create the schemas that are missing', db, writer);
        END IF;
    END IF;

    -- syncer's objects in the warehouse's schema: its tables and views by
    -- the names above, never an extension's.
    SELECT coalesce(array_agg(c.oid), '{}') INTO mine
    FROM pg_class c
    WHERE c.relnamespace = w_oid
      AND ((c.relkind IN ('r', 'p') AND c.relname = ANY (known_tables))
           OR (c.relkind = 'v' AND c.relname = ANY (known_views)))
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e');
    SELECT coalesce(array_agg(d.objid), '{}') INTO mine_seqs
    FROM pg_depend d JOIN pg_class sq ON sq.oid = d.objid
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = ANY (mine) AND d.deptype IN ('a', 'i') AND sq.relkind = 'S';

    -- The writer owns syncer's objects, so that syncer migrate up can alter
    -- the tables and remake the views as the writer: those of the
    -- warehouse's schema above, whoever made them (a migrate up by another
    -- user), and everything in the bookkeeping schema but an extension's.
    -- A sequence of a serial or identity column, and the indexes, go with
    -- their table; array and row types go with theirs.
    cnt := 0;
    FOR r IN
        SELECT format('ALTER %s %I.%I OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                      warehouse, c.relname, writer) AS stmt
        FROM pg_class c
        WHERE c.oid = ANY (mine) AND c.relowner <> writer_oid
    LOOP
        EXECUTE r.stmt;
        cnt := cnt + 1;
    END LOOP;
    IF cnt > 0 THEN
        RETURN QUERY SELECT true, format('handed %s of syncer''s tables and views in schema %I to %I', cnt, warehouse, writer);
    END IF;
    cnt := 0;
    FOR r IN
        SELECT format('ALTER %s %I.%I OWNER TO %I',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                     WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END,
                      bookkeeping, c.relname, writer) AS stmt
        FROM pg_class c
        WHERE c.relnamespace = b_oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
          AND c.relowner <> writer_oid
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d
                                               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
        UNION ALL
        SELECT format('ALTER ROUTINE %I.%I(%s) OWNER TO %I', bookkeeping, p.proname, pg_get_function_identity_arguments(p.oid), writer)
        FROM pg_proc p
        WHERE p.pronamespace = b_oid AND p.prokind IN ('f', 'p') AND p.proowner <> writer_oid
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
        UNION ALL
        SELECT format('ALTER TYPE %I.%I OWNER TO %I', bookkeeping, t.typname, writer)
        FROM pg_type t
        WHERE t.typnamespace = b_oid AND t.typtype IN ('e', 'd', 'r') AND t.typowner <> writer_oid
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE r.stmt;
        cnt := cnt + 1;
    END LOOP;
    IF cnt > 0 THEN
        RETURN QUERY SELECT true, format('handed %s tables, functions and types of schema %I to %I', cnt, bookkeeping, writer);
    END IF;

    -- The analyst reads syncer's tables and views, and those the writer
    -- makes in the warehouse's schema later (syncer migrate up, when it
    -- makes a view anew).
    IF NOT has_schema_privilege(analyst_oid, w_oid, 'USAGE') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', warehouse, analyst);
        RETURN QUERY SELECT true, format('granted USAGE on schema %I to %I', warehouse, analyst);
    END IF;
    cnt := 0;
    FOR r IN SELECT c.relname FROM pg_class c
             WHERE c.oid = ANY (mine) AND NOT has_table_privilege(analyst_oid, c.oid, 'SELECT') ORDER BY c.relname LOOP
        EXECUTE format('GRANT SELECT ON %I.%I TO %I', warehouse, r.relname, analyst);
        cnt := cnt + 1;
    END LOOP;
    IF cnt > 0 THEN
        RETURN QUERY SELECT true, format('granted SELECT on %s of syncer''s tables and views in schema %I to %I', cnt, warehouse, analyst);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_default_acl d, aclexplode(d.defaclacl) a
                   WHERE d.defaclrole = writer_oid AND d.defaclnamespace = w_oid AND d.defaclobjtype = 'r'
                     AND a.grantee = analyst_oid AND a.privilege_type = 'SELECT') THEN
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES TO %I', writer, warehouse, analyst);
        RETURN QUERY SELECT true, format('granted SELECT on the tables and views %I makes in schema %I from now on to %I', writer, warehouse, analyst);
    END IF;

    -- What syncer's own arrangement gave and should not have: the
    -- analyst's SELECT, from the writer's default privileges, on the
    -- bookkeeping tables that migration 00011 moved out of the warehouse's
    -- schema.
    cnt := 0;
    FOR r IN
        SELECT DISTINCT c.relname
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.relnamespace = b_oid AND a.grantee = analyst_oid AND a.grantor = writer_oid AND a.privilege_type = 'SELECT'
    LOOP
        EXECUTE format('REVOKE SELECT ON %I.%I FROM %I', bookkeeping, r.relname, analyst);
        cnt := cnt + 1;
    END LOOP;
    IF cnt > 0 THEN
        RETURN QUERY SELECT true, format('revoked SELECT on %s tables of schema %I from %I, which the default privileges of %I gave them '
                                         'before migration 00011 moved them out of schema %I', cnt, bookkeeping, analyst, writer, warehouse);
    END IF;
    -- PUBLIC (every role) on syncer's objects: nothing but reading the
    -- warehouse's. PostgreSQL 15 and later no longer grant CREATE on
    -- schema public to PUBLIC; earlier versions do.
    FOR r IN
        SELECT format('REVOKE %s ON %s%I.%I FROM PUBLIC', a.privilege_type, CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE '' END,
                      ns.nspname, c.relname) AS stmt,
               format('revoked %s on %I.%I from PUBLIC', a.privilege_type, ns.nspname, c.relname) AS said_
        FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace, aclexplode(c.relacl) a
        WHERE a.grantee = 0
          AND ((c.oid = ANY (mine || mine_seqs) AND a.privilege_type <> 'SELECT')
               OR (c.relnamespace = b_oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')))
        UNION ALL
        SELECT format('REVOKE %s ON SCHEMA %I FROM PUBLIC', a.privilege_type, ns.nspname),
               format('revoked %s on schema %I from PUBLIC', a.privilege_type, ns.nspname)
        FROM pg_namespace ns, aclexplode(ns.nspacl) a
        WHERE a.grantee = 0 AND ((ns.oid = w_oid AND a.privilege_type = 'CREATE') OR ns.oid = b_oid)
    LOOP
        EXECUTE r.stmt;
        RETURN QUERY SELECT true, r.said_;
    END LOOP;

    -- Now what the analyst and each login may do, whatever gives it: their
    -- own grants, the roles they are members of (has_*_privilege follows
    -- memberships, pg_write_all_data and pg_read_all_data among them).
    -- Anything beyond reading syncer's tables and views is refused, with
    -- what to revoke: these are not syncer's grants to take back.
    FOR r IN SELECT ro.oid, ro.rolname FROM pg_roles ro
             WHERE (ro.rolname = analyst OR ro.rolname = ANY (logins)) AND NOT ro.rolname::text = ANY (refused)
             ORDER BY ro.rolname <> analyst, ro.rolname LOOP
        FOR q IN
            WITH objs AS (
                SELECT format('%I.%I', ns.nspname, c.relname) AS label, format('%I.%I', ns.nspname, c.relname) AS target, c.relacl AS acl, c.relowner AS owner, c.oid AS relid,
                       CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE '' END AS on_kind,
                       CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind,
                       ARRAY(SELECT p FROM unnest(
                                 CASE WHEN c.relkind = 'S' AND c.relnamespace = b_oid THEN '{USAGE,SELECT,UPDATE}'::text[]
                                      WHEN c.relkind = 'S' THEN '{USAGE,UPDATE}'::text[]
                                      WHEN c.relnamespace = b_oid THEN '{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[] || maintain
                                      ELSE '{INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[] || maintain END) p
                             WHERE CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(r.oid, c.oid, p)
                                        ELSE has_table_privilege(r.oid, c.oid, p)
                                             OR (p IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES') AND has_any_column_privilege(r.oid, c.oid, p)) END
                               -- what a login has through the analyst is said of the analyst
                               AND (r.oid = analyst_oid
                                    OR NOT CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(analyst_oid, c.oid, p)
                                                ELSE has_table_privilege(analyst_oid, c.oid, p)
                                                     OR (p IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES') AND has_any_column_privilege(analyst_oid, c.oid, p)) END)) AS ps
                FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
                WHERE c.oid = ANY (mine || mine_seqs)
                   OR (c.relnamespace = b_oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S'))
                UNION ALL
                SELECT format('schema %I', ns.nspname), format('%I', ns.nspname), ns.nspacl, ns.nspowner, 0::oid, 'SCHEMA ', 'SCHEMA',
                       ARRAY(SELECT p FROM unnest(CASE WHEN ns.oid = b_oid THEN '{USAGE,CREATE}'::text[] ELSE '{CREATE}'::text[] END) p
                             WHERE has_schema_privilege(r.oid, ns.oid, p)
                               AND (r.oid = analyst_oid OR NOT has_schema_privilege(analyst_oid, ns.oid, p)))
                FROM pg_namespace ns
                WHERE ns.oid IN (w_oid, b_oid)
            )
            SELECT o.label, o.target, o.on_kind, o.ps, src.how, src.fix
            FROM objs o
            CROSS JOIN LATERAL (
                SELECT string_agg(CASE WHEN h.oid = r.oid AND h.oid = o.owner THEN 'it owns it'
                                       WHEN h.oid = r.oid THEN 'granted to it'
                                       WHEN h.oid = o.owner THEN format('as a member of %I, which owns it', h.rolname)
                                       ELSE format('as a member of %I', h.rolname) END, ', ' ORDER BY h.oid <> r.oid, h.rolname) AS how,
                       array_agg(CASE WHEN h.oid = r.oid AND h.oid = o.owner
                                          THEN format('ALTER %s %s OWNER TO %I;', o.kind, o.target, writer)
                                      WHEN h.oid = r.oid
                                          THEN format('REVOKE %s ON %s%s FROM %I;', array_to_string(o.ps, ', '), o.on_kind,
                                                      o.target, r.rolname)
                                      WHEN EXISTS (SELECT FROM pg_auth_members m WHERE m.member = r.oid AND m.roleid = h.oid)
                                          THEN format('REVOKE %I FROM %I;', h.rolname, r.rolname)
                                      ELSE format('take %I out of %I (it is a member through another role: \du %I in psql)',
                                                  r.rolname, h.rolname, r.rolname) END
                                 ORDER BY h.oid <> r.oid, h.rolname) AS fix
                FROM pg_roles h
                WHERE pg_has_role(r.oid, h.oid, 'MEMBER')
                  AND (h.oid = o.owner
                       OR EXISTS (SELECT FROM aclexplode(o.acl) a WHERE a.grantee = h.oid AND a.privilege_type = ANY (o.ps))
                       OR EXISTS (SELECT FROM pg_attribute att, aclexplode(att.attacl) a
                                  WHERE o.relid <> 0 AND att.attrelid = o.relid AND a.grantee = h.oid AND a.privilege_type = ANY (o.ps))
                       OR (h.rolname = 'pg_write_all_data' AND o.ps && '{INSERT,UPDATE,DELETE,USAGE}')
                       OR (h.rolname = 'pg_read_all_data' AND o.ps && '{SELECT,USAGE}'))
            ) src
            WHERE cardinality(o.ps) > 0
            ORDER BY o.label
        LOOP
            refused := refused || r.rolname::text;
            problems := problems || format('%I has %s on %s (%s)', r.rolname, array_to_string(q.ps, ', '), q.label,
                                           coalesce(q.how, 'through a grant to PUBLIC'));
            fixes := fixes || coalesce(q.fix, ARRAY[format('REVOKE %s ON %s%s FROM PUBLIC;', array_to_string(q.ps, ', '),
                                                          q.on_kind, q.target)]);
        END LOOP;
    END LOOP;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_grant_operation',
            MESSAGE = format('not read-only: %s may do more than read syncer''s tables and views; nothing was changed',
                             (SELECT string_agg(quote_ident(x), ', ' ORDER BY n)
                              FROM (SELECT x, min(n) AS n FROM unnest(refused) WITH ORDINALITY u(x, n) GROUP BY x) z)),
            DETAIL = array_to_string(problems, E'\n'),
            HINT = E'What to do (then run syncer migrate roles again):\n'
                   || array_to_string(ARRAY(SELECT f FROM unnest(fixes) WITH ORDINALITY u(f, n) GROUP BY f ORDER BY min(n)), E'\n');
    END IF;
END
$fn$;
