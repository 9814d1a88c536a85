// CDR search: a time range (default the last 24 hours), a number, a trunk
// and a result; both legs of each call with codes, causes and media figures,
// a link to the call's SIP ladder, and a CSV export with the same filters.
import { useEffect, useState } from "preact/hooks";
import { get, query } from "./api.js";
import { Banner, Field, Pager, bind, fmtDuration, fmtTime, focusField, html, useChangeCount, useChanges } from "./ui.js";

const PAGE = 50;

// <input type="datetime-local"> speaks local time without a zone.
function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
function toIso(local) {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
function lastDay() {
  const now = new Date();
  // The end is a minute ahead so that a call that just ended is inside.
  return { from: localInput(new Date(now.getTime() - 24 * 3600 * 1000)), to: localInput(new Date(now.getTime() + 60 * 1000)),
    number: "", trunk_id: "", result: "", sip_code: "" };
}

function Media({ packets, lost, jitter }) {
  // Zeros on both counts: the call was not anchored (or had no media).
  if (!packets && !lost) return html`<span class="muted">—</span>`;
  const loss = packets + (lost || 0) > 0 ? (100 * (lost || 0)) / (packets + (lost || 0)) : 0;
  return html`<span title="packets · loss · jitter">${packets} pkts · ${loss.toFixed(loss && loss < 1 ? 2 : 1)}%${jitter !== null && jitter !== undefined ? ` · ${Number(jitter).toFixed(1)} ms` : ""}</span>`;
}

export function Cdrs() {
  const [form, setForm] = useState(lastDay());
  const [filter, setFilter] = useState(null); // the query actually run
  const [errors, setErrors] = useState({});
  const [offset, setOffset] = useState(0);
  const [state, setState] = useState({});
  const [trunks, setTrunks] = useState([]);
  const [tick, setTick] = useState(0);
  const trunkChanges = useChangeCount("trunks");

  useEffect(() => {
    get("/api/v1/trunks" + query({ limit: 1000, sort: "name" })).then((r) => {
      if (r.ok) setTrunks(r.data.items);
    });
  }, [trunkChanges]);

  // New records: a search whose end is about now follows them (its end moves
  // on as calls end); a search of the past stays still.
  useChanges("cdrs", () => {
    if (!filter) return;
    const to = new Date(filter.to).getTime();
    const now = Date.now();
    if (to < now - 5 * 60 * 1000) return;
    if (to < now + 30 * 1000) setFilter({ ...filter, to: new Date(now + 60 * 1000).toISOString() });
    else setTick((n) => n + 1);
  });

  const build = (f) => {
    const from = toIso(f.from);
    const to = toIso(f.to);
    if (!from) return { error: ["from", "enter a start time"] };
    if (!to) return { error: ["to", "enter an end time"] };
    if (new Date(from) >= new Date(to)) return { error: ["to", "the end must be after the start"] };
    if (f.sip_code && !/^[1-6][0-9]{2}$/.test(f.sip_code.trim())) return { error: ["sip_code", "a SIP status code such as 486"] };
    return { params: { from, to, number: f.number.trim(), trunk_id: f.trunk_id, result: f.result, sip_code: f.sip_code.trim() } };
  };

  const search = (e) => {
    if (e) e.preventDefault();
    setErrors({});
    const b = build(form);
    if (b.error) {
      setErrors({ [b.error[0]]: b.error[1] });
      focusField(b.error[0]);
      return;
    }
    setOffset(0);
    setFilter(b.params);
  };
  useEffect(() => search(), []);

  useEffect(() => {
    if (!filter) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get("/api/v1/cdrs" + query({ ...filter, limit: PAGE, offset })).then((r) => {
      if (!live) return;
      if (r.ok) setState({ data: r.data });
      else {
        setState({ error: r.message });
        if (r.field && ["from", "to", "number", "sip_code", "result"].includes(r.field)) setErrors({ [r.field]: r.message });
      }
    });
    return () => { live = false; };
  }, [filter, offset, tick]);

  const items = state.data ? state.data.items : [];
  const csv = filter ? "/api/v1/cdrs.csv" + query(filter) : null;
  const code = (c) => (c.sip_code ? `${c.sip_code}${c.sip_reason ? " " + c.sip_reason : ""}` : "—");
  return html`<section aria-labelledby="cdrs-h">
    <div class="page-head"><h1 id="cdrs-h">Call records</h1>
      ${csv && html`<a class="button" href=${csv} download="cdrs.csv">Export CSV</a>`}</div>
    <form class="form inline-form" novalidate onSubmit=${search} role="search" aria-label="Search call records">
      <${Field} label="From" name="from" error=${errors.from}>
        <input ...${bind(form, setForm, "from", errors, "datetime-local")} /></${Field}>
      <${Field} label="To" name="to" error=${errors.to}>
        <input ...${bind(form, setForm, "to", errors, "datetime-local")} /></${Field}>
      <${Field} label="Number" name="number" error=${errors.number} hint="either party, either leg, exact">
        <input ...${bind(form, setForm, "number", errors)} inputmode="tel" /></${Field}>
      <${Field} label="Trunk" name="trunk_id" error=${errors.trunk_id}>
        <select ...${bind(form, setForm, "trunk_id", errors)} onChange=${(e) => setForm({ ...form, trunk_id: e.currentTarget.value })}>
          <option value="">All trunks</option>
          ${trunks.map((t) => html`<option value=${String(t.id)}>${t.name}</option>`)}
        </select></${Field}>
      <${Field} label="Result" name="result" error=${errors.result}>
        <select ...${bind(form, setForm, "result", errors)} onChange=${(e) => setForm({ ...form, result: e.currentTarget.value })}>
          <option value="">Any</option><option value="answered">Answered</option><option value="unanswered">Not answered</option>
        </select></${Field}>
      <${Field} label="SIP code" name="sip_code" error=${errors.sip_code}>
        <input ...${bind(form, setForm, "sip_code", errors)} inputmode="numeric" placeholder="486" /></${Field}>
      <div class="actions"><button type="submit" class="primary">Search</button>
        <button type="button" onClick=${() => { setForm(lastDay()); setErrors({}); }}>Last 24 h</button></div>
    </form>
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">No calls in this range${filter && (filter.number || filter.trunk_id || filter.result || filter.sip_code) ? " with these filters" : ""}.</p>`}
    ${state.data && items.length > 0 && html`<div class="table-wrap"><table class="cdrs">
      <thead><tr>
        <th scope="col">Start</th><th scope="col">Caller → callee (in)</th><th scope="col">Caller → callee (out)</th>
        <th scope="col">Trunks</th><th scope="col">Duration</th><th scope="col">Result · Q.850 · ended by</th>
        <th scope="col">Media A / B</th>
      </tr></thead>
      <tbody>${items.map((c) => html`<tr key=${c.uuid}>
        <td>${c.a_call_id ? html`<a href=${"#/calls/" + encodeURIComponent(c.a_call_id) + "/trace"}
            title="SIP ladder of this call" aria-label=${`${fmtTime(c.start_time)}: SIP ladder of the call from ${c.caller_in || "?"}`}>${fmtTime(c.start_time)}</a>`
          : fmtTime(c.start_time)}${c.answer_time ? "" : html`<br /><span class="sub">not answered</span>`}</td>
        <td class="mono">${c.caller_in || "?"} → ${c.callee_in || "?"}</td>
        <td class="mono">${c.callee_out || c.caller_out ? html`${c.caller_out || "?"} → ${c.callee_out || "?"}` : "—"}${c.routing_number ? html`<br /><span class="sub">rn ${c.routing_number}</span>` : ""}</td>
        <td>${c.in_trunk || "?"} → ${c.out_trunk || "—"}${c.failover_attempts ? html`<br /><span class="sub">${c.failover_attempts} failover</span>` : ""}</td>
        <td class="num">${fmtDuration((c.duration_ms || 0) / 1000)}</td>
        <td><span class=${"tag " + (c.answer_time ? "ok" : c.sip_code >= 400 ? "bad" : "")}>${code(c)}</span>
          ${c.q850_cause !== null && c.q850_cause !== undefined ? html` <span class="sub">cause ${c.q850_cause}</span>` : ""}
          <br /><span class="sub">by ${c.ended_by || "?"}${c.end_reason ? ` (${c.end_reason})` : ""}</span></td>
        <td class="media"><${Media} packets=${c.a_packets} lost=${c.a_packets_lost} jitter=${c.a_jitter_ms} /><br />
          <${Media} packets=${c.b_packets} lost=${c.b_packets_lost} jitter=${c.b_jitter_ms} /></td>
      </tr>`)}</tbody>
    </table></div>`}
    ${state.data && html`<${Pager} total=${state.data.total} limit=${PAGE} offset=${offset} onChange=${setOffset} label="Call record pages" />`}
    ${!state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}
