// Trunks: a paged, searchable list and one form for create and edit with
// every setting the API takes, in sections: general, limits, gateways, source
// ACL, credentials (write-only secrets), header policy, numbers, LNP, media
// and timers, outbound registration. Obvious format errors are caught here;
// the server's 422 names the field and the message appears next to it.
import { useEffect, useState } from "preact/hooks";
import { get, patch, post, query } from "./api.js";
import { Banner, Field, Pager, StaleNotice, bind, fieldId, focusField, html, navigate, useChangeCount, useStale } from "./ui.js";

const PAGE = 20;
// [name, min, max] as the server checks them (admin-ui/trunk_routes.cc).
const NUMBER_FIELDS = [
  ["max_calls", 0, 1e6], ["max_inbound", 0, 1e6], ["max_outbound", 0, 1e6], ["cps", 0, 1e5],
  ["cps_burst", 0, 1e6], ["reject_code", 400, 699], ["session_expires", 0, 86400], ["min_se", 90, 86400],
  ["max_call_seconds", 1, 7 * 86400], ["ring_timeout_seconds", 1, 3600], ["failover_timeout_ms", 100, 600000],
  ["register_expires", 60, 86400],
];
const INTEGER = new Set(NUMBER_FIELDS.map(([k]) => k).filter((k) => k !== "cps"));
const TEXT_FIELDS = ["name", "description", "kind", "realm", "auth_mode", "pai_trust",
  "media_policy", "media_latch", "country_code", "national_prefix", "international_prefix", "reject_reason",
  "ported_out_action", "register_user", "tls_client_cert", "tls_client_key", "tls_ca_file"];
const BOOL_FIELDS = ["enabled", "send_plus", "pass_lnp_params", "register_outbound", "sip_trace", "tls_verify"];
const LIST_FIELDS = ["header_strip", "header_allow_x"];
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const HOST = /^[A-Za-z0-9.:_\[\]-]{1,253}$/;
const SERVER_NAME = /^[A-Za-z0-9.-]{0,253}$/;
// Files on the SBC nodes (admin-ui/trunk_routes.cc): absolute, or empty.
const ABSOLUTE_PATH = /^(\/[^\r\n]{0,4095})?$/;
const TLS_PATHS = ["tls_client_cert", "tls_client_key", "tls_ca_file"];

export function TrunkList({ canWrite }) {
  const [offset, setOffset] = useState(0);
  const [q, setQ] = useState("");
  const [applied, setApplied] = useState("");
  const [state, setState] = useState({ loading: true });
  const changes = useChangeCount("trunks"); // another operator's edit reloads the page in place

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get("/api/v1/trunks" + query({ limit: PAGE, offset, sort: "name", q: applied })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [offset, applied, changes]);

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


const emptyGateway = () => ({ host: "", port: "5060", transport: "udp", priority: "10", weight: "100",
  enabled: true, options_ping: true, tls_server_name: "" });
const emptyAcl = () => ({ cidr: "", description: "" });
const emptyCred = () => ({ on: false, stored: false, username: "", realm: "", password: "" });

function toForm(t) {
  const f = { enabled: true, kind: "carrier", realm: "outside", auth_mode: "acl", media_policy: "rtp", media_latch: "strict",
    pai_trust: "untrusted", ported_out_action: "reject_404", send_plus: true, pass_lnp_params: true,
    tls_verify: true, tls_client_cert: "", tls_client_key: "", tls_ca_file: "",
    header_strip: "", header_allow_x: "", product_header: "", acl: [],
    cred: { inbound: emptyCred(), outbound: emptyCred() } };
  if (!t) return { ...f, gateways: [emptyGateway()] };
  for (const k of [...TEXT_FIELDS, ...BOOL_FIELDS]) if (t[k] !== undefined && t[k] !== null) f[k] = t[k];
  for (const [k] of NUMBER_FIELDS) if (t[k] !== undefined && t[k] !== null) f[k] = String(t[k]);
  for (const k of LIST_FIELDS) f[k] = (t[k] || []).join(", ");
  f.product_header = t.product_header ?? "";
  f.gateways = (t.gateways || []).map((g) => ({
    host: g.host, port: String(g.port ?? ""), transport: g.transport || "udp",
    priority: String(g.priority ?? ""), weight: String(g.weight ?? ""), enabled: g.enabled !== false,
    options_ping: g.options_ping !== false, tls_server_name: g.tls_server_name || "",
  }));
  f.acl = (t.acl || []).map((a) => ({ cidr: a.cidr, description: a.description || "" }));
  for (const c of t.credentials || []) {
    if (c.direction === "inbound" || c.direction === "outbound") {
      f.cred[c.direction] = { on: true, stored: true, username: c.username || "", realm: c.realm || "", password: "" };
    }
  }
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

const splitList = (s) => String(s || "").split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
const CRED_DIRS = ["inbound", "outbound"];

function toBody(f, editing) {
  const b = {};
  for (const k of TEXT_FIELDS) {
    if (f[k] !== undefined && (f[k] !== "" || editing)) b[k] = TLS_PATHS.includes(k) ? String(f[k]).trim() : f[k];
  }
  for (const k of BOOL_FIELDS) b[k] = !!f[k];
  for (const [k] of NUMBER_FIELDS) {
    const v = num(f[k] ?? "");
    if (v !== undefined) b[k] = v;
  }
  for (const k of LIST_FIELDS) b[k] = splitList(f[k]);
  b.product_header = f.product_header.trim() === "" ? null : f.product_header.trim();
  b.gateways = f.gateways.map((g) => {
    const out = { host: g.host.trim(), transport: g.transport, enabled: !!g.enabled, options_ping: !!g.options_ping,
      tls_server_name: g.transport === "tls" ? g.tls_server_name.trim() : "" };
    for (const k of ["port", "priority", "weight"]) {
      const v = num(g[k]);
      if (v !== undefined) out[k] = v;
    }
    return out;
  });
  b.acl = f.acl.map((a) => ({ cidr: a.cidr.trim(), description: a.description.trim() }));
  // Secrets are write-only: an entry without "password" keeps the stored one.
  b.credentials = [];
  for (const dir of CRED_DIRS) {
    const c = f.cred[dir];
    if (!c.on) continue;
    const out = { direction: dir, username: c.username.trim(), realm: c.realm.trim() };
    if (c.password !== "") out.password = c.password;
    b.credentials.push(out);
  }
  if (editing) b.version = f.version;
  return b;
}

function validCidr(s) {
  const [addr, len, extra] = s.split("/");
  if (extra !== undefined || !addr) return false;
  const v4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(addr);
  const v6 = !v4 && addr.includes(":") && /^[0-9A-Fa-f:.]+$/.test(addr) && (addr.match(/::/g) || []).length <= 1;
  if (!v4 && !v6) return false;
  if (len === undefined) return true;
  return /^\d{1,3}$/.test(len) && Number(len) <= (v4 ? 32 : 128);
}

// The obvious mistakes, named as the server would name them.
function clientErrors(f, editing) {
  const e = {};
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(f.name || "")) e.name = "Letters, digits, . _ - (up to 64), starting with a letter or digit.";
  for (const [k, lo, hi] of NUMBER_FIELDS) {
    const s = String(f[k] ?? "").trim();
    if (s === "") continue;
    const n = Number(s);
    if (!Number.isFinite(n) || (INTEGER.has(k) && !Number.isInteger(n))) e[k] = INTEGER.has(k) ? "A whole number." : "A number.";
    else if (n < lo || n > hi) e[k] = `Between ${lo} and ${hi}.`;
  }
  if (f.country_code && !/^[1-9][0-9]{0,2}$/.test(f.country_code)) e.country_code = "1 to 3 digits, not starting with 0.";
  for (const k of ["national_prefix", "international_prefix"]) {
    if (f[k] && !/^[0-9]{0,4}$/.test(f[k])) e[k] = "Up to 4 digits.";
  }
  for (const k of LIST_FIELDS) {
    const bad = splitList(f[k]).find((h) => !HEADER_NAME.test(h));
    if (bad) e[k] = `“${bad}” is not a header name.`;
  }
  f.gateways.forEach((g, i) => {
    if (!HOST.test(g.host.trim())) e[`gateways[${i}].host`] = "A host name or IP address.";
    const p = Number(g.port);
    if (g.port !== "" && (!Number.isInteger(p) || p < 1 || p > 65535)) e[`gateways[${i}].port`] = "1 to 65535.";
    if (g.transport === "tls" && !SERVER_NAME.test(g.tls_server_name.trim())) e[`gateways[${i}].tls_server_name`] = "A host name (letters, digits, . -).";
  });
  f.acl.forEach((a, i) => {
    if (!validCidr(a.cidr.trim())) e[`acl[${i}].cidr`] = "An address or CIDR, e.g. 192.0.2.0/24 or 2001:db8::/32.";
  });
  for (const dir of CRED_DIRS) {
    const c = f.cred[dir];
    if (!c.on) continue;
    if (!c.username.trim()) e[`cred.${dir}.username`] = "A user name.";
    if (!c.stored && c.password === "") e[`cred.${dir}.password`] = "Set a password.";
  }
  if (f.auth_mode === "digest" && !f.cred.inbound.on) e["cred.inbound.on"] = "Digest authentication needs the inbound credentials.";
  if (f.register_outbound && !f.cred.outbound.on) e["cred.outbound.on"] = "Registering needs the outbound credentials.";
  if (f.register_outbound && !String(f.register_user || "").trim()) e.register_user = "Registering needs the user to register as.";
  for (const k of TLS_PATHS) {
    if (!ABSOLUTE_PATH.test(String(f[k] || "").trim())) e[k] = "An absolute path on the SBC nodes (starting with /), or empty.";
  }
  const hasCert = String(f.tls_client_cert || "").trim() !== "";
  const hasKey = String(f.tls_client_key || "").trim() !== "";
  if (hasCert !== hasKey && !e.tls_client_cert && !e.tls_client_key) {
    e[hasCert ? "tls_client_key" : "tls_client_cert"] = "A client certificate and its key go together.";
  }
  return e;
}

// "credentials[1].password" -> "cred.outbound.password" (the index is the
// position in the body sent).
function serverField(field, body) {
  const m = /^credentials\[(\d+)\]\.(\w+)$/.exec(field || "");
  if (!m) return field === "credentials" ? "cred.inbound.on" : field;
  const c = body.credentials[Number(m[1])];
  return c ? `cred.${c.direction}.${m[2]}` : field;
}

function FieldError({ id, error }) {
  return error ? html`<p class="field-error" id=${id + "-error"} role="alert">${error}</p>` : null;
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
  // Changed elsewhere while open: say so, keep what is typed until asked.
  const stale = useStale("trunks", editing ? `/api/v1/trunks/${encodeURIComponent(id)}` : null,
    form ? form.version : undefined);

  if (!form) return html`<section><h1>Trunk</h1><${Banner} error=${banner} />
    ${!banner && html`<p class="muted">Loading…</p>`}<p><a href="#/trunks">Back to trunks</a></p></section>`;

  // Rows of a child list (gateways, acl): inputs named "list[i].key".
  const setRow = (list, i, key, value) => {
    const rows = form[list].map((g, j) => (j === i ? { ...g, [key]: value } : g));
    setForm({ ...form, [list]: rows });
  };
  const rowProps = (list, i, key, type = "text") => {
    const name = `${list}[${i}].${key}`;
    const p = bind(form[list][i], (g) => setRow(list, i, key, g[key]), key, null, type);
    p.id = fieldId(name);
    p.name = name;
    if (errors[name]) {
      p["aria-invalid"] = "true";
      p["aria-describedby"] = p.id + "-error";
    }
    return p;
  };
  const rowField = (list, i, key, label, cls, extra = {}) => {
    const p = rowProps(list, i, key);
    const name = `${list}[${i}].${key}`;
    return html`<div class=${"field " + cls + (errors[name] ? " invalid" : "")}><label for=${p.id}>${label}</label>
      <input ...${p} ...${extra} /><${FieldError} id=${p.id} error=${errors[name]} /></div>`;
  };
  const gwErr = (i, key) => errors[`gateways[${i}].${key}`];

  // Credentials: inputs named "cred.<direction>.<key>".
  const setCred = (dir, key, value) => setForm({ ...form, cred: { ...form.cred, [dir]: { ...form.cred[dir], [key]: value } } });
  const credInput = (dir, key, label, type = "text", hint) => {
    const name = `cred.${dir}.${key}`;
    const fid = fieldId(name);
    return html`<${Field} label=${label} name=${name} error=${errors[name]} hint=${hint}>
      <input id=${fid} name=${name} type=${type} value=${form.cred[dir][key]} autocomplete=${type === "password" ? "new-password" : "off"}
        aria-invalid=${errors[name] ? "true" : undefined} aria-describedby=${errors[name] ? fid + "-error" : undefined}
        onInput=${(e) => setCred(dir, key, e.currentTarget.value)} /></${Field}>`;
  };

  const submit = async (e) => {
    e.preventDefault();
    setBanner(null);
    const local = clientErrors(form, editing);
    const first = Object.keys(local)[0];
    if (first) {
      setErrors(local);
      setBanner(`Please correct the highlighted field${Object.keys(local).length > 1 ? "s" : ""}.`);
      focusField(first);
      return;
    }
    setSaving(true);
    setErrors({});
    const body = toBody(form, editing);
    const r = editing ? await patch(`/api/v1/trunks/${encodeURIComponent(id)}`, body)
      : await post("/api/v1/trunks", body);
    setSaving(false);
    if (r.ok) {
      navigate("/trunks");
      return;
    }
    if (r.field) {
      const f = serverField(r.field, body);
      setErrors({ [f]: r.message });
      setBanner(`Please correct the highlighted field (${r.field}).`);
      focusField(f);
    } else if (r.status === 409) {
      setBanner(r.message + " Someone may have changed this trunk: reload it to see their version.");
    } else {
      setBanner(r.message);
    }
  };

  const sel = (name, label, choices, hint) => html`<${Field} label=${label} name=${name} error=${errors[name]} hint=${hint}>
    <select ...${bind(form, setForm, name, errors)} onChange=${(e) => setForm({ ...form, [name]: e.currentTarget.value })}>
      ${choices.map((c) => (Array.isArray(c) ? html`<option value=${c[0]}>${c[1]}</option>` : html`<option value=${c}>${c}</option>`))}
    </select></${Field}>`;
  const inp = (name, label, type = "text", hint) => html`<${Field} label=${label} name=${name} error=${errors[name]} hint=${hint}>
    <input ...${bind(form, setForm, name, errors, type === "number" ? "text" : type)}
      inputmode=${type === "number" ? "decimal" : undefined} /></${Field}>`;
  const check = (name, label) => html`<div class=${"field check" + (errors[name] ? " invalid" : "")}>
    <label><input ...${bind(form, setForm, name, errors, "checkbox")} /> ${label}</label>
    <${FieldError} id=${fieldId(name)} error=${errors[name]} /></div>`;
  const area = (name, label, hint) => html`<${Field} label=${label} name=${name} error=${errors[name]} hint=${hint}>
    <textarea ...${bind(form, setForm, name, errors)} rows="2"></textarea></${Field}>`;
  const off = !canWrite || saving;

  const credSection = (dir, title, what) => {
    const c = form.cred[dir];
    const onName = `cred.${dir}.on`;
    return html`<div class="cred">
      <div class=${"field check" + (errors[onName] ? " invalid" : "")}>
        <label><input type="checkbox" id=${fieldId(onName)} name=${onName} checked=${c.on}
          aria-invalid=${errors[onName] ? "true" : undefined}
          onChange=${(e) => setCred(dir, "on", e.currentTarget.checked)} /> ${title}</label>
        <p class="hint">${what}</p>
        <${FieldError} id=${fieldId(onName)} error=${errors[onName]} /></div>
      ${c.on && html`<div class="grid">
        ${credInput(dir, "username", `${title}: user name`)}
        ${credInput(dir, "realm", `${title}: digest realm`, "text", "Empty: any / the server's")}
        ${credInput(dir, "password", c.stored ? `${title}: replace password` : `${title}: set password`, "password",
          c.stored ? "A password is stored (never shown). Leave empty to keep it." : "Stored encrypted; never shown again.")}
      </div>`}
    </div>`;
  };

  return html`<section aria-labelledby="trunk-h">
    <div class="page-head"><h1 id="trunk-h">${editing ? `Trunk ${form.name}` : "New trunk"}</h1>
      <a href="#/trunks">Back to trunks</a></div>
    <${StaleNotice} stale=${stale} what="trunk" onReload=${(t) => { setErrors({}); setBanner(null); setForm(toForm(t)); }} />
    <${Banner} error=${banner} />
    <form class="form" novalidate onSubmit=${submit}>
      <fieldset disabled=${off}>
        <legend>General</legend>
        <div class="grid">
          ${inp("name", "Name", "text", "Letters, digits, . _ -")}
          ${inp("description", "Description")}
          ${sel("kind", "Kind", ["carrier", "pbx"])}
          ${sel("realm", "Realm", ["outside", "inside"])}
          ${sel("auth_mode", "Authentication", [["acl", "acl (source address)"], ["digest", "digest (credentials)"], ["register", "register (PBX registers)"]])}
          ${check("enabled", "Enabled")}
        </div>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Limits</legend>
        <div class="grid">
          ${inp("max_calls", "Max calls", "number", "0 = no limit")}
          ${inp("max_inbound", "Max inbound", "number")}
          ${inp("max_outbound", "Max outbound", "number")}
          ${inp("cps", "Calls per second", "number")}
          ${inp("cps_burst", "CPS burst", "number")}
          ${inp("reject_code", "Reject code", "number", "400–699, 503 by default")}
          ${inp("reject_reason", "Reject reason header", "text", "e.g. Q.850;cause=34")}
        </div>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Gateways</legend>
        ${form.gateways.length === 0 && html`<p class="empty">No gateway: calls cannot be sent to this trunk.</p>`}
        ${form.gateways.map((g, i) => html`<div class="gateway" key=${i} role="group" aria-label=${"Gateway " + (i + 1)}>
          ${rowField("gateways", i, "host", "Host", "grow")}
          ${["port", "priority", "weight"].map((k) => rowField("gateways", i, k, k[0].toUpperCase() + k.slice(1), "small", { inputmode: "numeric" }))}
          <div class=${"field small" + (gwErr(i, "transport") ? " invalid" : "")}><label for=${rowProps("gateways", i, "transport").id}>Transport</label>
            <select ...${rowProps("gateways", i, "transport")} onChange=${(e) => setRow("gateways", i, "transport", e.currentTarget.value)}>
              ${["udp", "tcp", "tls"].map((c) => html`<option value=${c}>${c}</option>`)}
            </select></div>
          ${g.transport === "tls" && rowField("gateways", i, "tls_server_name", "TLS server name (SNI, verified)", "grow", { placeholder: "default: the host" })}
          <div class="field check"><label><input ...${rowProps("gateways", i, "enabled", "checkbox")} /> Enabled</label></div>
          <div class="field check"><label><input ...${rowProps("gateways", i, "options_ping", "checkbox")} /> OPTIONS ping</label></div>
          <button type="button" class="link danger" onClick=${() => setForm({ ...form, gateways: form.gateways.filter((_, j) => j !== i) })}
            aria-label=${"Remove gateway " + (i + 1)}>Remove</button>
        </div>`)}
        <button type="button" onClick=${() => setForm({ ...form, gateways: [...form.gateways, emptyGateway()] })}>Add gateway</button>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Source ACL</legend>
        <p class="hint">Addresses this trunk's requests may come from (auth mode acl). Empty: its gateways' addresses.</p>
        <${FieldError} id=${fieldId("acl")} error=${errors.acl} />
        ${form.acl.map((a, i) => html`<div class="gateway" key=${"acl" + i} role="group" aria-label=${"ACL entry " + (i + 1)}>
          ${rowField("acl", i, "cidr", "CIDR", "grow", { placeholder: "192.0.2.0/24", spellcheck: false })}
          ${rowField("acl", i, "description", "Note", "grow")}
          <button type="button" class="link danger" onClick=${() => setForm({ ...form, acl: form.acl.filter((_, j) => j !== i) })}
            aria-label=${"Remove ACL entry " + (i + 1)}>Remove</button>
        </div>`)}
        <button type="button" onClick=${() => setForm({ ...form, acl: [...form.acl, emptyAcl()] })}>Add ACL entry</button>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Credentials</legend>
        ${credSection("inbound", "Inbound credentials", "What this trunk must present to us (digest auth, or a PBX's registration).")}
        ${credSection("outbound", "Outbound credentials", "What we answer a carrier's challenge with, and register with.")}
      </fieldset>
      <fieldset disabled=${off}>
        <legend>TLS to the gateways</legend>
        <p class="hint">For gateways with transport tls. The name sent (SNI) and verified is the gateway's TLS server name, else its host.</p>
        <div class="grid">
          ${inp("tls_client_cert", "Client certificate (PEM file)", "text", "Absolute path on the SBC nodes; empty: none")}
          ${inp("tls_client_key", "Client key (PEM file)", "text", "Required with a client certificate")}
          ${inp("tls_ca_file", "CA file (PEM)", "text", "Empty: the system trust store")}
          ${check("tls_verify", "Verify the gateway's certificate and name")}
        </div>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Header policy</legend>
        <div class="grid">
          ${area("header_strip", "Headers to strip", "Names, separated by commas or spaces")}
          ${area("header_allow_x", "X- headers to pass through", "Other X- headers are dropped")}
          ${sel("pai_trust", "P-Asserted-Identity", [["untrusted", "untrusted (removed)"], ["trusted", "trusted (passed on)"]])}
          ${inp("product_header", "Product header (User-Agent/Server)", "text", "Empty: the node's default")}
        </div>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Number normalisation and LNP</legend>
        <div class="grid">
          ${inp("country_code", "Country code", "text", "e.g. 44")}
          ${inp("national_prefix", "National prefix", "text", "e.g. 0")}
          ${inp("international_prefix", "International prefix", "text", "e.g. 00")}
          ${check("send_plus", "Send numbers with +")}
          ${check("pass_lnp_params", "Pass rn/npdi to this trunk")}
          ${sel("ported_out_action", "Ported-out numbers", [["reject_404", "reject (404)"], ["route_by_lnp", "route by LNP"]])}
        </div>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Media and timers</legend>
        <div class="grid">
          ${sel("media_policy", "Media", ["rtp", "srtp-optional", "srtp-mandatory"], "SRTP needs TLS signalling to be private")}
          ${sel("media_latch", "RTP latching", [["strict", "strict (signalled address)"], ["window_any", "any source in the first seconds"]], "For PBXs whose RTP leaves from another address than their SDP names; never re-latched mid-call")}
          ${inp("session_expires", "Session-Expires (s)", "number", "0: no session timer")}
          ${inp("min_se", "Min-SE (s)", "number", "At least 90")}
          ${inp("ring_timeout_seconds", "Ring timeout (s)", "number")}
          ${inp("max_call_seconds", "Max call length (s)", "number")}
          ${inp("failover_timeout_ms", "Failover timeout (ms)", "number")}
          ${check("sip_trace", "SIP trace every call (both legs, see a call's trace page)")}
        </div>
      </fieldset>
      <fieldset disabled=${off}>
        <legend>Outbound registration</legend>
        <div class="grid">
          ${check("register_outbound", "Register to this trunk's gateway")}
          ${inp("register_user", "Register as (user)", "text", "Required to register (the AOR user)")}
          ${inp("register_expires", "Expires (s)", "number", "60–86400")}
        </div>
      </fieldset>
      ${canWrite && html`<div class="actions">
        <button type="submit" class="primary" disabled=${saving}>${saving ? "Saving…" : editing ? "Save changes" : "Create trunk"}</button>
        <a href="#/trunks">Cancel</a>
      </div>`}
    </form>
  </section>`;
}
