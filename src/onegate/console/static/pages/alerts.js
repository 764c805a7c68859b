// Alerts: abnormal spend, newest first (a team's or a key's recent spend far above its own baseline), and
// whether the alert webhook took it. A team admin sees their team's and its keys'.
import { html } from "../preact.js";
import { get } from "../api.js";
import { Status, Table, formatMoney, formatTime, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Alerts",
    intro: "Raised when a team's or key's spend in the last few minutes runs several times above its own rate in the hour before (config: alerts).",
    when: "When",
    subject: "Team or key",
    "scope.team": "team",
    "scope.key": "key",
    recent: "Recent spend",
    baseline: "Usual",
    ratio: "Ratio",
    message: "What happened",
    webhook: "Webhook",
    none: "No abnormal spend so far.",
  },
  zh: {
    title: "告警",
    intro: "当团队或密钥最近几分钟的花费速度达到其前一小时速度的数倍时触发（配置项：alerts）。",
    when: "时间",
    subject: "团队或密钥",
    "scope.team": "团队",
    "scope.key": "密钥",
    recent: "近期花费",
    baseline: "平时",
    ratio: "倍数",
    message: "详情",
    webhook: "Webhook",
    none: "暂无异常花费。",
  },
};

export function Page({ t, session }) {
  const list = useLoad(() => get("/alerts", { limit: 200 }), []);
  const money = (micros) => formatMoney(micros, session.currency);
  return html`<section class="page" data-testid="page-alerts">
    <header class="page-head"><h1>${t("title")}</h1>
      <button type="button" class="btn btn-small" onClick=${list.reload}>${t("action.refresh")}</button></header>
    <p class="muted">${t("intro")}</p>
    <${Status} state=${list} />
    ${list.data ? html`<${Table} testid="alerts-table" rows=${list.data} rowKey=${(a) => a.id} empty=${t("none")} columns=${[
      { key: "created_at", label: t("when"), render: (a) => formatTime(a.created_at) },
      { key: "subject", label: t("subject"), render: (a) => `${t("scope." + a.scope)} ${a.subject_name || "#" + a.subject_id}` },
      { key: "recent", label: t("recent"), className: "num", render: (a) => money(a.recent_micros) },
      { key: "baseline", label: t("baseline"), className: "num", render: (a) => money(a.baseline_micros) },
      { key: "ratio", label: t("ratio"), className: "num", render: (a) => (a.ratio === null ? "—" : `×${a.ratio.toFixed(1)}`) },
      { key: "message", label: t("message") },
      { key: "webhook", label: t("webhook"), render: (a) => a.webhook_status || "—" },
    ]} />` : null}
  </section>`;
}
