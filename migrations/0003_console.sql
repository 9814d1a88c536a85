-- 0003: the admin console's users, sessions, API tokens and audit log.
-- Secrets are never stored: passwords as argon2 encoded hashes, session
-- cookies and API tokens as their SHA-256.

CREATE TABLE users (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username       text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
  role           text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  password_hash  text NOT NULL CHECK (password_hash ~ '^\$argon2(id|i|d)\$'),
  disabled       boolean NOT NULL DEFAULT false,
  failed_logins  integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
  locked_until   timestamptz,
  last_login_at  timestamptz,
  version        bigint NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
-- "Alice" and "alice" are one user.
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE TRIGGER users_version BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION sbc_bump_version();

CREATE TABLE sessions (
  token_hash    bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token    text NOT NULL CHECK (length(csrf_token) >= 16),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  client_ip     inet,
  user_agent    text NOT NULL DEFAULT '',
  CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL CHECK (name <> '' AND length(name) <= 100),
  token_hash    bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  role          text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  created_by    bigint REFERENCES users (id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,  -- NULL: never
  last_used_at  timestamptz,
  revoked       boolean NOT NULL DEFAULT false
);

CREATE TABLE audit_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  who        text NOT NULL,  -- username, "token:<name>", or "system"
  action     text NOT NULL CHECK (action <> ''),  -- create, update, delete, login, ...
  entity     text NOT NULL,  -- table or object kind: trunk, did, route, user...
  entity_id  text,
  before     jsonb,
  after      jsonb,
  client_ip  inet
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
