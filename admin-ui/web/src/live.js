// Live views: calls in progress (polled every second) and the dashboard of
// per-trunk usage; both gathered by the console from every SBC node.
import { useState } from "preact/hooks";
import { get } from "./api.js";
import { Banner, fmtDuration, html, usePoll } from "./ui.js";

function NodeStatus({ nodes }) {
  if (!nodes) return null;
  if (nodes.length === 0) return html`<p class="empty">No SBC node is reporting. Start an sbc with this database to see live data.</p>`;
  const down = nodes.filter((n) => !n.ok);
  return html`<p class="nodes">
    ${nodes.length} node${nodes.length === 1 ? "" : "s"}${down.length ? ", " : ""}
    ${down.map((n) => html`<span class="tag bad">${n.name}: ${n.error || "no answer"}</span> `)}
  </p>`;
}

export function LiveCalls() {
  const [state, setState] = useState({});
  usePoll(async () => {
    const r = await get("/api/v1/live/calls");
    setState(r.ok ? { data: r.data, at: new Date() } : { data: state.data, error: r.message });
  }, 1000);
  const items = state.data ? state.data.items : [];
  return html`<section aria-labelledby="calls-h">
    <div class="page-head"><h1 id="calls-h">Live calls</h1>
      <span class="muted" aria-live="off">${state.data ? `${items.length} active · updated ${state.at ? state.at.toLocaleTimeString() : ""}` : ""}</span></div>
    <${Banner} error=${state.error} />
    ${state.data && html`<${NodeStatus} nodes=${state.data.nodes} />`}
    ${state.data && items.length === 0 && state.data.nodes.length > 0 && html`<p class="empty">No calls in progress.</p>`}
    ${items.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Direction</th>
        <th scope="col">Trunks</th><th scope="col">State</th><th scope="col">Duration</th><th scope="col">Node</th></tr></thead>
      <tbody>${items.map((c) => html`<tr key=${c.node + "/" + c.handle}>
        <td class="mono">${c.caller}</td><td class="mono">${c.callee}</td><td>${c.direction}</td>
        <td>${c.inbound_trunk || "?"} → ${c.outbound_trunk || "?"}</td><td>${c.state}</td>
        <td class="num">${fmtDuration(c.age ?? c.duration)}</td><td>${c.node}</td></tr>`)}</tbody>
    </table></div>`}
    ${!state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}

// One row per trunk, summed over nodes (a trunk's limit applies per node, so
// the saturation shown is that of the busiest node).
function aggregate(items) {
  const by = new Map();
  for (const u of items) {
    const key = u.id ?? u.name;
    const t = by.get(key) || { id: u.id, name: u.name, kind: u.kind, inbound: 0, outbound: 0, total: 0,
      max: 0, saturation: 0, up: 0, down: 0, rejected: 0 };
    t.inbound += u.inbound || 0;
    t.outbound += u.outbound || 0;
    t.total += u.total || 0;
    const max = (u.limits && u.limits.max_calls) || 0;
    t.max = Math.max(t.max, max);
    if (max > 0) t.saturation = Math.max(t.saturation, (u.total || 0) / max);
    for (const g of u.gateways || []) g.state === "up" ? t.up++ : t.down++;
    for (const n of Object.values(u.rejections || {})) t.rejected += Number(n) || 0;
    by.set(key, t);
  }
  return [...by.values()].sort((a, b) => b.total - a.total || String(a.name).localeCompare(String(b.name)));
}

export function Dashboard() {
  const [state, setState] = useState({});
  usePoll(async () => {
    const r = await get("/api/v1/live/usage");
    setState(r.ok ? { data: r.data } : { data: state.data, error: r.message });
  }, 2000);
  const rows = state.data ? aggregate(state.data.items) : [];
  const total = rows.reduce((s, t) => s + t.total, 0);
  return html`<section aria-labelledby="dash-h">
    <div class="page-head"><h1 id="dash-h">Dashboard</h1></div>
    <${Banner} error=${state.error} />
    ${state.data && html`<div class="cards">
      <div class="card"><div class="big">${total}</div><div>active calls</div></div>
      <div class="card"><div class="big">${rows.length}</div><div>trunks reporting</div></div>
      <div class="card"><div class="big">${rows.reduce((s, t) => s + t.down, 0)}</div><div>gateways down</div></div>
    </div>`}
    ${state.data && html`<${NodeStatus} nodes=${state.data.nodes} />`}
    ${rows.length > 0 && html`<div class="table-wrap"><table>
      <caption>Active calls per trunk</caption>
      <thead><tr><th scope="col">Trunk</th><th scope="col">Inbound</th><th scope="col">Outbound</th>
        <th scope="col">Total</th><th scope="col">Limit use</th><th scope="col">Gateways</th><th scope="col">Rejected</th></tr></thead>
      <tbody>${rows.map((t) => html`<tr key=${t.id ?? t.name}>
        <td><a href=${"#/trunks/" + t.id}>${t.name}</a> <span class="sub">${t.kind}</span></td>
        <td class="num">${t.inbound}</td><td class="num">${t.outbound}</td><td class="num">${t.total}</td>
        <td>${t.max > 0
          ? html`<meter min="0" max="1" low="0.7" high="0.9" optimum="0" value=${t.saturation}
              aria-label=${`${Math.round(t.saturation * 100)}% of ${t.max}`}></meter> <span class="sub">${t.total}/${t.max}</span>`
          : html`<span class="sub">no limit</span>`}</td>
        <td>${t.up} up${t.down ? html`, <span class="tag bad">${t.down} down</span>` : ""}</td>
        <td class="num">${t.rejected}</td></tr>`)}</tbody>
    </table></div>`}
    ${!state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}
