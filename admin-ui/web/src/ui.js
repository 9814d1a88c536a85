// Small building blocks shared by the pages: html tagged templates, form
// fields that show a server-named error, paging, polling and hash routing.
import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);

// "gateways[0].host" -> "f-gateways-0-host": a stable element id per field,
// so a 422 naming a field can focus and describe the matching input.
export function fieldId(name) {
  return "f-" + name.replace(/[^A-Za-z0-9_]+/g, "-").replace(/-+$/, "");
}

export function Field({ label, name, error, hint, children }) {
  const id = fieldId(name);
  return html`<div class=${"field" + (error ? " invalid" : "")}>
    <label for=${id}>${label}</label>
    ${children}
    ${error
      ? html`<p class="field-error" id=${id + "-error"} role="alert">${error}</p>`
      : hint
        ? html`<p class="hint">${hint}</p>`
        : null}
  </div>`;
}

// Props for an input bound to form[name]; aria wiring for errors included.
export function bind(form, setForm, name, errors, type = "text") {
  const id = fieldId(name);
  const err = errors && errors[name];
  const props = {
    id,
    name,
    "aria-invalid": err ? "true" : undefined,
    "aria-describedby": err ? id + "-error" : undefined,
  };
  if (type === "checkbox") {
    props.type = "checkbox";
    props.checked = !!form[name];
    props.onChange = (e) => setForm({ ...form, [name]: e.currentTarget.checked });
  } else {
    props.type = type;
    props.value = form[name] ?? "";
    props.onInput = (e) => setForm({ ...form, [name]: e.currentTarget.value });
  }
  return props;
}

export function focusField(name) {
  // After the render that shows the error.
  setTimeout(() => {
    const el = document.getElementById(fieldId(name));
    if (el) el.focus();
  }, 0);
}

export function Banner({ error, kind = "error" }) {
  if (!error) return null;
  return html`<div class=${"banner " + kind} role=${kind === "error" ? "alert" : "status"}>
    ${error}
  </div>`;
}

export function Pager({ total, limit, offset, onChange, label }) {
  if (!total) return null;
  const first = offset + 1;
  const last = Math.min(offset + limit, total);
  return html`<nav class="pager" aria-label=${label || "Pages"}>
    <button type="button" disabled=${offset === 0} onClick=${() => onChange(Math.max(0, offset - limit))}>
      ← Previous
    </button>
    <span aria-live="polite">${first}–${last} of ${total}</span>
    <button type="button" disabled=${last >= total} onClick=${() => onChange(offset + limit)}>
      Next →
    </button>
  </nav>`;
}

// Calls fn now and then every `ms` after each answer (never two at once),
// until the component goes away.
export function usePoll(fn, ms, deps = []) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    let stopped = false;
    let timer = null;
    const tick = async () => {
      await saved.current();
      if (!stopped) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
}

function currentHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  return raw.startsWith("/") ? raw : "/" + raw;
}

export function useRoute() {
  const [route, setRoute] = useState(currentHash());
  useEffect(() => {
    const on = () => setRoute(currentHash());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function navigate(path) {
  window.location.hash = "#" + path;
}

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

// A column header that sorts the list: sort is "field" or "-field"; a click
// toggles the direction of the current field, or sorts ascending by another.
export function SortTh({ field, label, sort, onSort }) {
  const asc = sort === field;
  const desc = sort === "-" + field;
  const aria = asc ? "ascending" : desc ? "descending" : "none";
  return html`<th scope="col" aria-sort=${aria}>
    <button type="button" class="sort" onClick=${() => onSort(asc ? "-" + field : field)}>
      ${label}<span aria-hidden="true">${asc ? " ▲" : desc ? " ▼" : ""}</span>
    </button>
  </th>`;
}

// A destructive action asked twice in place (no window.confirm): the first
// click shows the question with the real button and a way back.
export function ConfirmButton({ label, question, confirmLabel, onConfirm, disabled }) {
  const [asking, setAsking] = useState(false);
  const yes = useRef(null);
  useEffect(() => {
    if (asking && yes.current) yes.current.focus();
  }, [asking]);
  if (!asking) {
    return html`<button type="button" class="danger" disabled=${disabled} onClick=${() => setAsking(true)}>${label}</button>`;
  }
  return html`<span class="confirm" role="group" aria-label=${question}>
    <span>${question}</span>
    <button type="button" class="danger" ref=${yes} onClick=${async () => { setAsking(false); await onConfirm(); }}>${confirmLabel || label}</button>
    <button type="button" onClick=${() => setAsking(false)}>Cancel</button>
  </span>`;
}

// "2026-01-01T10:00:00.123+00:00" -> the browser's local date and time.
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

// ---- Changes pushed by the server (GET /api/v1/events)
//
// One EventSource per tab, shared by every page: each "change" event names
// a resource ("trunks", "dids", "routes", "ported_numbers", "port_orders",
// "users", "api_tokens", "audit", "cdrs"), and the pages listening to it
// reload their data. EventSource reconnects by itself; after a reconnect
// every listener reloads (changes may have been missed meanwhile). When the
// stream keeps failing (a proxy that buffers, a browser without
// EventSource) the pages are refreshed by polling every 10 s instead, and
// the stream is tried again now and then. <html data-events> tells the state
// ("connecting", "open", "polling") to tests and to the curious.
const changeListeners = new Map(); // resource -> Set of callbacks
let changeSource = null;
let changeFailures = 0;
let changeEverOpen = false;
let pollTimer = null;
let retryTimer = null;
let idleTimer = null;
const POLL_MS = 10000;
const FAILURES_BEFORE_POLLING = 4;

function setEventsState(s) {
  document.documentElement.dataset.events = s;
}

function dispatchChange(resource) {
  const set = changeListeners.get(resource);
  if (set) for (const fn of [...set]) fn(resource);
}

function dispatchAllChanges() {
  for (const resource of [...changeListeners.keys()]) dispatchChange(resource);
}

function closeChangeSource() {
  if (changeSource) {
    changeSource.close();
    changeSource = null;
  }
}

function startPolling() {
  closeChangeSource();
  setEventsState("polling");
  if (!pollTimer) pollTimer = setInterval(dispatchAllChanges, POLL_MS);
  // Try the stream again in a while: the proxy or the network may recover.
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => {
    changeFailures = 0;
    openChangeSource();
  }, 6 * POLL_MS);
}

function openChangeSource() {
  if (changeSource || changeListeners.size === 0) return;
  if (typeof EventSource === "undefined") {
    startPolling();
    return;
  }
  setEventsState("connecting");
  const es = new EventSource("/api/v1/events");
  changeSource = es;
  es.addEventListener("open", () => {
    if (changeSource !== es) return;
    setEventsState("open");
    if (pollTimer) {
      clearInterval(pollTimer);
      pollTimer = null;
    }
    // Back after a gap: whatever changed meanwhile was not announced.
    if (changeEverOpen && changeFailures > 0) dispatchAllChanges();
    changeEverOpen = true;
    changeFailures = 0;
  });
  es.addEventListener("change", (e) => {
    let resource = null;
    try {
      resource = JSON.parse(e.data).resource;
    } catch (err) {
      resource = null;
    }
    if (resource) dispatchChange(resource);
  });
  es.addEventListener("error", () => {
    if (changeSource !== es) return;
    changeFailures += 1;
    if (changeFailures >= FAILURES_BEFORE_POLLING) {
      startPolling();
    } else if (es.readyState === EventSource.CLOSED) {
      // An HTTP error (401, 503): EventSource gives up; we retry later.
      changeSource = null;
      setEventsState("connecting");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(openChangeSource, 2000 * changeFailures);
    } else {
      setEventsState("connecting"); // EventSource retries by itself
    }
  });
}

function addChangeListener(resource, fn) {
  if (!changeListeners.has(resource)) changeListeners.set(resource, new Set());
  changeListeners.get(resource).add(fn);
  clearTimeout(idleTimer);
  if (!pollTimer) openChangeSource();
}

function removeChangeListener(resource, fn) {
  const set = changeListeners.get(resource);
  if (!set) return;
  set.delete(fn);
  if (set.size === 0) changeListeners.delete(resource);
  if (changeListeners.size === 0) {
    // Pages come and go on navigation: keep the stream for the next one,
    // close it once nothing has listened for a while (logged out).
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (changeListeners.size > 0) return;
      closeChangeSource();
      clearInterval(pollTimer);
      pollTimer = null;
      clearTimeout(retryTimer);
      changeEverOpen = false;
      delete document.documentElement.dataset.events;
    }, 5000);
  }
}

// Calls fn(resource) whenever one of `resources` (a name or a list) changed
// anywhere: another browser, the API, psql, the porting scheduler.
export function useChanges(resources, fn) {
  const saved = useRef(fn);
  saved.current = fn;
  const key = [].concat(resources).join(",");
  useEffect(() => {
    const names = key.split(",").filter(Boolean);
    const cb = (r) => saved.current(r);
    for (const r of names) addChangeListener(r, cb);
    return () => {
      for (const r of names) removeChangeListener(r, cb);
    };
  }, [key]);
}

// A number that goes up whenever one of `resources` changes: add it to a
// loading effect's dependencies and the page reloads in place (its paging,
// sorting and filters are state of its own, so they stay).
export function useChangeCount(resources) {
  const [n, setN] = useState(0);
  useChanges(resources, () => setN((x) => x + 1));
  return n;
}

// For an open edit form: when `resource` changes, GET `path` and compare its
// version with the one being edited. Returns null while nothing changed,
// {deleted:true} when it is gone, or {item} (the newer row) otherwise; the
// form shows <StaleNotice> rather than losing what the operator typed.
export function useStale(resource, path, version) {
  const [stale, setStale] = useState(null);
  useEffect(() => setStale(null), [path, version]);
  useChanges(resource, async () => {
    if (!path || version === undefined || version === null) return;
    const h = { Accept: "application/json" };
    let res;
    try {
      res = await fetch(path, { headers: h, credentials: "same-origin" });
    } catch (e) {
      return;
    }
    if (res.status === 404) {
      setStale({ deleted: true });
      return;
    }
    if (!res.ok) return;
    const item = await res.json().catch(() => null);
    if (item && item.version !== undefined && item.version !== version) setStale({ item });
  });
  return stale;
}

export function StaleNotice({ stale, what, onReload }) {
  if (!stale) return null;
  return html`<div class="banner warn" role="status">
    ${stale.deleted
      ? `This ${what} was deleted elsewhere.`
      : `This ${what} was changed elsewhere (version ${stale.item.version}).`}
    ${!stale.deleted && onReload
      ? html` <button type="button" onClick=${() => onReload(stale.item)}>Reload it</button> (your unsaved edits are dropped)`
      : null}
  </div>`;
}
