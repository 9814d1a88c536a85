// Live views: calls in progress (polled every second) and the dashboard:
// per-trunk usage gathered from every SBC node (every 2 s), and the last
// hour sampled by the console (GET /api/v1/dashboard, every 10 s) drawn with
// uPlot: active calls and calls per minute per trunk, plus relay health.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
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
        <th scope="col">Trunks</th><th scope="col">State</th><th scope="col">Duration</th><th scope="col">Node</th><th scope="col">SIP</th></tr></thead>
      <tbody>${items.map((c) => html`<tr key=${c.node + "/" + c.handle}>
        <td class="mono">${c.caller}</td><td class="mono">${c.callee}</td><td>${c.direction}</td>
        <td>${c.inbound_trunk || "?"} → ${c.outbound_trunk || "?"}</td><td>${c.state}</td>
        <td class="num">${fmtDuration(c.age ?? c.duration)}</td><td>${c.node}</td>
        <td>${c.call_id ? html`<a href=${"#/calls/" + encodeURIComponent(c.call_id) + "/trace"}>Trace${c.traced ? " (on)" : ""}</a>` : ""}</td></tr>`)}</tbody>
    </table></div>`}
    ${!state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}

// One row per trunk, summed over nodes (a trunk's limit applies per node, so
// the saturation shown is that of the busiest node). A trunk whose gateways
// are not pinged reports none: "not monitored", not "0 up".
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

const PALETTE = ["#1f5fbf", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d"];

// A uPlot time chart that follows its container's width. `series` is
// [{label, values, dash?}] aligned on `times` (unix seconds).
function TimeChart({ label, times, series, unit, window = 3600 }) {
  const box = useRef(null);
  const plot = useRef(null);
  const shape = series.map((s) => s.label).join("\n");

  useEffect(() => {
    const el = box.current;
    const opts = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      // Always the whole window, so that a young history sits at the right.
      scales: { x: { time: true, range: (u, lo, hi) => [Math.min(lo, hi - window), hi] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.15)] } },
      axes: [{ stroke: "#5b6575" }, { stroke: "#5b6575", label: unit, size: 50 }],
      series: [{}, ...series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        dash: s.dash,
        spanGaps: false,
      }))],
    };
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const ro = new ResizeObserver(() => {
      if (plot.current) plot.current.setSize({ width: Math.max(280, el.clientWidth), height: 220 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    if (plot.current) plot.current.setData([times, ...series.map((s) => s.values)]);
  }, [times, series]);

  return html`<figure class="chart card">
    <figcaption>${label}</figcaption>
    <div ref=${box} class="chart-box" role="img" aria-label=${label}></div>
  </figure>`;
}

function Relays({ relays }) {
  if (!relays) return null;
  if (relays.length === 0) return html`<p class="empty">No media relay reported by the nodes.</p>`;
  return html`<div class="table-wrap"><table>
    <caption>Media relays</caption>
    <thead><tr><th scope="col">Node</th><th scope="col">Relay</th><th scope="col">Health</th>
      <th scope="col">Sessions</th><th scope="col">Ports free</th></tr></thead>
    <tbody>${relays.map((r) => html`<tr key=${r.node + "/" + r.endpoint}>
      <td>${r.node}</td><td class="mono">${r.endpoint}</td>
      <td>${!r.connected ? html`<span class="tag bad">disconnected</span>`
        : r.healthy ? html`<span class="tag ok">healthy</span>` : html`<span class="tag bad">unhealthy</span>`}</td>
      <td class="num">${r.sessions}</td><td class="num">${r.ports_free}</td></tr>`)}</tbody>
  </table></div>`;
}

function lastValue(values) {
  for (let i = (values || []).length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i];
  return null;
}

function Charts({ hist }) {
  if (!hist) return null;
  if (hist.times.length < 2) {
    return html`<p class="empty">The console samples the nodes every ${hist.interval_seconds} s; the charts appear after the second sample.</p>`;
  }
  const active = [{ label: "all calls", values: hist.active_calls, dash: [6, 4] },
    ...hist.trunks.map((t) => ({ label: t.name, values: t.active }))];
  const rate = hist.trunks.map((t) => ({ label: t.name, values: t.calls_per_minute }));
  return html`<div class="charts">
    <${TimeChart} label="Active calls, last hour" unit="calls" times=${hist.times} series=${active} window=${hist.window_seconds} />
    ${rate.length > 0
      ? html`<${TimeChart} label="Call rate per trunk (finished calls per minute, from CDRs)" unit="calls/min"
          times=${hist.times} series=${rate} window=${hist.window_seconds} />`
      : html`<p class="empty">No trunk has reported yet: no call rate to draw.</p>`}
  </div>`;
}

export function Dashboard() {
  const [state, setState] = useState({});
  const [hist, setHist] = useState({});
  usePoll(async () => {
    const r = await get("/api/v1/live/usage");
    setState((s) => (r.ok ? { data: r.data } : { data: s.data, error: r.message }));
  }, 2000);
  usePoll(async () => {
    const r = await get("/api/v1/dashboard");
    setHist((h) => (r.ok ? { data: r.data } : { data: h.data, error: r.message }));
  }, 10000);
  const rows = state.data ? aggregate(state.data.items) : [];
  const h = hist.data;
  // Distinct calls (one call through two trunks is one), from the sampler.
  const calls = h ? lastValue(h.active_calls) : null;
  const down = rows.reduce((s, t) => s + t.down, 0);
  const saturated = rows.filter((t) => t.max > 0 && t.saturation >= 0.9).length;
  const relaysBad = h ? h.relays.filter((r) => !r.connected || !r.healthy).length : 0;
  return html`<section aria-labelledby="dash-h">
    <div class="page-head"><h1 id="dash-h">Dashboard</h1>
      ${h && h.updated_at && html`<span class="muted">sampled ${new Date(h.updated_at * 1000).toLocaleTimeString()}</span>`}</div>
    <${Banner} error=${state.error || hist.error} />
    ${(state.data || h) && html`<div class="cards">
      <div class="card" id="card-calls"><div class="big">${calls ?? "—"}</div><div>active calls</div></div>
      <div class="card"><div class="big">${rows.length}</div><div>trunks reporting</div></div>
      <div class="card"><div class=${"big" + (down ? " bad" : "")}>${down}</div><div>gateways down</div></div>
      <div class="card"><div class=${"big" + (saturated ? " bad" : "")}>${saturated}</div><div>trunks at ≥ 90% of their limit</div></div>
      <div class="card"><div class=${"big" + (relaysBad ? " bad" : "")}>${h ? h.relays.length - relaysBad : "—"}</div>
        <div>relays healthy${relaysBad ? `, ${relaysBad} not` : ""}</div></div>
    </div>`}
    ${state.data && html`<${NodeStatus} nodes=${state.data.nodes} />`}
    <${Charts} hist=${h} />
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
        <td>${t.up + t.down === 0
          ? html`<span class="sub" title="OPTIONS pings are off for this trunk's gateways">not monitored</span>`
          : html`${t.up} up${t.down ? html`, <span class="tag bad">${t.down} down</span>` : ""}`}</td>
        <td class="num">${t.rejected}</td></tr>`)}</tbody>
    </table></div>`}
    ${h && html`<${Relays} relays=${h.relays} />`}
    ${!state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}
