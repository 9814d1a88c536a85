// #/calls/:callId/trace: the SIP ladder diagram of one call from sip_traces.
// Four lanes: the A-side party (caller), the SBC's A leg, the SBC's B leg,
// the B-side party (callee). Each arrow is one message as it crossed the
// wire, labelled with its method or status and the time since the first
// message; a click (or Enter) on an arrow shows the full message. The call
// id is the A-leg Call-ID (live calls' call_id, CDRs' a_call_id).
// No inline styles (the CSP has no 'unsafe-inline'): SVG attributes and
// the ladder-* classes of app.css only.
import { useState } from "preact/hooks";
import { get, post } from "./api.js";
import { Banner, html, usePoll } from "./ui.js";

const LANE_X = [100, 310, 530, 740];
const WIDTH = 840;
const TOP = 56;
const STEP = 30;

function firstLine(msg) {
  const i = msg.indexOf("\r\n");
  return i < 0 ? msg : msg.slice(0, i);
}

function header(msg, name) {
  const re = new RegExp(`^(?:${name}):[ \\t]*(.*)$`, "im");
  const m = msg.match(re);
  return m ? m[1].trim() : "";
}

// "INVITE" / "180 Ringing (INVITE)".
export function messageLabel(msg) {
  const line = firstLine(msg);
  if (line.startsWith("SIP/2.0 ")) {
    const status = line.slice(8);
    const cseq = header(msg, "CSeq").split(/\s+/)[1] || "";
    return cseq ? `${status} (${cseq})` : status;
  }
  const method = line.split(" ")[0];
  const sdp = /\r\n\r\nv=0/.test(msg) ? " (SDP)" : "";
  return method + sdp;
}

// [from lane, to lane] of a trace row.
function lanes(row) {
  if (row.leg === "a") return row.direction === "in" ? [0, 1] : [1, 0];
  return row.direction === "out" ? [2, 3] : [3, 2];
}

function offset(t0, at) {
  const d = (Date.parse(at) - t0) / 1000;
  return Number.isFinite(d) ? `+${d.toFixed(3)} s` : "";
}

function partyName(rows, leg, fallback) {
  const r = rows.find((x) => x.leg === leg);
  return r ? r.remote : fallback;
}

function sbcName(rows, leg) {
  const r = rows.find((x) => x.leg === leg);
  return r ? `SBC ${r.local}` : "SBC";
}

export function LadderDiagram({ rows, selected, onSelect }) {
  const t0 = rows.length ? Date.parse(rows[0].at) : 0;
  const height = TOP + rows.length * STEP + 20;
  const titles = [
    ["A side", partyName(rows, "a", "caller")],
    ["A leg", sbcName(rows, "a")],
    ["B leg", sbcName(rows, "b")],
    ["B side", partyName(rows, "b", "callee")],
  ];
  return html`<svg class="ladder" viewBox=${`0 0 ${WIDTH} ${height}`} width=${WIDTH} height=${height}
      role="group" aria-label="SIP ladder diagram">
    <defs>
      <marker id="ladder-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse">
        <path d="M 0 0 L 10 5 L 0 10 z" class="ladder-head" />
      </marker>
    </defs>
    <rect class="ladder-sbc" x=${LANE_X[1] - 12} y="8" width=${LANE_X[2] - LANE_X[1] + 24} height=${height - 12} rx="6" />
    ${titles.map(([role, name], i) => html`<g key=${"lane" + i}>
      <text class="ladder-role" x=${LANE_X[i]} y="20" text-anchor="middle">${role}</text>
      <text class="ladder-party" x=${LANE_X[i]} y="36" text-anchor="middle">${name}</text>
      <line class="ladder-lane" x1=${LANE_X[i]} y1="44" x2=${LANE_X[i]} y2=${height - 6} />
    </g>`)}
    ${rows.map((r, i) => {
      const [from, to] = lanes(r);
      const y = TOP + i * STEP + 14;
      const x1 = LANE_X[from];
      const x2 = LANE_X[to];
      const mid = (x1 + x2) / 2;
      const label = messageLabel(r.message);
      const isSel = selected === i;
      const pick = () => onSelect(i);
      return html`<g key=${r.id} class=${"ladder-msg" + (isSel ? " selected" : "")} role="button" tabindex="0"
          aria-label=${`${label}, leg ${r.leg}, ${r.direction === "in" ? "received" : "sent"} ${offset(t0, r.at)}`}
          aria-pressed=${isSel ? "true" : "false"}
          onClick=${pick} onKeyDown=${(e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); } }}>
        <rect class="ladder-hit" x=${Math.min(x1, x2)} y=${y - 16} width=${Math.abs(x2 - x1)} height=${STEP - 4} />
        <line class="ladder-line" x1=${x1} y1=${y} x2=${x2} y2=${y} marker-end="url(#ladder-arrow)" />
        <text class="ladder-label" x=${mid} y=${y - 5} text-anchor="middle">${label}</text>
        <text class="ladder-time" x=${from < 2 ? 8 : WIDTH - 8} y=${y + 4} text-anchor=${from < 2 ? "start" : "end"}>${offset(t0, r.at)}</text>
      </g>`;
    })}
  </svg>`;
}

export function Ladder({ callId, canWrite }) {
  const [state, setState] = useState({});
  const [selected, setSelected] = useState(null);
  const [note, setNote] = useState(null);
  const path = "/api/v1/calls/" + encodeURIComponent(callId) + "/trace";
  usePoll(async () => {
    const r = await get(path);
    setState((s) => (r.ok ? { data: r.data } : { data: s.data, error: r.message }));
  }, 3000, [callId]);

  const traceLive = async () => {
    setNote(null);
    const r = await post("/api/v1/live/calls/" + encodeURIComponent(callId) + "/trace");
    setNote(r.ok ? { kind: "ok", text: "Tracing on: new messages of this call appear here." }
      : { kind: "error", text: r.status === 404 ? "No live node has this call (it may have ended)." : r.message });
  };

  const rows = state.data ? state.data.items : [];
  const sel = selected !== null && rows[selected] ? rows[selected] : null;
  return html`<section aria-labelledby="ladder-h">
    <div class="page-head"><h1 id="ladder-h">SIP trace</h1>
      <span class="muted mono">${callId}</span></div>
    <${Banner} error=${state.error} />
    ${note && html`<${Banner} error=${note.text} kind=${note.kind} />`}
    ${canWrite && html`<p><button type="button" onClick=${traceLive}>Trace this call live</button></p>`}
    ${state.data && rows.length === 0 && html`<p class="empty">No SIP messages recorded for this call. Turn on tracing for its trunk, or trace it live while it is up.</p>`}
    ${state.data && state.data.truncated && html`<p class="muted">Only the first ${rows.length} messages are shown.</p>`}
    ${rows.length > 0 && html`<div class="ladder-wrap"><${LadderDiagram} rows=${rows} selected=${selected} onSelect=${setSelected} /></div>`}
    ${sel && html`<div class="card ladder-detail">
      <h2>${messageLabel(sel.message)} <span class="muted">leg ${sel.leg}, ${sel.direction === "in" ? "received from" : "sent to"} ${sel.remote} over ${sel.transport}, ${sel.at}${sel.node ? ` on ${sel.node}` : ""}</span></h2>
      <pre class="sip-message">${sel.message}</pre>
    </div>`}
    ${!state.data && !state.error && html`<p class="muted">Loading…</p>`}
  </section>`;
}
