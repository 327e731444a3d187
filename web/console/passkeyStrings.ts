/**
 * Passkey strings of the console (English). Kept beside the passkey components while the
 * console has one language; they move into `shared/i18n.ts` with the next translation.
 */
export const pk = {
  title: "Passkeys",
  intro:
    "A passkey signs you in with your device's screen lock (fingerprint, face or PIN) instead of a code. It counts as two-step login, and can also sign you in without your password.",
  none: "You have no passkeys yet.",
  add: "Add a passkey",
  addName: "Name for this passkey",
  addNamePlaceholder: "e.g. Work laptop",
  addPassword: "Your password",
  addConfirm: "Create passkey",
  added: "Passkey added.",
  cancel: "Cancel",
  created: "Added {when}",
  lastUsed: "last used {when}",
  neverUsed: "never used",
  rename: "Rename",
  renameSave: "Save",
  renamed: "Passkey renamed.",
  remove: "Remove",
  removeLabel: "Remove passkey {name}",
  removeConfirm: "Remove passkey",
  removePassword: "Your password, to remove it",
  removed: "Passkey removed.",
  unsupported: "This browser cannot use passkeys here (it needs https, or http://localhost).",
  cancelled: "The passkey dialog was closed. Nothing changed.",
  wrongHost: "Passkeys work only at {host}. Open the console there to use them.",
  loginButton: "Sign in with a passkey",
  loginOr: "or",
  loginStep: "Use your passkey",
  loginStepHint: "Your password is right. Finish signing in with your passkey.",
  loginBusy: "Waiting for your passkey…",
} as const;
