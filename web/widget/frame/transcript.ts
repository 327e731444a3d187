/**
 * "Download transcript": fetches the visitor's own conversation as a text file (the visitor
 * token travels in a header, never in a URL) and saves it through a temporary blob link.
 */
import { ApiError, type Fetch } from "../../shared/http";

export interface SaveDeps {
  fetchFn?: Fetch;
  doc?: Document;
  createUrl?: (blob: Blob) => string;
  revokeUrl?: (url: string) => void;
}

export async function downloadTranscript(conversation: string, token: string, deps: SaveDeps = {}): Promise<void> {
  const fetchFn = deps.fetchFn ?? fetch;
  const doc = deps.doc ?? document;
  const createUrl = deps.createUrl ?? ((b: Blob) => URL.createObjectURL(b));
  const revokeUrl = deps.revokeUrl ?? ((u: string) => URL.revokeObjectURL(u));
  let response: Response;
  try {
    response = await fetchFn(`/api/v1/conversations/${encodeURIComponent(conversation)}/transcript`, {
      headers: { Authorization: `Bearer ${token}` },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, { message: err instanceof Error ? err.message : "network error" });
  }
  if (!response.ok) throw new ApiError(response.status, {});
  // Typed as plain text whatever the server said: the browser saves it, never renders it.
  const blob = new Blob([await response.text()], { type: "text/plain;charset=utf-8" });
  const url = createUrl(blob);
  const link = doc.createElement("a");
  link.href = url;
  link.download = `transcript-${conversation.replace(/[^A-Za-z0-9_-]/gu, "")}.txt`;
  link.hidden = true;
  doc.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => revokeUrl(url), 10_000);
}
