// Limits shared with head office. One limit end to end (issue 9, hole 8): a photo head
// office would refuse is refused here, when it is taken, instead of going missing later.
import type { IpcError } from './bindings';
import { blobToBase64 } from './bytes';

/**
 * Head office's largest blob, in bytes: `onsite_api::limits::MAX_BLOB_BYTES`, which the
 * store's photo check uses too. A Rust test (crates/onsite-store/tests/facts.rs) fails when
 * this number and head office's differ.
 */
export const MAX_BLOB_BYTES = 16 * 1024 * 1024;

/** A size as people read it: "16 MB" (binary megabytes, as the limit is defined). */
export function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

/** The error for a photo over the limit (the same code the Rust side sends). */
export function photoTooLarge(size: number): IpcError {
  return {
    code: 'photo_too_large',
    message: `the photo is ${size} bytes; head office accepts at most ${MAX_BLOB_BYTES} bytes`,
    file: null,
  };
}

/** A photo as base64 for `add_photo`, refused (rejects with an IpcError) when too large. */
export async function photoBase64(photo: Blob): Promise<string> {
  if (photo.size > MAX_BLOB_BYTES) throw photoTooLarge(photo.size);
  return blobToBase64(photo);
}
