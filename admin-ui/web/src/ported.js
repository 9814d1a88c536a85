// Ported numbers (the LNP table the SBC routes on): prefix search, and the
// CSV import with an upload progress bar (XMLHttpRequest: fetch() reports no
// upload progress) and the server's report of bad rows by line number.
import { useEffect, useState } from "preact/hooks";
import { csrfHeader, get, query } from "./api.js";
import { Banner, Pager, html, useChangeCount } from "./ui.js";

const PAGE = 50;

// POST the file as text/csv; resolves {ok, status, data} with the import
// report (a refused file is a 422 carrying the same report).
function upload(file, params, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/ported-numbers/import" + query(params));
    xhr.setRequestHeader("Content-Type", "text/csv");
    xhr.setRequestHeader("Accept", "application/json");
    for (const [k, v] of Object.entries(csrfHeader())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.upload.onload = () => onProgress(1);
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data });
    };
    xhr.onerror = () => resolve({ ok: false, status: 0, data: null });
    xhr.send(file);
  });
}

function Report({ result }) {
  const d = result.data;
  if (!d || !("rows_read" in d)) {
    const msg = (d && d.error && d.error.message) || (result.status === 0 ? "The console server cannot be reached." : `The import failed (${result.status}).`);
    return html`<${Banner} error=${msg} />`;
  }
  const refused = d.status !== "imported";
  return html`<div class="import-report" aria-live="polite">
    ${refused
      ? html`<${Banner} error=${d.message || `Nothing was imported: ${d.error_count} bad row${d.error_count === 1 ? "" : "s"}. Fix the file, or import again with “skip bad rows”.`} />`
      : html`<${Banner} kind="ok" error=${`Imported ${d.rows_valid} of ${d.rows_read} rows in ${Number(d.seconds).toFixed(2)} s: ${d.inserted} new, ${d.updated} updated, ${d.unchanged} unchanged${d.deleted ? `, ${d.deleted} deleted` : ""}${d.error_count ? `; ${d.error_count} bad row${d.error_count === 1 ? "" : "s"} skipped` : ""}.`} />`}
    ${d.errors && d.errors.length > 0 && html`<div class="table-wrap"><table>
      <caption>Bad rows${d.errors_truncated ? ` (first ${d.errors.length} of ${d.error_count})` : ""}</caption>
      <thead><tr><th scope="col">Line</th><th scope="col">Column</th><th scope="col">Problem</th><th scope="col">Value</th></tr></thead>
      <tbody>${d.errors.map((e, i) => html`<tr key=${i}>
        <td class="num">${e.line}</td><td class="mono">${e.field || "—"}</td><td>${e.message}</td><td class="mono">${e.value || ""}</td></tr>`)}</tbody>
    </table></div>`}
  </div>`;
}

function Import({ onImported }) {
  const [file, setFile] = useState(null);
  const [skip, setSkip] = useState(false);
  const [replace, setReplace] = useState(false);
  const [progress, setProgress] = useState(null); // 0..1 while uploading, "server" once sent
  const [result, setResult] = useState(null);

  const submit = async (e) => {
    e.preventDefault();
    if (!file) return;
    setResult(null);
    setProgress(0);
    const params = { skip_errors: skip ? "true" : undefined, mode: replace ? "replace" : undefined };
    const r = await upload(file, params, (p) => setProgress(p >= 1 ? "server" : p));
    setProgress(null);
    setResult(r);
    if (r.ok) onImported();
  };

  const busy = progress !== null;
  return html`<form class="form card import" novalidate onSubmit=${submit} aria-labelledby="imp-h">
    <h2 id="imp-h">Import a CSV file</h2>
    <p class="hint">Header <span class="mono">number,routing_number[,note]</span>; numbers in E.164 (+ and digits).
      A file with a bad row imports nothing unless you skip bad rows.</p>
    <div class="grid">
      <div class="field"><label for="ported-file">CSV file</label>
        <input id="ported-file" type="file" accept=".csv,text/csv,text/plain" disabled=${busy}
          onChange=${(e) => { setFile(e.currentTarget.files[0] || null); setResult(null); }} /></div>
      <div class="field check"><label><input type="checkbox" checked=${skip} disabled=${busy}
        onChange=${(e) => setSkip(e.currentTarget.checked)} /> Skip bad rows (import the good ones)</label></div>
      <div class="field check"><label><input type="checkbox" checked=${replace} disabled=${busy}
        onChange=${(e) => setReplace(e.currentTarget.checked)} /> Replace: delete numbers not in the file</label></div>
    </div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${!file || busy}>${busy ? "Importing…" : "Import"}</button>
      ${busy && html`<progress id="import-progress" max="1" value=${progress === "server" ? undefined : progress}
        aria-label="Upload progress"></progress>
        <span class="sub" aria-live="polite">${progress === "server" ? "Uploaded; the server is checking the rows…" : `${Math.round(progress * 100)}% uploaded`}</span>`}
    </div>
    ${result && html`<${Report} result=${result} />`}
  </form>`;
}

export function PortedNumbers({ canWrite }) {
  const [prefix, setPrefix] = useState("");
  const [applied, setApplied] = useState("");
  const [offset, setOffset] = useState(0);
  const [reload, setReload] = useState(0);
  const [state, setState] = useState({ loading: true });
  const [searchError, setSearchError] = useState(null);
  // Imports, port-outs and other consoles' edits show up in place.
  const changes = useChangeCount("ported_numbers");

  useEffect(() => {
    let live = true;
    get("/api/v1/ported-numbers" + query({ prefix: applied, limit: PAGE, offset })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [applied, offset, reload, changes]);

  const search = (e) => {
    e.preventDefault();
    const p = prefix.replace(/[\s().-]/g, "");
    if (p && !/^\+?[0-9]{0,15}$/.test(p)) {
      setSearchError("A prefix is + and up to 15 digits.");
      return;
    }
    setSearchError(null);
    setOffset(0);
    setApplied(p);
  };

  const items = state.data ? state.data.items : [];
  return html`<section aria-labelledby="pn-h">
    <div class="page-head"><h1 id="pn-h">Ported numbers</h1>
      ${state.data && html`<span class="muted">${state.data.total} number${state.data.total === 1 ? "" : "s"}${applied ? ` starting ${applied}` : ""}</span>`}</div>
    ${canWrite && html`<${Import} onImported=${() => setReload((n) => n + 1)} />`}
    <form class="search" role="search" onSubmit=${search}>
      <label for="pn-prefix" class="sr-only">Number or prefix</label>
      <input id="pn-prefix" type="search" inputmode="tel" placeholder="Number or prefix, e.g. +1415" value=${prefix}
        aria-invalid=${searchError ? "true" : undefined} onInput=${(e) => setPrefix(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </form>
    <${Banner} error=${searchError || state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">${applied ? `No ported number starts with ${applied}.` : "No ported numbers yet. Import a carrier's LNP file above."}</p>`}
    ${items.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Number</th><th scope="col">Routing number</th><th scope="col">Source</th>
        <th scope="col">Note</th><th scope="col">Updated</th></tr></thead>
      <tbody>${items.map((n) => html`<tr key=${n.number}>
        <td class="mono">${n.number}</td><td class="mono">${n.routing_number}</td><td>${n.source}</td>
        <td>${n.note || ""}</td><td>${n.updated_at ? new Date(n.updated_at).toLocaleString() : ""}</td></tr>`)}</tbody>
    </table></div>`}
    ${state.data && html`<${Pager} total=${state.data.total} limit=${PAGE} offset=${offset} onChange=${setOffset} label="Ported number pages" />`}
  </section>`;
}
