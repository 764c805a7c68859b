// Prices: each model's price per 1M tokens (and per request / image / second), where it comes from (the
// config file, or a run-time override set here), and for writers: set an override, or clear it.
import { html, useState } from "../preact.js";
import { api, del, get } from "../api.js";
import { Dialog, Field, Status, Table, toast, useLoad } from "../ui.js";

export const messages = {
  en: {
    title: "Prices",
    intro: "Per 1M tokens unless a column says otherwise, in {currency}. A run-time price overrides the config file until cleared.",
    model: "Model",
    source: "Source",
    "source.config": "config file",
    "source.run time": "run-time override",
    input: "Input",
    cached_input: "Cached input",
    output: "Output",
    per_request: "Per request",
    per_image: "Per image",
    per_second: "Per video second",
    set: "Set price",
    clear: "Clear override",
    set_title: "Price for {model}",
    same_as_input: "empty: same as input",
    saved: "{model}: price saved.",
    cleared: "{model}: back to the config file's price.",
  },
  zh: {
    title: "价格",
    intro: "除特别注明外，单位为每 1M Token 的 {currency} 价格。运行时价格会覆盖配置文件中的价格，直到被清除。",
    model: "模型",
    source: "来源",
    "source.config": "配置文件",
    "source.run time": "运行时覆盖",
    input: "输入",
    cached_input: "缓存输入",
    output: "输出",
    per_request: "每次请求",
    per_image: "每张图片",
    per_second: "每秒视频",
    set: "设置价格",
    clear: "清除覆盖",
    set_title: "{model} 的价格",
    same_as_input: "留空：与输入价格相同",
    saved: "{model}：价格已保存。",
    cleared: "{model}：已恢复为配置文件中的价格。",
  },
};

const WRITERS = ["owner", "operator"];
const FIELDS = ["input", "cached_input", "output", "per_request", "per_image", "per_second"];
const shown = (value) => (value === null || value === undefined ? "—" : String(value));

export function Page({ t, session }) {
  const list = useLoad(() => get("/prices"), []);
  const [editing, setEditing] = useState(null);
  const writer = WRITERS.includes(session.role);
  const clear = async (model) => {
    if (!confirm(t("action.confirm"))) return;
    try {
      await del("/prices/" + encodeURIComponent(model));
      toast(t("cleared", { model }));
      list.reload();
    } catch (error) {
      toast(error.message, "error");
    }
  };
  const columns = [
    { key: "model", label: t("model"), render: (p) => html`<code>${p.model}</code>` },
    { key: "source", label: t("source"), render: (p) => html`<span class=${"badge" + (p.source === "config" ? "" : " badge-warn")} data-source=${p.source}>${t("source." + p.source)}</span>` },
    ...FIELDS.map((f) => ({ key: f, label: t(f), className: "num", render: (p) => shown(p.price[f]) })),
  ];
  if (writer) {
    columns.push({ key: "actions", label: "", render: (p) => html`<div class="actions">
      <button type="button" class="btn btn-small" data-action="set" onClick=${() => setEditing(p)}>${t("set")}</button>
      ${p.source !== "config" ? html`<button type="button" class="btn btn-small" data-action="clear" onClick=${() => clear(p.model)}>${t("clear")}</button>` : null}
    </div>` });
  }
  return html`<section class="page" data-testid="page-prices">
    <header class="page-head"><h1>${t("title")}</h1></header>
    <p class="muted">${t("intro", { currency: session.currency })}</p>
    <${Status} state=${list} />
    ${list.data ? html`<${Table} testid="prices-table" rows=${list.data} rowKey=${(p) => p.model} columns=${columns} />` : null}
    ${editing ? html`<${PriceDialog} t=${t} row=${editing} onClose=${() => setEditing(null)} onDone=${() => { setEditing(null); list.reload(); }} />` : null}
  </section>`;
}

function PriceDialog({ t, row, onClose, onDone }) {
  const [form, setForm] = useState(Object.fromEntries(FIELDS.map((f) => [f, row.price[f] === null || row.price[f] === undefined ? "" : String(row.price[f])])));
  const submit = async (event) => {
    event.preventDefault();
    // the whole price goes back (image sizes, video multipliers…), with the fields edited here replaced
    const price = { ...row.price };
    for (const f of FIELDS) {
      const text = form[f].trim();
      price[f] = text === "" ? (f === "cached_input" ? null : 0) : Number(text);
    }
    try {
      await api("PUT", "/prices/" + encodeURIComponent(row.model), price);
      toast(t("saved", { model: row.model }));
      onDone();
    } catch (error) {
      toast(error.message, "error");
    }
  };
  return html`<${Dialog} title=${t("set_title", { model: row.model })} onClose=${onClose} testid="price-dialog">
    <form class="form" onSubmit=${submit}>
      <div class="form-grid">
        ${FIELDS.map((f) => html`<${Field} label=${t(f)} hint=${f === "cached_input" ? t("same_as_input") : ""}>
          <input name=${f} type="number" min="0" step="any" value=${form[f]} onInput=${(e) => setForm({ ...form, [f]: e.currentTarget.value })} /></${Field}>`)}
      </div>
      <div class="actions"><button type="submit" class="btn btn-primary">${t("action.save")}</button>
        <button type="button" class="btn" onClick=${onClose}>${t("action.cancel")}</button></div>
    </form>
  </${Dialog}>`;
}
