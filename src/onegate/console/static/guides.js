// "Set up a client": the server's setup guides (GET /admin/api/v1/setup, or a new key's answer) as tabs,
// one per client, each field, file and test command with a copy button. Given the one-time `secret`, the
// guides' key placeholder and the key field naming its `mask` show it (only in the creation dialog); otherwise the placeholder stays,
// so a page never shows a full key.
import { html, useState } from "./preact.js";
import { t } from "./i18n.js";
import { CopyButton } from "./ui.js";

// what the server writes where the key goes (setup.key_placeholder in src/onegate/i18n/messages.yaml)
const PLACEHOLDERS = ["<your onegate key>", "<你的 onegate 密钥>"];

export function withSecret(text, secret, mask) {
  if (!secret || !text) return text;
  if (mask && text.includes(mask)) return secret; // a key field: "your onegate key (sk-…abcd)"
  return PLACEHOLDERS.reduce((out, placeholder) => out.split(placeholder).join(secret), text);
}

export function SetupGuides({ guides, secret, mask }) {
  const [chosen, setChosen] = useState(0);
  if (!guides || guides.length === 0) return null;
  const guide = guides[Math.min(chosen, guides.length - 1)];
  const fill = (text) => withSecret(text, secret, mask);
  return html`<section class="guides" data-testid="setup-guides">
    <h3>${t("setup.title")}</h3>
    <div class="tabs" role="tablist">
      ${guides.map((g, i) => html`<button type="button" role="tab" aria-selected=${i === chosen} data-client=${g.client}
          class=${"tab" + (i === chosen ? " active" : "")} onClick=${() => setChosen(i)}>${g.title}</button>`)}
    </div>
    <div class="guide" data-testid=${"guide-" + guide.client}>
      <p>${guide.intro}</p>
      ${guide.fields.length ? html`<h4>${t("setup.fields")}</h4>
        <dl class="kv">${guide.fields.map((f) => html`<dt>${f.label}</dt>
          <dd class="row"><code class="grow">${fill(f.value)}</code><${CopyButton} text=${fill(f.value)} /></dd>`)}</dl>` : null}
      ${guide.snippets.map((s) => html`<div class="snippet">
        <div class="snippet-head"><h4>${s.title}${s.filename ? html` <code>${s.filename}</code>` : null}</h4>
          <${CopyButton} text=${fill(s.content)} /></div>
        <pre>${fill(s.content)}</pre></div>`)}
      ${guide.test_command ? html`<div class="snippet">
        <div class="snippet-head"><h4>${t("setup.test")}</h4><${CopyButton} text=${fill(guide.test_command)} testid="copy-test" /></div>
        <pre>${fill(guide.test_command)}</pre></div>` : null}
      ${guide.notes.length ? html`<ul class="notes">${guide.notes.map((n) => html`<li>${n}</li>`)}</ul>` : null}
    </div>
  </section>`;
}
