/**
 * WebAuthn in the browser: the server's `publicKey` options arrive as JSON with binary values
 * in base64url; the browser API wants ArrayBuffers, and answers with ArrayBuffers the server
 * wants back as base64url (the `PublicKeyCredential.toJSON()` shape). Written out by hand so it
 * works in browsers without `parseCreationOptionsFromJSON`.
 */

type Json = Record<string, unknown>;

export function b64urlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/gu, "+").replace(/_/gu, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToB64url(data: ArrayBuffer | ArrayBufferView): string {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/gu, "-").replace(/\//gu, "_").replace(/=+$/u, "");
}

interface DescriptorJson {
  id: string;
  type: string;
  transports?: string[];
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] {
  if (!Array.isArray(list)) return [];
  return (list as DescriptorJson[]).map((d) => ({
    id: b64urlToBytes(d.id),
    type: "public-key",
    ...(Array.isArray(d.transports) ? { transports: d.transports as AuthenticatorTransport[] } : {}),
  }));
}

/** `navigator.credentials.create()` options from the server's JSON. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const user = json.user as { id: string; name: string; displayName: string };
  return {
    ...(json as unknown as PublicKeyCredentialCreationOptions),
    challenge: b64urlToBytes(String(json.challenge)),
    user: { id: b64urlToBytes(user.id), name: user.name, displayName: user.displayName },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

/** `navigator.credentials.get()` options from the server's JSON. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  return {
    ...(json as unknown as PublicKeyCredentialRequestOptions),
    challenge: b64urlToBytes(String(json.challenge)),
    allowCredentials: descriptors(json.allowCredentials),
  };
}

function base(cred: PublicKeyCredential): Json {
  return {
    id: cred.id,
    rawId: bytesToB64url(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? null,
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

/** What `navigator.credentials.create()` gave, as the server reads it. */
export function registrationJson(cred: PublicKeyCredential): Json {
  const r = cred.response as AuthenticatorAttestationResponse;
  return {
    ...base(cred),
    response: {
      clientDataJSON: bytesToB64url(r.clientDataJSON),
      attestationObject: bytesToB64url(r.attestationObject),
      transports: typeof r.getTransports === "function" ? r.getTransports() : [],
    },
  };
}

/** What `navigator.credentials.get()` gave, as the server reads it. */
export function assertionJson(cred: PublicKeyCredential): Json {
  const r = cred.response as AuthenticatorAssertionResponse;
  return {
    ...base(cred),
    response: {
      clientDataJSON: bytesToB64url(r.clientDataJSON),
      authenticatorData: bytesToB64url(r.authenticatorData),
      signature: bytesToB64url(r.signature),
      userHandle: r.userHandle ? bytesToB64url(r.userHandle) : null,
    },
  };
}

/** Passkeys need the WebAuthn API and a secure context (https, or http://localhost). */
export function passkeysSupported(): boolean {
  return typeof window !== "undefined" && window.isSecureContext && typeof window.PublicKeyCredential === "function";
}

/** The person closed the browser's dialog, or it timed out: not an error worth a red line. */
export function isCancelled(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "NotAllowedError" || err.name === "AbortError");
}
