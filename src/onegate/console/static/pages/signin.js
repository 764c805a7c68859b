// Sign in with an admin token, ONEGATE_ADMIN_TOKEN or your own sk-og- key: the server answers with an
// HttpOnly session cookie and a CSRF token; the token itself is not kept by the page.
import { html, useState } from "../preact.js";
import { api } from "../api.js";
import { useSubmit } from "../ui.js";

export const messages = {
  en: {
    title: "Sign in to onegate",
    intro: "Use the admin token you were given, or your own API key (sk-og-…) to see your key's balance, logs and setup.",
    token: "Admin token or API key",
    submit: "Sign in",
    working: "Signing in…",
    failed: "That token or key was not accepted.",
    session_note: "You stay signed in on this browser for 12 hours or until you sign out.",
  },
  zh: {
    title: "登录 onegate",
    intro: "使用分配给你的管理员令牌；或用你自己的 API 密钥（sk-og-…）查看该密钥的余额、日志和配置方法。",
    token: "管理员令牌或 API 密钥",
    submit: "登录",
    working: "正在登录…",
    failed: "令牌或密钥无效。",
    session_note: "在此浏览器上保持登录 12 小时，或直到你退出登录。",
  },
};

export function Page({ t, onSession }) {
  const [token, setToken] = useState("");
  const { busy, error, submit } = useSubmit(async () => {
    const info = await api("POST", "/session", { token: token.trim() });
    setToken("");
    onSession(info);
  }, (err) => (err.status === 401 || err.status === 403 ? t("failed") : err.message));
  return html`<form class="signin card" onSubmit=${submit} data-testid="signin">
    <h1>${t("title")}</h1>
    <p class="muted">${t("intro")}</p>
    <label class="field"><span class="field-label">${t("token")}</span>
      <input type="password" name="token" autocomplete="current-password" required maxlength="500"
        value=${token} onInput=${(e) => setToken(e.currentTarget.value)} autofocus /></label>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? t("working") : t("submit")}</button>
    <p class="muted small">${t("session_note")}</p>
  </form>`;
}
