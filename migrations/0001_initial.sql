-- 0001: what the SBC's configuration snapshot reads (sbc/config/snapshot.h):
-- trunks with gateways, ACLs and credentials; registrations; DIDs; routes;
-- ported numbers. The database itself refuses nonsense (CHECKs, FKs and
-- triggers), so the console and psql are held to the same rules.
--
-- Conventions used by every migration:
--   * enumerations are text with a CHECK (easier to extend than enum types);
--   * E.164 numbers are stored with their '+' ('+14155550100');
--   * rows an operator edits carry version (optimistic concurrency) and
--     created_at/updated_at; a trigger bumps version and updated_at on every
--     UPDATE, so an edit from psql also invalidates a stale console form:
--     writers check "WHERE id = $1 AND version = $2" and never set version.
--   * schema_migrations is created by the migration runner (common/db/migrate.cc).

CREATE FUNCTION sbc_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE FUNCTION sbc_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

-- Every SBC LISTENs on 'sbc_config' and reloads its snapshot. Per statement,
-- not per row: a million-row import sends one notification.
CREATE FUNCTION sbc_notify_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sbc_config', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE DOMAIN e164 AS text CHECK (VALUE ~ '^\+[1-9][0-9]{1,14}$');

CREATE TABLE trunks (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                  text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  description           text NOT NULL DEFAULT '',
  kind                  text NOT NULL CHECK (kind IN ('pbx', 'carrier')),
  realm                 text NOT NULL DEFAULT 'inside' CHECK (realm IN ('inside', 'outside')),
  enabled               boolean NOT NULL DEFAULT true,
  auth_mode             text NOT NULL DEFAULT 'acl' CHECK (auth_mode IN ('acl', 'digest', 'register')),
  -- limits; 0 = unlimited
  max_calls             integer NOT NULL DEFAULT 0 CHECK (max_calls >= 0),
  max_inbound           integer NOT NULL DEFAULT 0 CHECK (max_inbound >= 0),
  max_outbound          integer NOT NULL DEFAULT 0 CHECK (max_outbound >= 0),
  cps                   numeric(10, 3) NOT NULL DEFAULT 0 CHECK (cps >= 0),
  cps_burst             integer NOT NULL DEFAULT 0 CHECK (cps_burst >= 0),
  reject_code           integer NOT NULL DEFAULT 503 CHECK (reject_code BETWEEN 400 AND 699),
  reject_reason         text NOT NULL DEFAULT 'Q.850;cause=34',
  -- header policy
  header_strip          text[] NOT NULL DEFAULT '{}',
  header_allow_x        text[] NOT NULL DEFAULT '{}',
  pai_trust             text NOT NULL DEFAULT 'untrusted' CHECK (pai_trust IN ('trusted', 'untrusted')),
  product_header        text,  -- User-Agent/Server towards the trunk; NULL: node default
  -- number format
  country_code          text NOT NULL DEFAULT '1' CHECK (country_code ~ '^[1-9][0-9]{0,2}$'),
  national_prefix       text NOT NULL DEFAULT '' CHECK (national_prefix ~ '^[0-9]{0,4}$'),
  international_prefix  text NOT NULL DEFAULT '011' CHECK (international_prefix ~ '^[0-9]{0,4}$'),
  send_plus             boolean NOT NULL DEFAULT true,
  -- number portability
  pass_lnp_params       boolean NOT NULL DEFAULT true,
  ported_out_action     text NOT NULL DEFAULT 'reject_404'
                        CHECK (ported_out_action IN ('reject_404', 'route_by_lnp')),
  media_policy          text NOT NULL DEFAULT 'rtp'
                        CHECK (media_policy IN ('rtp', 'srtp-optional', 'srtp-mandatory')),
  -- timers (RFC 4028: Min-SE is at least 90 s; session_expires 0 disables)
  session_expires       integer NOT NULL DEFAULT 1800,
  min_se                integer NOT NULL DEFAULT 90 CHECK (min_se BETWEEN 90 AND 86400),
  max_call_seconds      integer NOT NULL DEFAULT 14400 CHECK (max_call_seconds > 0),
  ring_timeout_seconds  integer NOT NULL DEFAULT 120 CHECK (ring_timeout_seconds BETWEEN 1 AND 3600),
  failover_timeout_ms   integer NOT NULL DEFAULT 4000 CHECK (failover_timeout_ms BETWEEN 100 AND 600000),
  -- outbound registration to a carrier
  register_outbound     boolean NOT NULL DEFAULT false,
  register_expires      integer NOT NULL DEFAULT 3600 CHECK (register_expires BETWEEN 60 AND 86400),
  register_user         text NOT NULL DEFAULT '',
  version               bigint NOT NULL DEFAULT 1,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT trunks_session_timer CHECK (
    session_expires = 0 OR (session_expires >= min_se AND session_expires <= 86400)),
  CONSTRAINT trunks_register_user CHECK (NOT register_outbound OR register_user <> ''),
  CONSTRAINT trunks_reject_reason CHECK (length(reject_reason) <= 200)
);

CREATE TABLE trunk_gateways (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trunk_id         bigint NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
  host             text NOT NULL CHECK (host ~ '^[A-Za-z0-9.:_\[\]-]{1,253}$'),
  port             integer NOT NULL DEFAULT 5060 CHECK (port BETWEEN 1 AND 65535),
  transport        text NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
  priority         integer NOT NULL DEFAULT 10 CHECK (priority BETWEEN 0 AND 65535),
  weight           integer NOT NULL DEFAULT 100 CHECK (weight BETWEEN 1 AND 65535),
  enabled          boolean NOT NULL DEFAULT true,
  options_ping     boolean NOT NULL DEFAULT true,
  tls_server_name  text NOT NULL DEFAULT '',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (trunk_id, host, port, transport)
);

CREATE TABLE trunk_acl (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trunk_id     bigint NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
  cidr         cidr NOT NULL,  -- the cidr type refuses host bits: 10.1.2.3/8 is an error
  description  text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (trunk_id, cidr)
);

-- secret: common/crypto/secret_box.h format, version 0x01 || nonce(12) ||
-- ciphertext || tag(16). The CHECK refuses plaintext stuffed into the column.
CREATE TABLE trunk_credentials (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trunk_id    bigint NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
  direction   text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  username    text NOT NULL CHECK (username <> '' AND length(username) <= 128),
  secret      bytea NOT NULL CHECK (octet_length(secret) >= 29 AND get_byte(secret, 0) = 1),
  realm       text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (trunk_id, direction)
);

-- Live registrations of PBXs that REGISTER to us (auth_mode 'register').
-- Written by the SBC node that took the REGISTER; not part of the snapshot.
CREATE TABLE registrations (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trunk_id        bigint NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
  aor             text NOT NULL CHECK (aor <> ''),
  contact         text NOT NULL CHECK (contact <> ''),
  source_address  inet NOT NULL,
  source_port     integer NOT NULL CHECK (source_port BETWEEN 1 AND 65535),
  transport       text NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls')),
  expires_at      timestamptz NOT NULL,
  node            text NOT NULL,
  user_agent      text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (trunk_id, aor, contact)
);
CREATE INDEX registrations_expires_at ON registrations (expires_at);

-- A DID is delivered to a PBX trunk. Numbers are assets: deleting a trunk
-- that still has DIDs is refused rather than cascading.
CREATE TABLE dids (
  number       e164 PRIMARY KEY,
  trunk_id     bigint REFERENCES trunks (id) ON DELETE RESTRICT,
  status       text NOT NULL DEFAULT 'active'
               CHECK (status IN ('active', 'porting_in', 'ported_out', 'reserved')),
  description  text NOT NULL DEFAULT '',
  version      bigint NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dids_active_has_trunk CHECK (status <> 'active' OR trunk_id IS NOT NULL)
);
CREATE INDEX dids_trunk_id ON dids (trunk_id);

-- Outbound routing: longest prefix of the E.164 digits (without '+'), then
-- priority (lower first), then weight. '' matches everything.
CREATE TABLE routes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  prefix       text NOT NULL DEFAULT '' CHECK (prefix ~ '^[0-9]{0,15}$'),
  trunk_id     bigint NOT NULL REFERENCES trunks (id) ON DELETE CASCADE,
  priority     integer NOT NULL DEFAULT 10 CHECK (priority BETWEEN 0 AND 65535),
  weight       integer NOT NULL DEFAULT 100 CHECK (weight BETWEEN 1 AND 65535),
  enabled      boolean NOT NULL DEFAULT true,
  description  text NOT NULL DEFAULT '',
  version      bigint NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (prefix, priority, trunk_id)
);
CREATE INDEX routes_trunk_id ON routes (trunk_id);

-- Number portability (RFC 4694): number -> routing number. Bulk-imported
-- (CSV, a carrier's LNP feed); may hold millions of rows.
CREATE TABLE ported_numbers (
  number          e164 PRIMARY KEY,
  routing_number  e164 NOT NULL,
  source          text NOT NULL DEFAULT 'manual',
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Kind rules that a CHECK cannot express (they look at another table).
CREATE FUNCTION sbc_check_did_trunk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.trunk_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM trunks WHERE id = NEW.trunk_id AND kind = 'pbx') THEN
    RAISE EXCEPTION 'DID % must be delivered to a pbx trunk (trunk %)', NEW.number, NEW.trunk_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'dids_trunk_is_pbx';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER dids_trunk_is_pbx BEFORE INSERT OR UPDATE OF trunk_id ON dids
  FOR EACH ROW EXECUTE FUNCTION sbc_check_did_trunk();

CREATE FUNCTION sbc_check_route_trunk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM trunks WHERE id = NEW.trunk_id AND kind = 'carrier') THEN
    RAISE EXCEPTION 'route % must point to a carrier trunk (trunk %)', NEW.prefix, NEW.trunk_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'routes_trunk_is_carrier';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER routes_trunk_is_carrier BEFORE INSERT OR UPDATE OF trunk_id ON routes
  FOR EACH ROW EXECUTE FUNCTION sbc_check_route_trunk();

-- ... and the other way round: a trunk cannot change kind under its DIDs/routes.
CREATE FUNCTION sbc_check_trunk_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind <> 'pbx' AND EXISTS (SELECT 1 FROM dids WHERE trunk_id = NEW.id) THEN
    RAISE EXCEPTION 'trunk % has DIDs and must stay a pbx trunk', NEW.name
      USING ERRCODE = 'check_violation', CONSTRAINT = 'trunks_kind_in_use';
  END IF;
  IF NEW.kind <> 'carrier' AND EXISTS (SELECT 1 FROM routes WHERE trunk_id = NEW.id) THEN
    RAISE EXCEPTION 'trunk % has routes and must stay a carrier trunk', NEW.name
      USING ERRCODE = 'check_violation', CONSTRAINT = 'trunks_kind_in_use';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trunks_kind_in_use BEFORE UPDATE OF kind ON trunks
  FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind) EXECUTE FUNCTION sbc_check_trunk_kind();

CREATE TRIGGER trunks_version BEFORE UPDATE ON trunks
  FOR EACH ROW EXECUTE FUNCTION sbc_bump_version();
CREATE TRIGGER dids_version BEFORE UPDATE ON dids
  FOR EACH ROW EXECUTE FUNCTION sbc_bump_version();
CREATE TRIGGER routes_version BEFORE UPDATE ON routes
  FOR EACH ROW EXECUTE FUNCTION sbc_bump_version();
CREATE TRIGGER trunk_gateways_touch BEFORE UPDATE ON trunk_gateways
  FOR EACH ROW EXECUTE FUNCTION sbc_touch_updated_at();
CREATE TRIGGER trunk_credentials_touch BEFORE UPDATE ON trunk_credentials
  FOR EACH ROW EXECUTE FUNCTION sbc_touch_updated_at();
CREATE TRIGGER registrations_touch BEFORE UPDATE ON registrations
  FOR EACH ROW EXECUTE FUNCTION sbc_touch_updated_at();
CREATE TRIGGER ported_numbers_touch BEFORE UPDATE ON ported_numbers
  FOR EACH ROW EXECUTE FUNCTION sbc_touch_updated_at();

CREATE TRIGGER trunks_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trunks
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_config();
CREATE TRIGGER trunk_gateways_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trunk_gateways
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_config();
CREATE TRIGGER trunk_acl_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trunk_acl
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_config();
CREATE TRIGGER trunk_credentials_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trunk_credentials
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_config();
CREATE TRIGGER dids_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dids
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_config();
CREATE TRIGGER routes_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON routes
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_config();
CREATE TRIGGER ported_numbers_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ported_numbers
  FOR EACH STATEMENT EXECUTE FUNCTION sbc_notify_config();
