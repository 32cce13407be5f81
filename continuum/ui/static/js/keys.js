// Key management for admins: POST/GET/DELETE /admin/keys.

import { api } from "./api.js";

function list(text) {
  return text.split(",").map((part) => part.trim()).filter(Boolean);
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "never";
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

export function createKeys(elements, notify) {
  const { form, name, owner, models, limits, ttl, admin, created, secret, table } = elements;

  function state(key) {
    if (key.revoked_at) return "revoked";
    if (key.expires_at && key.expires_at * 1000 < Date.now()) return "expired";
    return "active";
  }

  function revokeButton(key) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "quiet danger";
    button.textContent = "Revoke";
    button.dataset.keyId = key.id;
    // Two clicks: the first arms the button, so a stray click revokes nothing.
    button.addEventListener("click", async () => {
      if (button.dataset.armed !== "true") {
        button.dataset.armed = "true";
        button.textContent = "Confirm revoke";
        return;
      }
      button.disabled = true;
      try {
        await api(`/admin/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
        notify(`Key "${key.name}" revoked.`, "ok");
        await load();
      } catch (error) {
        button.disabled = false;
        notify(`Revoke: ${error.message}`);
      }
    });
    return button;
  }

  function row(key) {
    const tr = document.createElement("tr");
    tr.dataset.keyId = key.id;
    tr.dataset.state = state(key);
    const actions = document.createElement("td");
    if (!key.revoked_at) actions.append(revokeButton(key));
    tr.append(
      cell(key.name), cell(key.id, "mono"), cell(key.owner),
      cell(key.permissions === null ? "all" : key.permissions.join(", ") || "none"),
      cell(key.rate_limit.length ? key.rate_limit.join(", ") : "none"),
      cell(key.admin ? "yes" : "no"), cell(when(key.created)), cell(when(key.expires_at)),
      cell(state(key), `state ${state(key)}`), actions,
    );
    return tr;
  }

  async function load() {
    try {
      const data = await api("/admin/keys");
      const keys = [...data.data].sort((a, b) => b.created - a.created);
      table.tBodies[0].replaceChildren(...keys.map(row));
    } catch (error) {
      notify(`Keys: ${error.message}`);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim(), admin: admin.checked };
    if (owner.value.trim()) body.owner = owner.value.trim();
    if (models.value.trim()) body.permissions = list(models.value);
    if (limits.value.trim()) body.rate_limit = list(limits.value);
    if (ttl.value) body.ttl_seconds = Number(ttl.value);
    try {
      const made = await api("/admin/keys", { method: "POST", body });
      form.reset(); // before showing the key: a reset empties <output> too
      secret.textContent = made.key;
      created.hidden = false;
      notify(null);
      await load();
    } catch (error) {
      notify(`Create: ${error.message}`);
    }
  });

  return {
    load,
    reset() {
      secret.textContent = "";
      created.hidden = true;
      table.tBodies[0].replaceChildren();
    },
  };
}
