// A chat over HTTP: POST /v1/chat/completions with stream: true, read as Server-Sent Events.

import { ApiError, apiUrl, authHeaders, readJson } from "./api.js";

const BOUNDARY = /\r\n\r\n|\n\n|\r\r/;

/** The data of each event in a text/event-stream body, as strings. */
export async function* sseData(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let match;
      while ((match = BOUNDARY.exec(buffer)) !== null) {
        const event = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        const data = event
          .split(/\r\n|\r|\n/)
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
        if (data.length) yield data.join("\n");
      }
    }
  } finally {
    // Stops the download if the reader leaves early (a no-op once the body ended).
    reader.cancel().catch(() => {});
  }
}

/** Stream one chat; yields OpenAI chunk objects, throws ApiError (or AbortError). */
export async function* chatSse({ model, messages, settings, signal }) {
  const response = await fetch(apiUrl("/v1/chat/completions"), {
    method: "POST",
    headers: authHeaders({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({
      ...settings,
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    }),
    signal,
    cache: "no-store",
    credentials: "omit",
  });
  if (!response.ok) throw new ApiError(response.status, await readJson(response));
  for await (const data of sseData(response.body)) {
    if (data === "[DONE]") return;
    const chunk = JSON.parse(data);
    if (chunk.error) throw new ApiError(response.status, chunk); // the stream failed midway
    yield chunk;
  }
}
