-- 0011: NOTIFY admin_change for the tables the console shows but the SBC
-- does not load (port orders, users, API tokens, the audit log, CDRs), so
-- that every open console page follows another operator's change
-- (sbc-admin's GET /api/v1/events). A channel of its own: SBC nodes reload
-- their configuration on any sbc_config NOTIFY, and none of these tables is
-- part of it. The payload is the table name, as for sbc_config.
-- Statement-level: a bulk statement is one notification, and PostgreSQL
-- folds identical notifications of one transaction into one.

CREATE FUNCTION sbc_notify_admin_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('admin_change', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE TRIGGER port_orders_admin_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON port_orders
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_admin_change();
CREATE TRIGGER port_order_numbers_admin_change
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON port_order_numbers
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_admin_change();
CREATE TRIGGER users_admin_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_admin_change();
-- Not on last_used_at: the console writes it back every second a token is used.
CREATE TRIGGER api_tokens_admin_change_rows AFTER INSERT OR DELETE OR TRUNCATE ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_admin_change();
CREATE TRIGGER api_tokens_admin_change_update
  AFTER UPDATE OF name, role, expires_at, revoked, token_hash ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_admin_change();
CREATE TRIGGER audit_log_admin_change AFTER INSERT ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_admin_change();
-- On the partitioned parent: the SBC's CDR writer inserts through it.
CREATE TRIGGER cdrs_admin_change AFTER INSERT OR DELETE ON cdrs
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_admin_change();
