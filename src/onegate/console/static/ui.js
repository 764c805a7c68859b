// Shared pieces every page uses: URL state (navigate, the query as filters), formatters, a table with a
// keyset "next page", a filter bar bound to the URL query, a drawer, a dialog, a copy button and toasts.
import { html, useEffect, useState } from "./preact.js";
import { lang, t } from "./i18n.js";

// --- the URL: the app re-renders on every change, so pages read their state from it -------------------
const listeners = new Set();
export function onUrlChange(listener) { listeners.add(listener); return () => listeners.delete(listener); }
function changed() { for (const listener of listeners) listener(); }
addEventListener("popstate", changed);

export function navigate(url, { replace = false } = {}) {
  if (url === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", url);
  changed();
}

export function readQuery() { return Object.fromEntries(new URLSearchParams(location.search)); }

// merge `changes` into the query (empty values removed); a filter change pushes history so Back undoes it
export function setQuery(changes, { replace = false } = {}) {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined || value === null || value === "") params.delete(name);
    else params.set(name, String(value));
  }
  const search = params.toString();
  navigate(location.pathname + (search ? "?" + search : ""), { replace });
}

// a plain link that routes inside the app (modifier clicks still open a new tab)
export function Link({ href, children, ...rest }) {
  const click = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${click} ...${rest}>${children}</a>`;
}

// --- formatters --------------------------------------------------------------------------------------------
const locale = () => (lang() === "zh" ? "zh-CN" : "en-US");

export function formatNumber(value) {
  return value === null || value === undefined ? t("common.none") : new Intl.NumberFormat(locale()).format(value);
}

// integer micro-units of the gateway's currency → "12.3456 USD" (small amounts keep their digits)
export function formatMoney(micros, currency) {
  if (micros === null || micros === undefined) return t("common.unlimited");
  const units = micros / 1e6;
  const digits = Math.abs(units) >= 100 ? 2 : Math.abs(units) >= 1 ? 4 : 6;
  const text = new Intl.NumberFormat(locale(), { minimumFractionDigits: 2, maximumFractionDigits: digits }).format(units);
  return currency ? `${text} ${currency}` : text;
}

export function formatTime(epoch) {
  if (!epoch) return t("common.never");
  return new Date(epoch * 1000).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "medium" });
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return t("common.none");
  return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

// epoch seconds ↔ the value of an <input type="datetime-local"> (local time)
export function toLocalInput(epoch) {
  if (!epoch) return "";
  const d = new Date(epoch * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function fromLocalInput(value) {
  if (!value) return "";
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? String(Math.floor(ms / 1000)) : "";
}

// --- toasts --------------------------------------------------------------------------------------------------
let toasts = [];
const toastListeners = new Set();
let toastId = 0;
export function toast(message, kind = "info") {
  const id = ++toastId;
  toasts = [...toasts, { id, message, kind }];
  toastListeners.forEach((fn) => fn(toasts));
  setTimeout(() => {
    toasts = toasts.filter((item) => item.id !== id);
    toastListeners.forEach((fn) => fn(toasts));
  }, kind === "error" ? 8000 : 3000);
}
export function Toasts() {
  const [items, setItems] = useState(toasts);
  useEffect(() => { toastListeners.add(setItems); return () => toastListeners.delete(setItems); }, []);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${items.map((item) => html`<div key=${item.id} class=${"toast toast-" + item.kind}>${item.message}</div>`)}
  </div>`;
}

// --- copy ------------------------------------------------------------------------------------------------------
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // no clipboard API (an http:// address that is not localhost): the old way
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) { toast(t("error.copy"), "error"); return false; }
  }
  toast(t("action.copied"));
  return true;
}

export function CopyButton({ text, label, testid }) {
  const [done, setDone] = useState(false);
  const click = async () => { if (await copyText(typeof text === "function" ? text() : text)) { setDone(true); setTimeout(() => setDone(false), 1500); } };
  return html`<button type="button" class="btn btn-small" onClick=${click} data-testid=${testid}>
    ${done ? t("action.copied") : label || t("action.copy")}</button>`;
}

// --- loading data ------------------------------------------------------------------------------------------
// run `load` whenever `deps` change; {data, error, loading, reload}. An older answer never overwrites a newer one.
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((old) => ({ ...old, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => { live = false; };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

export function Status({ state }) {
  if (state.error) return html`<p class="error" role="alert">${state.error.message}</p>`;
  if (state.loading && !state.data) return html`<p class="muted">${t("state.loading")}</p>`;
  return null;
}

// --- table with a keyset "next page" ---------------------------------------------------------------------
// columns: [{key, label, render?(row), className?}]; the cursor lives in the URL (`cursor=`) so a page can be
// linked; "first page" drops it. There is no page count: lists are keyset-paged on the server.
export function Table({ columns, rows, rowKey, onRow, empty, testid }) {
  if (!rows || rows.length === 0) return html`<p class="muted empty">${empty || t("state.empty")}</p>`;
  return html`<div class="table-wrap"><table class="table" data-testid=${testid}>
    <thead><tr>${columns.map((c) => html`<th class=${c.className || ""} scope="col">${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr key=${rowKey(row)} data-id=${rowKey(row)} class=${onRow ? "clickable" : ""}
        onClick=${onRow ? () => onRow(row) : undefined}>
      ${columns.map((c) => html`<td class=${c.className || ""} data-label=${c.label}>${c.render ? c.render(row) : row[c.key]}</td>`)}
    </tr>`)}</tbody>
  </table></div>`;
}

export function Pager({ nextCursor }) {
  const query = readQuery();
  return html`<div class="pager">
    ${query.cursor ? html`<button type="button" class="btn" onClick=${() => setQuery({ cursor: "" })}>${t("action.first_page")}</button>` : null}
    ${nextCursor
      ? html`<button type="button" class="btn" data-testid="next-page" onClick=${() => setQuery({ cursor: nextCursor })}>${t("action.next_page")}</button>`
      : html`<span class="muted">${t("state.no_more")}</span>`}
  </div>`;
}

// --- filter bar bound to the URL query ----------------------------------------------------------------------
// fields: [{name, label, type?: "text"|"select"|"datetime", options?: [[value, label]], placeholder?}]
// Applying writes the values into the query (and drops the cursor); the page reloads from the query.
export function FilterBar({ fields }) {
  const query = readQuery();
  const [values, setValues] = useState(query);
  useEffect(() => setValues(readQuery()), [location.search]);
  const set = (name, value) => setValues((old) => ({ ...old, [name]: value }));
  const apply = (event) => {
    event.preventDefault();
    const changes = { cursor: "" };
    for (const f of fields) changes[f.name] = values[f.name] ?? "";
    setQuery(changes);
  };
  const reset = () => { const changes = { cursor: "" }; fields.forEach((f) => { changes[f.name] = ""; }); setQuery(changes); };
  return html`<form class="filters" onSubmit=${apply} role="search">
    ${fields.map((f) => html`<label class="filter">
      <span>${f.label}</span>
      ${f.type === "select"
        ? html`<select name=${f.name} value=${values[f.name] ?? ""} onChange=${(e) => set(f.name, e.currentTarget.value)}>
            ${f.options.map(([value, label]) => html`<option value=${value}>${label}</option>`)}</select>`
        : f.type === "datetime"
          ? html`<input type="datetime-local" name=${f.name} value=${toLocalInput(Number(values[f.name]))}
              onInput=${(e) => set(f.name, fromLocalInput(e.currentTarget.value))} />`
          : html`<input type="text" name=${f.name} value=${values[f.name] ?? ""} placeholder=${f.placeholder || ""}
              maxlength="200" onInput=${(e) => set(f.name, e.currentTarget.value)} />`}
    </label>`)}
    <div class="filter-actions">
      <button type="submit" class="btn btn-primary">${t("action.apply")}</button>
      <button type="button" class="btn" onClick=${reset}>${t("action.reset")}</button>
    </div>
  </form>`;
}

// --- drawer and dialog --------------------------------------------------------------------------------------
function useEscape(onClose) {
  useEffect(() => {
    const key = (event) => { if (event.key === "Escape") onClose(); };
    addEventListener("keydown", key);
    return () => removeEventListener("keydown", key);
  }, [onClose]);
}

// a side drawer (details) or a centred dialog (a form, a one-time secret): Escape or the overlay closes it
function Panel({ kind, title, onClose, children, testid }) {
  useEscape(onClose);
  return html`<div class="overlay" onClick=${onClose}></div>
    <div class=${kind} role="dialog" aria-modal="true" aria-label=${title} data-testid=${testid}>
      <header class="drawer-head"><h2>${title}</h2>
        <button type="button" class="btn btn-small" onClick=${onClose}>${t("action.close")}</button></header>
      <div class="drawer-body">${children}</div>
    </div>`;
}
export const Drawer = (props) => Panel({ ...props, kind: "drawer" });
export const Dialog = (props) => Panel({ ...props, kind: "dialog" });

// a form's submit: {busy, error, submit}; `work` runs once at a time, a thrown error's message is shown
// (`describe(err)` may say it differently)
export function useSubmit(work, describe = (err) => err.message) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = async (event) => {
    event?.preventDefault();
    if (busy) return;
    setBusy(true);
    setError("");
    try { await work(); } catch (err) { setError(describe(err)); } finally { setBusy(false); }
  };
  return { busy, error, submit };
}

// a labelled form field; `hint` under it
export function Field({ label, hint, children }) {
  return html`<label class="field"><span class="field-label">${label}</span>${children}
    ${hint ? html`<small class="muted">${hint}</small>` : null}</label>`;
}
