// Users and API tokens (admin only). Users: create, change role, disable,
// reset the password, delete; the server refuses (409) to remove, disable or
// demote the last enabled admin and the page says why. Tokens: create (the
// secret is shown once, here, and never again), list, revoke.
import { useEffect, useState } from "preact/hooks";
import { get, patch, post, query, del } from "./api.js";
import { Banner, ConfirmButton, Field, Pager, SortTh, StaleNotice, bind, fmtTime, focusField, html, useChangeCount, useStale } from "./ui.js";

const PAGE = 25;
const ROLES = ["admin", "operator", "viewer"];

// 18 random bytes as base64url: 24 characters, well past the password policy.
function randomPassword() {
  const b = new Uint8Array(18);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_");
}

function NewUser({ onDone }) {
  const blank = { username: "", role: "operator", password: "" };
  const [form, setForm] = useState(blank);
  const [errors, setErrors] = useState({});
  const [banner, setBanner] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setBanner(null);
    const r = await post("/api/v1/users", { username: form.username.trim(), role: form.role, password: form.password });
    if (r.ok) {
      setForm(blank);
      onDone(`User ${r.data.username} created.`);
    } else if (r.field) {
      setErrors({ [r.field]: r.message });
      focusField(r.field);
    } else {
      setBanner(r.message);
    }
  };
  return html`<form class="form inline-form" novalidate onSubmit=${submit} aria-label="Add a user">
    <${Field} label="User name" name="username" error=${errors.username}>
      <input ...${bind(form, setForm, "username", errors)} autocomplete="off" /></${Field}>
    <${Field} label="Role" name="role" error=${errors.role}>
      <select ...${bind(form, setForm, "role", errors)} onChange=${(e) => setForm({ ...form, role: e.currentTarget.value })}>
        ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
      </select></${Field}>
    <${Field} label="Password" name="password" error=${errors.password} hint="at least 12 characters">
      <input ...${bind(form, setForm, "password", errors)} autocomplete="new-password" /></${Field}>
    <div class="actions"><button type="submit" class="primary">Add user</button>
      <button type="button" onClick=${() => setForm({ ...form, password: randomPassword() })}>Generate password</button></div>
    ${banner && html`<div class="span-all"><${Banner} error=${banner} /></div>`}
  </form>`;
}

function EditUser({ user, onDone, onCancel, onReload }) {
  const [form, setForm] = useState({ role: user.role, disabled: !!user.disabled, password: "", unlock: false });
  const stale = useStale("users", `/api/v1/users/${user.id}`, user.version);
  const [errors, setErrors] = useState({});
  const [banner, setBanner] = useState(null);
  const locked = user.locked_until && new Date(user.locked_until) > new Date();
  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setBanner(null);
    const body = { version: user.version };
    if (form.role !== user.role) body.role = form.role;
    if (form.disabled !== !!user.disabled) body.disabled = form.disabled;
    if (form.password) body.password = form.password;
    if (form.unlock) { body.failed_logins = 0; body.locked_until = null; }
    if (Object.keys(body).length === 1) { onCancel(); return; }
    const r = await patch(`/api/v1/users/${user.id}`, body);
    if (r.ok) onDone(`User ${user.username} saved${form.password ? " (new password set; their sessions ended)" : ""}.`);
    else if (r.field && r.field !== "version" && r.status === 422) { setErrors({ [r.field]: r.message }); focusField(r.field); }
    else setBanner(r.message);
  };
  return html`<form class="form inline-form edit-user" novalidate onSubmit=${submit} aria-label=${"Edit user " + user.username}>
    <p class="span-all"><strong>Edit ${user.username}</strong></p>
    ${stale && html`<div class="span-all"><${StaleNotice} stale=${stale} what="user" onReload=${onReload} /></div>`}
    <${Field} label="Role" name="role" error=${errors.role}>
      <select ...${bind(form, setForm, "role", errors)} onChange=${(e) => setForm({ ...form, role: e.currentTarget.value })}>
        ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
      </select></${Field}>
    <${Field} label="New password" name="password" error=${errors.password} hint="leave empty to keep it">
      <input ...${bind(form, setForm, "password", errors)} autocomplete="new-password" /></${Field}>
    <div class="field check"><label><input ...${bind(form, setForm, "disabled", errors, "checkbox")} /> Disabled</label></div>
    ${locked && html`<div class="field check"><label><input ...${bind(form, setForm, "unlock", errors, "checkbox")} /> Unlock (locked after failed logins)</label></div>`}
    <div class="actions"><button type="submit" class="primary">Save user</button>
      <button type="button" onClick=${() => setForm({ ...form, password: randomPassword() })}>Generate password</button>
      <button type="button" onClick=${onCancel}>Cancel</button></div>
    ${banner && html`<div class="span-all"><${Banner} error=${banner} /></div>`}
  </form>`;
}

function UserList({ me }) {
  const [offset, setOffset] = useState(0);
  const [sort, setSort] = useState("username");
  const [q, setQ] = useState("");
  const [applied, setApplied] = useState("");
  const [reload, setReload] = useState(0);
  const [state, setState] = useState({});
  const [editing, setEditing] = useState(null);
  const [notice, setNotice] = useState(null);
  const [banner, setBanner] = useState(null);
  const changes = useChangeCount("users");

  useEffect(() => {
    let live = true;
    get("/api/v1/users" + query({ limit: PAGE, offset, sort, q: applied })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [offset, sort, applied, reload, changes]);
  const done = (msg) => { setNotice(msg); setBanner(null); setEditing(null); setReload((n) => n + 1); };
  const remove = async (u) => {
    setNotice(null);
    const r = await del(`/api/v1/users/${u.id}`);
    if (r.ok) done(`User ${u.username} deleted.`);
    else setBanner(r.message);
  };
  const items = state.data ? state.data.items : [];
  const stateOf = (u) => {
    if (u.disabled) return html`<span class="tag off">disabled</span>`;
    if (u.locked_until && new Date(u.locked_until) > new Date()) return html`<span class="tag bad">locked</span>`;
    return html`<span class="tag ok">active</span>`;
  };
  return html`<section aria-labelledby="users-h">
    <h2 id="users-h">Users</h2>
    ${editing ? html`<${EditUser} key=${editing.id + "-" + editing.version} user=${editing} onDone=${done} onCancel=${() => setEditing(null)} onReload=${(fresh) => setEditing(fresh)} />`
      : html`<${NewUser} onDone=${done} />`}
    <${Banner} error=${notice} kind="ok" />
    <${Banner} error=${banner} />
    <form class="filters" role="search" aria-label="Search users" onSubmit=${(e) => { e.preventDefault(); setOffset(0); setApplied(q); }}>
      <label for="users-q" class="sr-only">Search users by name</label>
      <input id="users-q" type="search" placeholder="User name" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </form>
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">${applied ? "No user matches." : "No users."}</p>`}
    ${items.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr>
        <${SortTh} field="username" label="User" sort=${sort} onSort=${(s) => { setSort(s); setOffset(0); }} />
        <${SortTh} field="role" label="Role" sort=${sort} onSort=${(s) => { setSort(s); setOffset(0); }} />
        <th scope="col">State</th>
        <${SortTh} field="last_login_at" label="Last login" sort=${sort} onSort=${(s) => { setSort(s); setOffset(0); }} />
        <th scope="col"><span class="sr-only">Actions</span></th>
      </tr></thead>
      <tbody>${items.map((u) => html`<tr key=${u.id}>
        <td>${u.username}${me && u.id === me.id ? html` <span class="sub">(you)</span>` : ""}</td>
        <td>${u.role}</td><td>${stateOf(u)}</td><td>${u.last_login_at ? fmtTime(u.last_login_at) : html`<span class="muted">never</span>`}</td>
        <td class="row-actions">
          <button type="button" aria-label=${"Edit user " + u.username} onClick=${() => { setNotice(null); setBanner(null); setEditing(u); }}>Edit</button>
          <${ConfirmButton} label="Delete" question=${`Delete ${u.username}?`} onConfirm=${() => remove(u)} />
        </td></tr>`)}</tbody>
    </table></div>`}
    ${state.data && html`<${Pager} total=${state.data.total} limit=${PAGE} offset=${offset} onChange=${setOffset} label="User pages" />`}
  </section>`;
}

function Tokens() {
  const [offset, setOffset] = useState(0);
  const [reload, setReload] = useState(0);
  const [showRevoked, setShowRevoked] = useState(false);
  const [state, setState] = useState({});
  const blankToken = { token_name: "", token_role: "operator", token_expires: "" };
  const [form, setForm] = useState(blankToken);
  const [errors, setErrors] = useState({});
  const [created, setCreated] = useState(null);
  const [banner, setBanner] = useState(null);
  const [copied, setCopied] = useState(false);
  const changes = useChangeCount("api_tokens");

  useEffect(() => {
    let live = true;
    get("/api/v1/tokens" + query({ limit: PAGE, offset, sort: "-id", revoked: showRevoked ? undefined : "false" })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [offset, reload, showRevoked, changes]);

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setBanner(null);
    setCreated(null);
    setCopied(false);
    const body = { name: form.token_name.trim(), role: form.token_role };
    if (form.token_expires) body.expires_at = new Date(form.token_expires).toISOString();
    const r = await post("/api/v1/tokens", body);
    if (r.ok) {
      setCreated(r.data);
      setForm(blankToken);
      setReload((n) => n + 1);
    } else if (r.field) {
      // The token form's inputs are prefixed: the user form shares the page.
      const f = { name: "token_name", role: "token_role", expires_at: "token_expires" }[r.field] || r.field;
      setErrors({ [f]: r.message });
      focusField(f);
    } else {
      setBanner(r.message);
    }
  };
  const revoke = async (t) => {
    const r = await patch(`/api/v1/tokens/${t.id}`, { revoked: true });
    if (r.ok) { setBanner(null); setReload((n) => n + 1); } else setBanner(r.message);
  };
  const copy = async () => {
    try { await navigator.clipboard.writeText(created.token); setCopied(true); } catch (e) { setCopied(false); }
  };
  const items = state.data ? state.data.items : [];
  const expired = (t) => t.expires_at && new Date(t.expires_at) <= new Date();
  return html`<section aria-labelledby="tokens-h">
    <h2 id="tokens-h">API tokens</h2>
    <form class="form inline-form" novalidate onSubmit=${submit} aria-label="Create an API token">
      <${Field} label="Token name" name="token_name" error=${errors.token_name}>
        <input ...${bind(form, setForm, "token_name", errors)} placeholder="provisioning script" /></${Field}>
      <${Field} label="Token role" name="token_role" error=${errors.token_role}>
        <select ...${bind(form, setForm, "token_role", errors)} onChange=${(e) => setForm({ ...form, token_role: e.currentTarget.value })}>
          ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
        </select></${Field}>
      <${Field} label="Expires" name="token_expires" error=${errors.token_expires} hint="empty: never">
        <input ...${bind(form, setForm, "token_expires", errors, "datetime-local")} /></${Field}>
      <div class="actions"><button type="submit" class="primary">Create token</button></div>
    </form>
    ${created && html`<div class="banner ok token-once" role="status">
      <p>Token <strong>${created.name}</strong> created. Copy it now: it is shown only once.</p>
      <p><code class="mono" id="new-token">${created.token}</code></p>
      <p><button type="button" onClick=${copy}>${copied ? "Copied" : "Copy"}</button>
        <button type="button" onClick=${() => setCreated(null)}>Done</button></p>
    </div>`}
    <${Banner} error=${banner} />
    <p><label><input type="checkbox" checked=${showRevoked} onChange=${(e) => { setOffset(0); setShowRevoked(e.currentTarget.checked); }} /> Show revoked tokens</label></p>
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">No API tokens. Create one for scripts and automation.</p>`}
    ${items.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th>
        <th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${items.map((t) => html`<tr key=${t.id}>
        <td>${t.name}</td><td>${t.role}</td><td>${fmtTime(t.created_at)}</td>
        <td>${t.last_used_at ? fmtTime(t.last_used_at) : html`<span class="muted">never</span>`}</td>
        <td>${t.expires_at ? fmtTime(t.expires_at) : "never"}</td>
        <td>${t.revoked ? html`<span class="tag off">revoked</span>` : expired(t) ? html`<span class="tag bad">expired</span>` : html`<span class="tag ok">active</span>`}</td>
        <td class="row-actions">${!t.revoked && html`<${ConfirmButton} label="Revoke" question=${`Revoke ${t.name}?`} onConfirm=${() => revoke(t)} />`}</td>
      </tr>`)}</tbody>
    </table></div>`}
    ${state.data && html`<${Pager} total=${state.data.total} limit=${PAGE} offset=${offset} onChange=${setOffset} label="Token pages" />`}
  </section>`;
}

export function Users({ user }) {
  if (!user || user.role !== "admin") {
    return html`<section><h1>Users</h1><p class="empty">Only admins manage users and API tokens.</p></section>`;
  }
  return html`<div class="stack">
    <div class="page-head"><h1>Users and API tokens</h1></div>
    <${UserList} me=${user} />
    <${Tokens} />
  </div>`;
}
