import type { IpcError } from './bindings';
import { t, type Key } from './i18n.svelte';
import { MAX_BLOB_BYTES, megabytes } from './limits';

/** The user's-language text for a command error. */
export function errorText(e: IpcError): string {
  return t(`error.${e.code}` as Key, { file: e.file ?? '', max: megabytes(MAX_BLOB_BYTES) });
}
