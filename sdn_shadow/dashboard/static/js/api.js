// The REST API as the page uses it: a credential in a header, JSON, and the event stream.

export const PREFIX = "/api/v1";

export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((e) => `${e.field}: ${e.reason}`).join("; ") || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

/** A credential: a token (Bearer) or a directory user and password (Basic). */
export function authorization({ token, user, password }) {
  if (user) {
    const bytes = new TextEncoder().encode(`${user}:${password || ""}`);
    return `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  return `Bearer ${token}`;
}

export class Api {
  constructor(auth) {
    this.auth = auth; // the Authorization header's value, never a cookie
  }

  async request(method, path, body) {
    const headers = { Authorization: this.auth, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(PREFIX + path, {
      method, headers, credentials: "omit", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, data.errors || []);
    return data;
  }

  get(path) { return this.request("GET", path); }
  put(path, body) { return this.request("PUT", path, body); }
  post(path, body) { return this.request("POST", path, body); }
  delete(path) { return this.request("DELETE", path); }

  /** Read the server-sent events of /stream from cursor `since` (null: from now), which
   *  the controller's mount `start` gave (null: not known yet), calling on(kind, data) for
   *  each; ends with it. */
  async stream(since, start, on, signal) {
    const params = new URLSearchParams();
    if (since !== null) params.set("since", since);
    if (start) params.set("start", start);
    const query = params.toString() ? `?${params}` : "";
    const r = await fetch(`${PREFIX}/stream${query}`, {
      headers: { Authorization: this.auth, Accept: "text/event-stream" },
      credentials: "omit", cache: "no-store", signal,
    });
    if (!r.ok) {
      const data = await r.json().catch(() => ({}));
      throw new ApiError(r.status, data.errors || []);
    }
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) kind = line.slice(7);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        if (data.length) on(kind, JSON.parse(data.join("\n")));
      }
    }
  }
}
