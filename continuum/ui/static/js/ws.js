// A chat over WebSocket: /v1/chat/completions/ws, seed 000's protocol.
//
// The client sends {"token", "model", "messages", "settings"}; the server answers with
// the same chunk objects as the SSE stream, one message each, ending with the chunk
// that carries finish_reason (then a usage chunk, asked for through
// settings.stream_options), or with {"error": {...}}.

import { ApiError, apiBase, session } from "./api.js";

// If no usage chunk follows finish_reason within this time, the answer is complete.
const USAGE_GRACE_MS = 2000;

export function wsUrl() {
  const url = new URL("v1/chat/completions/ws", apiBase);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

function aborted() {
  return new DOMException("The chat was stopped", "AbortError");
}

/** Stream one chat; yields OpenAI chunk objects, throws ApiError (or AbortError). */
export async function* chatWs({ model, messages, settings, signal }) {
  const socket = new WebSocket(wsUrl());
  const queue = [];
  let wake = null;
  const push = (item) => {
    queue.push(item);
    if (wake) wake();
  };
  const opened = new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("close", (event) => reject(new Error(
      `The WebSocket door refused the connection (code ${event.code})`)), { once: true });
  });
  socket.addEventListener("message", (event) => push({ data: event.data }));
  socket.addEventListener("close", (event) => push({ close: event }));
  const stop = () => push({ abort: true });
  signal?.addEventListener("abort", stop, { once: true });
  try {
    await opened;
    socket.send(JSON.stringify({
      token: session.key,
      model,
      messages,
      settings: { ...settings, stream_options: { include_usage: true } },
    }));
    let finished = false;
    for (;;) {
      if (!queue.length) {
        const waiting = new Promise((resolve) => { wake = resolve; });
        const timer = finished ? setTimeout(() => push({ grace: true }), USAGE_GRACE_MS) : null;
        await waiting;
        wake = null;
        if (timer !== null) clearTimeout(timer);
      }
      const item = queue.shift();
      if (item.abort) throw aborted();
      if (item.grace) return;
      if (item.close) {
        if (finished) return;
        throw new Error(`The WebSocket closed mid-answer (code ${item.close.code})`);
      }
      const message = JSON.parse(item.data);
      if (message.error) throw new ApiError(0, message);
      yield message;
      if (message.usage) return; // the last message of an answer
      if ((message.choices || []).some((choice) => choice.finish_reason)) finished = true;
    }
  } finally {
    signal?.removeEventListener("abort", stop);
    if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
      socket.close(1000, "done");
    }
  }
}
