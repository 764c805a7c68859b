// The console: who is signed in, the page table (which page a path shows and who sees it), the navigation
// filtered by role, the language switch, and the page loaded on demand from pages/<name>.js.
import { html, render, useEffect, useState } from "./preact.js";
import { del, get, onUnauthorized, setCsrf } from "./api.js";
import { LANGS, lang, setLang, t, translator } from "./i18n.js";
import { Link, Toasts, navigate, onUrlChange, readQuery, toast } from "./ui.js";

export const BASE = "/console";
const STAFF = ["owner", "operator", "viewer", "team_admin"];
const READERS = ["owner", "operator", "viewer"];

// name → path, nav label key, who sees it (the API enforces the same rules; the nav only hides what would 404).
// The first page a role sees is its home.
export const PAGES = [
  { name: "dashboard", path: "/dashboard", icon: "◧", roles: STAFF },
  { name: "keys", path: "/keys", icon: "◆", roles: STAFF },
  { name: "mykey", path: "/mykey", icon: "◆", roles: ["key"] }, // a key holder's home
  { name: "logs", path: "/logs", icon: "☰", roles: [...STAFF, "key"] },
  { name: "teams", path: "/teams", icon: "◎", roles: STAFF },
  { name: "channels", path: "/channels", icon: "⇄", roles: READERS },
  { name: "prices", path: "/prices", icon: "¤", roles: [...STAFF, "key"] },
  { name: "alerts", path: "/alerts", icon: "!", roles: STAFF },
  { name: "tasks", path: "/tasks", icon: "▶", roles: STAFF },
  { name: "audit", path: "/audit", icon: "✎", roles: STAFF },
  { name: "admins", path: "/admins", icon: "☺", roles: ["owner"] },
];
const SIGNIN = { name: "signin", path: "/signin", roles: [] };

export const visiblePages = (role) => PAGES.filter((page) => page.roles.includes(role));
const home = (session) => BASE + visiblePages(session.role)[0].path;

// pages/<name>.js, imported once; a page not built yet shows a notice instead of breaking the app
const modules = new Map();
function loadPage(name) {
  if (!modules.has(name)) {
    modules.set(name, import(`./pages/${name}.js`).catch((error) => {
      console.warn(`console page ${name}:`, error);
      return null;
    }));
  }
  return modules.get(name);
}

function routeOf(pathname) {
  const rest = pathname.slice(BASE.length) || "/";
  if (rest === "/" ) return null;
  if (rest === SIGNIN.path) return SIGNIN;
  return PAGES.find((page) => rest === page.path || rest.startsWith(page.path + "/")) || "missing";
}

function PageHost({ page, session, onSession }) {
  const [mod, setMod] = useState(undefined);
  useEffect(() => { let live = true; setMod(undefined); loadPage(page.name).then((m) => live && setMod(m)); return () => { live = false; }; }, [page.name]);
  if (mod === undefined) return html`<p class="muted">${t("state.loading")}</p>`;
  if (mod === null || typeof mod.Page !== "function") {
    return html`<section class="page"><h1>${t("nav." + page.name)}</h1><p class="muted" data-testid="page-missing">${t("state.page_missing")}</p></section>`;
  }
  const Page = mod.Page;
  const pageT = translator(mod.messages);
  const sub = location.pathname.slice((BASE + page.path).length).replace(/^\//, "");
  return html`<${Page} t=${pageT} session=${session} onSession=${onSession} sub=${sub} query=${readQuery()} lang=${lang()} />`;
}

function LangSwitch({ onChange }) {
  return html`<label class="lang-switch"><span class="offscreen">${t("lang.switch")}</span>
    <select data-testid="lang-switch" value=${lang()} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${LANGS.map((code) => html`<option value=${code}>${t("lang." + code)}</option>`)}
    </select></label>`;
}

function Shell({ session, onSignOut, onLang, children, current }) {
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [location.pathname]);
  return html`<div class="shell">
    <header class="topbar">
      <button type="button" class="btn btn-small menu-toggle" aria-expanded=${open} onClick=${() => setOpen(!open)}>☰ ${t("nav.menu")}</button>
      <${Link} href=${home(session)} class="brand">onegate</${Link}>
      <span class="spacer"></span>
      <span class="who" data-testid="who">${session.shown_name} · ${t("role." + session.role)}</span>
      <${LangSwitch} onChange=${onLang} />
      <button type="button" class="btn btn-small" data-testid="sign-out" onClick=${onSignOut}>${t("action.sign_out")}</button>
    </header>
    <nav class=${"nav" + (open ? " open" : "")} aria-label=${t("nav.menu")} data-testid="nav">
      ${visiblePages(session.role).map((page) => html`<${Link} href=${BASE + page.path} data-page=${page.name}
          class=${"nav-link" + (current === page.name ? " active" : "")} aria-current=${current === page.name ? "page" : undefined}>
          <span class="icon" aria-hidden="true">${page.icon}</span>${t("nav." + page.name)}</${Link}>`)}
    </nav>
    <main class="main">${children}</main>
  </div>`;
}

function App() {
  const [session, setSession] = useState(undefined); // undefined: asking; null: signed out
  const [, setTick] = useState(0);
  const rerender = () => setTick((n) => n + 1);

  const signedIn = (info) => { setCsrf(info?.csrf_token); setSession(info || null); };
  useEffect(() => {
    const off = onUrlChange(rerender);
    onUnauthorized(() => { setCsrf(null); setSession(null); });
    get("/session").then(signedIn, () => signedIn(null));
    return off;
  }, []);

  const route = routeOf(location.pathname);
  useEffect(() => {
    if (session === null && route !== SIGNIN) {
      const back = location.pathname + location.search;
      navigate(BASE + SIGNIN.path + (route && route !== "missing" ? "?next=" + encodeURIComponent(back) : ""), { replace: true });
    } else if (session && (route === null || route === SIGNIN)) {
      const next = readQuery().next;
      navigate(next && next.startsWith(BASE + "/") ? next : home(session), { replace: true });
    }
  }, [session, route]);

  const changeLang = (code) => { setLang(code); document.title = t("app.title"); rerender(); };
  const signOut = async () => {
    try { await del("/session"); } catch (error) { toast(error.message, "error"); }
    signedIn(null);
  };
  document.title = t("app.title");

  if (session === undefined) return html`<p class="muted boot">${t("state.loading")}</p><${Toasts} />`;
  if (session === null || route === SIGNIN) {
    return html`<div class="signin-shell"><div class="signin-lang"><${LangSwitch} onChange=${changeLang} /></div>
      ${route === SIGNIN ? html`<${PageHost} page=${SIGNIN} session=${session} onSession=${signedIn} />` : null}</div><${Toasts} />`;
  }
  let content;
  if (route === "missing") content = html`<p class="muted">${t("state.not_found")}</p>`;
  else if (route === null) content = null;
  else if (!route.roles.includes(session.role)) content = html`<p class="error">${t("error.forbidden")}</p>`;
  else content = html`<${PageHost} key=${route.name} page=${route} session=${session} onSession=${signedIn} />`;
  return html`<${Shell} session=${session} onSignOut=${signOut} onLang=${changeLang} current=${route && route.name}>${content}</${Shell}><${Toasts} />`;
}

render(html`<${App} />`, document.getElementById("app"));
