// Keys: search by name or last four, create (the secret shown once, with the "set up a client" guides filled
// in with it), and per key: spend, enable/disable, rotate, edit models/budget/expiry/limits, delete.
import { html, useState } from "../preact.js";
import { del, get, patch, post } from "../api.js";
import { SetupGuides } from "../guides.js";
import {
  CopyButton, Dialog, Drawer, Field, FilterBar, Pager, Status, Table, formatMoney, formatTime, fromLocalInput,
  setQuery, toLocalInput, toast, useLoad, useSubmit,
} from "../ui.js";

export const messages = {
  en: {
    title: "API keys",
    new_key: "New key",
    search: "Name or last 4",
    status: "Status",
    any: "any",
    "status.active": "active",
    "status.disabled": "disabled",
    "status.expired": "expired",
    name: "Name",
    key: "Key",
    team: "Team",
    no_team: "no team",
    models: "Models",
    models_hint: "Comma-separated model names or groups; empty: every model.",
    budget: "Budget",
    budget_hint: "In {currency} per period, e.g. 20 or 12.5; empty: no budget.",
    period: "Budget period",
    "period.daily": "daily",
    "period.weekly": "weekly",
    "period.monthly": "monthly",
    expires: "Expires",
    expires_hint: "Empty: never.",
    created: "Created",
    rpm: "Requests per minute",
    tpm: "Tokens per minute",
    spent: "Spent this period",
    remaining: "Left this period",
    period_range: "Period",
    created_title: "Your new key",
    once: "Copy the key now: it is shown only this once. onegate keeps only a hash of it.",
    copy_key: "Copy key",
    base_url: "Base URL (OpenAI-compatible clients)",
    rotated_title: "Key rotated",
    rotated_note: "The old key keeps working until {time}; then only the new one does.",
    disable: "Disable",
    enable: "Enable",
    rotate: "Rotate",
    rotate_confirm: "Make a new key with the same settings? The old key keeps working for 24 hours.",
    delete_confirm: "Delete this key? Clients using it stop working at once.",
    edit_title: "Edit key",
    saved: "Saved.",
    deleted: "Key deleted.",
    setup_for: "Setup for this key (paste your key where it says so)",
  },
  zh: {
    title: "API 密钥",
    new_key: "新建密钥",
    search: "名称或后 4 位",
    status: "状态",
    any: "全部",
    "status.active": "启用",
    "status.disabled": "已停用",
    "status.expired": "已过期",
    name: "名称",
    key: "密钥",
    team: "团队",
    no_team: "不属于团队",
    models: "模型",
    models_hint: "用逗号分隔的模型名或模型组；留空表示全部模型。",
    budget: "预算",
    budget_hint: "每个周期的 {currency} 金额，如 20 或 12.5；留空表示不设预算。",
    period: "预算周期",
    "period.daily": "每天",
    "period.weekly": "每周",
    "period.monthly": "每月",
    expires: "过期时间",
    expires_hint: "留空表示永不过期。",
    created: "创建时间",
    rpm: "每分钟请求数",
    tpm: "每分钟 token 数",
    spent: "本周期已用",
    remaining: "本周期剩余",
    period_range: "周期",
    created_title: "新密钥",
    once: "请立即复制密钥：它只显示这一次。onegate 只保存它的哈希。",
    copy_key: "复制密钥",
    base_url: "Base URL（OpenAI 兼容客户端）",
    rotated_title: "密钥已轮换",
    rotated_note: "旧密钥在 {time} 之前仍然可用；之后只有新密钥可用。",
    disable: "停用",
    enable: "启用",
    rotate: "轮换",
    rotate_confirm: "用相同设置生成新密钥吗？旧密钥在 24 小时内仍可用。",
    delete_confirm: "删除此密钥吗？使用它的客户端会立即无法使用。",
    edit_title: "编辑密钥",
    saved: "已保存。",
    deleted: "密钥已删除。",
    setup_for: "此密钥的配置方法（在提示处填入你的密钥）",
  },
};

const WRITERS = ["owner", "operator", "team_admin"];
const PERIODS = ["daily", "weekly", "monthly"];
const modelList = (text) => text.split(/[,\s]+/).map((m) => m.trim()).filter(Boolean);

export function Page({ t, session, query }) {
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState(null); // {result, rotated}: the one-time dialog
  const canWrite = WRITERS.includes(session.role);
  const list = useLoad(
    () => get("/keys", { q: query.q, status: query.status, team_id: query.team_id, cursor: query.cursor, limit: 50 }),
    [query.q, query.status, query.team_id, query.cursor],
  );
  const teams = useLoad(() => get("/teams").catch(() => []), []);
  const teamName = (id) => (teams.data || []).find((team) => team.id === id)?.name ?? (id ? `#${id}` : t("no_team"));
  const columns = [
    { key: "name", label: t("name") },
    { key: "mask", label: t("key"), render: (k) => html`<code>${k.mask}</code>` },
    { key: "status", label: t("status"), render: (k) => html`<span class=${"badge " + (k.status === "active" ? "badge-ok" : "badge-bad")}>${t("status." + k.status)}</span>` },
    { key: "team", label: t("team"), render: (k) => teamName(k.team_id) },
    { key: "models", label: t("models"), render: (k) => (k.models ? k.models.join(", ") : t("common.all_models")) },
    { key: "budget", label: t("budget"), className: "num", render: (k) => (k.budget ? `${k.budget} ${session.currency} / ${t("period." + k.budget_period)}` : t("common.unlimited")) },
    { key: "expires", label: t("expires"), render: (k) => formatTime(k.expires_at) },
  ];
  const created = (result, rotated = false) => { setCreating(false); setSecret({ result, rotated }); list.reload(); };
  return html`<section class="page" data-testid="page-keys">
    <div class="page-head"><h1>${t("title")}</h1>
      ${canWrite ? html`<button type="button" class="btn btn-primary" data-testid="new-key" onClick=${() => setCreating(true)}>${t("new_key")}</button>` : null}
    </div>
    <${FilterBar} fields=${[
      { name: "q", label: t("search"), placeholder: "alice / a1b2" },
      { name: "status", label: t("status"), type: "select", options: [["", t("any")], ...["active", "disabled", "expired"].map((s) => [s, t("status." + s)])] },
    ]} />
    <${Status} state=${list} />
    ${list.data ? html`<${Table} columns=${columns} rows=${list.data.items} rowKey=${(k) => k.id} testid="keys-table"
        onRow=${(k) => setQuery({ open: k.id })} /><${Pager} nextCursor=${list.data.next_cursor} />` : null}
    ${creating ? html`<${CreateKey} t=${t} session=${session} teams=${teams.data || []} onClose=${() => setCreating(false)} onCreated=${created} />` : null}
    ${query.open ? html`<${KeyDrawer} t=${t} id=${query.open} session=${session} teamName=${teamName} canWrite=${canWrite}
        onChanged=${list.reload} onRotated=${(r) => created(r, true)} />` : null}
    ${secret ? html`<${SecretDialog} t=${t} ...${secret} onClose=${() => setSecret(null)} />` : null}
  </section>`;
}

function KeyForm({ t, session, teams, initial, onSubmit, submitLabel, withTeam }) {
  const [v, setV] = useState(initial);
  const set = (name) => (event) => setV({ ...v, [name]: event.currentTarget.value });
  const { busy, error, submit } = useSubmit(() => onSubmit(v));
  return html`<form onSubmit=${submit} data-testid="key-form">
    <${Field} label=${t("name")}><input name="name" required maxlength="100" value=${v.name} onInput=${set("name")} /></${Field}>
    ${withTeam ? html`<${Field} label=${t("team")}><select name="team_id" value=${v.team_id} onChange=${set("team_id")}>
        ${session.role === "team_admin" ? null : html`<option value="">${t("no_team")}</option>`}
        ${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></${Field}>` : null}
    <${Field} label=${t("models")} hint=${t("models_hint")}><input name="models" value=${v.models} onInput=${set("models")} placeholder=${t("common.all_models")} /></${Field}>
    <div class="row">
      <${Field} label=${t("budget")} hint=${t("budget_hint", { currency: session.currency })}><input name="budget" inputmode="decimal" maxlength="20" value=${v.budget} onInput=${set("budget")} /></${Field}>
      <${Field} label=${t("period")}><select name="budget_period" value=${v.budget_period} onChange=${set("budget_period")}>
        ${PERIODS.map((p) => html`<option value=${p}>${t("period." + p)}</option>`)}</select></${Field}>
    </div>
    <div class="row">
      <${Field} label=${t("expires")} hint=${t("expires_hint")}><input type="datetime-local" name="expires_at" value=${v.expires_at} onInput=${set("expires_at")} /></${Field}>
      <${Field} label=${t("rpm")}><input name="rpm" inputmode="numeric" maxlength="9" value=${v.rpm} onInput=${set("rpm")} /></${Field}>
      <${Field} label=${t("tpm")}><input name="tpm" inputmode="numeric" maxlength="12" value=${v.tpm} onInput=${set("tpm")} /></${Field}>
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <button type="submit" class="btn btn-primary" disabled=${busy}>${submitLabel}</button>
  </form>`;
}

const blank = (teams, session) => ({
  name: "", team_id: session.team_id ? String(session.team_id) : teams.length === 1 && session.role === "team_admin" ? String(teams[0].id) : "",
  models: "", budget: "", budget_period: "monthly", expires_at: "", rpm: "", tpm: "",
});

// the form's text → the API's fields; `clear` lists what an edit empties
function toBody(v, editing) {
  const body = { name: v.name.trim() };
  const clear = [];
  const models = modelList(v.models);
  if (models.length) body.models = models; else if (editing) clear.push("models");
  if (v.budget.trim()) { body.budget = v.budget.trim(); body.budget_period = v.budget_period; } else if (editing) clear.push("budget");
  if (v.expires_at) body.expires_at = Number(fromLocalInput(v.expires_at)); else if (editing) clear.push("expires_at");
  for (const limit of ["rpm", "tpm"]) {
    if (String(v[limit]).trim()) body[limit] = Number(v[limit]); else if (editing) clear.push(limit);
  }
  if (!editing && v.team_id) body.team_id = Number(v.team_id);
  if (editing) body.clear = clear;
  return body;
}

function CreateKey({ t, session, teams, onClose, onCreated }) {
  return html`<${Dialog} title=${t("new_key")} onClose=${onClose} testid="create-key">
    <${KeyForm} t=${t} session=${session} teams=${teams} initial=${blank(teams, session)} withTeam=${true} submitLabel=${t("action.create")}
      onSubmit=${async (v) => onCreated(await post("/keys", toBody(v, false)))} />
  </${Dialog}>`;
}

function SecretDialog({ t, result, rotated, onClose }) {
  // a rotation's answer carries no guides: ask for this key's (the placeholder is replaced by the secret)
  const guides = useLoad(() => (result.setup ? Promise.resolve(result.setup) : get("/setup", { key_id: result.key.id })), [result.key.id]);
  return html`<${Dialog} title=${rotated ? t("rotated_title") : t("created_title")} onClose=${onClose} testid="key-secret">
    <p class="warn">${t("once")}</p>
    <div class="secret"><code data-testid="secret">${result.secret}</code><${CopyButton} text=${result.secret} label=${t("copy_key")} testid="copy-secret" /></div>
    ${rotated && result.old_key ? html`<p class="muted">${t("rotated_note", { time: formatTime(result.old_key.expires_at) })}</p>` : null}
    ${result.base_url ? html`<p>${t("base_url")}: <code>${result.base_url}</code> <${CopyButton} text=${result.base_url} /></p>` : null}
    <${Status} state=${guides} />
    <${SetupGuides} guides=${guides.data} secret=${result.secret} mask=${result.key.mask} />
  </${Dialog}>`;
}

function KeyDrawer({ t, id, session, teamName, canWrite, onChanged, onRotated }) {
  const [editing, setEditing] = useState(false);
  const detail = useLoad(() => get(`/keys/${encodeURIComponent(id)}`), [id]);
  const guides = useLoad(() => get("/setup", { key_id: id }), [id]);
  const close = () => setQuery({ open: "" });
  const act = async (work, done) => {
    try { const out = await work(); toast(done); detail.reload(); onChanged(); return out; } catch (err) { toast(err.message, "error"); return null; }
  };
  const k = detail.data?.key;
  const title = k ? `${k.name} · ${k.mask}` : t("key");
  const initial = k && {
    name: k.name, team_id: "", models: (k.models || []).join(", "), budget: k.budget || "", budget_period: k.budget_period || "monthly",
    expires_at: toLocalInput(k.expires_at), rpm: k.rpm ?? "", tpm: k.tpm ?? "",
  };
  return html`<${Drawer} title=${title} onClose=${close} testid="key-drawer">
    <${Status} state=${detail} />
    ${k ? html`
      <dl class="kv">
        <dt>${t("status")}</dt><dd>${t("status." + k.status)}</dd>
        <dt>${t("team")}</dt><dd>${teamName(k.team_id)}</dd>
        <dt>${t("models")}</dt><dd>${k.models ? k.models.join(", ") : t("common.all_models")}</dd>
        <dt>${t("budget")}</dt><dd>${k.budget ? `${k.budget} ${session.currency} / ${t("period." + k.budget_period)}` : t("common.unlimited")}</dd>
        <dt>${t("spent")}</dt><dd data-testid="key-spent">${formatMoney(detail.data.spent_micros, session.currency)}</dd>
        <dt>${t("remaining")}</dt><dd>${formatMoney(detail.data.remaining_micros, session.currency)}</dd>
        <dt>${t("period_range")}</dt><dd>${formatTime(detail.data.period_start)} – ${formatTime(detail.data.period_end)}</dd>
        <dt>${t("rpm")}</dt><dd>${k.rpm ?? t("common.unlimited")}</dd>
        <dt>${t("tpm")}</dt><dd>${k.tpm ?? t("common.unlimited")}</dd>
        <dt>${t("expires")}</dt><dd>${formatTime(k.expires_at)}</dd>
        <dt>${t("created")}</dt><dd>${formatTime(k.created_at)}</dd>
      </dl>
      ${canWrite ? html`<div class="row actions">
        ${k.status === "disabled"
          ? html`<button type="button" class="btn" data-testid="enable" onClick=${() => act(() => patch(`/keys/${k.id}`, { status: "active" }), t("saved"))}>${t("enable")}</button>`
          : html`<button type="button" class="btn" data-testid="disable" onClick=${() => act(() => patch(`/keys/${k.id}`, { status: "disabled" }), t("saved"))}>${t("disable")}</button>`}
        <button type="button" class="btn" data-testid="edit" onClick=${() => setEditing(!editing)}>${t("action.edit")}</button>
        <button type="button" class="btn" data-testid="rotate" onClick=${async () => {
          if (!confirm(t("rotate_confirm"))) return;
          const rotated = await act(() => post(`/keys/${k.id}/rotate`, {}), t("saved"));
          if (rotated) onRotated(rotated);
        }}>${t("rotate")}</button>
        <button type="button" class="btn btn-danger" data-testid="delete" onClick=${async () => {
          if (!confirm(t("delete_confirm"))) return;
          if (await act(() => del(`/keys/${k.id}`), t("deleted")) !== null) close();
        }}>${t("action.delete")}</button>
      </div>` : null}
      ${editing ? html`<h3>${t("edit_title")}</h3><${KeyForm} t=${t} session=${session} teams=${[]} initial=${initial} withTeam=${false}
          submitLabel=${t("action.save")} onSubmit=${async (v) => { await patch(`/keys/${k.id}`, toBody(v, true)); setEditing(false); toast(t("saved")); detail.reload(); onChanged(); }} />` : null}
      <h3 class="muted small">${t("setup_for")}</h3>
      <${SetupGuides} guides=${guides.data} />
    ` : null}
  </${Drawer}>`;
}
