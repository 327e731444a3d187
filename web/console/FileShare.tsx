/**
 * Files in the console: a shared file as a download link (the session cookie authenticates;
 * the server sends it as an attachment, never rendered inline), and the attach button.
 */
import { useRef, useState } from "preact/hooks";
import { ApiError, formatSize } from "../shared/http";
import { format } from "../shared/i18n";
import type { FileEvent } from "../shared/protocol";
import { errorText } from "./labels";
import { t } from "./strings";

export function FileItem({ ev, timeOf }: { ev: FileEvent; timeOf: (ts: string) => string }) {
  const f = ev.file;
  const kind = f.author.kind;
  const name = f.author.name || (kind === "visitor" ? t.anonymousVisitor : kind === "agent" ? t.agent : t.system);
  return (
    <div class={`msg msg--${kind} msg--file`} data-testid="file" data-seq={ev.seq} data-author={kind}>
      <div class="meta">
        <span class="author">{name}</span>
        <time dateTime={f.ts}>{timeOf(f.ts)}</time>
      </div>
      <div class="body file-body">
        <span class="file-name" data-testid="file-name">
          {f.name}
        </span>{" "}
        <a
          class="file-download"
          data-testid="file-download"
          href={`/api/v1/files/${encodeURIComponent(f.id)}`}
          download={f.name}
          rel="noopener"
        >
          {t.download} ({formatSize(f.size)})
        </a>
      </div>
    </div>
  );
}

function fileError(err: unknown): string {
  const code = err instanceof ApiError ? err.code : "";
  if (code === "file_too_large") return err instanceof ApiError ? err.message : t.fileFailed;
  if (code === "file_type_refused") return t.fileType;
  if (code === "file_infected") return t.fileInfected;
  if (code === "scanner_unavailable") return t.fileScanner;
  return format(t.fileFailed, { reason: errorText(err) });
}

interface AttachProps {
  disabled: boolean;
  upload: (file: File) => Promise<void>;
}

export function AttachButton({ disabled, upload }: AttachProps) {
  const input = useRef<HTMLInputElement>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onChange = async () => {
    const file = input.current?.files?.[0];
    if (input.current) input.current.value = "";
    if (!file) return;
    setBusy(true);
    setStatus(format(t.uploading, { name: file.name }));
    try {
      await upload(file);
      setStatus(null);
    } catch (err) {
      setStatus(fileError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="attach-wrap">
      <input ref={input} type="file" hidden data-testid="file-input" onChange={() => void onChange()} />
      <button
        type="button"
        class="button attach"
        data-testid="attach"
        title={t.attach}
        aria-label={t.attach}
        disabled={disabled || busy}
        onClick={() => input.current?.click()}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path d="M16.5 6.5 8.9 14.1a2 2 0 0 0 2.8 2.8l7.4-7.4a4 4 0 0 0-5.7-5.7l-7.6 7.6a6 6 0 0 0 8.5 8.5l6.2-6.2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
        </svg>
      </button>
      {status && (
        <span class="attach-status" role="status" data-testid="attach-status">
          {status}
        </span>
      )}
    </span>
  );
}
