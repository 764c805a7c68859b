// Admins (owner only): the admin accounts; create one (its token is shown once, with a copy button, and
// stored hashed), disable or enable it, delete it. The CLI (`onegate admins …`) calls the same service.
import { html, useState } from "../preact.js";
import { del, get, patch, post } from "../api.js";
import { CopyButton, Dialog, Field, Status, Table, formatTime, toast, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Admins",
    name: "Name",
    role: "Role",
    team: "Team",
    can_topup: "May move money",
    can_topup_hint: "A team admin may top up, adjust and refund their team's balance.",
    token: "Token",
    status: "Status",
    "status.active": "active",
    "status.disabled": "disabled",
    created: "Created",
    create: "Create an admin",
    pick_team: "Choose a team",
    created_title: "Admin {name} created",
    token_once: "This is the only time the token is shown. Copy it now and hand it over safely; it is stored hashed.",
    disable: "Disable",
    enable: "Enable",
    deleted: "{name} deleted.",
    changed: "{name}: {status}.",
  },
  zh: {
    title: "管理员",
    name: "名称",
    role: "角色",
    team: "团队",
    can_topup: "可变更余额",
    can_topup_hint: "团队管理员可为其团队充值、调整和退款。",
    token: "令牌",
    status: "状态",
    "status.active": "启用",
    "status.disabled": "停用",
    created: "创建时间",
    create: "创建管理员",
    pick_team: "选择团队",
    created_title: "已创建管理员 {name}",
    token_once: "令牌只显示这一次。请立即复制并安全地交给对方；系统只保存其哈希值。",
    disable: "停用",
    enable: "启用",
    deleted: "已删除 {name}。",
    changed: "{name}：{status}。",
  },
};

const ROLES = ["owner", "operator", "viewer", "team_admin"];

export function Page({ t }) {
  const list = useLoad(() => get("/admins"), []);
  const teams = useLoad(() => get("/teams"), []);
  const [created, setCreated] = useState(null);
  const teamName = (id) => (teams.data || []).find((x) => x.id === id)?.name ?? (id ? "#" + id : "—");
  const act = async (call, message) => {
    try {
      await call();
      toast(message);
      list.reload();
    } catch (error) {
      toast(error.message, "error");
    }
  };
  const toggle = (a) => {
    const status = a.status === "active" ? "disabled" : "active";
    act(() => patch("/admins/" + a.id, { status }), t("changed", { name: a.name, status: t("status." + status) }));
  };
  const remove = (a) => confirm(t("action.confirm")) && act(() => del("/admins/" + a.id), t("deleted", { name: a.name }));
  return html`<section class="page" data-testid="page-admins">
    <header class="page-head"><h1>${t("title")}</h1></header>
    <${Status} state=${list} />
    ${list.data ? html`<${Table} testid="admins-table" rows=${list.data} rowKey=${(a) => a.id} columns=${[
      { key: "name", label: t("name"), render: (a) => html`<strong>${a.name}</strong>` },
      { key: "role", label: t("role"), render: (a) => t("role." + a.role) },
      { key: "team", label: t("team"), render: (a) => teamName(a.team_id) },
      { key: "can_topup", label: t("can_topup"), render: (a) => (a.can_topup ? t("common.yes") : t("common.no")) },
      { key: "mask", label: t("token"), render: (a) => html`<code>${a.mask}</code>` },
      { key: "status", label: t("status"), render: (a) => html`<span class=${"badge " + (a.status === "active" ? "badge-ok" : "badge-bad")} data-status=${a.status}>${t("status." + a.status)}</span>` },
      { key: "created_at", label: t("created"), render: (a) => formatTime(a.created_at) },
      { key: "actions", label: "", render: (a) => html`<div class="actions" data-admin=${a.name}>
        <button type="button" class="btn btn-small" data-action="toggle" onClick=${() => toggle(a)}>${a.status === "active" ? t("disable") : t("enable")}</button>
        <button type="button" class="btn btn-small btn-danger" data-action="delete" onClick=${() => remove(a)}>${t("action.delete")}</button>
      </div>` },
    ]} />` : null}
    <${CreateAdmin} t=${t} teams=${teams.data || []} onCreated=${(made) => { setCreated(made); list.reload(); }} />
    ${created ? html`<${Dialog} title=${t("created_title", { name: created.admin.name })} testid="admin-created" onClose=${() => setCreated(null)}>
      <p class="warn">${t("token_once")}</p>
      <div class="secret"><code data-testid="admin-token">${created.token}</code>
        <${CopyButton} text=${created.token} testid="copy-admin-token" /></div>
    </${Dialog}>` : null}
  </section>`;
}

function CreateAdmin({ t, teams, onCreated }) {
  const blank = { name: "", role: "operator", team_id: "", can_topup: false };
  const [form, setForm] = useState(blank);
  const submit = async (event) => {
    event.preventDefault();
    const body = { name: form.name.trim(), role: form.role };
    if (form.role === "team_admin") {
      body.team_id = Number(form.team_id);
      body.can_topup = form.can_topup;
    }
    try {
      const made = await post("/admins", body);
      setForm(blank);
      onCreated(made);
    } catch (error) {
      toast(error.message, "error");
    }
  };
  return html`<form class="card form" onSubmit=${submit} data-testid="create-admin">
    <h2>${t("create")}</h2>
    <div class="form-grid">
      <${Field} label=${t("name")}><input name="name" required maxlength="200" value=${form.name}
        onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} /></${Field}>
      <${Field} label=${t("role")}><select name="role" value=${form.role} onChange=${(e) => setForm({ ...form, role: e.currentTarget.value })}>
        ${ROLES.map((r) => html`<option value=${r}>${t("role." + r)}</option>`)}</select></${Field}>
      ${form.role === "team_admin" ? html`
        <${Field} label=${t("team")}><select name="team_id" required value=${form.team_id} onChange=${(e) => setForm({ ...form, team_id: e.currentTarget.value })}>
          <option value="">${t("pick_team")}</option>
          ${teams.map((x) => html`<option value=${x.id}>${x.name}</option>`)}</select></${Field}>
        <label class="check"><input type="checkbox" name="can_topup" checked=${form.can_topup}
          onChange=${(e) => setForm({ ...form, can_topup: e.currentTarget.checked })} /> ${t("can_topup")}
          <small class="muted">${t("can_topup_hint")}</small></label>` : null}
    </div>
    <button type="submit" class="btn btn-primary">${t("action.create")}</button>
  </form>`;
}
