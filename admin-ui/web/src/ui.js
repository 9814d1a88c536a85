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
