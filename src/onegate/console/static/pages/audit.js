// Audit: every management action (who, when, what, before and after), newest first, keyset-paged with the
// cursor in the URL; optionally one team's. A team admin sees their team's entries only (the API decides).
import { html, useState } from "../preact.js";
import { get } from "../api.js";
import { Drawer, FilterBar, Pager, Status, Table, formatTime, readQuery, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Audit",
    id: "Id",
    when: "When",
    actor: "Who",
    action: "Action",
    target: "Target",
    team: "Team id",
    before: "Before",
    after: "After",
    entry: "Entry {id}",
  },
  zh: {
    title: "审计",
    id: "编号",
    when: "时间",
    actor: "操作人",
    action: "操作",
    target: "对象",
    team: "团队 ID",
    before: "变更前",
    after: "变更后",
    entry: "记录 {id}",
  },
};

const json = (value) => (value ? JSON.stringify(value, null, 2) : "—");

export function Page({ t }) {
  const q = readQuery();
  const teamId = /^[0-9]+$/.test(q.team_id || "") ? q.team_id : "";
  const limit = Math.min(200, Math.max(1, Number(q.limit) || 50));
  const page = useLoad(() => get("/audit", { cursor: q.cursor, team_id: teamId, limit }), [q.cursor, teamId, limit]);
  const [open, setOpen] = useState(null);
  return html`<section class="page" data-testid="page-audit">
    <header class="page-head"><h1>${t("title")}</h1></header>
    <${FilterBar} fields=${[{ name: "team_id", label: t("team") }]} />
    <${Status} state=${page} />
    ${page.data ? html`<${Table} testid="audit-table" rows=${page.data.items} rowKey=${(a) => a.id} onRow=${setOpen} columns=${[
      { key: "id", label: t("id"), className: "num" },
      { key: "created_at", label: t("when"), render: (a) => formatTime(a.created_at) },
      { key: "actor", label: t("actor"), render: (a) => `${a.actor} (${t("role." + a.role)})` },
      { key: "action", label: t("action"), render: (a) => html`<code>${a.action}</code>` },
      { key: "target", label: t("target"), render: (a) => a.target || "—" },
      { key: "team_id", label: t("team"), className: "num", render: (a) => a.team_id ?? "—" },
    ]} />
    <${Pager} nextCursor=${page.data.next_cursor} />` : null}
    ${open ? html`<${Drawer} title=${t("entry", { id: open.id })} testid="audit-entry" onClose=${() => setOpen(null)}>
      <p><code>${open.action}</code> · ${open.target || ""} · ${formatTime(open.created_at)} · ${open.actor}</p>
      <div class="columns">
        <div><h3>${t("before")}</h3><pre class="code">${json(open.before)}</pre></div>
        <div><h3>${t("after")}</h3><pre class="code">${json(open.after)}</pre></div>
      </div>
    </${Drawer}>` : null}
  </section>`;
}
