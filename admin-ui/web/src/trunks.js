// Trunks: a paged, searchable list and one form for create and edit
// (main settings, limits, media/header policy and the gateways).
import { useEffect, useState } from "preact/hooks";
import { get, patch, post, query } from "./api.js";
import { Banner, Field, Pager, bind, focusField, html, navigate } from "./ui.js";

const PAGE = 20;
const NUMBER_FIELDS = [
  "max_calls", "max_inbound", "max_outbound", "cps", "cps_burst", "reject_code",
  "session_expires", "min_se", "max_call_seconds", "ring_timeout_seconds", "failover_timeout_ms",
];
const TEXT_FIELDS = ["name", "description", "kind", "realm", "auth_mode", "pai_trust",
  "media_policy", "country_code", "reject_reason"];
const BOOL_FIELDS = ["enabled"];

export function TrunkList({ canWrite }) {
  const [offset, setOffset] = useState(0);
  const [q, setQ] = useState("");
  const [applied, setApplied] = useState("");
  const [state, setState] = useState({ loading: true });

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get("/api/v1/trunks" + query({ limit: PAGE, offset, sort: "name", q: applied })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [offset, applied]);

  const items = state.data ? state.data.items : [];
  return html`<section aria-labelledby="trunks-h">
    <div class="page-head">
      <h1 id="trunks-h">Trunks</h1>
      ${canWrite && html`<a class="button primary" href="#/trunks/new">New trunk</a>`}
    </div>
    <form class="search" role="search" onSubmit=${(e) => { e.preventDefault(); setOffset(0); setApplied(q.trim()); }}>
      <label for="trunk-q" class="sr-only">Search trunks</label>
      <input id="trunk-q" type="search" placeholder="Search name or description" value=${q}
        onInput=${(e) => setQ(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </form>
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">${applied
      ? `No trunk matches “${applied}”.`
      : "No trunks yet. A trunk is a PBX or a carrier the SBC talks to."}</p>`}
    ${items.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Realm</th>
        <th scope="col">Gateways</th><th scope="col">Max calls</th><th scope="col">Status</th></tr></thead>
      <tbody>${items.map((t) => html`<tr key=${t.id}>
        <td><a href=${"#/trunks/" + t.id}>${t.name}</a>${t.description && html`<div class="sub">${t.description}</div>`}</td>
        <td>${t.kind}</td><td>${t.realm}</td>
        <td>${(t.gateways || []).map((g) => `${g.host}:${g.port}/${g.transport}`).join(", ") || "—"}</td>
        <td>${t.max_calls ?? "—"}</td>
        <td><span class=${"tag " + (t.enabled ? "ok" : "off")}>${t.enabled ? "enabled" : "disabled"}</span></td>
      </tr>`)}</tbody>
    </table></div>`}
    ${state.data && html`<${Pager} total=${state.data.total} limit=${PAGE} offset=${offset}
      onChange=${setOffset} label="Trunk pages" />`}
    ${state.loading && !state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}

const emptyGateway = () => ({ host: "", port: "5060", transport: "udp", priority: "10", weight: "100", enabled: true });

function toForm(t) {
  const f = { enabled: true, kind: "carrier", realm: "outside", auth_mode: "acl",
    media_policy: "rtp", pai_trust: "untrusted" };
  if (!t) return { ...f, gateways: [emptyGateway()] };
  for (const k of [...TEXT_FIELDS, ...BOOL_FIELDS]) if (t[k] !== undefined && t[k] !== null) f[k] = t[k];
  for (const k of NUMBER_FIELDS) if (t[k] !== undefined && t[k] !== null) f[k] = String(t[k]);
  f.gateways = (t.gateways || []).map((g) => ({
    host: g.host, port: String(g.port ?? ""), transport: g.transport || "udp",
    priority: String(g.priority ?? ""), weight: String(g.weight ?? ""), enabled: g.enabled !== false,
  }));
  f.version = t.version;
  return f;
}

// A number the user typed, or the text itself so that the server names the
// field in its 422 rather than the page guessing.
function num(v) {
  const s = String(v).trim();
  if (s === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

function toBody(f, editing) {
  const b = {};
  for (const k of TEXT_FIELDS) {
    if (f[k] !== undefined && (f[k] !== "" || editing)) b[k] = f[k];
  }
  for (const k of BOOL_FIELDS) b[k] = !!f[k];
  for (const k of NUMBER_FIELDS) {
    const v = num(f[k] ?? "");
    if (v !== undefined) b[k] = v;
  }
  b.gateways = f.gateways.map((g) => {
    const out = { host: g.host.trim(), transport: g.transport, enabled: !!g.enabled };
    for (const k of ["port", "priority", "weight"]) {
      const v = num(g[k]);
      if (v !== undefined) out[k] = v;
    }
    return out;
  });
  if (editing) b.version = f.version;
  return b;
}

export function TrunkForm({ id, canWrite }) {
  const editing = id !== "new";
  const [form, setForm] = useState(editing ? null : toForm(null));
  const [errors, setErrors] = useState({});
  const [banner, setBanner] = useState(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (!editing) return;
    get(`/api/v1/trunks/${encodeURIComponent(id)}`).then((r) => {
      if (r.ok) setForm(toForm(r.data));
      else setBanner(r.status === 404 ? "This trunk does not exist (any more)." : r.message);
    });
  }, [id]);

  if (!form) return html`<section><h1>Trunk</h1><${Banner} error=${banner} />
    ${!banner && html`<p class="muted">Loading…</p>`}<p><a href="#/trunks">Back to trunks</a></p></section>`;

  const setGw = (i, key, value) => {
    const gws = form.gateways.map((g, j) => (j === i ? { ...g, [key]: value } : g));
    setForm({ ...form, gateways: gws });
  };
  const gwErr = (i, key) => errors[`gateways[${i}].${key}`];
  const gwProps = (i, key, type = "text") => {
    const name = `gateways[${i}].${key}`;
    const p = bind(form.gateways[i], (g) => setGw(i, key, g[key]), key, null, type);
    p.id = "f-" + name.replace(/[^A-Za-z0-9_]+/g, "-").replace(/-+$/, "");
    p.name = name;
    if (gwErr(i, key)) {
      p["aria-invalid"] = "true";
      p["aria-describedby"] = p.id + "-error";
    }
    return p;
  };

  const submit = async (e) => {
    e.preventDefault();
    setSaving(true);
    setErrors({});
    setBanner(null);
    const body = toBody(form, editing);
    const r = editing ? await patch(`/api/v1/trunks/${encodeURIComponent(id)}`, body)
      : await post("/api/v1/trunks", body);
    setSaving(false);
    if (r.ok) {
      navigate("/trunks");
      return;
    }
    if (r.field) {
      setErrors({ [r.field]: r.message });
      setBanner(`Please correct the highlighted field (${r.field}).`);
      focusField(r.field);
    } else if (r.status === 409) {
      setBanner(r.message + " Someone may have changed this trunk: reload it to see their version.");
    } else {
      setBanner(r.message);
    }
  };

  const sel = (name, label, choices) => html`<${Field} label=${label} name=${name} error=${errors[name]}>
    <select ...${bind(form, setForm, name, errors)} onChange=${(e) => setForm({ ...form, [name]: e.currentTarget.value })}>
      ${choices.map((c) => html`<option value=${c}>${c}</option>`)}
    </select></${Field}>`;
  const inp = (name, label, type = "text", hint) => html`<${Field} label=${label} name=${name} error=${errors[name]} hint=${hint}>
    <input ...${bind(form, setForm, name, errors, type === "number" ? "text" : type)}
      inputmode=${type === "number" ? "decimal" : undefined} /></${Field}>`;

  return html`<section aria-labelledby="trunk-h">
    <div class="page-head"><h1 id="trunk-h">${editing ? `Trunk ${form.name}` : "New trunk"}</h1>
      <a href="#/trunks">Back to trunks</a></div>
    <${Banner} error=${banner} />
    <form class="form" novalidate onSubmit=${submit}>
      <fieldset disabled=${!canWrite || saving}>
        <legend>General</legend>
        <div class="grid">
          ${inp("name", "Name", "text", "Letters, digits, . _ -")}
          ${inp("description", "Description")}
          ${sel("kind", "Kind", ["carrier", "pbx"])}
          ${sel("realm", "Realm", ["outside", "inside"])}
          ${sel("auth_mode", "Authentication", ["acl", "digest", "register"])}
          <div class="field check"><label><input ...${bind(form, setForm, "enabled", errors, "checkbox")} /> Enabled</label></div>
        </div>
      </fieldset>
      <fieldset disabled=${!canWrite || saving}>
        <legend>Limits</legend>
        <div class="grid">
          ${inp("max_calls", "Max calls", "number", "0 = no limit")}
          ${inp("max_inbound", "Max inbound", "number")}
          ${inp("max_outbound", "Max outbound", "number")}
          ${inp("cps", "Calls per second", "number")}
          ${inp("cps_burst", "CPS burst", "number")}
          ${inp("reject_code", "Reject code", "number", "400–699, 503 by default")}
        </div>
      </fieldset>
      <fieldset disabled=${!canWrite || saving}>
        <legend>Media and policy</legend>
        <div class="grid">
          ${sel("media_policy", "Media", ["rtp", "srtp-optional", "srtp-mandatory"])}
          ${sel("pai_trust", "P-Asserted-Identity", ["untrusted", "trusted"])}
          ${inp("country_code", "Country code", "text", "e.g. 44")}
          ${inp("ring_timeout_seconds", "Ring timeout (s)", "number")}
          ${inp("max_call_seconds", "Max call length (s)", "number")}
          ${inp("failover_timeout_ms", "Failover timeout (ms)", "number")}
        </div>
      </fieldset>
      <fieldset disabled=${!canWrite || saving}>
        <legend>Gateways</legend>
        ${form.gateways.length === 0 && html`<p class="empty">No gateway: calls cannot be sent to this trunk.</p>`}
        ${form.gateways.map((g, i) => html`<div class="gateway" key=${i} role="group" aria-label=${"Gateway " + (i + 1)}>
          <div class=${"field grow" + (gwErr(i, "host") ? " invalid" : "")}><label for=${gwProps(i, "host").id}>Host</label>
            <input ...${gwProps(i, "host")} />
            ${gwErr(i, "host") && html`<p class="field-error" id=${gwProps(i, "host").id + "-error"} role="alert">${gwErr(i, "host")}</p>`}</div>
          ${["port", "priority", "weight"].map((k) => html`<div class=${"field small" + (gwErr(i, k) ? " invalid" : "")}>
            <label for=${gwProps(i, k).id}>${k[0].toUpperCase() + k.slice(1)}</label>
            <input ...${gwProps(i, k)} inputmode="numeric" />
            ${gwErr(i, k) && html`<p class="field-error" id=${gwProps(i, k).id + "-error"} role="alert">${gwErr(i, k)}</p>`}</div>`)}
          <div class=${"field small" + (gwErr(i, "transport") ? " invalid" : "")}><label for=${gwProps(i, "transport").id}>Transport</label>
            <select ...${gwProps(i, "transport")} onChange=${(e) => setGw(i, "transport", e.currentTarget.value)}>
              ${["udp", "tcp", "tls"].map((c) => html`<option value=${c}>${c}</option>`)}
            </select></div>
          <div class="field check"><label><input ...${gwProps(i, "enabled", "checkbox")} /> Enabled</label></div>
          <button type="button" class="link danger" onClick=${() => setForm({ ...form, gateways: form.gateways.filter((_, j) => j !== i) })}
            aria-label=${"Remove gateway " + (i + 1)}>Remove</button>
        </div>`)}
        <button type="button" onClick=${() => setForm({ ...form, gateways: [...form.gateways, emptyGateway()] })}>Add gateway</button>
      </fieldset>
      ${canWrite && html`<div class="actions">
        <button type="submit" class="primary" disabled=${saving}>${saving ? "Saving…" : editing ? "Save changes" : "Create trunk"}</button>
        <a href="#/trunks">Cancel</a>
      </div>`}
    </form>
  </section>`;
}
