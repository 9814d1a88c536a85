// Entry point: session check, login, the layout with navigation and the
// hash router (#/dashboard, #/trunks, #/trunks/:id, #/dids, #/calls).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, post, setCsrfToken, setUnauthorizedHandler } from "./api.js";
import { Audit } from "./audit.js";
import { Cdrs } from "./cdrs.js";
import { Dids } from "./dids.js";
import { Ladder } from "./ladder.js";
import { Dashboard, LiveCalls } from "./live.js";
import { PortedNumbers } from "./ported.js";
import { PortOrderBoard, PortOrderCreate, PortOrderView } from "./porting.js";
import { Routes } from "./routes.js";
import { TrunkForm, TrunkList } from "./trunks.js";
import { Users } from "./users.js";
import { Banner, html, navigate, useRoute } from "./ui.js";

function Login({ onLogin, expired }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(expired ? "Your session has ended. Please log in again." : null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = await post("/api/v1/login", { username: username.trim(), password });
    setBusy(false);
    if (r.ok) {
      setCsrfToken(r.data.csrf_token);
      onLogin(r.data.user);
    } else if (r.status === 401) {
      setError("Wrong user name or password.");
      setPassword("");
    } else if (r.status === 429) {
      setError("Too many attempts. Wait a minute and try again.");
    } else {
      setError(r.message);
    }
  };
  return html`<main class="login">
    <form class="card form" onSubmit=${submit} aria-labelledby="login-h">
      <h1 id="login-h">edge-sbc console</h1>
      <${Banner} error=${error} />
      <div class="field"><label for="login-user">User name</label>
        <input id="login-user" name="username" autocomplete="username" required autofocus
          value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} /></div>
      <div class="field"><label for="login-pass">Password</label>
        <input id="login-pass" name="password" type="password" autocomplete="current-password" required
          value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} /></div>
      <button type="submit" class="primary" disabled=${busy}>${busy ? "Logging in…" : "Log in"}</button>
    </form>
  </main>`;
}

const NAV = [
  ["/dashboard", "Dashboard"],
  ["/trunks", "Trunks"],
  ["/dids", "DIDs"],
  ["/port-orders", "Port orders"],
  ["/ported-numbers", "Ported numbers"],
  ["/calls", "Live calls"],
  ["/routes", "Routes"],
  ["/cdrs", "CDRs"],
  ["/audit", "Audit log", "operator"], // [path, label, least role]
  ["/users", "Users", "admin"],
];
const RANK = { viewer: 1, operator: 2, admin: 3 };
const allowed = (user, role) => !role || (RANK[user.role] || 0) >= RANK[role];

function Layout({ user, route, onLogout, children }) {
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [route]);
  return html`<div class="layout">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById("main").focus(); }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/dashboard">edge-sbc</a>
      <button type="button" class="menu" aria-expanded=${open ? "true" : "false"} aria-controls="nav"
        onClick=${() => setOpen(!open)}>Menu</button>
      <nav id="nav" class=${open ? "open" : ""} aria-label="Main">
        ${NAV.filter((n) => allowed(user, n[2])).map(([path, label]) => {
          const current = route === path || route.startsWith(path + "/");
          return html`<a href=${"#" + path} aria-current=${current ? "page" : undefined}>${label}</a>`;
        })}
      </nav>
      <div class="user">
        <span>${user.username}${user.role ? html` <span class="sub">(${user.role})</span>` : ""}</span>
        <button type="button" onClick=${onLogout}>Log out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">${children}</main>
  </div>`;
}

function NotFound() {
  return html`<section><h1>Not found</h1><p>There is no page here. <a href="#/dashboard">Go to the dashboard</a>.</p></section>`;
}

function page(route, canWrite, user) {
  if (route === "/" || route === "/dashboard") return html`<${Dashboard} />`;
  if (route === "/trunks") return html`<${TrunkList} canWrite=${canWrite} />`;
  const m = route.match(/^\/trunks\/([^/]+)$/);
  if (m) return html`<${TrunkForm} key=${m[1]} id=${decodeURIComponent(m[1])} canWrite=${canWrite} />`;
  if (route === "/dids") return html`<${Dids} canWrite=${canWrite} />`;
  if (route === "/port-orders") return html`<${PortOrderBoard} canWrite=${canWrite} />`;
  if (route === "/port-orders/new") return html`<${PortOrderCreate} canWrite=${canWrite} />`;
  const po = route.match(/^\/port-orders\/([0-9]+)$/);
  if (po) return html`<${PortOrderView} key=${po[1]} id=${po[1]} canWrite=${canWrite} />`;
  if (route === "/ported-numbers") return html`<${PortedNumbers} canWrite=${canWrite} />`;
  if (route === "/calls") return html`<${LiveCalls} />`;
  const tr = route.match(/^\/calls\/([^/]+)\/trace$/);
  if (tr) return html`<${Ladder} key=${tr[1]} callId=${decodeURIComponent(tr[1])} canWrite=${canWrite} />`;
  if (route === "/routes") return html`<${Routes} canWrite=${canWrite} />`;
  if (route === "/cdrs") return html`<${Cdrs} />`;
  if (route === "/audit") return html`<${Audit} />`;
  if (route === "/users") return html`<${Users} user=${user} />`;
  return html`<${NotFound} />`;
}

function App() {
  // undefined: asking the server; null: logged out; object: the user.
  const [user, setUser] = useState(undefined);
  const [expired, setExpired] = useState(false);
  const route = useRoute();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setUser((u) => {
        if (u) setExpired(true);
        return null;
      });
    });
    // probe=1: "not logged in" is a 200 {authenticated:false}, not a 401
    // that the browser would log as an error before anyone has logged in.
    get("/api/v1/session?probe=1").then((r) => {
      if (r.ok && r.data && r.data.authenticated !== false) {
        setCsrfToken(r.data.csrf_token);
        setUser(r.data.user);
      } else {
        setUser(null);
      }
    });
  }, []);

  useEffect(() => {
    const title = NAV.find(([p]) => route === p || route.startsWith(p + "/"));
    document.title = (title ? title[1] + " · " : "") + "edge-sbc console";
  }, [route]);

  if (user === undefined) return html`<p class="boot">Loading the console…</p>`;
  if (user === null) {
    return html`<${Login} expired=${expired} onLogin=${(u) => { setExpired(false); setUser(u); if (route === "/") navigate("/dashboard"); }} />`;
  }
  const logout = async () => {
    await post("/api/v1/logout");
    setCsrfToken(null);
    setExpired(false);
    setUser(null);
  };
  const canWrite = user.role !== "viewer";
  return html`<${Layout} user=${user} route=${route} onLogout=${logout}>${page(route, canWrite, user)}</${Layout}>`;
}

render(html`<${App} />`, document.getElementById("app"));
