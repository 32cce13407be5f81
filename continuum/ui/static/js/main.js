// The console's entry point: log in, switch views, wire the parts together.

import { api, session } from "./api.js";
import { createKeys } from "./keys.js";
import { createPlayground } from "./playground.js";
import { createUsage } from "./usage.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["playground", "usage", "keys"];

const notice = $("notice");
function notify(message, kind = "error") {
  notice.textContent = message || "";
  notice.className = kind;
  notice.hidden = !message;
}

const playground = createPlayground({
  form: $("chat-form"), model: $("chat-model"), door: $("chat-door"),
  temperature: $("chat-temperature"), maxTokens: $("chat-max-tokens"), input: $("chat-input"),
  send: $("chat-send"), stop: $("chat-stop"), clear: $("chat-clear"),
  transcript: $("transcript"), empty: $("chat-empty"),
  stats: { ttft: $("stat-ttft"), tokens: $("stat-tokens"), rate: $("stat-rate"),
    total: $("stat-total"), state: $("stat-status") },
}, notify);

const usage = createUsage({
  scope: $("usage-scope"), scopeLabel: $("usage-scope-label"), measure: $("usage-measure"),
  refresh: $("usage-refresh"), totals: $("usage-totals"), modelsChart: $("chart-models"),
  daysChart: $("chart-days"), table: $("usage-table"),
}, notify);

const keys = createKeys({
  form: $("key-form"), name: $("key-name"), owner: $("key-owner"), models: $("key-models"),
  limits: $("key-limits"), ttl: $("key-ttl"), admin: $("key-admin"),
  created: $("key-created"), secret: $("key-secret"), table: $("keys-table"),
}, notify);

let who = null;

function show(view) {
  if (!who) return;
  if (!VIEWS.includes(view) || (view === "keys" && !who.admin)) view = "playground";
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll("#tabs a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.body.dataset.view = view;
  if (view === "usage") usage.load();
  if (view === "keys") keys.load();
}

function signedIn(info) {
  who = info;
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("who").hidden = false;
  const name = info.name === info.user ? info.name : `${info.name} (${info.user})`;
  $("who-name").textContent = info.admin_key ? "admin key" : name;
  document.querySelector('#tabs a[data-view="keys"]').hidden = !info.admin;
  playground.setModels(info.models);
  usage.setAdmin(info.admin, info.admin_key);
  show(location.hash.slice(1) || "playground");
}

function signedOut(message) {
  who = null;
  session.key = null;
  playground.reset();
  keys.reset();
  for (const name of VIEWS) $(`view-${name}`).hidden = true;
  $("tabs").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  document.body.dataset.view = "login";
  notify(message || null);
  $("login-key").focus();
}

async function resume() {
  try {
    const info = await api("/ui/api/session");
    if (info.valid) signedIn(info);
    else signedOut(info.error?.message || "This key was not accepted.");
  } catch (error) {
    signedOut(`Could not reach the gateway: ${error.message}`);
  }
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("login-key");
  session.key = input.value.trim();
  input.value = "";
  notify(null);
  resume();
});
$("logout").addEventListener("click", () => signedOut());
window.addEventListener("hashchange", () => show(location.hash.slice(1)));

if (session.key) resume();
else signedOut();
