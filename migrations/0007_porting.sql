-- 0007: what the console's porting workflow and imports need beyond 0002.
--   * routing numbers for port-out orders: one for the whole order
--     (port_orders.routing_number) or one per number (wins over the order's);
--     completing a port-out writes them into ported_numbers;
--   * a port-in shows up in dids as 'porting_in' from submission until it
--     completes (active) or is rejected/cancelled (the row goes again);
--   * ported_numbers.note: the optional third column of the CSV import;
--   * an index for the FOC scheduler (completeDueOrders).

ALTER TABLE port_orders ADD COLUMN routing_number e164;
ALTER TABLE port_order_numbers ADD COLUMN routing_number e164;
ALTER TABLE ported_numbers ADD COLUMN note text NOT NULL DEFAULT ''
  CONSTRAINT ported_numbers_note_length CHECK (length(note) <= 200);

CREATE INDEX port_orders_due ON port_orders (confirmed_foc) WHERE status = 'foc_confirmed';

CREATE OR REPLACE FUNCTION sbc_port_order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
  IF NEW.direction = 'port_in' AND NEW.status = 'submitted' THEN
    -- A number already known here keeps its row (and status) until completion.
    INSERT INTO dids (number, trunk_id, status)
      SELECT number, NULL, 'porting_in' FROM port_order_numbers WHERE order_id = NEW.id
      ON CONFLICT (number) DO NOTHING;
  ELSIF NEW.direction = 'port_in' AND NEW.status IN ('rejected', 'cancelled') THEN
    DELETE FROM dids WHERE status = 'porting_in'
      AND number IN (SELECT number FROM port_order_numbers WHERE order_id = NEW.id);
  ELSIF NEW.status = 'completed' THEN
    IF NEW.direction = 'port_in' THEN
      INSERT INTO dids (number, trunk_id, status)
        SELECT number, NEW.target_trunk_id, 'active' FROM port_order_numbers WHERE order_id = NEW.id
        ON CONFLICT (number) DO UPDATE SET trunk_id = EXCLUDED.trunk_id, status = 'active';
    ELSE
      UPDATE dids SET status = 'ported_out'
        WHERE number IN (SELECT number FROM port_order_numbers WHERE order_id = NEW.id);
      INSERT INTO ported_numbers (number, routing_number, source)
        SELECT number, coalesce(routing_number, NEW.routing_number), 'port_order:' || NEW.id
          FROM port_order_numbers
         WHERE order_id = NEW.id AND coalesce(routing_number, NEW.routing_number) IS NOT NULL
        ON CONFLICT (number) DO UPDATE
          SET routing_number = EXCLUDED.routing_number, source = EXCLUDED.source;
    END IF;
  END IF;
  RETURN NULL;
END $$;
