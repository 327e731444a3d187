/**
 * A short tone when something new needs the agent (a chat in the queue, a visitor's
 * message in one of their chats they are not looking at), and whether they want it.
 *
 * Web Audio, no sound file: nothing to fetch, nothing for the CSP to allow. A browser that
 * refuses to play (no audio device, no user gesture yet) stays silent; the tab title
 * still counts.
 */

const KEY = "bastion:console:sound";

export function soundWanted(): boolean {
  try {
    return globalThis.localStorage?.getItem(KEY) !== "off";
  } catch {
    return true;
  }
}

export function rememberSound(on: boolean): void {
  try {
    globalThis.localStorage?.setItem(KEY, on ? "on" : "off");
  } catch {
    // Storage refused (private mode): the choice lasts this page only.
  }
}

export function chime(): void {
  const Context = globalThis.AudioContext;
  if (!Context) return;
  try {
    const ctx = new Context();
    const tone = ctx.createOscillator();
    const volume = ctx.createGain();
    tone.frequency.value = 880;
    volume.gain.value = 0.06;
    tone.connect(volume).connect(ctx.destination);
    tone.onended = () => void ctx.close();
    tone.start();
    tone.stop(ctx.currentTime + 0.15);
  } catch {
    // No audio here: the title still says it.
  }
}
