/**
 * Every user-visible string of the widget and the console. The widget speaks English and
 * Lithuanian; the console English. A table of another language must have exactly the keys of
 * the English one (the type checks it, and a test checks it at run time).
 */

const widgetEn = {
  title: "Chat",
  launcherLabel: "Chat",
  minimise: "Minimise chat",
  reminder: "We will never ask for your password or card number.",
  prechatIntro: "Tell us a little about yourself and we will be right with you.",
  optional: "(optional)",
  fieldName: "Name",
  fieldEmail: "Email",
  fieldMessage: "How can we help?",
  start: "Start chat",
  privacyPolicy: "Privacy policy",
  consentNeeded: "Please accept to continue.",
  composerLabel: "Message",
  composerPlaceholder: "Write a message…",
  send: "Send",
  end: "End chat",
  connecting: "Connecting…",
  reconnecting: "Connection lost. Reconnecting…",
  stateWaiting: "Waiting for an agent",
  queuePosition: "You are number {position} in line",
  queueEta: "about {minutes} min",
  stateActive: "You are chatting with {agent}",
  stateActiveNoName: "An agent has joined",
  stateClosed: "This chat has ended",
  typing: "{name} is typing…",
  typingAnonymous: "The agent is typing…",
  eventWaiting: "Chat started. An agent will be with you shortly.",
  eventJoined: "{name} joined the chat",
  eventClosed: "Chat ended",
  eventRatedGood: "You rated this chat: good",
  eventRatedBad: "You rated this chat: bad",
  ratePrompt: "How was this chat?",
  rateGood: "Good",
  rateBad: "Bad",
  rateThanks: "Thank you for your feedback!",
  newChat: "Start a new chat",
  you: "You",
  agent: "Agent",
  system: "Bastion",
  sending: "Sending…",
  notSent: "Not sent: {reason}",
  charsLeft: "{count} characters left",
  errGeneric: "Something went wrong. Please try again.",
  errRateLimited: "You are sending messages too quickly. Please wait a moment.",
  errInvalidState: "This chat has already ended.",
  errConsent: "Please accept the privacy terms to start a chat.",
  errUnavailable: "Chat is unavailable right now. Please try again later.",
  errNoWidget: "This chat is not set up correctly.",
  offline: "We are offline right now. Leave a message and we will get back to you.",
  linkWarning: "Check this link: its address uses unusual characters",
} as const;

export type WidgetKey = keyof typeof widgetEn;
export type StringTable<K extends string> = Readonly<Record<K, string>>;

const widgetLt: StringTable<WidgetKey> = {
  title: "Pokalbis",
  launcherLabel: "Pokalbis",
  minimise: "Suskleisti pokalbį",
  reminder: "Mes niekada neprašysime jūsų slaptažodžio ar mokėjimo kortelės numerio.",
  prechatIntro: "Trumpai prisistatykite ir netrukus jums atsakysime.",
  optional: "(neprivaloma)",
  fieldName: "Vardas",
  fieldEmail: "El. paštas",
  fieldMessage: "Kuo galime padėti?",
  start: "Pradėti pokalbį",
  privacyPolicy: "Privatumo politika",
  consentNeeded: "Norėdami tęsti, pažymėkite sutikimą.",
  composerLabel: "Žinutė",
  composerPlaceholder: "Rašykite žinutę…",
  send: "Siųsti",
  end: "Baigti pokalbį",
  connecting: "Jungiamasi…",
  reconnecting: "Ryšys nutrūko. Jungiamasi iš naujo…",
  stateWaiting: "Laukiama konsultanto",
  queuePosition: "Jūsų vieta eilėje: {position}",
  queueEta: "apie {minutes} min.",
  stateActive: "Jums atsako: {agent}",
  stateActiveNoName: "Konsultantas prisijungė",
  stateClosed: "Pokalbis baigtas",
  typing: "{name} rašo…",
  typingAnonymous: "Konsultantas rašo…",
  eventWaiting: "Pokalbis pradėtas. Konsultantas netrukus atsakys.",
  eventJoined: "{name} prisijungė prie pokalbio",
  eventClosed: "Pokalbis baigtas",
  eventRatedGood: "Jūs įvertinote pokalbį: gerai",
  eventRatedBad: "Jūs įvertinote pokalbį: blogai",
  ratePrompt: "Kaip vertinate šį pokalbį?",
  rateGood: "Gerai",
  rateBad: "Blogai",
  rateThanks: "Ačiū už įvertinimą!",
  newChat: "Pradėti naują pokalbį",
  you: "Jūs",
  agent: "Konsultantas",
  system: "Bastion",
  sending: "Siunčiama…",
  notSent: "Neišsiųsta: {reason}",
  charsLeft: "Liko simbolių: {count}",
  errGeneric: "Kažkas nepavyko. Bandykite dar kartą.",
  errRateLimited: "Siunčiate žinutes per greitai. Palaukite akimirką.",
  errInvalidState: "Šis pokalbis jau baigtas.",
  errConsent: "Norėdami pradėti pokalbį, sutikite su privatumo sąlygomis.",
  errUnavailable: "Pokalbis šiuo metu nepasiekiamas. Bandykite vėliau.",
  errNoWidget: "Šis pokalbių langas netinkamai sukonfigūruotas.",
  offline: "Šiuo metu nedirbame. Palikite žinutę ir mes jums atsakysime.",
  linkWarning: "Atsargiai: nuorodos adrese yra neįprastų simbolių",
};

export const widgetTables = { en: widgetEn, lt: widgetLt } as const satisfies Record<
  string,
  StringTable<WidgetKey>
>;
export type WidgetLanguage = keyof typeof widgetTables;

const consoleEn = {
  appName: "Bastion",
  loading: "Loading…",
  loginTitle: "Sign in to Bastion",
  loginEmail: "Email",
  loginPassword: "Password",
  loginOtp: "One-time code",
  loginOtpOptional: "(optional)",
  loginOtpRequired: "Enter the code from your authenticator app.",
  loginSubmit: "Sign in",
  loginBusy: "Signing in…",
  loginFailed: "Sign-in failed. Please try again.",
  logout: "Log out",
  status: "Status",
  statusOnline: "Online",
  statusAway: "Away",
  waiting: "Waiting",
  myChats: "My chats",
  emptyQueue: "Nobody is waiting.",
  emptyMine: "No active chats.",
  unread: "New messages",
  anonymousVisitor: "Visitor",
  verified: "Verified",
  unverified: "Not verified",
  currentPage: "Viewing",
  noPage: "Page unknown",
  selectChat: "Select a chat from the list.",
  stateWaiting: "Waiting",
  stateActive: "Active",
  stateClosed: "Closed",
  accept: "Accept",
  close: "Close chat",
  reply: "Reply",
  note: "Internal note",
  noteHint: "Internal note — not visible to the visitor",
  acceptToReply: "Accept the chat to reply. Internal notes can be added at any time.",
  closedNoReply: "This chat is closed. Internal notes can still be added.",
  replyPlaceholder: "Write a reply…  (Enter sends, Shift+Enter for a new line)",
  notePlaceholder: "Write an internal note…",
  send: "Send",
  addNote: "Add note",
  typing: "{name} is typing…",
  visitorTyping: "The visitor is typing…",
  eventWaiting: "Chat started; waiting in the queue",
  eventActive: "{name} joined the chat",
  eventClosed: "Chat closed",
  eventRatedGood: "The visitor rated this chat: good",
  eventRatedBad: "The visitor rated this chat: bad",
  sending: "Sending…",
  notSent: "Not sent: {reason}",
  loadFailed: "Could not load the conversation.",
  retry: "Try again",
  connecting: "Connecting…",
  reconnecting: "Connection lost. Reconnecting…",
  sessionExpired: "Your session has ended. Please sign in again.",
  errGeneric: "Something went wrong. Please try again.",
  linkWarning: "Check this link: its address uses unusual characters",
  you: "You",
  system: "System",
  agent: "Agent",
} as const;

export type ConsoleKey = keyof typeof consoleEn;
export const consoleTables = { en: consoleEn } as const satisfies Record<string, StringTable<ConsoleKey>>;

/**
 * Picks the widget language: the widget's configured language if we have it, else the
 * browser's, else English. Only the primary subtag counts ("lt-LT" → "lt").
 */
export function pickWidgetLanguage(configured: string | null | undefined, browser: string | undefined): WidgetLanguage {
  for (const candidate of [configured, browser]) {
    const primary = (candidate ?? "").toLowerCase().split(/[-_]/u)[0];
    if (primary && Object.hasOwn(widgetTables, primary)) return primary as WidgetLanguage;
  }
  return "en";
}

/** Fills `{name}` placeholders; unknown placeholders are left as they are. */
export function format(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/gu, (whole, key: string) =>
    Object.hasOwn(values, key) ? String(values[key]) : whole,
  );
}
