// The audit log: who changed what and when, newest first, filtered by user,
// resource and time; each entry opens to a before/after table with the
// changed fields marked. Paging is by id (the API's before_id keyset), so
// "Older" stays correct while new entries arrive.
import { useEffect, useState } from "preact/hooks";
import { get, query } from "./api.js";
import { Banner, Field, bind, fmtTime, focusField, html, useChanges } from "./ui.js";

const PAGE = 50;
const ENTITIES = ["trunk", "did", "route", "user", "api_token", "port_order", "ported_number"];
const ACTIONS = ["create", "update", "delete"];

function show(v) {
  if (v === undefined) return "";
  if (v === null) return "null";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

// One row per field of either image; secrets never reach this page (the
// server leaves them out of the images it stores).
export function diffRows(before, after) {
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])];
  const rows = keys.map((k) => {
    const b = before ? before[k] : undefined;
    const a = after ? after[k] : undefined;
    return { key: k, before: b, after: a, changed: JSON.stringify(b) !== JSON.stringify(a) };
  });
  // Changed fields first, then by name.
  rows.sort((x, y) => (y.changed - x.changed) || x.key.localeCompare(y.key));
  return rows;
}

const NOISE = new Set(["version", "updated_at"]);

function Diff({ entry, showAll }) {
  const rows = diffRows(entry.before, entry.after);
  const changed = rows.filter((r) => r.changed && !(entry.action === "update" && NOISE.has(r.key)));
  const visible = showAll || entry.action !== "update" ? rows : changed;
  const hidden = rows.length - visible.length;
  return html`<div class="diff">
    ${entry.action === "update" && changed.length === 0 && html`<p class="muted">No field changed.</p>`}
    ${visible.length > 0 && html`<table class="diff-table">
      <caption class="sr-only">Changes to ${entry.entity} ${entry.entity_id}</caption>
      <thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
      <tbody>${visible.map((r) => html`<tr key=${r.key} class=${r.changed ? "changed" : ""}>
        <th scope="row" class="mono">${r.key}${r.changed ? html`<span class="sr-only"> (changed)</span>` : ""}</th>
        <td class="mono before">${show(r.before)}</td><td class="mono after">${show(r.after)}</td></tr>`)}</tbody>
    </table>`}
    ${hidden > 0 && html`<p class="sub">${hidden} other field${hidden === 1 ? "" : "s"} (unchanged, or version and time stamps) hidden.</p>`}
  </div>`;
}

function summary(e) {
  const name = (e.after && (e.after.name || e.after.username || e.after.number || e.after.prefix)) ||
    (e.before && (e.before.name || e.before.username || e.before.number || e.before.prefix));
  return `${e.entity} ${e.entity_id ?? ""}${name && name !== e.entity_id ? ` (${name})` : ""}`;
}

function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function Audit() {
  const blank = { who: "", entity: "", entity_id: "", action: "", since: "", until: "" };
  const [form, setForm] = useState(blank);
  const [filter, setFilter] = useState({});
  const [errors, setErrors] = useState({});
  const [pages, setPages] = useState([undefined]); // before_id of each page seen
  const [state, setState] = useState({});
  const [showAll, setShowAll] = useState(false);
  const [reload, setReload] = useState(0);
  const before = pages[pages.length - 1];

  useEffect(() => {
    let live = true;
    get("/api/v1/audit" + query({ ...filter, limit: PAGE, before_id: before })).then((r) => {
      if (!live) return;
      if (r.ok) setState({ data: r.data, at: new Date() });
      else {
        setState({ error: r.message });
        if (r.field) setErrors({ [r.field]: r.message });
      }
    });
    return () => { live = false; };
  }, [filter, before, reload]);

  // The newest page follows new changes as they are pushed (every write
  // adds an audit row); older pages stay still.
  useChanges("audit", () => {
    if (pages.length === 1) setReload((n) => n + 1);
  });

  const apply = (e) => {
    e.preventDefault();
    setErrors({});
    const f = {};
    for (const k of ["who", "entity", "entity_id", "action"]) if (form[k].trim()) f[k] = form[k].trim();
    for (const k of ["since", "until"]) {
      if (!form[k]) continue;
      const d = new Date(form[k]);
      if (Number.isNaN(d.getTime())) {
        setErrors({ [k]: "not a date and time" });
        focusField(k);
        return;
      }
      f[k] = d.toISOString();
    }
    if (f.since && f.until && f.since >= f.until) {
      setErrors({ until: "must be after since" });
      focusField("until");
      return;
    }
    setPages([undefined]);
    setFilter(f);
  };

  const items = state.data ? state.data.items : [];
  const filtered = Object.keys(filter).length > 0;
  return html`<section aria-labelledby="audit-h">
    <div class="page-head"><h1 id="audit-h">Audit log</h1>
      <span class="muted">${state.at ? `updated ${state.at.toLocaleTimeString()}` : ""}
        <button type="button" onClick=${() => setReload((n) => n + 1)}>Refresh</button></span></div>
    <form class="form inline-form" novalidate onSubmit=${apply} role="search" aria-label="Filter the audit log">
      <${Field} label="User" name="who" error=${errors.who} hint="user name, or token:name">
        <input ...${bind(form, setForm, "who", errors)} /></${Field}>
      <${Field} label="Resource" name="entity" error=${errors.entity}>
        <select ...${bind(form, setForm, "entity", errors)} onChange=${(e) => setForm({ ...form, entity: e.currentTarget.value })}>
          <option value="">Any</option>${ENTITIES.map((x) => html`<option value=${x}>${x}</option>`)}
        </select></${Field}>
      <${Field} label="Resource id" name="entity_id" error=${errors.entity_id}>
        <input ...${bind(form, setForm, "entity_id", errors)} /></${Field}>
      <${Field} label="Action" name="action" error=${errors.action}>
        <select ...${bind(form, setForm, "action", errors)} onChange=${(e) => setForm({ ...form, action: e.currentTarget.value })}>
          <option value="">Any</option>${ACTIONS.map((x) => html`<option value=${x}>${x}</option>`)}
        </select></${Field}>
      <${Field} label="Since" name="since" error=${errors.since}>
        <input ...${bind(form, setForm, "since", errors, "datetime-local")} /></${Field}>
      <${Field} label="Until" name="until" error=${errors.until}>
        <input ...${bind(form, setForm, "until", errors, "datetime-local")} /></${Field}>
      <div class="actions"><button type="submit" class="primary">Filter</button>
        <button type="button" onClick=${() => setForm({ ...form, since: localInput(new Date(Date.now() - 24 * 3600 * 1000)), until: "" })}>Last 24 h</button>
        <button type="button" onClick=${() => { setForm(blank); setErrors({}); setPages([undefined]); setFilter({}); }}>Clear</button></div>
    </form>
    <p><label><input type="checkbox" checked=${showAll} onChange=${(e) => setShowAll(e.currentTarget.checked)} /> Show unchanged fields of updates</label></p>
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">${filtered ? "No change matches these filters." : "Nothing has been changed yet."}</p>`}
    ${items.length > 0 && html`<ol class="audit-list">${items.map((e) => html`<li key=${e.id}>
      <details>
        <summary>
          <span class="when">${fmtTime(e.at)}</span>
          <strong class="who">${e.who}</strong>
          <span class=${"tag action-" + e.action}>${e.action}</span>
          <span class="what">${summary(e)}</span>
          ${e.client_ip && html`<span class="sub">from ${e.client_ip}</span>`}
        </summary>
        <${Diff} entry=${e} showAll=${showAll} />
      </details>
    </li>`)}</ol>`}
    ${state.data && (pages.length > 1 || items.length === PAGE) && html`<nav class="pager" aria-label="Audit pages">
      <button type="button" disabled=${pages.length === 1} onClick=${() => setPages(pages.slice(0, -1))}>← Newer</button>
      <button type="button" disabled=${items.length < PAGE} onClick=${() => setPages([...pages, items[items.length - 1].id])}>Older →</button>
    </nav>`}
    ${!state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}
