-- syncer's bookkeeping moves out of the analysts' way, into a schema of its
-- own beside the warehouse's: "syncer" beside public, "<schema>_syncer"
-- beside any other (internal/schemas has the same rule). syncer's
-- connections have both schemas on their search_path, so its SQL names
-- the tables as before; an analyst's connection shows only the entity
-- tables, sources and the views. syncer migrate makes the schema, and
-- moves goose's and River's tables into it, before this runs.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    target text := CASE current_schema() WHEN 'public' THEN 'syncer' ELSE current_schema() || '_syncer' END;
    t text;
BEGIN
    -- syncer migrate made it already; only when missing (CREATE SCHEMA
    -- IF NOT EXISTS needs the right to create schemas even then).
    IF to_regnamespace(target) IS NULL THEN
        EXECUTE format('CREATE SCHEMA %I', target);
    END IF;
    FOREACH t IN ARRAY ARRAY['sync_state', 'sync_runs', 'sync_leases', 'quarantine', 'imported_files',
                             'webhook_inbox', 'media_rechecks', 'warehouse_settings'] LOOP
        EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', current_schema(), t, target);
    END LOOP;
    EXECUTE format('ALTER FUNCTION %I.syncer_apply_time_zone(text) SET SCHEMA %I', current_schema(), target);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    source text := CASE current_schema() WHEN 'public' THEN 'syncer' ELSE current_schema() || '_syncer' END;
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sync_state', 'sync_runs', 'sync_leases', 'quarantine', 'imported_files',
                             'webhook_inbox', 'media_rechecks', 'warehouse_settings'] LOOP
        EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', source, t, current_schema());
    END LOOP;
    EXECUTE format('ALTER FUNCTION %I.syncer_apply_time_zone(text) SET SCHEMA %I', source, current_schema());
END
$$;
-- +goose StatementEnd
