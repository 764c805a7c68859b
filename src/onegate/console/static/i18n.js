// The console's language: chosen and remembered (localStorage), else the browser's languages
// (what it sends as Accept-Language) → "zh" or "en". `translator(messages)` looks a key up in a page's
// messages, then in the shared ones (i18n/common.js); the English text stands in for a missing one.
import { common } from "./i18n/common.js";

export const LANGS = ["en", "zh"];
const STORE = "onegate.console.lang";

export function detectLang(saved, languages) {
  if (LANGS.includes(saved)) return saved;
  for (const tag of languages || []) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

function stored() {
  try { return localStorage.getItem(STORE); } catch { return null; }
}

let current = detectLang(stored(), navigator.languages || [navigator.language]);
document.documentElement.lang = current === "zh" ? "zh-CN" : "en";

export const lang = () => current;

export function setLang(next) {
  current = LANGS.includes(next) ? next : "en";
  try { localStorage.setItem(STORE, current); } catch { /* private mode: not remembered */ }
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

function fill(text, vars) {
  return vars ? text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole)) : text;
}

export function translator(messages) {
  return (key, vars) => {
    const text = messages?.[current]?.[key] ?? common[current]?.[key] ?? messages?.en?.[key] ?? common.en[key] ?? key;
    return fill(text, vars);
  };
}

export const t = translator(null);
