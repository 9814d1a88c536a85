// Port orders: a board by status, the create form (numbers pasted or from a
// CSV file) and each order's page with its timeline and the transitions its
// status allows (GET/POST/PATCH /api/v1/port-orders*).
import { useEffect, useState } from "preact/hooks";
import { get, post, query } from "./api.js";
import { Banner, Field, bind, focusField, html, navigate, useChangeCount, useChanges } from "./ui.js";

const STATUSES = ["draft", "submitted", "foc_confirmed", "completed", "rejected", "cancelled"];
const LABEL = {
  draft: "Draft", submitted: "Submitted", foc_confirmed: "FOC confirmed",
  completed: "Completed", rejected: "Rejected", cancelled: "Cancelled",
};
// The server's lifecycle (admin-ui/porting/port_order.cc transitionAllowed).
const NEXT = {
  draft: ["submitted", "cancelled"],
  submitted: ["foc_confirmed", "rejected", "cancelled"],
  foc_confirmed: ["completed", "rejected", "cancelled"],
  rejected: ["draft", "cancelled"],
  completed: [],
  cancelled: [],
};
const ACTION = {
  submitted: "Submit", foc_confirmed: "Confirm FOC", completed: "Complete now",
  rejected: "Reject", cancelled: "Cancel order", draft: "Reopen as draft",
};

function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

// <input type="datetime-local"> is local time without a zone; the API wants
// RFC 3339 with one.
function localToIso(v) {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

function isoToLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function dirLabel(d) {
  return d === "port_in" ? "port-in" : d === "port_out" ? "port-out" : d;
}

// Every issue of a refused body, by line where the server gave one.
function Issues({ issues }) {
  if (!issues || issues.length < 2) return null;
  return html`<ul class="issues" aria-label="Problems found">
    ${issues.slice(0, 50).map((i) => html`<li>
      <span class="mono">${i.field || "order"}</span>${i.line ? ` (line ${i.line})` : ""}: ${i.message}${i.value ? html` <span class="mono">${i.value}</span>` : ""}
      ${i.other_order_id ? html` — <a href=${"#/port-orders/" + i.other_order_id}>order #${i.other_order_id}</a>` : ""}
    </li>`)}
  </ul>`;
}

export function PortOrderBoard({ canWrite }) {
  const [state, setState] = useState({ loading: true });
  const [direction, setDirection] = useState("");
  const [number, setNumber] = useState("");
  const [applied, setApplied] = useState("");
  const changes = useChangeCount("port_orders"); // other consoles, the FOC scheduler

  useEffect(() => {
    let live = true;
    get("/api/v1/port-orders" + query({ limit: 1000, direction, number: applied })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [direction, applied, changes]);

  const items = state.data ? state.data.items : [];
  return html`<section aria-labelledby="po-h">
    <div class="page-head"><h1 id="po-h">Port orders</h1>
      ${canWrite && html`<a class="button primary" href="#/port-orders/new">New port order</a>`}</div>
    <form class="search" role="search" onSubmit=${(e) => { e.preventDefault(); setApplied(number.trim()); }}>
      <label for="po-number" class="sr-only">Find the order of a number</label>
      <input id="po-number" type="search" placeholder="Number, e.g. +442071234567" value=${number}
        onInput=${(e) => setNumber(e.currentTarget.value)} />
      <label for="po-dir" class="sr-only">Direction</label>
      <select id="po-dir" value=${direction} onChange=${(e) => setDirection(e.currentTarget.value)}>
        <option value="">both directions</option><option value="port_in">port-in</option><option value="port_out">port-out</option>
      </select>
      <button type="submit">Search</button>
    </form>
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">${applied || direction
      ? "No port order matches." : "No port orders yet. A port order moves numbers between carriers."}</p>`}
    ${items.length > 0 && html`<div class="board">
      ${STATUSES.map((s) => {
        const col = items.filter((o) => o.status === s);
        return html`<section class="column" aria-labelledby=${"col-" + s}>
          <h2 id=${"col-" + s}>${LABEL[s]} <span class="count">${col.length}</span></h2>
          ${col.length === 0 ? html`<p class="sub">none</p>` : col.map((o) => html`<a class="order-card" key=${o.id}
              href=${"#/port-orders/" + o.id} aria-label=${`Order ${o.id}, ${dirLabel(o.direction)}, ${o.number_count} numbers`}>
            <strong>#${o.id}</strong> <span class="tag">${dirLabel(o.direction)}</span>
            <div>${o.number_count} number${o.number_count === 1 ? "" : "s"}</div>
            ${(o.losing_carrier || o.gaining_carrier) && html`<div class="sub">${o.losing_carrier || "?"} → ${o.gaining_carrier || "?"}</div>`}
            <div class="sub">FOC ${o.confirmed_foc ? fmtTime(o.confirmed_foc) : o.requested_foc ? "requested " + fmtTime(o.requested_foc) : "not set"}</div>
          </a>`)}
        </section>`;
      })}
    </div>`}
    ${state.loading && !state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}

const blankOrder = () => ({
  direction: "port_in", numbers_text: "", losing_carrier: "", gaining_carrier: "", target_trunk_id: "",
  routing_number: "", account_name: "", account_number: "", account_pin: "", billing_number: "",
  service_address: "", authorized_by: "", requested_foc: "", notes: "",
});

const TEXT = ["losing_carrier", "gaining_carrier", "account_name", "account_number", "account_pin",
  "billing_number", "service_address", "authorized_by", "notes"];

export function PortOrderCreate({ canWrite }) {
  const [form, setForm] = useState(blankOrder());
  const [csv, setCsv] = useState(null); // {name, text}
  const [trunks, setTrunks] = useState([]);
  const [errors, setErrors] = useState({});
  const [issues, setIssues] = useState(null);
  const [banner, setBanner] = useState(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    get("/api/v1/trunks" + query({ limit: 1000, sort: "name", kind: "pbx" })).then((r) => {
      if (r.ok) setTrunks(r.data.items);
    });
  }, []);

  const readFile = (e) => {
    const file = e.currentTarget.files && e.currentTarget.files[0];
    if (!file) { setCsv(null); return; }
    file.text().then((text) => setCsv({ name: file.name, text }));
  };

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setIssues(null);
    setBanner(null);
    // Client-side: the obvious omissions, before a round trip.
    if (!csv && !form.numbers_text.trim()) {
      setErrors({ numbers_text: "Paste at least one number, or choose a CSV file." });
      focusField("numbers_text");
      return;
    }
    const body = { direction: form.direction };
    for (const k of TEXT) if (form[k].trim()) body[k] = form[k].trim();
    if (csv) body.numbers_csv = csv.text;
    else body.numbers_text = form.numbers_text;
    if (form.direction === "port_in" && form.target_trunk_id !== "") body.target_trunk_id = Number(form.target_trunk_id);
    if (form.direction === "port_out" && form.routing_number.trim()) body.routing_number = form.routing_number.trim();
    if (form.requested_foc) body.requested_foc = localToIso(form.requested_foc);
    setSaving(true);
    const r = await post("/api/v1/port-orders", body);
    setSaving(false);
    if (r.ok) {
      navigate("/port-orders/" + r.data.id);
      return;
    }
    let field = r.field;
    // numbers[3].number and the like belong to the numbers box.
    if (field && /^numbers(\[|$)/.test(field)) field = csv ? "numbers_csv" : "numbers_text";
    if (field === "numbers_csv") field = "numbers_file";
    if (field) {
      setErrors({ [field]: r.message });
      focusField(field);
    }
    setIssues(r.issues);
    setBanner(field ? "The order was not created: see the highlighted field." : r.message);
  };

  return html`<section aria-labelledby="poc-h">
    <div class="page-head"><h1 id="poc-h">New port order</h1><a href="#/port-orders">Back to port orders</a></div>
    <${Banner} error=${banner} />
    <${Issues} issues=${issues} />
    <form class="form" novalidate onSubmit=${submit}>
      <fieldset disabled=${!canWrite || saving}>
        <legend>Numbers</legend>
        <div class="grid">
          <${Field} label="Direction" name="direction" error=${errors.direction}>
            <select ...${bind(form, setForm, "direction", errors)} onChange=${(e) => setForm({ ...form, direction: e.currentTarget.value })}>
              <option value="port_in">port-in (numbers come to us)</option>
              <option value="port_out">port-out (numbers leave us)</option>
            </select></${Field}>
          ${form.direction === "port_in"
            ? html`<${Field} label="PBX trunk receiving the numbers" name="target_trunk_id" error=${errors.target_trunk_id}
                hint="Required before submitting">
                <select ...${bind(form, setForm, "target_trunk_id", errors)} onChange=${(e) => setForm({ ...form, target_trunk_id: e.currentTarget.value })}>
                  <option value="">(choose later)</option>
                  ${trunks.map((t) => html`<option value=${String(t.id)}>${t.name}</option>`)}
                </select></${Field}>`
            : html`<${Field} label="Routing number (whole order)" name="routing_number" error=${errors.routing_number}
                hint="E.164; or one per number in the CSV">
                <input ...${bind(form, setForm, "routing_number", errors)} inputmode="tel" placeholder="+14155550000" /></${Field}>`}
        </div>
        <${Field} label="Numbers (one per line, or separated by commas)" name="numbers_text" error=${errors.numbers_text}
          hint=${csv ? `Ignored: the file ${csv.name} is used.` : "E.164, e.g. +442071234567; spaces and dashes are fine"}>
          <textarea ...${bind(form, setForm, "numbers_text", errors)} rows="5" disabled=${!!csv}></textarea></${Field}>
        <${Field} label="…or a CSV file (header: number[,routing_number])" name="numbers_file" error=${errors.numbers_file}>
          <input id="f-numbers_file" name="numbers_file" type="file" accept=".csv,text/csv,text/plain" onChange=${readFile} /></${Field}>
        ${csv && html`<p class="hint">${csv.name}: ${csv.text.split(/\r?\n/).filter((l) => l.trim()).length - 1} data lines.
          <button type="button" class="link" onClick=${() => { setCsv(null); document.getElementById("f-numbers_file").value = ""; }}>Remove file</button></p>`}
      </fieldset>
      <fieldset disabled=${!canWrite || saving}>
        <legend>Carriers and schedule</legend>
        <div class="grid">
          <${Field} label="Losing carrier" name="losing_carrier" error=${errors.losing_carrier}>
            <input ...${bind(form, setForm, "losing_carrier", errors)} /></${Field}>
          <${Field} label="Gaining carrier" name="gaining_carrier" error=${errors.gaining_carrier}>
            <input ...${bind(form, setForm, "gaining_carrier", errors)} /></${Field}>
          <${Field} label="Requested FOC" name="requested_foc" error=${errors.requested_foc} hint="Your local time">
            <input ...${bind(form, setForm, "requested_foc", errors, "datetime-local")} /></${Field}>
        </div>
      </fieldset>
      <fieldset disabled=${!canWrite || saving}>
        <legend>Customer account</legend>
        <div class="grid">
          <${Field} label="Account name" name="account_name" error=${errors.account_name}>
            <input ...${bind(form, setForm, "account_name", errors)} /></${Field}>
          <${Field} label="Account number" name="account_number" error=${errors.account_number}>
            <input ...${bind(form, setForm, "account_number", errors)} /></${Field}>
          <${Field} label="Account PIN" name="account_pin" error=${errors.account_pin}>
            <input ...${bind(form, setForm, "account_pin", errors, "password")} autocomplete="off" /></${Field}>
          <${Field} label="Billing number" name="billing_number" error=${errors.billing_number}>
            <input ...${bind(form, setForm, "billing_number", errors)} inputmode="tel" /></${Field}>
          <${Field} label="Service address" name="service_address" error=${errors.service_address}>
            <input ...${bind(form, setForm, "service_address", errors)} /></${Field}>
          <${Field} label="Authorized by" name="authorized_by" error=${errors.authorized_by}>
            <input ...${bind(form, setForm, "authorized_by", errors)} /></${Field}>
        </div>
        <${Field} label="Notes" name="notes" error=${errors.notes}>
          <textarea ...${bind(form, setForm, "notes", errors)} rows="3"></textarea></${Field}>
      </fieldset>
      ${canWrite && html`<div class="actions">
        <button type="submit" class="primary" disabled=${saving}>${saving ? "Creating…" : "Create draft order"}</button>
        <a href="#/port-orders">Cancel</a></div>`}
    </form>
  </section>`;
}

// The dialog-less transition form: Reject asks for a reason, Confirm FOC for
// the confirmed date-time, the others for an optional note.
function TransitionForm({ order, to, onDone, onCancel }) {
  const [reason, setReason] = useState("");
  const [note, setNote] = useState("");
  const [foc, setFoc] = useState(isoToLocal(order.requested_foc) || "");
  const [errors, setErrors] = useState({});
  const [banner, setBanner] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setBanner(null);
    if (to === "rejected" && !reason.trim()) {
      setErrors({ reason: "Say why the order is rejected." });
      focusField("reason");
      return;
    }
    if (to === "foc_confirmed" && !foc) {
      setErrors({ confirmed_foc: "Give the FOC date and time the carrier confirmed." });
      focusField("confirmed_foc");
      return;
    }
    const body = { to, version: order.version };
    if (to === "rejected") body.reason = reason.trim();
    if (to === "foc_confirmed") body.confirmed_foc = localToIso(foc);
    if (note.trim()) body.note = note.trim();
    setBusy(true);
    const r = await post(`/api/v1/port-orders/${order.id}/transition`, body);
    setBusy(false);
    if (r.ok) { onDone(r.data); return; }
    if (r.field && ["reason", "confirmed_foc", "note"].includes(r.field)) {
      setErrors({ [r.field]: r.message });
      focusField(r.field);
    } else {
      setBanner(r.status === 409 ? r.message + " Reload the order to see its current state." : r.message);
    }
  };
  return html`<form class="form transition card" novalidate onSubmit=${submit} aria-label=${ACTION[to]}>
    <h2>${ACTION[to]}</h2>
    <${Banner} error=${banner} />
    ${to === "rejected" && html`<${Field} label="Reason for the rejection" name="reason" error=${errors.reason}>
      <textarea id="f-reason" name="reason" rows="2" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}
        aria-invalid=${errors.reason ? "true" : undefined}></textarea></${Field}>`}
    ${to === "foc_confirmed" && html`<${Field} label="Confirmed FOC" name="confirmed_foc" error=${errors.confirmed_foc}
      hint="Your local time. A port-in completes by itself at this time.">
      <input id="f-confirmed_foc" name="confirmed_foc" type="datetime-local" value=${foc}
        onInput=${(e) => setFoc(e.currentTarget.value)} aria-invalid=${errors.confirmed_foc ? "true" : undefined} /></${Field}>`}
    ${to === "completed" && html`<p class="hint">${order.direction === "port_in"
      ? "The numbers become active DIDs on the order's PBX trunk now."
      : "The numbers become ported out, routed by their routing numbers, now."}</p>`}
    <${Field} label="Note (optional)" name="note" error=${errors.note}>
      <input id="f-note" name="note" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} /></${Field}>
    <div class="actions">
      <button type="submit" class=${to === "rejected" || to === "cancelled" ? "danger" : "primary"} disabled=${busy}>
        ${busy ? "Working…" : ACTION[to]}</button>
      <button type="button" class="link" onClick=${onCancel}>Back</button>
    </div>
  </form>`;
}

export function PortOrderView({ id, canWrite }) {
  const [order, setOrder] = useState(null);
  const [banner, setBanner] = useState(null);
  const [notice, setNotice] = useState(null);
  const [pending, setPending] = useState(null); // the transition being filled in
  const [trunks, setTrunks] = useState([]);

  // `seen`: the status shown when re-reading, so that a change made
  // elsewhere (the FOC scheduler) is announced.
  const load = (seen) => get(`/api/v1/port-orders/${encodeURIComponent(id)}`).then((r) => {
    if (r.ok) {
      setOrder(r.data);
      if (seen && r.data.status !== seen) setNotice(`The order is now ${LABEL[r.data.status] || r.data.status}.`);
    } else {
      setBanner(r.status === 404 ? "This port order does not exist." : r.message);
    }
  });
  useEffect(() => { load(); }, [id]);
  useEffect(() => {
    get("/api/v1/trunks" + query({ limit: 1000, sort: "name", kind: "pbx" })).then((r) => {
      if (r.ok) setTrunks(r.data.items);
    });
  }, []);
  // Changes elsewhere (another console, the FOC scheduler completing a
  // confirmed port-in) are pushed: follow them, announcing a new status.
  useChanges("port_orders", () => load(order ? order.status : undefined));

  if (!order) return html`<section><h1>Port order</h1><${Banner} error=${banner} />
    ${!banner && html`<p class="muted">Loading…</p>`}<p><a href="#/port-orders">Back to port orders</a></p></section>`;

  const trunk = trunks.find((t) => t.id === order.target_trunk_id);
  const next = NEXT[order.status] || [];
  const events = order.events || [];
  return html`<section aria-labelledby="pov-h">
    <div class="page-head"><h1 id="pov-h">Port order #${order.id}</h1><a href="#/port-orders">Back to port orders</a></div>
    <${Banner} error=${banner} />
    <${Banner} error=${notice} kind="ok" />
    <p><span class=${"tag status-" + order.status}>${LABEL[order.status] || order.status}</span>
      ${" "}${dirLabel(order.direction)}${order.reject_reason ? html` — rejected: <em>${order.reject_reason}</em>` : ""}</p>
    ${canWrite && next.length > 0 && !pending && html`<div class="actions transitions" role="group" aria-label="Next steps">
      ${next.map((to) => html`<button type="button" class=${to === "rejected" || to === "cancelled" ? "danger" : to === "draft" ? "" : "primary"}
        onClick=${() => { setNotice(null); setPending(to); }}>${ACTION[to]}</button>`)}
    </div>`}
    ${pending && html`<${TransitionForm} order=${order} to=${pending} onCancel=${() => setPending(null)}
      onDone=${(o) => { setOrder(o); setPending(null); setNotice(`The order is now ${LABEL[o.status]}.`); }} />`}
    <div class="detail-grid">
      <dl class="card details">
        <dt>Losing carrier</dt><dd>${order.losing_carrier || "—"}</dd>
        <dt>Gaining carrier</dt><dd>${order.gaining_carrier || "—"}</dd>
        ${order.direction === "port_in"
          ? html`<dt>PBX trunk</dt><dd>${trunk ? html`<a href=${"#/trunks/" + trunk.id}>${trunk.name}</a>` : order.target_trunk_id ? "#" + order.target_trunk_id : "not chosen"}</dd>`
          : html`<dt>Routing number</dt><dd class="mono">${order.routing_number || "per number"}</dd>`}
        <dt>Requested FOC</dt><dd>${fmtTime(order.requested_foc)}</dd>
        <dt>Confirmed FOC</dt><dd>${fmtTime(order.confirmed_foc)}</dd>
        <dt>Account</dt><dd>${[order.account_name, order.account_number].filter(Boolean).join(" · ") || "—"}</dd>
        <dt>Billing number</dt><dd>${order.billing_number || "—"}</dd>
        <dt>Service address</dt><dd>${order.service_address || "—"}</dd>
        <dt>Authorized by</dt><dd>${order.authorized_by || "—"}</dd>
        <dt>Created</dt><dd>${fmtTime(order.created_at)} by ${order.created_by || "?"}</dd>
        ${order.notes && html`<dt>Notes</dt><dd class="pre">${order.notes}</dd>`}
      </dl>
      <section class="card" aria-labelledby="tl-h">
        <h2 id="tl-h">Timeline</h2>
        <ol class="timeline">
          ${events.map((e) => html`<li>
            <strong>${LABEL[e.to] || e.to}</strong> <span class="sub">${fmtTime(e.at)} · ${e.by || "scheduler"}</span>
            ${e.note && html`<div>${e.note}</div>`}
          </li>`)}
        </ol>
      </section>
    </div>
    <div class="table-wrap"><table>
      <caption>${(order.numbers || []).length} number${(order.numbers || []).length === 1 ? "" : "s"}</caption>
      <thead><tr><th scope="col">Number</th>${order.direction === "port_out" && html`<th scope="col">Routing number</th>`}</tr></thead>
      <tbody>${(order.numbers || []).map((n) => html`<tr key=${n.number}><td class="mono">${n.number}</td>
        ${order.direction === "port_out" && html`<td class="mono">${n.routing_number || order.routing_number || "—"}</td>`}</tr>`)}</tbody>
    </table></div>
  </section>`;
}
