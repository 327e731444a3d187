/** A small JSON-over-fetch helper shared by the widget frame and the console. */
import type { ApiErrorBody, EventsResponse, SeqEvent, UploadResponse } from "./protocol";

/** A REST call that failed: the server's stable `code` and `message`, or a network failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** `otp_required`: whether a code can be e-mailed for this account. */
  readonly emailCode: boolean;

  constructor(status: number, body: Partial<ApiErrorBody>) {
    super(typeof body.message === "string" ? body.message : `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = typeof body.code === "string" ? body.code : status === 0 ? "network_error" : "http_error";
    this.field = typeof body.field === "string" ? body.field : undefined;
    this.emailCode = (body as { email_code?: unknown }).email_code === true;
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

async function failure(response: Response): Promise<ApiError> {
  let data: unknown = null;
  try {
    data = JSON.parse(await response.text());
  } catch {
    data = null;
  }
  return new ApiError(response.status, typeof data === "object" && data !== null ? (data as ApiErrorBody) : {});
}

/**
 * Uploads a file into a conversation: the body is the file itself, its name a query parameter.
 * The server finds the type from the content, scans it, and answers once it is stored.
 */
export async function uploadFile(
  conversation: string,
  file: Blob,
  name: string,
  headers: Record<string, string>,
  fetchFn: Fetch = fetch,
): Promise<UploadResponse> {
  const url = `/api/v1/conversations/${encodeURIComponent(conversation)}/files?name=${encodeURIComponent(name)}`;
  let response: Response;
  try {
    response = await fetchFn(url, {
      method: "POST",
      body: file,
      headers: { Accept: "application/json", "Content-Type": "application/octet-stream", ...headers },
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, { message: err instanceof Error ? err.message : "network error" });
  }
  if (!response.ok) throw await failure(response);
  return (await response.json()) as UploadResponse;
}

/** Fetches a shared file's bytes (with the caller's credentials) as a Blob. */
export async function downloadFile(
  fileId: string,
  headers: Record<string, string>,
  fetchFn: Fetch = fetch,
): Promise<Blob> {
  let response: Response;
  try {
    response = await fetchFn(`/api/v1/files/${encodeURIComponent(fileId)}`, {
      headers,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, { message: err instanceof Error ? err.message : "network error" });
  }
  if (!response.ok) throw await failure(response);
  return await response.blob();
}

/** Hands a Blob to the browser as a download named `name` (never opened in the page). */
export function saveBlob(blob: Blob, name: string): void {
  // application/octet-stream: the browser saves it rather than rendering it.
  const url = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** "1.2 MB" style sizes for file messages. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
