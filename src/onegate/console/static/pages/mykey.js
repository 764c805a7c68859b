// My key (for someone signed in with their own sk-og- key): what it may use, what it has spent, what is
// left, and the setup guides filled in with this server's address and the key's models. The full key is
// never shown: the guides keep a placeholder where it goes.
import { html } from "../preact.js";
import { get } from "../api.js";
import { SetupGuides } from "../guides.js";
import { Link, Status, formatMoney, formatNumber, formatTime, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "My key",
    key: "Key",
    models: "Models",
    budget: "Budget",
    per: "per {period}",
    "period.daily": "day",
    "period.weekly": "week",
    "period.monthly": "month",
    spent: "Spent this period",
    remaining: "What is left",
    remaining_hint: "The lower of the budget left and your team's balance.",
    team_balance: "Team balance",
    today: "Today",
    this_week: "This week",
    this_month: "This month",
    rpm: "Requests per minute",
    tpm: "Tokens per minute",
    expires: "Expires",
    base_url: "Base URL",
    my_logs: "See my requests",
    guides_note: "Paste your key where the guides say so: this page never shows it.",
  },
  zh: {
    title: "我的密钥",
    key: "密钥",
    models: "可用模型",
    budget: "预算",
    per: "每{period}",
    "period.daily": "天",
    "period.weekly": "周",
    "period.monthly": "月",
    spent: "本周期已用",
    remaining: "剩余可用",
    remaining_hint: "取预算剩余与团队余额中较小者。",
    team_balance: "团队余额",
    today: "今天",
    this_week: "本周",
    this_month: "本月",
    rpm: "每分钟请求数",
    tpm: "每分钟 token 数",
    expires: "过期时间",
    base_url: "Base URL",
    my_logs: "查看我的请求",
    guides_note: "在配置说明提示处填入你的密钥：本页面不会显示完整密钥。",
  },
};

export function Page({ t, session }) {
  const mine = useLoad(() => get("/my/key"), []);
  const guides = useLoad(() => get("/setup"), []);
  const b = mine.data?.balance;
  const money = (micros) => formatMoney(micros, session.currency);
  return html`<section class="page" data-testid="page-mykey">
    <div class="page-head"><h1>${t("title")}</h1><${Link} class="btn" href="/console/logs">${t("my_logs")}</${Link}></div>
    <${Status} state=${mine} />
    ${b ? html`
      <div class="cards">
        <div class="card stat"><div class="label">${t("remaining")}</div><div class="value" data-testid="remaining" title=${t("remaining_hint")}>${money(b.remaining_micros)}</div></div>
        <div class="card stat"><div class="label">${t("spent")}</div><div class="value">${money(b.spent_micros)}</div></div>
        <div class="card stat"><div class="label">${t("budget")}</div><div class="value">${b.budget_micros == null ? t("common.unlimited") : `${money(b.budget_micros)} ${t("per", { period: t("period." + b.budget_period) })}`}</div></div>
        ${b.team_balance_micros == null ? null : html`<div class="card stat"><div class="label">${t("team_balance")}</div><div class="value">${money(b.team_balance_micros)}</div></div>`}
      </div>
      <dl class="kv card">
        <dt>${t("key")}</dt><dd><code data-testid="my-mask">${b.mask}</code> · ${b.name}</dd>
        <dt>${t("models")}</dt><dd>${b.models ? b.models.join(", ") : t("common.all_models")}</dd>
        <dt>${t("today")}</dt><dd>${money(b.spent_daily_micros)}</dd>
        <dt>${t("this_week")}</dt><dd>${money(b.spent_weekly_micros)}</dd>
        <dt>${t("this_month")}</dt><dd>${money(b.spent_monthly_micros)}</dd>
        <dt>${t("rpm")}</dt><dd>${b.rpm == null ? t("common.unlimited") : formatNumber(b.rpm)}</dd>
        <dt>${t("tpm")}</dt><dd>${b.tpm == null ? t("common.unlimited") : formatNumber(b.tpm)}</dd>
        <dt>${t("expires")}</dt><dd>${formatTime(b.expires_at)}</dd>
        <dt>${t("base_url")}</dt><dd><code>${mine.data.base_url}</code></dd>
      </dl>` : null}
    <p class="muted small">${t("guides_note")}</p>
    <${Status} state=${guides} />
    <${SetupGuides} guides=${guides.data} />
  </section>`;
}
