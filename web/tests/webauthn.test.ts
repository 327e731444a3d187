import { describe, expect, it } from "vitest";
import { b64urlToBytes, bytesToB64url, creationOptions, requestOptions } from "../console/webauthn";

describe("WebAuthn JSON conversion", () => {
  it("round-trips base64url without padding, including - and _", () => {
    const bytes = new Uint8Array([0, 251, 255, 62, 63, 1, 2]);
    const text = bytesToB64url(bytes);
    expect(text).not.toMatch(/[+/=]/u);
    expect(Array.from(b64urlToBytes(text))).toEqual(Array.from(bytes));
    expect(bytesToB64url(new Uint8Array(0))).toBe("");
  });

  it("turns the server's creation options into what navigator.credentials.create() takes", () => {
    const opts = creationOptions({
      rp: { id: "localhost", name: "Bastion" },
      user: { id: "dV8x", name: "agent@example.com", displayName: "Jonas" },
      challenge: "AAEC",
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      excludeCredentials: [{ id: "_-8", type: "public-key", transports: ["internal"] }],
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
    });
    expect(Array.from(new Uint8Array(opts.challenge as ArrayBuffer))).toEqual([0, 1, 2]);
    expect(new TextDecoder().decode(opts.user.id as Uint8Array)).toBe("u_1");
    expect(Array.from(opts.excludeCredentials![0]!.id as Uint8Array)).toEqual([255, 239]);
    expect(opts.excludeCredentials![0]!.transports).toEqual(["internal"]);
    expect(opts.authenticatorSelection?.userVerification).toBe("required");
  });

  it("passwordless request options have an empty allow list", () => {
    const opts = requestOptions({ challenge: "AAEC", rpId: "localhost", userVerification: "required" });
    expect(opts.allowCredentials).toEqual([]);
    expect(opts.rpId).toBe("localhost");
  });
});

describe("passkeys' host check", () => {
  it("accepts the RP id's own host and its subdomains only", async () => {
    const { checkHost, WrongHost } = await import("../console/passkeys-api");
    expect(() => checkHost("localhost", "localhost")).not.toThrow();
    expect(() => checkHost("example.com", "chat.example.com")).not.toThrow();
    expect(() => checkHost("localhost", "127.0.0.1")).toThrow(WrongHost);
    expect(() => checkHost("example.com", "badexample.com")).toThrow(WrongHost);
    expect(() => checkHost(undefined, "localhost")).toThrow(WrongHost);
  });
});
