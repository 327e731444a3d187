/**
 * A last look before sending: does the text look like a payment-card number or a password?
 *
 * The server redacts card numbers anyway (docs/security.md); this warning exists because a
 * visitor asked for a card or a password is often being phished, and should stop and think.
 * The card check mirrors the server's: 13–19 digits in groups joined by up to three spaces,
 * dashes, dots, slashes or underscores, with a valid Luhn checksum in a window of whole groups. Full-width digits
 * count (NFKC folds them); the server also reads other scripts' digits.
 */

const SEPARATORS = "[ \\-./_\\u00a0\\u2007\\u2009\\u202f\\u2010-\\u2014\\u2212]";
const DIGIT_RUN = new RegExp(`(?<!\\d)\\d+(?:${SEPARATORS}{1,3}\\d+)*(?!\\d)`, "g");
const GROUP_SPLIT = new RegExp(`${SEPARATORS}+`);
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
  for (const match of text.normalize("NFKC").matchAll(DIGIT_RUN)) {
    const groups = match[0].split(GROUP_SPLIT);
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
