#!/usr/bin/env python3
"""sbc-admin's porting, import and CDR routes against a real PostgreSQL:
a port-in order draft -> submitted -> foc_confirmed with a FOC in the past,
completed by the server's scheduler, its numbers then active DIDs; a stale
version (409), a number in two open orders (409 naming it), role checks;
ported-numbers CSV import refused for a bad line (422 naming it, nothing
imported) then accepted with skip_errors; a DID CSV import; CDR search and
CSV export of inserted rows.

usage: console_porting_test.py SBC_ADMIN
"""
import csv
import http.client
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbcdb  # noqa: E402
import sbctest  # noqa: E402
from console_api_test import Admin, Client, Failure, check  # noqa: E402

ADMIN_PASSWORD = "admin-password-123"
NUMBERS = ["+14155550101", "+14155550102"]


def post_csv(client, path, text):
    """POST a text/csv body with the client's cookie and CSRF token."""
    h = {"Content-Type": "text/csv", "Cookie": client.cookie, "X-CSRF-Token": client.csrf}
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
    try:
        conn.request("POST", path, body=text.encode(), headers=h)
        r = conn.getresponse()
        data = r.read().decode(errors="replace")
        return r.status, (json.loads(data) if data else None), data
    finally:
        conn.close()


def error_of(body):
    return (body or {}).get("error", {})


def port_orders(root, db):
    status, trunk, _, text = root.request("POST", "/api/v1/trunks",
                                          {"name": "pbx-a", "kind": "pbx", "realm": "inside"})
    check(status == 201, f"pbx trunk created ({text[:200]})")
    tid = trunk["id"]

    order = {"direction": "port_in", "losing_carrier": "Old Telco", "gaining_carrier": "Us",
             "target_trunk_id": tid, "account_name": "ACME", "account_number": "A-1",
             "account_pin": "1234", "numbers_text": "+1 (415) 555-0101\n+1 415 555 0102\n"}
    status, created, r, text = root.request("POST", "/api/v1/port-orders", order)
    check(status == 201 and created["status"] == "draft"
          and [n["number"] for n in created["numbers"]] == NUMBERS,
          f"port-in draft created from pasted numbers ({text[:200]})")
    oid = created["id"]
    check(r.getheader("Location") == f"/api/v1/port-orders/{oid}"
          and r.getheader("ETag") == f'"{created["version"]}"', "create answers Location and ETag")

    # One open order per number: a second order naming +14155550102 is refused.
    status, body, _, text = root.request("POST", "/api/v1/port-orders", {
        "direction": "port_in", "losing_carrier": "X", "target_trunk_id": tid,
        "numbers": ["+14155550102", "+14155550199"]})
    err = error_of(body)
    check(status == 409 and "+14155550102" in text
          and any(i.get("other_order_id") == oid for i in err.get("issues", [])),
          f"a number in another open order is 409 naming it and the order ({text[:300]})")

    # PATCH: drafts only, optimistic version; only the members sent change.
    v = created["version"]
    status, body, _, _ = root.request("PATCH", f"/api/v1/port-orders/{oid}", {"notes": "x"})
    check(status == 428, "PATCH without a version is 428")
    status, patched, _, text = root.request("PATCH", f"/api/v1/port-orders/{oid}",
                                            {"notes": "customer called", "version": v})
    check(status == 200 and patched["notes"] == "customer called"
          and patched["account_name"] == "ACME" and len(patched["numbers"]) == 2
          and patched["version"] > v, f"PATCH changes only what was sent ({text[:200]})")
    status, body, _, _ = root.request("PATCH", f"/api/v1/port-orders/{oid}",
                                      {"notes": "stale", "version": v})
    check(status == 409, "PATCH with a stale version is 409")
    v = patched["version"]

    status, body, _, text = root.request("POST", f"/api/v1/port-orders/{oid}/transition",
                                         {"to": "submitted", "version": v - 1})
    check(status == 409, f"transition with a stale version is 409 ({text[:200]})")
    status, body, _, text = root.request("POST", f"/api/v1/port-orders/{oid}/transition",
                                         {"to": "completed", "version": v})
    check(status == 409, f"draft -> completed is refused ({text[:200]})")
    status, sub, _, text = root.request("POST", f"/api/v1/port-orders/{oid}/transition",
                                        {"to": "submitted", "version": v, "note": "sent"})
    check(status == 200 and sub["status"] == "submitted", f"draft -> submitted ({text[:200]})")
    check(db.sql("SELECT string_agg(status::text, ',' ORDER BY number) FROM dids") ==
          "porting_in,porting_in", "submitted port-in holds its numbers as porting_in DIDs")
    status, body, _, _ = root.request("PATCH", f"/api/v1/port-orders/{oid}",
                                      {"notes": "late", "version": sub["version"]})
    check(status == 409, "a submitted order is no longer editable")
    status, body, _, text = root.request("POST", f"/api/v1/port-orders/{oid}/transition",
                                         {"to": "foc_confirmed", "version": sub["version"]})
    check(status == 422, f"foc_confirmed without confirmed_foc is 422 ({text[:200]})")
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    status, foc, _, text = root.request("POST", f"/api/v1/port-orders/{oid}/transition",
                                        {"to": "foc_confirmed", "version": sub["version"],
                                         "confirmed_foc": past})
    check(status == 200 and foc["status"] == "foc_confirmed", f"-> foc_confirmed ({text[:200]})")

    # The scheduler (every 5 s) completes it; its numbers become active DIDs.
    deadline = time.monotonic() + 8
    done = None
    while time.monotonic() < deadline:
        status, got, _, _ = root.request("GET", f"/api/v1/port-orders/{oid}")
        if status == 200 and got["status"] == "completed":
            done = got
            break
        time.sleep(0.25)
    check(done is not None, "the scheduler completed the order within ~6 s of its FOC")
    check([e["to"] for e in done["events"]] ==
          ["draft", "submitted", "foc_confirmed", "completed"], "status history kept in order")
    status, dids, _, _ = root.request("GET", "/api/v1/dids?status=active")
    active = {d["number"]: d["trunk_id"] for d in dids["items"]}
    check(status == 200 and all(active.get(n) == tid for n in NUMBERS),
          "the ported-in numbers are active DIDs on the target trunk")

    status, page, _, _ = root.request("GET", "/api/v1/port-orders?status=completed")
    check(status == 200 and [o["id"] for o in page["items"]] == [oid] and page["total"] == 1
          and page["items"][0]["number_count"] == 2, "list filters by status, with the total")
    status, page, _, _ = root.request("GET", "/api/v1/port-orders?number=%2B14155550101")
    check(status == 200 and [o["id"] for o in page["items"]] == [oid], "list filters by number")
    status, body, _, _ = root.request("GET", "/api/v1/port-orders?colour=red")
    check(status == 400, "an unknown filter is 400")
    status, body, _, _ = root.request("GET", "/api/v1/port-orders/999999")
    check(status == 404, "unknown order is 404")
    # A number of a completed order may go into a new order.
    status, body, _, text = root.request("POST", "/api/v1/port-orders", {
        "direction": "port_in", "losing_carrier": "X", "numbers": ["+14155550102"]})
    check(status == 201, f"a completed order's number is free again ({text[:200]})")
    return tid


def ported_numbers(root, vera):
    bad = ("number,routing_number,note\n"
           "+14155550201,+14155559000,first\n"
           "14155550202,+14155559000,no plus\n"
           "+14155550203,+14155559001,\n")
    status, body, text = post_csv(root, "/api/v1/ported-numbers/import", bad)
    check(status == 422 and body["status"] == "refused" and body["error_count"] == 1
          and body["errors"][0]["line"] == 3 and body["errors"][0]["field"] == "number",
          f"a bad line refuses the file, naming line 3 and the field ({text[:300]})")
    status, page, _, _ = root.request("GET", "/api/v1/ported-numbers")
    check(status == 200 and page["total"] == 0, "nothing imported from a refused file")

    status, body, text = post_csv(root, "/api/v1/ported-numbers/import?skip_errors=true", bad)
    check(status == 200 and body["status"] == "imported" and body["inserted"] == 2
          and body["errors"][0]["line"] == 3, f"skip_errors imports the good rows ({text[:300]})")
    status, page, _, _ = root.request("GET", "/api/v1/ported-numbers?prefix=%2B1415555020&limit=1")
    check(status == 200 and page["total"] == 2 and len(page["items"]) == 1
          and page["items"][0]["number"] == "+14155550201"
          and page["items"][0]["routing_number"] == "+14155559000", "prefix search with paging")
    status, page, _, _ = root.request("GET", "/api/v1/ported-numbers?prefix=1415555020&offset=1")
    check(status == 200 and [p["number"] for p in page["items"]] == ["+14155550203"],
          "prefix without '+', offset")
    status, _, _, _ = root.request("GET", "/api/v1/ported-numbers?prefix=abc")
    check(status == 400, "a malformed prefix is 400")
    status, body, _ = post_csv(root, "/api/v1/ported-numbers/import?mode=sideways", bad)
    check(status == 400 and error_of(body).get("field") == "mode", "a bad mode is 400 naming it")

    status, body, _, _ = root.request("POST", "/api/v1/ported-numbers/import", {"x": 1})
    check(status == 415, "an import that is not text/csv is 415")
    status, _, _ = post_csv(vera, "/api/v1/ported-numbers/import", bad)
    check(status == 403, "a viewer cannot import")

    status, body, text = post_csv(root, "/api/v1/dids/import",
                                  "number,trunk,status,description\n"
                                  "+14155550301,pbx-a,active,main line\n"
                                  "+14155550302,no-such-trunk,active,\n")
    check(status == 422 and body["errors"][0]["line"] == 3, f"DID import names a bad line ({text[:300]})")
    status, body, text = post_csv(root, "/api/v1/dids/import?skip_errors=1",
                                  "number,trunk,status,description\n"
                                  "+14155550301,pbx-a,active,main line\n")
    check(status == 200 and body["inserted"] == 1, f"DID import ({text[:200]})")
    status, did, _, _ = root.request("GET", "/api/v1/dids/%2B14155550301")
    check(status == 200 and did["description"] == "main line", "imported DID readable")


def cdrs(root, vera, db, tid):
    db.sql(f"""INSERT INTO cdrs (uuid, start_time, direction, in_trunk_id, in_trunk, caller_in,
               callee_in, answer_time, end_time, duration_ms, sip_code, sip_reason) VALUES
      ('00000000-0000-0000-0000-000000000001', '2026-03-01T10:00:00Z', 'inbound', {tid}, 'pbx-a',
       '+14155550101', '+442071838750', '2026-03-01T10:00:02Z', '2026-03-01T10:01:02Z', 60000, 200, 'OK'),
      ('00000000-0000-0000-0000-000000000002', '2026-03-01T11:00:00Z', 'inbound', {tid}, 'pbx-a',
       '+14155550102', '+442071838750', NULL, '2026-03-01T11:00:05Z', 0, 486, 'Busy Here'),
      ('00000000-0000-0000-0000-000000000003', '2026-04-01T11:00:00Z', 'outbound', NULL, '',
       '+14155550101', '+33142685300', NULL, NULL, 0, 503, 'x,"quoted"')""")
    rng = "from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z"
    status, page, _, text = vera.request("GET", f"/api/v1/cdrs?{rng}")
    check(status == 200 and page["total"] == 2
          and [c["sip_code"] for c in page["items"]] == [486, 200],
          f"CDR search by range, newest first ({text[:200]})")
    status, page, _, _ = vera.request("GET", f"/api/v1/cdrs?{rng}&result=answered")
    check(status == 200 and [c["sip_code"] for c in page["items"]] == [200], "result=answered")
    status, page, _, _ = vera.request("GET", f"/api/v1/cdrs?{rng}&number=%2B14155550102")
    check(status == 200 and page["total"] == 1 and page["items"][0]["caller_in"] == "+14155550102",
          "search by number")
    status, page, _, _ = vera.request("GET", f"/api/v1/cdrs?from=2026-01-01T00:00:00Z&"
                                             f"to=2027-01-01T00:00:00Z&trunk={tid}&limit=1&offset=1")
    check(status == 200 and page["total"] == 2 and len(page["items"]) == 1
          and page["items"][0]["sip_code"] == 200, "search by trunk with paging")
    status, body, _, _ = vera.request("GET", "/api/v1/cdrs?to=2026-03-02T00:00:00Z")
    check(status == 400 and error_of(body).get("field") == "from", "from is required")
    status, body, _, _ = vera.request("GET", f"/api/v1/cdrs?{rng}&result=maybe")
    check(status == 400 and error_of(body).get("field") == "result", "bad result is 400 naming it")

    status, _, r, text = vera.request("GET", "/api/v1/cdrs.csv?from=2026-01-01T00:00:00Z&"
                                             "to=2027-01-01T00:00:00Z")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    check(status == 200 and r.getheader("Content-Type").startswith("text/csv")
          and "attachment" in (r.getheader("Content-Disposition") or "")
          and r.getheader("X-Row-Count") == "3" and r.getheader("X-Row-Cap") is None,
          "CSV export answers text/csv as an attachment with its row count")
    check(len(rows) == 4 and rows[0][0] == "uuid" and text.endswith("\r\n")
          and [row[0][-1] for row in rows[1:]] == ["1", "2", "3"]
          and 'x,"quoted"' in rows[3], "CSV rows oldest first, RFC 4180 quoting round-trips")
    status, _, _, _ = vera.request("GET", "/api/v1/cdrs.csv")
    check(status == 400, "CSV export needs a range too")


def run(admin_bin, workdir):
    with sbcdb.TestDb("console_porting") as db:
        admin = Admin(admin_bin, workdir, f"""
log_level = "info"
shutdown_grace = 2
[http]
address = "127.0.0.1"
port = 0
[database]
dsn = "{db.dsn}"
migrate = true
""")
        r = admin.create_admin("root", ADMIN_PASSWORD)
        check(r.returncode == 0, f"create-admin ({r.stderr.strip()})")
        admin.start()
        try:
            root = Client(admin.port)
            deadline = time.monotonic() + 15
            while root.login("root", ADMIN_PASSWORD)[0] != 200:
                if time.monotonic() > deadline:
                    raise Failure("cannot log in")
                time.sleep(0.1)
            status, _, _, _ = root.request("POST", "/api/v1/users", {
                "username": "vera", "role": "viewer", "password": "vera-password-1"})
            check(status == 201, "viewer created")
            vera = Client(admin.port)
            check(vera.login("vera", "vera-password-1")[0] == 200, "viewer logs in")
            check(vera.request("GET", "/api/v1/port-orders")[0] == 200, "viewer lists port orders")
            check(vera.request("POST", "/api/v1/port-orders", {"direction": "port_in"})[0] == 403,
                  "viewer cannot create a port order")

            tid = port_orders(root, db)
            ported_numbers(root, vera)
            cdrs(root, vera, db, tid)
            check("completed at its FOC time" in admin.text(), "the scheduler logs the completion")
            status, _, _, text = Client(admin.port).request("GET", "/metrics")
            check('admin_port_orders_completed_total{result="completed"} 1' in text,
                  "completions are counted in /metrics")
        finally:
            code = admin.stop()
        check(code == 0, "sbc-admin stops cleanly on SIGTERM (scheduler timer cancelled)")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    admin_bin = os.path.abspath(sys.argv[1])
    # Any failure shows the server log.
    return sbctest.run_main(lambda workdir: run(admin_bin, workdir), "console-porting-", tail=60)


if __name__ == "__main__":
    sys.exit(main())
