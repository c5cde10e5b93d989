// The studio's HTTP API; the page uses nothing else (so scripts can do all it does).
const token = new URLSearchParams(location.search).get("token") || "";
const H = { "X-Mixdown-Token": token };

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function check(r) {
  if (r.ok) return r;
  let msg = r.statusText;
  try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
  throw new ApiError(r.status, msg);
}

export async function get(path) {
  return (await check(await fetch(path, { headers: H }))).json();
}

export async function send(method, path, body) {
  const r = await fetch(path, { method, headers: { ...H, "Content-Type": "application/json" },
                                body: body === undefined ? undefined : JSON.stringify(body) });
  return (await check(r)).json();
}

export async function binary(path, headers = {}) {
  const r = await check(await fetch(path, { headers: { ...H, ...headers } }));
  return { buffer: await r.arrayBuffer(), headers: r.headers };
}

export const q = (params) => new URLSearchParams(params).toString();
