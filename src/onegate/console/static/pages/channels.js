// Channels: live state (breaker, cool-down, disabled and why), recent success rate and latency, in flight;
// per channel its success rate and latency over time (rollups), a live one-token test, enable / disable.
import { html, useMemo, useState } from "../preact.js";
import { get, post } from "../api.js";
import { Chart, RangePicker, bucketStarts, bucketLabel, formatShort, rangeOf, rangeQuery } from "../charts.js";
import { Drawer, Field, Status, Table, formatMs, formatNumber, formatTime, setQuery, toast, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Channels",
    name: "Channel",
    state: "State",
    "state.healthy": "healthy",
    "state.cooling": "cooling down",
    "state.open": "breaker open",
    "state.half_open": "probing",
    "state.disabled": "disabled",
    tier: "Tier",
    weight: "Weight",
    success: "Success (recent)",
    latency: "Latency",
    in_flight: "In flight",
    detail: "Detail",
    until: "until {time}",
    last_error: "last error: {error}",
    test: "Test",
    testing: "Testing…",
    test_ok: "{name}: ok, {status} in {latency}",
    test_failed: "{name}: {verdict} ({status}) {detail}",
    enable: "Enable",
    disable: "Disable",
    reason: "Reason (shown in the channel's state)",
    enabled: "{name} takes traffic again.",
    disabled: "{name} is out of every route.",
    health: "{name} over time",
    success_rate: "Success rate",
    requests: "Requests",
    failed: "Failed",
    mean_latency: "Mean latency",
    models: "Models",
    open_health: "History",
  },
  zh: {
    title: "渠道",
    name: "渠道",
    state: "状态",
    "state.healthy": "正常",
    "state.cooling": "冷却中",
    "state.open": "已熔断",
    "state.half_open": "探测中",
    "state.disabled": "已停用",
    tier: "优先级",
    weight: "权重",
    success: "成功率（近期）",
    latency: "延迟",
    in_flight: "进行中",
    detail: "详情",
    until: "直到 {time}",
    last_error: "最近错误：{error}",
    test: "测试",
    testing: "测试中…",
    test_ok: "{name}：正常，{status}，耗时 {latency}",
    test_failed: "{name}：{verdict}（{status}）{detail}",
    enable: "启用",
    disable: "停用",
    reason: "原因（显示在渠道状态中）",
    enabled: "{name} 已恢复接收流量。",
    disabled: "{name} 已从所有路由中移除。",
    health: "{name} 的历史",
    success_rate: "成功率",
    requests: "请求数",
    failed: "失败数",
    mean_latency: "平均延迟",
    models: "模型",
    open_health: "历史",
  },
};

const WRITERS = ["owner", "operator"];
const BADGE = { healthy: "badge-ok", cooling: "badge-warn", half_open: "badge-warn", open: "badge-bad", disabled: "badge-bad" };

function detailOf(t, ch) {
  const m = ch.marks || {};
  const parts = [];
  if (ch.state === "open" && m.open_until) parts.push(t("until", { time: formatTime(m.open_until) }));
  if (ch.state === "cooling" && m.cool_until) parts.push(t("until", { time: formatTime(m.cool_until) }));
  if (ch.state === "disabled" && m.disabled) parts.push(m.disabled);
  if (m.last_error && ch.state !== "healthy") parts.push(t("last_error", { error: String(m.last_error).slice(0, 160) }));
  return parts.join(" · ");
}

export function Page({ t, session, query }) {
  const list = useLoad(() => get("/channels"), []);
  const [busy, setBusy] = useState("");
  const [disabling, setDisabling] = useState(null);
  const writer = WRITERS.includes(session.role);
  const shown = query.channel;

  const test = async (name) => {
    setBusy(name);
    try {
      const r = await post(`/channels/${encodeURIComponent(name)}/test`);
      const status = r.status ?? "—";
      if (r.verdict === "ok") toast(t("test_ok", { name, status, latency: formatMs(r.latency_ms) }));
      else toast(t("test_failed", { name, verdict: r.verdict, status, detail: r.detail }), "error");
    } catch (error) {
      toast(error.message, "error");
    } finally {
      setBusy("");
      list.reload();
    }
  };
  const setEnabled = async (name, enable, reason) => {
    try {
      await post(`/channels/${encodeURIComponent(name)}/${enable ? "enable" : "disable"}`, enable ? {} : { reason });
      toast(t(enable ? "enabled" : "disabled", { name }));
      setDisabling(null);
      list.reload();
    } catch (error) {
      toast(error.message, "error");
    }
  };

  const columns = [
    { key: "name", label: t("name"), render: (ch) => html`<strong>${ch.name}</strong>` },
    { key: "state", label: t("state"), render: (ch) => html`<span class=${"badge " + (BADGE[ch.state] || "")} data-state=${ch.state}>${t("state." + ch.state)}</span>` },
    { key: "priority", label: t("tier"), className: "num" },
    { key: "weight", label: t("weight"), className: "num" },
    { key: "success", label: t("success"), className: "num", render: (ch) => {
      const total = ch.successes + ch.failures;
      return total ? `${Math.round((100 * ch.successes) / total)}% / ${formatNumber(total)}` : "—";
    } },
    { key: "latency", label: t("latency"), className: "num", render: (ch) => formatMs(ch.mean_latency_ms) },
    { key: "in_flight", label: t("in_flight"), className: "num" },
    { key: "detail", label: t("detail"), render: (ch) => html`<span class="small">${detailOf(t, ch)}</span>` },
    { key: "actions", label: "", render: (ch) => html`<div class="actions" onClick=${(e) => e.stopPropagation()}>
      <button type="button" class="btn btn-small" data-action="history" onClick=${() => setQuery({ channel: ch.name })}>${t("open_health")}</button>
      ${writer ? html`
        <button type="button" class="btn btn-small" data-action="test" disabled=${busy === ch.name || !ch.models.length}
          onClick=${() => test(ch.name)}>${busy === ch.name ? t("testing") : t("test")}</button>
        ${ch.state === "disabled"
          ? html`<button type="button" class="btn btn-small" data-action="enable" onClick=${() => setEnabled(ch.name, true)}>${t("enable")}</button>`
          : html`<button type="button" class="btn btn-small btn-danger" data-action="disable" onClick=${() => setDisabling(ch.name)}>${t("disable")}</button>`}`
        : null}
    </div>` },
  ];

  return html`<section class="page" data-testid="page-channels">
    <header class="page-head"><h1>${t("title")}</h1>
      <button type="button" class="btn btn-small" onClick=${list.reload}>${t("action.refresh")}</button></header>
    <${Status} state=${list} />
    ${list.data ? html`<${Table} testid="channels-table" rows=${list.data} rowKey=${(ch) => ch.name} columns=${columns}
      onRow=${(ch) => setQuery({ channel: ch.name })} />` : null}
    ${disabling ? html`<${DisableForm} t=${t} name=${disabling} onCancel=${() => setDisabling(null)}
      onSubmit=${(reason) => setEnabled(disabling, false, reason)} />` : null}
    ${shown ? html`<${Health} t=${t} name=${shown} query=${query} channel=${(list.data || []).find((ch) => ch.name === shown)} />` : null}
  </section>`;
}

function DisableForm({ t, name, onCancel, onSubmit }) {
  const [reason, setReason] = useState("");
  return html`<form class="card form" data-testid="disable-form" onSubmit=${(e) => { e.preventDefault(); onSubmit(reason.trim()); }}>
    <h2>${t("disable")}: ${name}</h2>
    <${Field} label=${t("reason")}><input name="reason" maxlength="200" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} /></${Field}>
    <div class="actions"><button type="submit" class="btn btn-danger">${t("disable")}</button>
      <button type="button" class="btn" onClick=${onCancel}>${t("action.cancel")}</button></div>
  </form>`;
}

// success rate (%) and mean latency (ms) per bucket on two axes; requests as faint bars
export function healthOption(t, stats, until = Date.now() / 1000) {
  const starts = bucketStarts(stats.since, stats.until || until, stats.bucket);
  const byT = new Map((stats.points || []).map((p) => [p.t, p]));
  const rows = starts.map((s) => byT.get(s));
  const rate = rows.map((p) => (p && p.requests ? Math.round((1000 * (p.requests - p.failed)) / p.requests) / 10 : null));
  const latency = rows.map((p) => (p && p.mean_latency_ms !== null ? Math.round(p.mean_latency_ms) : null));
  const requests = rows.map((p) => (p ? p.requests : 0));
  return {
    animation: false,
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", confine: true },
    legend: { top: 0, type: "scroll" },
    xAxis: { type: "category", data: starts.map((s) => bucketLabel(s, stats.bucket)), axisLabel: { hideOverlap: true } },
    yAxis: [
      { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      { type: "value", axisLabel: { formatter: (v) => formatShort(v) + " ms" } },
      { type: "value", show: false },
    ],
    series: [
      { name: t("requests"), type: "bar", yAxisIndex: 2, data: requests, itemStyle: { opacity: 0.25 } },
      { name: t("success_rate"), type: "line", yAxisIndex: 0, data: rate, connectNulls: false, symbolSize: 5 },
      { name: t("mean_latency"), type: "line", yAxisIndex: 1, data: latency, connectNulls: false, symbolSize: 5 },
    ],
  };
}

function Health({ t, name, query, channel }) {
  const range = rangeOf(query.range);
  const stats = useLoad(() => get(`/channels/${encodeURIComponent(name)}/health`, rangeQuery(range)), [name, range]);
  const option = useMemo(() => (stats.data ? healthOption(t, stats.data) : null), [stats.data, t("requests")]);
  const totals = stats.data?.totals;
  return html`<${Drawer} title=${t("health", { name })} testid="channel-health" onClose=${() => setQuery({ channel: "", range: "" })}>
    <${RangePicker} t=${t} value=${range} onChange=${(r) => setQuery({ range: r }, { replace: true })} />
    <${Status} state=${stats} />
    ${totals ? html`<p>${t("requests")}: <strong>${formatNumber(totals.requests)}</strong> · ${t("failed")}: <strong>${formatNumber(totals.failed)}</strong></p>` : null}
    ${option ? html`<${Chart} option=${option} height=${300} testid="channel-health-chart" label=${t("health", { name })} />` : null}
    ${channel ? html`<p class="small">${t("models")}: ${channel.models.join(", ") || "—"}</p>` : null}
  </${Drawer}>`;
}
