/* The server's event stream (GET api/events, server-sent events) read with fetch, so that it can
 * carry the token; reconnects after a drop and resumes from the last event id. */
import { session } from "./core.js";

const listeners = new Map();
let lastId = null;
let controller = null;

/* Call ``handler(data)`` on each event of ``type`` (alarm, workorder); returns the unsubscribe. */
export function on(type, handler) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(handler);
  return () => listeners.get(type).delete(handler);
}

function dispatch(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (name === "event") type = value;
    else if (name === "data") data.push(value);
    else if (name === "id") lastId = value;
  }
  if (!data.length) return;
  let parsed;
  try {
    parsed = JSON.parse(data.join("\n"));
  } catch {
    parsed = data.join("\n");
  }
  for (const handler of listeners.get(type) || []) handler(parsed);
}

async function read(signal) {
  const headers = { Accept: "text/event-stream", Authorization: "Bearer " + session.token };
  if (lastId) headers["Last-Event-ID"] = lastId;
  const response = await fetch("api/events", { headers, signal, cache: "no-store" });
  if (!response.ok || !response.body) throw new Error("events: " + response.status);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

/* Keep reading the stream until ``stop``; a failed read is retried after a pause. */
export function start() {
  stop();
  controller = new AbortController();
  const signal = controller.signal;
  (async () => {
    let pause = 1000;
    while (!signal.aborted) {
      try {
        await read(signal);
        pause = 1000;
      } catch {
        if (signal.aborted) return;
        pause = Math.min(pause * 2, 30000);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  })();
}

export function stop() {
  if (controller) controller.abort();
  controller = null;
}
