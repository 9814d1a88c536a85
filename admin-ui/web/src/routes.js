// Outbound routes: the prefix table (longest prefix wins, then priority,
// then weight among equal priorities) with create / edit / delete, and the
// "which trunk would this number take?" tester, answered by a live SBC
// node's own routing code (GET /api/v1/routes/test), never guessed here.
import { useEffect, useState } from "preact/hooks";
import { del, get, patch, post, query } from "./api.js";
import { Banner, ConfirmButton, Field, Pager, SortTh, StaleNotice, bind, focusField, html, useChangeCount, useStale } from "./ui.js";

const PAGE = 25;
const blank = () => ({ prefix: "", trunk_id: "", priority: "10", weight: "100", enabled: true, description: "" });

function RouteForm({ carriers, editing, onDone, onCancel, onReload }) {
  const [form, setForm] = useState(editing ? {
    prefix: editing.prefix, trunk_id: String(editing.trunk_id), priority: String(editing.priority),
    weight: String(editing.weight), enabled: editing.enabled, description: editing.description || "",
  } : blank());
  const stale = useStale("routes", editing ? `/api/v1/routes/${editing.id}` : null, editing && editing.version);
  const [errors, setErrors] = useState({});
  const [banner, setBanner] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setBanner(null);
    const prefix = form.prefix.trim().replace(/^\+/, "");
    if (!/^[0-9]{0,15}$/.test(prefix)) {
      setErrors({ prefix: "digits only (E.164 without +), at most 15; empty matches every number" });
      focusField("prefix");
      return;
    }
    const body = {
      prefix,
      priority: Number(form.priority),
      weight: Number(form.weight),
      enabled: !!form.enabled,
      description: form.description.trim(),
    };
    if (form.trunk_id !== "") body.trunk_id = Number(form.trunk_id);
    setBusy(true);
    const r = editing
      ? await patch(`/api/v1/routes/${editing.id}`, { ...body, version: editing.version })
      : await post("/api/v1/routes", body);
    setBusy(false);
    if (r.ok) {
      onDone(editing ? `Route ${prefix || "(any)"} saved.` : `Route ${prefix || "(any)"} added.`);
      if (!editing) setForm(blank());
    } else if (r.field && r.field !== "version") {
      setErrors({ [r.field]: r.message });
      focusField(r.field);
    } else {
      setBanner(r.message);
    }
  };

  return html`<form class="form inline-form" novalidate onSubmit=${submit}
      aria-label=${editing ? "Edit route" : "Add a route"}>
    ${stale && html`<div class="span-all"><${StaleNotice} stale=${stale} what="route" onReload=${onReload} /></div>`}
    <${Field} label="Prefix" name="prefix" error=${errors.prefix} hint="E.164 digits, no +; empty: any number">
      <input ...${bind(form, setForm, "prefix", errors)} placeholder="44" inputmode="numeric" /></${Field}>
    <${Field} label="Carrier trunk" name="trunk_id" error=${errors.trunk_id}>
      <select ...${bind(form, setForm, "trunk_id", errors)} onChange=${(e) => setForm({ ...form, trunk_id: e.currentTarget.value })}>
        <option value="">(choose)</option>
        ${carriers.map((t) => html`<option value=${String(t.id)}>${t.name}</option>`)}
      </select></${Field}>
    <${Field} label="Priority" name="priority" error=${errors.priority} hint="lower is tried first">
      <input ...${bind(form, setForm, "priority", errors, "number")} min="0" max="65535" /></${Field}>
    <${Field} label="Weight" name="weight" error=${errors.weight} hint="share among equal priorities">
      <input ...${bind(form, setForm, "weight", errors, "number")} min="1" max="65535" /></${Field}>
    <${Field} label="Description" name="description" error=${errors.description}>
      <input ...${bind(form, setForm, "description", errors)} /></${Field}>
    <div class="field check"><label><input ...${bind(form, setForm, "enabled", errors, "checkbox")} /> Enabled</label></div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${busy}>${editing ? "Save route" : "Add route"}</button>
      ${editing && html`<button type="button" onClick=${onCancel}>Cancel</button>`}
    </div>
    ${banner && html`<div class="span-all"><${Banner} error=${banner} /></div>`}
  </form>`;
}

function TesterResult({ result }) {
  const r = result;
  const num = r.number || {};
  return html`<div class="tester-result" aria-live="polite">
    <dl class="facts">
      <div><dt>From trunk</dt><dd>${r.trunk ? `${r.trunk.name} (${r.trunk.kind})` : "?"}</dd></div>
      <div><dt>Direction</dt><dd>${r.direction}</dd></div>
      <div><dt>Normalised</dt><dd class="mono">${num.ok ? num.e164 : html`<span class="tag bad">${num.error}</span>`}</dd></div>
      ${r.lnp && html`<div><dt>LNP</dt><dd>${r.lnp.ported
        ? html`<span class="tag">ported</span> routed on <span class="mono">${r.lnp.routing_number}</span>`
        : r.lnp.source === "dip" ? "not ported (looked up)" : r.lnp.source === "upstream" ? "routing number from upstream" : "npdi set upstream: no lookup"}</dd></div>`}
      ${r.did !== undefined && html`<div><dt>DID</dt><dd>${r.did ? `${r.did.number} → ${r.did.trunk} (${r.did.status})` : "not one of our numbers"}</dd></div>`}
      <div><dt>Answered by</dt><dd>${r.node} (configuration ${r.config_generation})</dd></div>
    </dl>
    ${r.reject
      ? html`<p class="banner error" role="status">The call would be refused: <strong>${r.reject.code} ${r.reject.reason}</strong> (${r.reject.cause}).</p>`
      : html`<div class="table-wrap"><table>
        <caption>The SBC would try, in this order</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Trunk</th><th scope="col">Gateway</th><th scope="col">Request-URI user</th><th scope="col">State</th></tr></thead>
        <tbody>${r.targets.map((t, i) => html`<tr key=${i}>
          <td class="num">${i + 1}</td><td>${t.trunk}</td>
          <td class="mono">${t.host}:${t.port}/${String(t.transport).toLowerCase()}</td>
          <td class="mono">${t.request_user}</td>
          <td>${t.down ? html`<span class="tag bad">down</span>` : html`<span class="tag ok">usable</span>`}</td></tr>`)}</tbody>
      </table></div>`}
    ${r.routes && r.routes.length > 0 && html`<p class="muted">Matching routes: ${r.routes.map((m, i) => html`${i ? ", " : ""}<span class="mono">${m.prefix || "(any)"}</span> → ${m.trunk} (priority ${m.priority}, weight ${m.weight}${m.skipped ? `, skipped: ${m.skipped}` : ""})`)}.
      Equal priorities are shared by weight, so their order can change from call to call.</p>`}
  </div>`;
}

function RouteTester({ trunks }) {
  const [form, setForm] = useState({ trunk: "", number: "" });
  const [errors, setErrors] = useState({});
  const [state, setState] = useState({});
  useEffect(() => {
    if (!form.trunk && trunks.length) {
      const pbx = trunks.find((t) => t.kind === "pbx") || trunks[0];
      setForm((f) => ({ ...f, trunk: pbx.name }));
    }
  }, [trunks]);

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    if (!form.number.trim()) {
      setErrors({ number: "enter the number as the trunk would dial it" });
      focusField("number");
      return;
    }
    setState({ busy: true });
    const r = await get("/api/v1/routes/test" + query({ trunk: form.trunk, number: form.number.trim() }));
    if (r.ok) {
      setState({ result: r.data });
    } else if (r.status === 422 && r.field) {
      setState({});
      setErrors({ [r.field]: r.message });
      focusField(r.field);
    } else {
      setState({ error: r.message });
    }
  };

  return html`<section class="card tester" aria-labelledby="tester-h">
    <h2 id="tester-h">Which trunk would this number take?</h2>
    <form class="form tester-form" novalidate onSubmit=${submit} aria-label="Route tester">
      <${Field} label="Call from trunk" name="trunk" error=${errors.trunk}>
        <select ...${bind(form, setForm, "trunk", errors)} onChange=${(e) => setForm({ ...form, trunk: e.currentTarget.value })}>
          ${trunks.map((t) => html`<option value=${t.name}>${t.name} (${t.kind})</option>`)}
        </select></${Field}>
      <${Field} label="Dialled number" name="number" error=${errors.number}>
        <input ...${bind(form, setForm, "number", errors)} placeholder="00442071234567" inputmode="tel" /></${Field}>
      <div class="actions"><button type="submit" class="primary" disabled=${state.busy || !trunks.length}>${state.busy ? "Asking the SBC…" : "Test"}</button></div>
    </form>
    ${!trunks.length && html`<p class="muted">Create a trunk first.</p>`}
    <${Banner} error=${state.error} />
    ${state.result && html`<${TesterResult} result=${state.result} />`}
  </section>`;
}

export function Routes({ canWrite }) {
  const [offset, setOffset] = useState(0);
  const [sort, setSort] = useState("prefix");
  const [filter, setFilter] = useState({ q: "", trunk_id: "" });
  const [applied, setApplied] = useState({ q: "", trunk_id: "" });
  const [reload, setReload] = useState(0);
  const [state, setState] = useState({ loading: true });
  const [trunks, setTrunks] = useState([]);
  const [editing, setEditing] = useState(null);
  const [notice, setNotice] = useState(null);
  const [banner, setBanner] = useState(null);
  const routeChanges = useChangeCount("routes");
  const trunkChanges = useChangeCount("trunks");

  useEffect(() => {
    get("/api/v1/trunks" + query({ limit: 1000, sort: "name" })).then((r) => {
      if (r.ok) setTrunks(r.data.items);
    });
  }, [reload, trunkChanges]);
  useEffect(() => {
    let live = true;
    get("/api/v1/routes" + query({ limit: PAGE, offset, sort, q: applied.q, trunk_id: applied.trunk_id })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [offset, sort, applied, reload, routeChanges]);

  const carriers = trunks.filter((t) => t.kind === "carrier");
  const trunkName = (id) => (trunks.find((t) => t.id === id) || {}).name || `#${id}`;
  const done = (msg) => {
    setNotice(msg);
    setBanner(null);
    setEditing(null);
    setReload((n) => n + 1);
  };
  const remove = async (route) => {
    setNotice(null);
    const r = await del(`/api/v1/routes/${route.id}`);
    if (r.ok) done(`Route ${route.prefix || "(any)"} → ${trunkName(route.trunk_id)} deleted.`);
    else setBanner(r.message);
  };
  const onSort = (s) => { setSort(s); setOffset(0); };
  const items = state.data ? state.data.items : [];
  const filtered = applied.q || applied.trunk_id;

  return html`<section aria-labelledby="routes-h">
    <div class="page-head"><h1 id="routes-h">Routes</h1>
      <span class="muted">Outbound calls take the longest matching prefix, then the lowest priority; equal priorities share calls by weight.</span></div>
    <${RouteTester} trunks=${trunks} />
    ${canWrite && !editing && html`<${RouteForm} key="new" carriers=${carriers} onDone=${done} />`}
    ${canWrite && editing && html`<${RouteForm} key=${"edit-" + editing.id + "-" + editing.version} carriers=${carriers} editing=${editing}
      onDone=${done} onCancel=${() => setEditing(null)} onReload=${(fresh) => setEditing(fresh)} />`}
    <${Banner} error=${notice} kind="ok" />
    <${Banner} error=${banner} />
    <form class="filters" role="search" aria-label="Filter routes"
      onSubmit=${(e) => { e.preventDefault(); setOffset(0); setApplied({ ...filter }); }}>
      <label for="routes-q" class="sr-only">Search prefix or description</label>
      <input id="routes-q" type="search" placeholder="Prefix or description" value=${filter.q}
        onInput=${(e) => setFilter({ ...filter, q: e.currentTarget.value })} />
      <label for="routes-trunk" class="sr-only">Trunk</label>
      <select id="routes-trunk" value=${filter.trunk_id} onChange=${(e) => setFilter({ ...filter, trunk_id: e.currentTarget.value })}>
        <option value="">All trunks</option>
        ${carriers.map((t) => html`<option value=${String(t.id)}>${t.name}</option>`)}
      </select>
      <button type="submit">Filter</button>
    </form>
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">${filtered ? "No route matches this filter." : "No routes yet: outbound calls have nowhere to go."}</p>`}
    ${items.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr>
        <${SortTh} field="prefix" label="Prefix" sort=${sort} onSort=${onSort} />
        <${SortTh} field="trunk_id" label="Trunk" sort=${sort} onSort=${onSort} />
        <${SortTh} field="priority" label="Priority" sort=${sort} onSort=${onSort} />
        <th scope="col">Weight</th><th scope="col">State</th><th scope="col">Description</th>
        ${canWrite && html`<th scope="col"><span class="sr-only">Actions</span></th>`}
      </tr></thead>
      <tbody>${items.map((r) => html`<tr key=${r.id}>
        <td class="mono">${r.prefix || "(any)"}</td><td>${trunkName(r.trunk_id)}</td>
        <td class="num">${r.priority}</td><td class="num">${r.weight}</td>
        <td><span class=${"tag " + (r.enabled ? "ok" : "off")}>${r.enabled ? "enabled" : "disabled"}</span></td>
        <td>${r.description || ""}</td>
        ${canWrite && html`<td class="row-actions">
          <button type="button" onClick=${() => { setNotice(null); setEditing(r); }}
            aria-label=${`Edit route ${r.prefix || "(any)"} to ${trunkName(r.trunk_id)}`}>Edit</button>
          <${ConfirmButton} label="Delete" question=${`Delete route ${r.prefix || "(any)"}?`} onConfirm=${() => remove(r)} />
        </td>`}</tr>`)}</tbody>
    </table></div>`}
    ${state.data && html`<${Pager} total=${state.data.total} limit=${PAGE} offset=${offset} onChange=${setOffset} label="Route pages" />`}
  </section>`;
}
