import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../shared/http";
import { downloadTranscript } from "../widget/frame/transcript";

describe("downloadTranscript", () => {
  it("sends the token in a header and saves the text through a blob link", async () => {
    const fetchFn = vi.fn(async () => new Response("Chat transcript\n", { status: 200 }));
    const clicked: HTMLAnchorElement[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this);
    });
    const blobs: Blob[] = [];
    await downloadTranscript("c_abc", "vt_secret", {
      fetchFn,
      createUrl: (b) => {
        blobs.push(b);
        return "blob:test/1";
      },
      revokeUrl: () => undefined,
    });
    const [url, init] = fetchFn.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/v1/conversations/c_abc/transcript");
    expect(url).not.toContain("vt_secret");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer vt_secret");
    expect(clicked).toHaveLength(1);
    expect(clicked[0]?.download).toBe("transcript-c_abc.txt");
    expect(clicked[0]?.isConnected).toBe(false);
    expect(blobs[0]?.type).toBe("text/plain;charset=utf-8");
    expect(await blobs[0]?.text()).toBe("Chat transcript\n");
    click.mockRestore();
  });

  it("turns a refusal into an ApiError and saves nothing", async () => {
    const fetchFn = vi.fn(async () => new Response("{}", { status: 404 }));
    const createUrl = vi.fn(() => "blob:x");
    await expect(downloadTranscript("c_other", "vt_x", { fetchFn, createUrl })).rejects.toBeInstanceOf(ApiError);
    expect(createUrl).not.toHaveBeenCalled();
  });
});
