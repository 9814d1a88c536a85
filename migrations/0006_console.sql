-- 0006: the console's login bookkeeping (failed_logins, locked_until,
-- last_login_at) no longer bumps users.version: a user logging in must not
-- turn an admin's open edit form of that user stale. Only the columns an
-- admin edits do.
DROP TRIGGER users_version ON users;
CREATE TRIGGER users_version
  BEFORE UPDATE OF username, role, password_hash, disabled ON users
  FOR EACH ROW EXECUTE FUNCTION sbc_bump_version();
