// Talking to the gateway: the key kept for this tab, JSON calls, and their errors.

const STORAGE_KEY = "continuum.key";

// The API lives one level above /ui/, wherever the gateway is mounted.
export const apiBase = new URL("../", document.baseURI);

export const session = {
  get key() {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  set key(value) {
    if (value) sessionStorage.setItem(STORAGE_KEY, value);
    else sessionStorage.removeItem(STORAGE_KEY);
  },
};

export function apiUrl(path) {
  return new URL(path.replace(/^\//, ""), apiBase);
}

/** An OpenAI-style error object from the gateway ({"error": {message, type, code}}). */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || null;
  }
}

export function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${session.key}`, ...extra };
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}

/** Call the gateway with the session's key; resolves to the JSON body or throws ApiError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = authHeaders(body === undefined ? {} : { "Content-Type": "application/json" });
  const response = await fetch(apiUrl(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
    credentials: "omit",
  });
  const data = await readJson(response);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export { readJson };
