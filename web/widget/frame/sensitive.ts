/**
 * A last look before sending: does the text look like a payment-card number or a password?
 *
 * The server redacts card numbers anyway (docs/security.md); this warning exists because a
 * visitor asked for a card or a password is often being phished, and should stop and think.
 * The card check mirrors the server's: 13–19 digits in groups joined by one space, dash or
 * no-break space, with a valid Luhn checksum in a window of whole groups.
 */

const DIGIT_RUN = /(?<!\d)\d+(?:[ \-\u00a0]\d+)*(?!\d)/g;
const PASSWORD_WORDS = /(password|passwort|slaptažod|slaptazod)/i;

export type SensitiveKind = "card" | "password";

export function luhnValid(digits: string): boolean {
  let total = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d > 4 ? d * 2 - 9 : d * 2;
    total += d;
  }
  return total % 10 === 0;
}

export function looksLikeCard(text: string): boolean {
  for (const match of text.matchAll(DIGIT_RUN)) {
    const groups = match[0].split(/[ \-\u00a0]/);
    for (let i = 0; i < groups.length; i++) {
      let digits = "";
      for (let j = i; j < groups.length; j++) {
        digits += groups[j];
        if (digits.length > 19) break;
        if (digits.length >= 13 && luhnValid(digits)) return true;
      }
    }
  }
  return false;
}

/** What the text looks like it contains, card first; null when nothing. */
export function sensitiveKind(text: string): SensitiveKind | null {
  if (looksLikeCard(text)) return "card";
  if (PASSWORD_WORDS.test(text)) return "password";
  return null;
}
