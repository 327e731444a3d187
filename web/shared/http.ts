/** A small JSON-over-fetch helper shared by the widget frame and the console. */
import type { ApiErrorBody, EventsResponse, SeqEvent } from "./protocol";

/** A REST call that failed: the server's stable `code` and `message`, or a network failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, body: Partial<ApiErrorBody>) {
    super(typeof body.message === "string" ? body.message : `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = typeof body.code === "string" ? body.code : status === 0 ? "network_error" : "http_error";
    this.field = typeof body.field === "string" ? body.field : undefined;
  }
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  headers?: Record<string, string>;
  credentials?: RequestCredentials;
  signal?: AbortSignal;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** Sends a request and parses a JSON answer; any non-2xx answer becomes an ApiError. */
export async function requestJson<T>(path: string, options: RequestOptions = {}, fetchFn: Fetch = fetch): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  const init: RequestInit = {
    method: options.method ?? "GET",
    headers,
    credentials: options.credentials ?? "same-origin",
    cache: "no-store",
  };
  if (options.signal) init.signal = options.signal;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetchFn(path, init);
  } catch (err) {
    throw new ApiError(0, { message: err instanceof Error ? err.message : "network error" });
  }
  let data: unknown = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, typeof data === "object" && data !== null ? (data as ApiErrorBody) : {});
  }
  return data as T;
}

/**
 * Fetches a conversation's events after `after`, following pages until the server's
 * `last_seq` is reached (bounded, so a misbehaving server cannot keep us looping).
 */
export async function fetchEvents(
  conversation: string,
  after: number,
  options: Omit<RequestOptions, "method" | "body">,
  fetchFn: Fetch = fetch,
): Promise<SeqEvent[]> {
  const all: SeqEvent[] = [];
  let cursor = after;
  for (let page = 0; page < 50; page++) {
    const url = `/api/v1/conversations/${encodeURIComponent(conversation)}/events?after=${cursor}&limit=200`;
    const res = await requestJson<EventsResponse>(url, options, fetchFn);
    const events = Array.isArray(res.events) ? res.events : [];
    all.push(...events);
    const max = events.reduce((m, e) => Math.max(m, typeof e.seq === "number" ? e.seq : 0), cursor);
    if (events.length === 0 || max <= cursor || typeof res.last_seq !== "number" || max >= res.last_seq) break;
    cursor = max;
  }
  return all;
}
