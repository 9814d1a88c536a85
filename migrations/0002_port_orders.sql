-- 0002: number porting orders.
-- Lifecycle: draft -> submitted -> foc_confirmed -> completed, or rejected /
-- cancelled on the way (a rejected order may go back to draft to be fixed and
-- resubmitted). The transition rules, the status history and the effect of
-- completion on dids live here, so that no writer can skip them.

CREATE TABLE port_orders (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  direction          text NOT NULL CHECK (direction IN ('port_in', 'port_out')),
  status             text NOT NULL DEFAULT 'draft' CHECK (status IN
                       ('draft', 'submitted', 'foc_confirmed', 'completed', 'rejected', 'cancelled')),
  losing_carrier     text NOT NULL DEFAULT '',
  gaining_carrier    text NOT NULL DEFAULT '',
  -- port_in: the PBX trunk the numbers are delivered to once completed
  target_trunk_id    bigint REFERENCES trunks (id) ON DELETE RESTRICT,
  account_name       text NOT NULL DEFAULT '',
  account_number     text NOT NULL DEFAULT '',
  account_pin        text NOT NULL DEFAULT '',
  billing_number     text NOT NULL DEFAULT '',
  service_address    text NOT NULL DEFAULT '',
  authorized_by      text NOT NULL DEFAULT '',
  requested_foc      timestamptz,
  confirmed_foc      timestamptz,
  notes              text NOT NULL DEFAULT '',
  reject_reason      text NOT NULL DEFAULT '',
  created_by         text NOT NULL DEFAULT '',
  version            bigint NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT port_orders_rejected_reason CHECK (status <> 'rejected' OR reject_reason <> ''),
  CONSTRAINT port_orders_foc_confirmed CHECK (
    status NOT IN ('foc_confirmed', 'completed') OR confirmed_foc IS NOT NULL),
  CONSTRAINT port_orders_port_in_target CHECK (
    direction <> 'port_in' OR status IN ('draft', 'rejected', 'cancelled') OR target_trunk_id IS NOT NULL)
);
CREATE INDEX port_orders_status ON port_orders (status);

-- is_open mirrors the order's status (maintained by triggers) because a
-- partial unique index cannot look at another table: a number may sit in
-- any number of closed orders but in only one open one.
CREATE TABLE port_order_numbers (
  order_id  bigint NOT NULL REFERENCES port_orders (id) ON DELETE CASCADE,
  number    e164 NOT NULL,
  is_open   boolean NOT NULL DEFAULT true,
  PRIMARY KEY (order_id, number)
);
CREATE UNIQUE INDEX port_order_numbers_one_open ON port_order_numbers (number) WHERE is_open;

CREATE TABLE port_order_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id     bigint NOT NULL REFERENCES port_orders (id) ON DELETE CASCADE,
  from_status  text,  -- NULL: created
  to_status    text NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  -- the console sets "SET LOCAL sbc.user = 'alice'" in its transactions
  by_user      text NOT NULL DEFAULT '',
  note         text NOT NULL DEFAULT ''
);
CREATE INDEX port_order_events_order ON port_order_events (order_id, at);

CREATE FUNCTION sbc_port_order_is_open(status text) RETURNS boolean
  LANGUAGE sql IMMUTABLE AS $$ SELECT status IN ('draft', 'submitted', 'foc_confirmed') $$;

CREATE FUNCTION sbc_port_order_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT (
       (OLD.status = 'draft'         AND NEW.status IN ('submitted', 'cancelled'))
    OR (OLD.status = 'submitted'     AND NEW.status IN ('foc_confirmed', 'rejected', 'cancelled'))
    OR (OLD.status = 'foc_confirmed' AND NEW.status IN ('completed', 'rejected', 'cancelled'))
    OR (OLD.status = 'rejected'      AND NEW.status IN ('draft', 'cancelled'))) THEN
    RAISE EXCEPTION 'port order %: % -> % is not allowed', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'port_orders_transition';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER port_orders_transition BEFORE UPDATE OF status ON port_orders
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION sbc_port_order_transition();

CREATE TRIGGER port_orders_version BEFORE UPDATE ON port_orders
  FOR EACH ROW EXECUTE FUNCTION sbc_bump_version();

CREATE FUNCTION sbc_port_order_number_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A missing order is left to the foreign key to report.
  NEW.is_open := coalesce(
    (SELECT sbc_port_order_is_open(status) FROM port_orders WHERE id = NEW.order_id), true);
  RETURN NEW;
END $$;
CREATE TRIGGER port_order_numbers_open BEFORE INSERT OR UPDATE ON port_order_numbers
  FOR EACH ROW EXECUTE FUNCTION sbc_port_order_number_open();

-- After a status change: history row, is_open of the numbers, and on
-- completion the DIDs (port_in: active on the target trunk; port_out:
-- ported_out). Completion is done when the FOC time has come (the console's
-- scheduler or an operator), so the numbers change state at FOC time.
CREATE FUNCTION sbc_port_order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO port_order_events (order_id, from_status, to_status, by_user)
      VALUES (NEW.id, NULL, NEW.status, coalesce(current_setting('sbc.user', true), ''));
    RETURN NULL;
  END IF;
  INSERT INTO port_order_events (order_id, from_status, to_status, by_user, note)
    VALUES (NEW.id, OLD.status, NEW.status, coalesce(current_setting('sbc.user', true), ''),
            CASE WHEN NEW.status = 'rejected' THEN NEW.reject_reason ELSE '' END);
  UPDATE port_order_numbers SET is_open = sbc_port_order_is_open(NEW.status)
    WHERE order_id = NEW.id;
  IF NEW.status = 'completed' THEN
    IF NEW.direction = 'port_in' THEN
      INSERT INTO dids (number, trunk_id, status)
        SELECT number, NEW.target_trunk_id, 'active' FROM port_order_numbers WHERE order_id = NEW.id
        ON CONFLICT (number) DO UPDATE SET trunk_id = EXCLUDED.trunk_id, status = 'active';
    ELSE
      UPDATE dids SET status = 'ported_out'
        WHERE number IN (SELECT number FROM port_order_numbers WHERE order_id = NEW.id);
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER port_orders_changed_insert AFTER INSERT ON port_orders
  FOR EACH ROW EXECUTE FUNCTION sbc_port_order_changed();
CREATE TRIGGER port_orders_changed_update AFTER UPDATE OF status ON port_orders
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION sbc_port_order_changed();
