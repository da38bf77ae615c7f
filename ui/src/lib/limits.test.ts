import { beforeEach, describe, expect, it } from 'vitest';
import { errorText } from './errors';
import { setLocale } from './i18n.svelte';
import { MAX_BLOB_BYTES, megabytes, photoBase64, photoTooLarge } from './limits';

describe('the photo limit (head office\'s, one limit end to end)', () => {
  beforeEach(() => setLocale('en'));

  it('is 16 MB, written as people read it', () => {
    expect(MAX_BLOB_BYTES).toBe(16 * 1024 * 1024);
    expect(megabytes(MAX_BLOB_BYTES)).toBe('16 MB');
    expect(megabytes(1.5 * 1024 * 1024)).toBe('1.5 MB');
  });

  it('refuses a photo over the limit at capture, with a clear message in both languages', async () => {
    const big = { size: MAX_BLOB_BYTES + 1 } as Blob;
    await expect(photoBase64(big)).rejects.toMatchObject({ code: 'photo_too_large' });
    const e = photoTooLarge(MAX_BLOB_BYTES + 1);
    expect(errorText(e)).toBe(
      'This photo is larger than head office accepts (16 MB at most), so it could never reach head office. Take it again at a lower resolution, or resize it, and add it again.',
    );
    setLocale('zh-CN');
    expect(errorText(e)).toContain('最多 16 MB');
    expect(errorText(e)).not.toContain('{max}');
    // The Rust side sends the same code for a photo it refuses: same text.
    expect(errorText({ code: 'photo_too_large', message: 'x', file: null })).toBe(errorText(e));
  });

  it('lets a photo at the limit through', async () => {
    const ok = new Blob([new Uint8Array(3)], { type: 'image/jpeg' });
    await expect(photoBase64(ok)).resolves.toBe('AAAA');
  });
});
