// The playground: a multi-turn chat streamed over SSE or WebSocket, with live speed figures.

import { chatSse } from "./sse.js";
import { chatWs } from "./ws.js";

const DOORS = { sse: chatSse, ws: chatWs };

function formatMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Times and token counts of one streamed answer, shown as they change. */
class Meter {
  constructor(fields) {
    this.fields = fields;
    this.started = performance.now();
    this.first = null;
    this.last = null;
    this.deltas = 0;
    this.usage = null;
    this.show("streaming");
  }

  delta() {
    const now = performance.now();
    if (this.first === null) this.first = now;
    this.last = now;
    this.deltas += 1;
    this.show("streaming");
  }

  get tokens() {
    return this.usage ? this.usage.completion_tokens : this.deltas;
  }

  show(status) {
    const { ttft, tokens, rate, total, state } = this.fields;
    const now = this.last ?? performance.now();
    set(ttft, this.first === null ? "–" : formatMs(this.first - this.started),
      this.first === null ? "" : (this.first - this.started).toFixed(1));
    set(tokens, String(this.tokens), String(this.tokens));
    const seconds = this.first === null ? 0 : (now - this.first) / 1000;
    const perSecond = seconds > 0 ? this.tokens / seconds : null;
    set(rate, perSecond === null ? "–" : perSecond.toFixed(1),
      perSecond === null ? "" : perSecond.toFixed(3));
    set(total, formatMs(performance.now() - this.started), "");
    set(state, status, status);
  }
}

function set(element, text, value) {
  element.textContent = text;
  element.dataset.value = value;
}

export function createPlayground(elements, notify) {
  const { form, model, door, temperature, maxTokens, input, send, stop, clear, transcript,
    empty, stats } = elements;
  let history = [];
  let controller = null;

  function message(role, text) {
    const item = document.createElement("li");
    item.className = `message ${role}`;
    const who = document.createElement("span");
    who.className = "role";
    who.textContent = role;
    const content = document.createElement("div");
    content.className = "content";
    content.textContent = text;
    item.append(who, content);
    transcript.append(item);
    item.scrollIntoView({ block: "end" });
    return content;
  }

  function settings() {
    const values = {};
    if (temperature.value !== "") values.temperature = Number(temperature.value);
    if (maxTokens.value !== "") values.max_tokens = Number(maxTokens.value);
    return values;
  }

  function busy(on) {
    send.disabled = on || model.options.length === 0;
    stop.disabled = !on;
    model.disabled = on;
    door.disabled = on;
  }

  async function ask(text) {
    const chosen = model.value;
    history.push({ role: "user", content: text });
    message("user", text);
    const output = message("assistant", "");
    output.parentElement.classList.add("streaming");
    output.parentElement.dataset.door = door.value;
    const meter = new Meter(stats);
    controller = new AbortController();
    busy(true);
    let answer = "";
    try {
      const stream = DOORS[door.value]({
        model: chosen, messages: history, settings: settings(), signal: controller.signal,
      });
      for await (const chunk of stream) {
        if (chunk.usage) meter.usage = chunk.usage;
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) {
          answer += text;
          output.textContent = answer;
          meter.delta();
        }
      }
      history.push({ role: "assistant", content: answer });
      meter.show("done");
    } catch (error) {
      const stopped = error.name === "AbortError";
      meter.show(stopped ? "stopped" : "error");
      if (answer) history.push({ role: "assistant", content: answer });
      else history.pop(); // an unanswered question is not sent again
      if (!stopped) {
        output.parentElement.classList.add("error");
        output.textContent = answer ? `${answer}\n[${error.message}]` : error.message;
        notify(error.message);
      }
    } finally {
      output.parentElement.classList.remove("streaming");
      controller = null;
      busy(false);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || controller) return;
    input.value = "";
    notify(null);
    ask(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stop.addEventListener("click", () => controller?.abort());
  clear.addEventListener("click", () => {
    controller?.abort();
    history = [];
    transcript.replaceChildren();
  });

  return {
    setModels(ids) {
      const previous = model.value;
      model.replaceChildren(...ids.map((id) => new Option(id, id)));
      if (ids.includes(previous)) model.value = previous;
      empty.hidden = ids.length > 0;
      busy(false);
    },
    reset() {
      controller?.abort();
      history = [];
      transcript.replaceChildren();
    },
  };
}
