// Teams: the list with balances, create; a team's detail (/console/teams/<id>): balance, spend by model and
// by key over a range, top-up / adjust / refund with a note, limits and model groups, its balance history
// and its audit entries. The API decides who may do what; the page only hides what would be refused.
import { html, useState } from "../preact.js";
import { get, patch, post } from "../api.js";
import { RangePicker, rangeOf, rangeQuery } from "../charts.js";
import { Field, Link, Status, Table, formatMoney, formatNumber, formatTime, navigate, setQuery, toast, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Teams",
    back: "All teams",
    name: "Name",
    status: "Status",
    "status.active": "active",
    "status.disabled": "disabled",
    balance: "Balance",
    model_groups: "Model groups",
    model_groups_hint: "Comma-separated groups from the config; empty: every model.",
    limits: "Limits",
    limits_short: "Limits (rpm / tpm / in flight)",
    rpm: "Requests / minute",
    tpm: "Tokens / minute",
    concurrent: "In flight",
    limit_hint: "Empty: the default.",
    default: "default",
    create: "Create a team",
    created: "Team {name} created.",
    spent: "Spent",
    requests: "Requests",
    by_model: "Spend by model",
    by_key: "Spend by key",
    money: "Top up, adjust or refund",
    kind: "Kind",
    "kind.topup": "Top-up",
    "kind.adjust": "Adjust (signed, e.g. -3)",
    "kind.refund": "Refund",
    amount: "Amount ({currency})",
    note: "Note (kept in the audit trail)",
    apply_money: "Apply",
    money_done: "Balance now {balance}.",
    no_topup: "Your role may not move money for this team.",
    save_limits: "Save limits",
    saved: "Saved.",
    disable: "Disable the team",
    enable: "Enable the team",
    history: "Balance changes",
    when: "When",
    by: "By",
    after: "Balance after",
    audit: "Audit entries",
    action: "Action",
    target: "Target",
  },
  zh: {
    title: "团队",
    back: "全部团队",
    name: "名称",
    status: "状态",
    "status.active": "启用",
    "status.disabled": "停用",
    balance: "余额",
    model_groups: "模型分组",
    model_groups_hint: "配置中的分组，用逗号分隔；留空表示全部模型。",
    limits: "限额",
    limits_short: "限额（RPM / TPM / 并发）",
    rpm: "每分钟请求数",
    tpm: "每分钟 Token 数",
    concurrent: "并发数",
    limit_hint: "留空：使用默认值。",
    default: "默认",
    create: "创建团队",
    created: "已创建团队 {name}。",
    spent: "花费",
    requests: "请求数",
    by_model: "按模型的花费",
    by_key: "按密钥的花费",
    money: "充值、调整或退款",
    kind: "类型",
    "kind.topup": "充值",
    "kind.adjust": "调整（可为负数，如 -3）",
    "kind.refund": "退款",
    amount: "金额（{currency}）",
    note: "备注（记入审计日志）",
    apply_money: "提交",
    money_done: "当前余额 {balance}。",
    no_topup: "你的角色无权为该团队变更余额。",
    save_limits: "保存限额",
    saved: "已保存。",
    disable: "停用团队",
    enable: "启用团队",
    history: "余额变动",
    when: "时间",
    by: "操作人",
    after: "变动后余额",
    audit: "审计记录",
    action: "操作",
    target: "对象",
  },
};

const WRITERS = ["owner", "operator"];
const groupsOf = (text) => text.split(",").map((g) => g.trim()).filter(Boolean);
const statusBadge = (status) => "badge " + (status === "active" ? "badge-ok" : "badge-bad");
const limitText = (t, value) => (value ? formatNumber(value) : t("default"));

// a form's submit: busy while the call runs; a refusal is shown as the API's message
function useSubmit(action) {
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await action();
    } catch (error) {
      toast(error.message, "error");
    } finally {
      setBusy(false);
    }
  };
  return [busy, submit];
}

export function Page(props) {
  return props.sub ? html`<${TeamDetail} ...${props} id=${props.sub.split("/")[0]} />` : html`<${TeamList} ...${props} />`;
}

function TeamList({ t, session }) {
  const list = useLoad(() => get("/teams"), []);
  const money = (micros) => formatMoney(micros, session.currency);
  return html`<section class="page" data-testid="page-teams">
    <header class="page-head"><h1>${t("title")}</h1></header>
    <${Status} state=${list} />
    ${list.data ? html`<${Table} testid="teams-table" rows=${list.data} rowKey=${(x) => x.id}
      onRow=${(x) => navigate("/console/teams/" + x.id)} columns=${[
        { key: "name", label: t("name"), render: (x) => html`<${Link} href=${"/console/teams/" + x.id}>${x.name}</${Link}>` },
        { key: "status", label: t("status"), render: (x) => html`<span class=${statusBadge(x.status)}>${t("status." + x.status)}</span>` },
        { key: "balance", label: t("balance"), className: "num", render: (x) => money(x.balance_micros) },
        { key: "model_groups", label: t("model_groups"), render: (x) => (x.model_groups ? x.model_groups.join(", ") : t("common.all_models")) },
        { key: "limits", label: t("limits_short"), render: (x) => `${limitText(t, x.rpm)} / ${limitText(t, x.tpm)} / ${limitText(t, x.concurrent)}` },
      ]} />` : null}
    ${WRITERS.includes(session.role) ? html`<${CreateTeam} t=${t} onDone=${list.reload} />` : null}
  </section>`;
}

function CreateTeam({ t, onDone }) {
  const [form, setForm] = useState({ name: "", groups: "", rpm: "", tpm: "", concurrent: "" });
  const set = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });
  const [busy, submit] = useSubmit(async () => {
    const body = { name: form.name.trim() };
    if (form.groups.trim()) body.model_groups = groupsOf(form.groups);
    for (const limit of ["rpm", "tpm", "concurrent"]) if (form[limit]) body[limit] = Number(form[limit]);
    const team = await post("/teams", body);
    toast(t("created", { name: team.name }));
    setForm({ name: "", groups: "", rpm: "", tpm: "", concurrent: "" });
    onDone();
  });
  return html`<form class="card form" onSubmit=${submit} data-testid="create-team">
    <h2>${t("create")}</h2>
    <div class="form-grid">
      <${Field} label=${t("name")}><input name="name" required maxlength="200" value=${form.name} onInput=${set("name")} /></${Field}>
      <${Field} label=${t("model_groups")} hint=${t("model_groups_hint")}><input name="groups" maxlength="2000" value=${form.groups} onInput=${set("groups")} /></${Field}>
      <${Field} label=${t("rpm")} hint=${t("limit_hint")}><input name="rpm" type="number" min="1" value=${form.rpm} onInput=${set("rpm")} /></${Field}>
      <${Field} label=${t("tpm")}><input name="tpm" type="number" min="1" value=${form.tpm} onInput=${set("tpm")} /></${Field}>
      <${Field} label=${t("concurrent")}><input name="concurrent" type="number" min="1" value=${form.concurrent} onInput=${set("concurrent")} /></${Field}>
    </div>
    <button type="submit" class="btn btn-primary" disabled=${busy}>${t("action.create")}</button>
  </form>`;
}

function TeamDetail({ t, session, query, id }) {
  const range = rangeOf(query.range || "30d");
  const detail = useLoad(() => get("/teams/" + encodeURIComponent(id), { since: rangeQuery(range).since }), [id, range]);
  // after the detail (and again after each change it shows): a team the actor may not see is one error, not two
  const audit = useLoad(() => (detail.data ? get("/audit", { team_id: id, limit: 50 }) : Promise.resolve(null)), [id, detail.data]);
  const money = (micros) => formatMoney(micros, session.currency);
  const d = detail.data;
  const canMoney = WRITERS.includes(session.role) || (session.role === "team_admin" && session.can_topup);
  const spendTable = (rows, testid) => html`<${Table} testid=${testid} rows=${rows} rowKey=${(x) => x.name} columns=${[
    { key: "name", label: t("name") },
    { key: "requests", label: t("requests"), className: "num", render: (x) => formatNumber(x.requests) },
    { key: "spent_micros", label: t("spent"), className: "num", render: (x) => money(x.spent_micros) },
  ]} />`;
  return html`<section class="page" data-testid="page-team">
    <p><${Link} href="/console/teams">← ${t("back")}</${Link}></p>
    <${Status} state=${detail} />
    ${d ? html`
      <header class="page-head"><h1>${d.team.name} <span class=${statusBadge(d.team.status)} data-status=${d.team.status}>${t("status." + d.team.status)}</span></h1>
        <${RangePicker} t=${t} value=${range} onChange=${(name) => setQuery({ range: name }, { replace: true })} /></header>
      <div class="cards cards-compact">
        <div class="card stat"><span class="label">${t("balance")}</span><strong class="value" data-testid="team-balance">${money(d.team.balance_micros)}</strong></div>
        <div class="card stat"><span class="label">${t("spent")} · ${t("range." + range)}</span><strong class="value">${money(d.spent_micros)}</strong></div>
        <div class="card stat"><span class="label">${t("requests")}</span><strong class="value">${formatNumber(d.requests)}</strong></div>
      </div>
      ${canMoney ? html`<${MoneyForm} t=${t} id=${id} currency=${session.currency} onDone=${detail.reload} />`
        : html`<p class="muted">${t("no_topup")}</p>`}
      <div class="columns">
        <div class="card"><h2>${t("by_model")}</h2>${spendTable(d.by_model, "team-by-model")}</div>
        <div class="card"><h2>${t("by_key")}</h2>${spendTable(d.by_key, "team-by-key")}</div>
      </div>
      ${WRITERS.includes(session.role) ? html`<${LimitsForm} t=${t} team=${d.team} onDone=${detail.reload} />`
        : html`<div class="card"><h2>${t("limits")}</h2><p>${t("rpm")}: ${limitText(t, d.team.rpm)} · ${t("tpm")}: ${limitText(t, d.team.tpm)} · ${t("concurrent")}: ${limitText(t, d.team.concurrent)}</p>
          <p>${t("model_groups")}: ${d.team.model_groups ? d.team.model_groups.join(", ") : t("common.all_models")}</p></div>`}
      <div class="card"><h2>${t("history")}</h2>
        <${Table} testid="team-history" rows=${d.history} rowKey=${(h) => h.entry_id} columns=${[
          { key: "created_at", label: t("when"), render: (h) => formatTime(h.created_at) },
          { key: "kind", label: t("kind"), render: (h) => t("kind." + h.kind) },
          { key: "amount_micros", label: t("amount", { currency: session.currency }), className: "num", render: (h) => money(h.amount_micros) },
          { key: "balance_after", label: t("after"), className: "num", render: (h) => (h.balance_after === null ? "—" : money(h.balance_after)) },
          { key: "actor", label: t("by"), render: (h) => h.actor || "—" },
          { key: "note", label: t("note"), render: (h) => h.note || "" },
        ]} /></div>
      <div class="card"><h2>${t("audit")}</h2>
        <${Status} state=${audit} />
        ${audit.data ? html`<${Table} testid="team-audit" rows=${audit.data.items} rowKey=${(a) => a.id} columns=${[
          { key: "created_at", label: t("when"), render: (a) => formatTime(a.created_at) },
          { key: "actor", label: t("by"), render: (a) => `${a.actor} (${t("role." + a.role)})` },
          { key: "action", label: t("action"), render: (a) => html`<code>${a.action}</code>` },
          { key: "target", label: t("target"), render: (a) => a.target || "—" },
        ]} />` : null}
      </div>
    ` : null}
  </section>`;
}

function MoneyForm({ t, id, currency, onDone }) {
  const [form, setForm] = useState({ kind: "topup", amount: "", note: "" });
  const set = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });
  const [busy, submit] = useSubmit(async () => {
    const body = { kind: form.kind, amount: form.amount.trim() };
    if (form.note.trim()) body.note = form.note.trim();
    const done = await post(`/teams/${encodeURIComponent(id)}/balance`, body);
    toast(t("money_done", { balance: formatMoney(done.balance_micros, currency) }));
    setForm({ kind: form.kind, amount: "", note: "" });
    onDone();
  });
  return html`<form class="card form" onSubmit=${submit} data-testid="team-money">
    <h2>${t("money")}</h2>
    <div class="form-grid">
      <${Field} label=${t("kind")}><select name="kind" value=${form.kind} onChange=${set("kind")}>
        ${["topup", "adjust", "refund"].map((k) => html`<option value=${k}>${t("kind." + k)}</option>`)}</select></${Field}>
      <${Field} label=${t("amount", { currency })}><input name="amount" required inputmode="decimal" maxlength="40"
        pattern="-?[0-9]+([.][0-9]+)?" value=${form.amount} onInput=${set("amount")} /></${Field}>
      <${Field} label=${t("note")}><input name="note" maxlength="2000" value=${form.note} onInput=${set("note")} /></${Field}>
    </div>
    <button type="submit" class="btn btn-primary" disabled=${busy}>${t("apply_money")}</button>
  </form>`;
}

function LimitsForm({ t, team, onDone }) {
  const initial = () => ({ groups: team.model_groups ? team.model_groups.join(", ") : "", rpm: team.rpm ?? "", tpm: team.tpm ?? "", concurrent: team.concurrent ?? "" });
  const [form, setForm] = useState(initial);
  const set = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });
  const send = async (body) => {
    try {
      await patch("/teams/" + team.id, body);
      toast(t("saved"));
      onDone();
    } catch (error) {
      toast(error.message, "error");
    }
  };
  const submit = (event) => {
    event.preventDefault();
    const body = { clear: [] };
    if (form.groups.trim()) body.model_groups = groupsOf(form.groups);
    else body.clear.push("model_groups");
    for (const limit of ["rpm", "tpm", "concurrent"]) {
      if (String(form[limit]).trim()) body[limit] = Number(form[limit]);
      else body.clear.push(limit);
    }
    send(body);
  };
  const disabled = team.status === "disabled";
  return html`<form class="card form" onSubmit=${submit} data-testid="team-limits">
    <h2>${t("limits")}</h2>
    <div class="form-grid">
      <${Field} label=${t("model_groups")} hint=${t("model_groups_hint")}><input name="groups" maxlength="2000" value=${form.groups} onInput=${set("groups")} /></${Field}>
      <${Field} label=${t("rpm")} hint=${t("limit_hint")}><input name="rpm" type="number" min="1" value=${form.rpm} onInput=${set("rpm")} /></${Field}>
      <${Field} label=${t("tpm")}><input name="tpm" type="number" min="1" value=${form.tpm} onInput=${set("tpm")} /></${Field}>
      <${Field} label=${t("concurrent")}><input name="concurrent" type="number" min="1" value=${form.concurrent} onInput=${set("concurrent")} /></${Field}>
    </div>
    <div class="actions">
      <button type="submit" class="btn btn-primary">${t("save_limits")}</button>
      <button type="button" class=${"btn" + (disabled ? "" : " btn-danger")} data-testid="team-status"
        onClick=${() => (disabled || confirm(t("action.confirm"))) && send({ status: disabled ? "active" : "disabled" })}>
        ${disabled ? t("enable") : t("disable")}</button>
    </div>
  </form>`;
}
