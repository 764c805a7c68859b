// Dashboard: spend, requests, tokens and error rate over a range, by model / key / team, from the rollups
// (`GET /stats`, never raw logs); balance cards; top spenders; the latest abnormal-spend alerts.
// A team admin's numbers are their team's: the API narrows every query to it.
import { html, useMemo } from "../preact.js";
import { get } from "../api.js";
import { Chart, RangePicker, rangeOf, rangeQuery, seriesOf, timeOption } from "../charts.js";
import { Link, Status, Table, formatMoney, formatNumber, formatTime, setQuery, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Dashboard",
    spend: "Spend",
    requests: "Requests",
    tokens: "Tokens",
    error_rate: "Error rate",
    tokens_detail: "{input} in · {output} out",
    failed_detail: "{failed} failed",
    by: "By",
    "by.model": "Model",
    "by.key": "Key",
    "by.team": "Team",
    chart_label: "{metric} by {by}, {range}",
    other: "other",
    top_keys: "Top spenders: keys",
    top_teams: "Top spenders: teams",
    name: "Name",
    balances: "Team balances",
    balance_low: "Balance used up: its keys are refused",
    alerts: "Abnormal spend",
    all_alerts: "All alerts",
    no_alerts: "No abnormal spend.",
    when: "When",
    message: "What happened",
  },
  zh: {
    title: "概览",
    spend: "花费",
    requests: "请求数",
    tokens: "Token 数",
    error_rate: "错误率",
    tokens_detail: "输入 {input} · 输出 {output}",
    failed_detail: "失败 {failed} 次",
    by: "分组",
    "by.model": "模型",
    "by.key": "密钥",
    "by.team": "团队",
    chart_label: "{metric}（按{by}），{range}",
    other: "其他",
    top_keys: "花费最多的密钥",
    top_teams: "花费最多的团队",
    name: "名称",
    balances: "团队余额",
    balance_low: "余额已用完：该团队的密钥将被拒绝",
    alerts: "异常花费",
    all_alerts: "全部告警",
    no_alerts: "没有异常花费。",
    when: "时间",
    message: "详情",
  },
};

const METRICS = ["spend", "requests", "tokens", "error_rate"];

export function Page({ t, session, query }) {
  const currency = session.currency;
  const readsAll = ["owner", "operator", "viewer"].includes(session.role);
  const range = rangeOf(query.range);
  const metric = METRICS.includes(query.metric) ? query.metric : "spend";
  const bys = readsAll ? ["model", "key", "team"] : ["model", "key"];
  const by = bys.includes(query.by) ? query.by : "model";

  const main = useLoad(() => get("/stats", { ...rangeQuery(range), group_by: by }), [range, by]);
  const keys = useLoad(() => get("/stats", { ...rangeQuery(range), bucket: "day", group_by: "key" }), [range]);
  const teamSpend = useLoad(() => (readsAll ? get("/stats", { ...rangeQuery(range), bucket: "day", group_by: "team" }) : Promise.resolve(null)), [range, readsAll]);
  const teams = useLoad(() => get("/teams"), []);
  const alerts = useLoad(() => get("/alerts", { limit: 5 }), []);

  const option = useMemo(() => {
    if (!main.data) return null;
    const lines = seriesOf(main.data, metric, { otherName: t("other") });
    const unit = metric === "error_rate" ? "%" : "";
    return timeOption(lines, { stack: metric !== "error_rate", area: metric !== "error_rate", unit });
  }, [main.data, metric, t("other")]);

  const totals = main.data?.totals;
  const rate = totals && totals.requests ? ((100 * totals.failed) / totals.requests).toFixed(1) + "%" : "—";
  const money = (micros) => formatMoney(micros, currency);

  const spenders = (state, testid) => html`<${Status} state=${state} />
    ${state.data ? html`<${Table} testid=${testid} rowKey=${(g) => g.group} rows=${state.data.groups.slice(0, 10)} columns=${[
      { key: "group", label: t("name") },
      { key: "cost_micros", label: t("spend"), className: "num", render: (g) => money(g.cost_micros) },
      { key: "requests", label: t("requests"), className: "num", render: (g) => formatNumber(g.requests) },
    ]} />` : null}`;

  return html`<section class="page dashboard" data-testid="page-dashboard">
    <header class="page-head">
      <h1>${t("title")}</h1>
      <${RangePicker} t=${t} value=${range} onChange=${(name) => setQuery({ range: name }, { replace: true })} />
    </header>
    <${Status} state=${main} />
    ${totals ? html`<div class="cards cards-compact" data-testid="totals">
      <div class="card stat"><span class="label">${t("spend")}</span><strong class="value" data-testid="total-spend">${money(totals.cost_micros)}</strong></div>
      <div class="card stat"><span class="label">${t("requests")}</span><strong class="value" data-testid="total-requests">${formatNumber(totals.requests)}</strong>
        <small class="muted">${t("failed_detail", { failed: formatNumber(totals.failed) })}</small></div>
      <div class="card stat"><span class="label">${t("tokens")}</span><strong class="value">${formatNumber(totals.input_tokens + totals.output_tokens)}</strong>
        <small class="muted">${t("tokens_detail", { input: formatNumber(totals.input_tokens), output: formatNumber(totals.output_tokens) })}</small></div>
      <div class="card stat"><span class="label">${t("error_rate")}</span><strong class="value">${rate}</strong></div>
    </div>` : null}

    <div class="card">
      <div class="toolbar">
        <div class="tabs" role="tablist">
          ${METRICS.map((m) => html`<button type="button" role="tab" aria-selected=${m === metric} data-metric=${m}
            class=${"btn btn-small" + (m === metric ? " btn-primary" : "")} onClick=${() => setQuery({ metric: m }, { replace: true })}>${t(m)}</button>`)}
        </div>
        <label class="inline-field">${t("by")}
          <select data-testid="group-by" value=${by} onChange=${(e) => setQuery({ by: e.currentTarget.value }, { replace: true })}>
            ${bys.map((b) => html`<option value=${b}>${t("by." + b)}</option>`)}
          </select></label>
      </div>
      ${option ? html`<${Chart} option=${option} testid="dashboard-chart"
        label=${t("chart_label", { metric: t(metric), by: t("by." + by), range: t("range." + range) })} />` : null}
    </div>

    <div class="columns">
      <div class="card"><h2>${t("top_keys")}</h2>${spenders(keys, "top-keys")}</div>
      ${readsAll ? html`<div class="card"><h2>${t("top_teams")}</h2>${spenders(teamSpend, "top-teams")}</div>` : null}
    </div>

    <h2>${t("balances")}</h2>
    <${Status} state=${teams} />
    <div class="cards cards-compact" data-testid="balances">
      ${(teams.data || []).map((team) => html`<${Link} href=${"/console/teams/" + team.id}
          class=${"card stat balance" + (team.balance_micros <= 0 ? " warn" : "")} data-team=${team.name}
          title=${team.balance_micros <= 0 ? t("balance_low") : ""}>
        <span class="label">${team.name}</span><strong class="value">${money(team.balance_micros)}</strong>
      </${Link}>`)}
    </div>

    <div class="card">
      <header class="card-head"><h2>${t("alerts")}</h2><${Link} href="/console/alerts">${t("all_alerts")}</${Link}></header>
      <${Status} state=${alerts} />
      ${alerts.data ? html`<${Table} testid="dashboard-alerts" rows=${alerts.data} rowKey=${(a) => a.id} empty=${t("no_alerts")} columns=${[
        { key: "created_at", label: t("when"), render: (a) => formatTime(a.created_at) },
        { key: "message", label: t("message") },
      ]} />` : null}
    </div>
  </section>`;
}
