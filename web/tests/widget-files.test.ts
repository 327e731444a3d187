import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseServerFrame } from "../shared/protocol";
import { connect, SESSION_OK, settle, sockets, startFrame, stubFetch } from "./frame-harness";

const ACTIVE = [{ id: "c_1", state: "active", last_seq: 0, created_at: "x", agent: { name: "Jonas" } }];
const NAME = '<img src=x onerror=alert(1)>.pdf';

function fileFrame(seq = 1) {
  return {
    t: "file",
    conversation: "c_1",
    seq,
    file: { id: "f_1", name: NAME, size: 2048, type: "application/pdf", author: { kind: "agent", name: "Jonas" }, ts: "2026-01-01T10:00:00Z" },
  };
}

describe("widget files", () => {
  beforeEach(() => {
    sockets.length = 0;
    localStorage.clear();
    document.body.replaceChildren();
    stubFetch([SESSION_OK]);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("parses file events and refuses malformed ones", () => {
    expect(parseServerFrame(JSON.stringify(fileFrame()))).not.toBeNull();
    expect(parseServerFrame(JSON.stringify({ ...fileFrame(), file: { id: 1 } }))).toBeNull();
  });

  it("shows a file as text with a download button, fetched with the visitor's token", async () => {
    const { root } = await startFrame({ stored: { token: "vt_old", conversation: "c_1" } });
    const ws = await connect(ACTIVE);
    ws.receive(fileFrame());
    await settle();
    const item = root.querySelector('[data-testid="file"]')!;
    expect(item.querySelector(".file-name")!.textContent).toBe(NAME);
    expect(item.querySelector("img")).toBeNull();
    // No scanner on this server (config.files absent): no attach button.
    expect(root.querySelector<HTMLButtonElement>('[data-testid="attach"]')!.hidden).toBe(true);

    const seen: { url: string; auth: string | undefined }[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init?: RequestInit) => {
        seen.push({ url, auth: (init?.headers as Record<string, string> | undefined)?.Authorization });
        return new Response("%PDF-1.4", { status: 200 });
      }),
    );
    URL.createObjectURL = vi.fn(() => "blob:x");
    URL.revokeObjectURL = vi.fn();
    item.querySelector<HTMLButtonElement>('[data-testid="file-download"]')!.click();
    await settle();
    expect(seen).toEqual([{ url: "/api/v1/files/f_1", auth: "Bearer vt_new" }]);
  });
});
