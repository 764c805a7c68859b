// Request logs: filters kept in the URL (a link can be handed to support), keyset "next page", the totals
// for the filter, a CSV export of the same filter, slow first byte / slow total in colour, and a detail
// drawer with the attempts waterfall and "copy for support" (the evidence record as markdown).
import { html } from "../preact.js";
import { get, href } from "../api.js";
import {
  CopyButton, Drawer, FilterBar, Pager, Status, Table, formatMoney, formatMs, formatNumber, formatTime, setQuery,
  useLoad,
} from "../ui.js";

export const messages = {
  en: {
    title: "Request logs",
    since: "From",
    until: "Until",
    model: "Model",
    status: "Status",
    failed: "Result",
    failed_any: "any",
    failed_yes: "failed only",
    failed_no: "succeeded only",
    key_id: "Key id",
    team: "Team",
    team_any: "any team",
    channel: "Channel",
    error_code: "Error code",
    client: "Client",
    request_id: "Request id",
    time: "Time",
    key: "Key",
    first_byte: "First byte",
    total: "Total",
    tokens: "Tokens in / out",
    cost: "Cost",
    totals: "For this filter",
    requests: "Requests",
    failed_count: "Failed",
    input_tokens: "Input tokens",
    output_tokens: "Output tokens",
    export: "Export CSV",
    export_note: "At most 100,000 rows per file; narrow the time range for more.",
    detail: "Request",
    attempts: "Attempts",
    no_attempts: "No upstream attempt (answered by onegate itself).",
    notes: "Translation notes",
    evidence: "Evidence for support",
    copy_support: "Copy for support",
    error: "Error",
    user_agent: "User agent",
    path: "Path",
    stream: "Streamed",
    hint: "Configuration hint",
    routed: "Served by",
    slow: "slow",
  },
  zh: {
    title: "请求日志",
    since: "开始时间",
    until: "结束时间",
    model: "模型",
    status: "状态码",
    failed: "结果",
    failed_any: "全部",
    failed_yes: "仅失败",
    failed_no: "仅成功",
    key_id: "密钥 ID",
    team: "团队",
    team_any: "全部团队",
    channel: "渠道",
    error_code: "错误码",
    client: "客户端",
    request_id: "请求 ID",
    time: "时间",
    key: "密钥",
    first_byte: "首字节",
    total: "总耗时",
    tokens: "输入 / 输出 token",
    cost: "费用",
    totals: "当前筛选合计",
    requests: "请求数",
    failed_count: "失败",
    input_tokens: "输入 token",
    output_tokens: "输出 token",
    export: "导出 CSV",
    export_note: "每个文件最多 100,000 行；需要更多请缩小时间范围。",
    detail: "请求详情",
    attempts: "上游尝试",
    no_attempts: "没有上游尝试（由 onegate 直接应答）。",
    notes: "转换说明",
    evidence: "提供给技术支持的信息",
    copy_support: "复制给技术支持",
    error: "错误",
    user_agent: "User-Agent",
    path: "路径",
    stream: "流式",
    hint: "配置提示",
    routed: "实际服务",
    slow: "慢",
  },
};

// what the API filters by: the URL query's other names (cursor, open) are the page's own
const FILTERS = ["since", "until", "key_id", "team_id", "model", "channel", "status", "failed", "error_code", "client", "request_id"];
// a first byte after 3 s feels broken in a chat client; a whole answer after 30 s is worth a look
const SLOW_FIRST_BYTE_MS = 3000;
const VERY_SLOW_FIRST_BYTE_MS = 10000;
const SLOW_TOTAL_MS = 30000;
const VERY_SLOW_TOTAL_MS = 90000;

export const slowness = (ms, slow, verySlow) => (ms == null ? "" : ms >= verySlow ? "very-slow" : ms >= slow ? "slow" : "");

function filtersOf(query) {
  return Object.fromEntries(FILTERS.filter((name) => query[name]).map((name) => [name, query[name]]));
}

export function Page({ t, session, query }) {
  const filters = filtersOf(query);
  const deps = [JSON.stringify(filters)];
  const page = useLoad(() => get("/logs", { ...filters, cursor: query.cursor, limit: 50 }), [...deps, query.cursor]);
  const totals = useLoad(() => get("/logs/totals", filters), deps);
  const staff = session.role !== "key";
  const teams = useLoad(() => (staff && session.role !== "team_admin" ? get("/teams") : Promise.resolve([])), []);
  const fields = [
    { name: "since", label: t("since"), type: "datetime" },
    { name: "until", label: t("until"), type: "datetime" },
    { name: "model", label: t("model") },
    { name: "failed", label: t("failed"), type: "select", options: [["", t("failed_any")], ["true", t("failed_yes")], ["false", t("failed_no")]] },
    { name: "status", label: t("status"), placeholder: "429" },
    ...(staff ? [{ name: "key_id", label: t("key_id") }] : []),
    ...((teams.data || []).length ? [{ name: "team_id", label: t("team"), type: "select", options: [["", t("team_any")], ...teams.data.map((team) => [String(team.id), team.name])] }] : []),
    { name: "channel", label: t("channel") },
    { name: "error_code", label: t("error_code") },
    { name: "client", label: t("client") },
    { name: "request_id", label: t("request_id") },
  ];
  const columns = [
    { key: "time", label: t("time"), render: (r) => formatTime(r.created_at) },
    { key: "status", label: t("status"), render: (r) => html`<span class=${"badge " + (r.status < 400 ? "badge-ok" : "badge-bad")} title=${r.error_code || ""}>${r.status}</span>` },
    { key: "model", label: t("model"), render: (r) => r.model_requested || r.model_routed || t("common.none") },
    { key: "key", label: t("key"), render: (r) => (r.key_mask ? html`<code>${r.key_mask}</code>` : t("common.none")) },
    { key: "channel", label: t("channel"), render: (r) => r.channel || t("common.none") },
    { key: "client", label: t("client"), render: (r) => [r.client_name, r.client_version].filter(Boolean).join(" ") || t("common.none") },
    { key: "ttfb", label: t("first_byte"), className: "num", render: (r) => html`<span class=${slowness(r.ttfb_ms, SLOW_FIRST_BYTE_MS, VERY_SLOW_FIRST_BYTE_MS)}>${formatMs(r.ttfb_ms)}</span>` },
    { key: "total", label: t("total"), className: "num", render: (r) => html`<span class=${slowness(r.latency_ms, SLOW_TOTAL_MS, VERY_SLOW_TOTAL_MS)}>${formatMs(r.latency_ms)}</span>` },
    { key: "tokens", label: t("tokens"), className: "num", render: (r) => `${formatNumber(r.input_tokens)} / ${formatNumber(r.output_tokens)}` },
    { key: "cost", label: t("cost"), className: "num", render: (r) => formatMoney(r.cost_micros, session.currency) },
  ];
  const tt = totals.data;
  return html`<section class="page" data-testid="page-logs">
    <div class="page-head"><h1>${t("title")}</h1>
      <a class="btn" data-testid="export-csv" href=${href("/logs/export.csv", filters)} download="onegate-logs.csv" title=${t("export_note")}>${t("export")}</a>
    </div>
    <${FilterBar} fields=${fields} />
    ${tt ? html`<div class="cards" data-testid="log-totals" aria-label=${t("totals")}>
      <div class="card stat"><div class="label">${t("requests")}</div><div class="value">${formatNumber(tt.requests)}</div></div>
      <div class="card stat"><div class="label">${t("failed_count")}</div><div class=${"value" + (tt.failed ? " error" : "")}>${formatNumber(tt.failed)}</div></div>
      <div class="card stat"><div class="label">${t("input_tokens")}</div><div class="value">${formatNumber(tt.input_tokens)}</div></div>
      <div class="card stat"><div class="label">${t("output_tokens")}</div><div class="value">${formatNumber(tt.output_tokens)}</div></div>
      <div class="card stat"><div class="label">${t("cost")}</div><div class="value">${formatMoney(tt.cost_micros, session.currency)}</div></div>
    </div>` : null}
    <${Status} state=${page} />
    ${page.data ? html`<${Table} columns=${columns} rows=${page.data.items} rowKey=${(r) => r.request_id} testid="logs-table"
        onRow=${(r) => setQuery({ open: r.request_id })} /><${Pager} nextCursor=${page.data.next_cursor} />` : null}
    ${query.open ? html`<${LogDrawer} t=${t} session=${session} requestId=${query.open} />` : null}
  </section>`;
}

function Waterfall({ t, attempts, item }) {
  if (!attempts.length) return html`<p class="muted">${t("no_attempts")}</p>`;
  const span = Math.max(item.latency_ms || 0, attempts.reduce((sum, a) => sum + (a.ms || 0), 0), 1);
  let start = 0;
  return html`<div class="waterfall" data-testid="waterfall">
    ${attempts.map((a, i) => {
      const left = (start / span) * 100;
      const width = ((a.ms || 0) / span) * 100;
      start += a.ms || 0;
      const failed = a.error || (a.status && a.status >= 400);
      return html`<div class="wf-row" key=${i} title=${a.error || ""}>
        <span>${i + 1}. ${a.channel} <span class=${failed ? "error" : "ok"}>${a.status ?? "—"}</span></span>
        <span class="wf-track"><span class=${"wf-bar" + (failed ? " failed" : "")} style=${{ left: left + "%", width: width + "%" }}></span>
          ${item.ttfb_ms != null && i === attempts.length - 1 ? html`<span class="wf-ttfb" title=${t("first_byte")} style=${{ left: Math.min(100, (item.ttfb_ms / span) * 100) + "%" }}></span>` : null}</span>
        <span class="num">${formatMs(a.ms)}</span>
      </div>`;
    })}
  </div>`;
}

function LogDrawer({ t, session, requestId }) {
  const detail = useLoad(() => get(`/logs/${encodeURIComponent(requestId)}`), [requestId]);
  const d = detail.data;
  const r = d?.item;
  return html`<${Drawer} title=${t("detail") + " " + requestId} onClose=${() => setQuery({ open: "" })} testid="log-drawer">
    <${Status} state=${detail} />
    ${r ? html`
      <div class="row"><${CopyButton} text=${d.evidence_markdown} label=${t("copy_support")} testid="copy-evidence" /></div>
      <dl class="kv">
        <dt>${t("request_id")}</dt><dd><code>${r.request_id}</code></dd>
        <dt>${t("time")}</dt><dd>${formatTime(r.created_at)}</dd>
        <dt>${t("status")}</dt><dd>${r.status}${r.error_code ? ` · ${r.error_code}` : ""}</dd>
        ${r.error_message ? html`<dt>${t("error")}</dt><dd class="error">${r.error_message}</dd>` : null}
        <dt>${t("model")}</dt><dd>${r.model_requested || t("common.none")}${r.model_routed && r.model_routed !== r.model_requested ? ` → ${r.model_routed}` : ""}</dd>
        <dt>${t("routed")}</dt><dd>${r.channel || t("common.none")}</dd>
        <dt>${t("key")}</dt><dd><code>${r.key_mask || t("common.none")}</code></dd>
        <dt>${t("client")}</dt><dd>${[r.client_name, r.client_version].filter(Boolean).join(" ")}</dd>
        <dt>${t("user_agent")}</dt><dd><code>${d.user_agent}</code></dd>
        <dt>${t("path")}</dt><dd><code>${r.method} ${r.path}</code></dd>
        <dt>${t("stream")}</dt><dd>${r.stream ? t("common.yes") : t("common.no")}</dd>
        <dt>${t("first_byte")}</dt><dd class=${slowness(r.ttfb_ms, SLOW_FIRST_BYTE_MS, VERY_SLOW_FIRST_BYTE_MS)}>${formatMs(r.ttfb_ms)}</dd>
        <dt>${t("total")}</dt><dd class=${slowness(r.latency_ms, SLOW_TOTAL_MS, VERY_SLOW_TOTAL_MS)}>${formatMs(r.latency_ms)}</dd>
        <dt>${t("tokens")}</dt><dd>${formatNumber(r.input_tokens)} / ${formatNumber(r.output_tokens)}</dd>
        <dt>${t("cost")}</dt><dd>${formatMoney(r.cost_micros, session.currency)}</dd>
        ${r.config_hint ? html`<dt>${t("hint")}</dt><dd class="warn">${r.config_hint}</dd>` : null}
      </dl>
      <h3>${t("attempts")}</h3>
      <${Waterfall} t=${t} attempts=${d.attempts} item=${r} />
      ${d.notes.length ? html`<h3>${t("notes")}</h3><ul>${d.notes.map((n) => html`<li>${n}</li>`)}</ul>` : null}
      <h3>${t("evidence")}</h3>
      <pre data-testid="evidence">${d.evidence_markdown}</pre>
    ` : null}
  </${Drawer}>`;
}
