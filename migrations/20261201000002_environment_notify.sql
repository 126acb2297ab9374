-- Every server replica learns at once that an environment's snapshot changed (a deployment,
-- a revoked key, a policy...), whichever replica made the change: NOTIFY at commit, with the
-- environment's name (server/src/changes.rs listens).
CREATE FUNCTION gatehouse_environment_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gatehouse_environment', NEW.name);
    RETURN NEW;
END;
$$;

CREATE TRIGGER gateway_environment_changed
    AFTER UPDATE OF revision ON gateway_environment
    FOR EACH ROW WHEN (OLD.revision IS DISTINCT FROM NEW.revision)
    EXECUTE FUNCTION gatehouse_environment_changed();
