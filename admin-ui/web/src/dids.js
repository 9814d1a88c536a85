// DIDs: the numbers the SBC answers, each on a PBX trunk; a paged list and a
// create form that shows the server's field errors in place.
import { useEffect, useState } from "preact/hooks";
import { get, post, query } from "./api.js";
import { Banner, Field, Pager, bind, focusField, html, useChangeCount } from "./ui.js";

const PAGE = 25;
const blank = () => ({ number: "", trunk_id: "", status: "active", description: "" });

export function Dids({ canWrite }) {
  const [offset, setOffset] = useState(0);
  const [reload, setReload] = useState(0);
  const [state, setState] = useState({ loading: true });
  const [trunks, setTrunks] = useState([]);
  const [form, setForm] = useState(blank());
  const [errors, setErrors] = useState({});
  const [banner, setBanner] = useState(null);
  const [notice, setNotice] = useState(null);
  // Another operator's change (or a port-in completing) reloads the list in
  // place; the add form keeps what is being typed.
  const didChanges = useChangeCount("dids");
  const trunkChanges = useChangeCount("trunks");

  useEffect(() => {
    // DIDs are delivered to PBX trunks only (the server refuses others).
    get("/api/v1/trunks" + query({ limit: 1000, sort: "name", kind: "pbx" })).then((r) => {
      if (r.ok) setTrunks(r.data.items);
    });
  }, [trunkChanges]);
  useEffect(() => {
    let live = true;
    get("/api/v1/dids" + query({ limit: PAGE, offset, sort: "number" })).then((r) => {
      if (live) setState(r.ok ? { data: r.data } : { error: r.message });
    });
    return () => { live = false; };
  }, [offset, reload, didChanges]);

  const trunkName = (tid) => (trunks.find((t) => t.id === tid) || {}).name || (tid ? `#${tid}` : "—");

  const submit = async (e) => {
    e.preventDefault();
    setErrors({});
    setBanner(null);
    setNotice(null);
    const body = { number: form.number.trim(), status: form.status };
    if (form.trunk_id !== "") body.trunk_id = Number(form.trunk_id);
    if (form.description.trim()) body.description = form.description.trim();
    const r = await post("/api/v1/dids", body);
    if (r.ok) {
      setNotice(`${body.number} added.`);
      setForm(blank());
      setReload(reload + 1);
    } else if (r.field) {
      setErrors({ [r.field]: r.message });
      focusField(r.field);
    } else {
      setBanner(r.message);
    }
  };

  const items = state.data ? state.data.items : [];
  return html`<section aria-labelledby="dids-h">
    <div class="page-head"><h1 id="dids-h">DIDs</h1></div>
    ${canWrite && html`<form class="form inline-form" novalidate onSubmit=${submit} aria-label="Add a DID">
      <${Field} label="Number (E.164)" name="number" error=${errors.number}>
        <input ...${bind(form, setForm, "number", errors)} placeholder="+442071234567" inputmode="tel" /></${Field}>
      <${Field} label="PBX trunk" name="trunk_id" error=${errors.trunk_id}>
        <select ...${bind(form, setForm, "trunk_id", errors)} onChange=${(e) => setForm({ ...form, trunk_id: e.currentTarget.value })}>
          <option value="">(none)</option>
          ${trunks.map((t) => html`<option value=${String(t.id)}>${t.name}</option>`)}
        </select></${Field}>
      <${Field} label="Status" name="status" error=${errors.status}>
        <select ...${bind(form, setForm, "status", errors)} onChange=${(e) => setForm({ ...form, status: e.currentTarget.value })}>
          ${["active", "reserved", "porting_in", "ported_out"].map((s) => html`<option value=${s}>${s}</option>`)}
        </select></${Field}>
      <${Field} label="Description" name="description" error=${errors.description}>
        <input ...${bind(form, setForm, "description", errors)} /></${Field}>
      <div class="actions"><button type="submit" class="primary">Add DID</button></div>
    </form>`}
    <${Banner} error=${banner} />
    <${Banner} error=${notice} kind="ok" />
    <${Banner} error=${state.error} />
    ${state.data && items.length === 0 && html`<p class="empty">No DIDs yet.</p>`}
    ${items.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Number</th><th scope="col">Trunk</th><th scope="col">Status</th><th scope="col">Description</th></tr></thead>
      <tbody>${items.map((d) => html`<tr key=${d.number}>
        <td class="mono">${d.number}</td><td>${trunkName(d.trunk_id)}</td>
        <td><span class=${"tag " + (d.status === "active" ? "ok" : "off")}>${d.status}</span></td>
        <td>${d.description || ""}</td></tr>`)}</tbody>
    </table></div>`}
    ${state.data && html`<${Pager} total=${state.data.total} limit=${PAGE} offset=${offset} onChange=${setOffset} label="DID pages" />`}
  </section>`;
}
