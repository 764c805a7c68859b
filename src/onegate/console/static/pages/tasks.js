// Video tasks: a filtered keyset list (status, model, key, team; the cursor in the URL) and a task's detail
// in a drawer — status history, progress, what it cost (reserved, settled or released) and every callback
// delivery attempt, with "send the callbacks again". A team admin sees their team's tasks (the API decides).
import { html, useState } from "../preact.js";
import { get, post } from "../api.js";
import { Drawer, FilterBar, Link, Pager, Status, Table, formatMoney, formatMs, formatTime, readQuery, setQuery, toast, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Video tasks",
    id: "Task",
    status: "Status",
    "status.queued": "queued",
    "status.in_progress": "in progress",
    "status.completed": "completed",
    "status.failed": "failed",
    any_status: "any status",
    progress: "Progress",
    model: "Model",
    key: "Key",
    key_id: "Key id",
    team_id: "Team id",
    video: "Video",
    created: "Created",
    completed: "Finished",
    cost: "Cost",
    error: "Error",
    billing: "Billing",
    "billing.held": "held (reserved at submit)",
    "billing.settled": "settled",
    "billing.released": "released (nothing charged)",
    "billing.free": "free",
    reserved: "Reserved",
    settlement: "Settlement request",
    submit_request: "Submit request",
    channel: "Channel",
    upstream_id: "Upstream id",
    callback_url: "Callback URL",
    history: "Status history",
    at: "At",
    deliveries: "Callback deliveries",
    no_deliveries: "No callbacks for this task.",
    event: "Event",
    attempt_status: "Receiver's status",
    latency: "Latency",
    redeliver: "Send the callbacks again",
    redelivered: "{count} callback(s) queued again.",
  },
  zh: {
    title: "视频任务",
    id: "任务",
    status: "状态",
    "status.queued": "排队中",
    "status.in_progress": "生成中",
    "status.completed": "已完成",
    "status.failed": "失败",
    any_status: "全部状态",
    progress: "进度",
    model: "模型",
    key: "密钥",
    key_id: "密钥 ID",
    team_id: "团队 ID",
    video: "视频",
    created: "创建时间",
    completed: "结束时间",
    cost: "费用",
    error: "错误",
    billing: "计费",
    "billing.held": "已预扣（提交时）",
    "billing.settled": "已结算",
    "billing.released": "已释放（未收费）",
    "billing.free": "免费",
    reserved: "预扣金额",
    settlement: "结算请求",
    submit_request: "提交请求",
    channel: "渠道",
    upstream_id: "上游任务 ID",
    callback_url: "回调地址",
    history: "状态变化",
    at: "时间",
    deliveries: "回调投递",
    no_deliveries: "该任务没有回调。",
    event: "事件",
    attempt_status: "接收方状态码",
    latency: "耗时",
    redeliver: "重新发送回调",
    redelivered: "已重新排队 {count} 个回调。",
  },
};

const STATUSES = ["queued", "in_progress", "completed", "failed"];
const BADGE = { queued: "", in_progress: "badge-warn", completed: "badge-ok", failed: "badge-bad" };
const ID = /^[0-9]+$/;

export function Page({ t, session }) {
  const q = readQuery();
  const query = {
    status: STATUSES.includes(q.status) ? q.status : "",
    model: q.model || "",
    key_id: ID.test(q.key_id || "") ? q.key_id : "",
    team_id: ID.test(q.team_id || "") ? q.team_id : "",
    cursor: q.cursor || "",
  };
  const page = useLoad(() => get("/tasks", { ...query, limit: 50 }), [query.status, query.model, query.key_id, query.team_id, query.cursor]);
  const money = (micros) => formatMoney(micros, session.currency);
  const fields = [
    { name: "status", label: t("status"), type: "select", options: [["", t("any_status")], ...STATUSES.map((s) => [s, t("status." + s)])] },
    { name: "model", label: t("model") },
    { name: "key_id", label: t("key_id") },
  ];
  if (session.role !== "key" && session.role !== "team_admin") fields.push({ name: "team_id", label: t("team_id") });
  return html`<section class="page" data-testid="page-tasks">
    <header class="page-head"><h1>${t("title")}</h1></header>
    <${FilterBar} fields=${fields} />
    <${Status} state=${page} />
    ${page.data ? html`<${Table} testid="tasks-table" rows=${page.data.items} rowKey=${(x) => x.id}
      onRow=${(x) => setTaskParam(x.id)} columns=${[
        { key: "id", label: t("id"), render: (x) => html`<code>${x.id}</code>` },
        { key: "status", label: t("status"), render: (x) => html`<span class=${"badge " + BADGE[x.status]} data-status=${x.status}>${t("status." + x.status)}</span>` },
        { key: "progress", label: t("progress"), className: "num", render: (x) => `${x.progress}%` },
        { key: "model", label: t("model") },
        { key: "key", label: t("key"), render: (x) => html`<code>${x.key_mask || "#" + x.key_id}</code>` },
        { key: "video", label: t("video"), render: (x) => [x.seconds ? x.seconds + " s" : "", x.size || ""].filter(Boolean).join(" · ") || "—" },
        { key: "created_at", label: t("created"), render: (x) => formatTime(x.created_at) },
        { key: "cost", label: t("cost"), className: "num", render: (x) => money(x.cost_micros) },
        { key: "error", label: t("error"), render: (x) => x.error_code || "" },
      ]} />
      <${Pager} nextCursor=${page.data.next_cursor} />` : null}
    ${q.task ? html`<${TaskDrawer} t=${t} id=${q.task} money=${money} canRedeliver=${session.role !== "viewer"} />` : null}
  </section>`;
}

// the open task lives in the URL (`task=`), so a link to it can be shared
const setTaskParam = (id) => setQuery({ task: id });

function TaskDrawer({ t, id, money, canRedeliver }) {
  const detail = useLoad(() => get("/tasks/" + encodeURIComponent(id)), [id]);
  const [busy, setBusy] = useState(false);
  const d = detail.data;
  const redeliver = async () => {
    setBusy(true);
    try {
      const done = await post(`/tasks/${encodeURIComponent(id)}/redeliver`);
      toast(t("redelivered", { count: done.queued }));
      detail.reload();
    } catch (error) {
      toast(error.message, "error");
    } finally {
      setBusy(false);
    }
  };
  const logLink = (requestId) => html`<${Link} href=${"/console/logs?request_id=" + encodeURIComponent(requestId)}><code>${requestId}</code></${Link}>`;
  return html`<${Drawer} title=${id} testid="task-detail" onClose=${() => setTaskParam("")}>
    <${Status} state=${detail} />
    ${d ? html`
      <dl class="kv">
        <dt>${t("status")}</dt><dd><span class=${"badge " + BADGE[d.task.status]}>${t("status." + d.task.status)}</span> ${d.task.progress}%</dd>
        <dt>${t("model")}</dt><dd>${d.task.model}</dd>
        <dt>${t("key")}</dt><dd><code>${d.task.key_mask || "#" + d.task.key_id}</code></dd>
        <dt>${t("created")}</dt><dd>${formatTime(d.task.created_at)}</dd>
        <dt>${t("completed")}</dt><dd>${d.task.completed_at ? formatTime(d.task.completed_at) : "—"}</dd>
        <dt>${t("billing")}</dt><dd data-testid="task-billing">${t("billing." + d.billing.state)} · ${t("reserved")} ${money(d.billing.reserved_micros)} · ${t("cost")} ${money(d.billing.cost_micros)}</dd>
        <dt>${t("submit_request")}</dt><dd>${logLink(d.submit_request_id)}</dd>
        ${d.billing.settlement_request_id ? html`<dt>${t("settlement")}</dt><dd>${logLink(d.billing.settlement_request_id)}</dd>` : null}
        ${d.channel ? html`<dt>${t("channel")}</dt><dd>${d.channel}</dd>` : null}
        ${d.upstream_id ? html`<dt>${t("upstream_id")}</dt><dd><code>${d.upstream_id}</code></dd>` : null}
        ${d.error_message || d.task.error_code ? html`<dt>${t("error")}</dt><dd class="error">${d.task.error_code || ""} ${d.error_message || ""}</dd>` : null}
        ${d.callback_url ? html`<dt>${t("callback_url")}</dt><dd><code>${d.callback_url}</code></dd>` : null}
      </dl>
      <h3>${t("history")}</h3>
      <${Table} rows=${d.history} rowKey=${(h) => h.at + h.status + h.progress} columns=${[
        { key: "at", label: t("at"), render: (h) => formatTime(h.at) },
        { key: "status", label: t("status"), render: (h) => t("status." + h.status) },
        { key: "progress", label: t("progress"), className: "num", render: (h) => `${h.progress}%` },
      ]} />
      <h3>${t("deliveries")}</h3>
      ${d.deliveries.length ? d.deliveries.map((dv) => html`<div class="card delivery" data-testid="task-delivery">
        <p><code>${dv.event_type}</code> → <code>${dv.url}</code> · <strong>${dv.state}</strong></p>
        <${Table} rows=${dv.attempts} rowKey=${(a) => a.at} columns=${[
          { key: "at", label: t("at"), render: (a) => formatTime(a.at) },
          { key: "status", label: t("attempt_status"), className: "num", render: (a) => a.status ?? "—" },
          { key: "latency", label: t("latency"), className: "num", render: (a) => formatMs(a.latency_ms) },
          { key: "error", label: t("error"), render: (a) => a.error || "" },
        ]} /></div>`) : html`<p class="muted">${t("no_deliveries")}</p>`}
      ${canRedeliver && d.deliveries.length ? html`<p><button type="button" class="btn" data-action="redeliver" disabled=${busy}
        onClick=${redeliver}>${t("redeliver")}</button></p>` : null}
    ` : null}
  </${Drawer}>`;
}
