import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseServerFrame } from "../shared/protocol";
import { connect, freshFrame, settle, startFrame } from "./frame-harness";

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
    freshFrame();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("parses file events and refuses malformed ones", () => {
    expect(parseServerFrame(JSON.stringify(fileFrame()))).not.toBeNull();
    expect(parseServerFrame(JSON.stringify({ ...fileFrame(), file: { id: 1 } }))).toBeNull();
  });

  it("offers the server's file types in the picker and says why an empty file is not sent", async () => {
    const files = { max_bytes: 1000, types: ["image/png", "application/pdf", "bad type,*/*"] };
    const { root, view } = await startFrame({ stored: { token: "vt_old", conversation: "c_1" }, config: { files } });
    await connect(ACTIVE);
    expect(view.attach.hidden).toBe(false);
    // Only well-formed types: a value cannot widen the list with a comma.
    expect(view.fileInput.accept).toBe("image/png,application/pdf");

    const uploads: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        uploads.push(url);
        return new Response(JSON.stringify({ code: "file_empty", message: "the file is empty" }), { status: 422 });
      }),
    );
    const choose = async (file: File) => {
      Object.defineProperty(view.fileInput, "files", { configurable: true, value: [file] });
      view.fileInput.dispatchEvent(new Event("change"));
      await settle();
    };
    // Empty on the visitor's disk: refused here, with the reason, and nothing is uploaded.
    await choose(new File([], "empty.txt", { type: "text/plain" }));
    expect(uploads).toEqual([]);
    expect(view.notice.textContent).toBe("That file is empty.");
    // Emptied after it was chosen: the server's code gets the same words, not "try again".
    await choose(new File(["x"], "notes.txt", { type: "text/plain" }));
    expect(uploads).toHaveLength(1);
    expect(view.notice.textContent).toBe("That file is empty.");
    expect(root.querySelector('[data-testid="file"]')).toBeNull();
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
