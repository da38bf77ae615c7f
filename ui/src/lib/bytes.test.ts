import { describe, expect, it } from 'vitest';
import { blobToBase64, toBase64 } from './bytes';

describe('base64 for the IPC', () => {
  it('encodes small and large byte arrays exactly', () => {
    expect(toBase64(new Uint8Array([]))).toBe('');
    expect(toBase64(new Uint8Array([0xff, 0xd8, 0xff]))).toBe('/9j/');
    // Larger than one chunk (32 KiB) and not a multiple of it.
    const big = new Uint8Array(100_001).map((_, i) => (i * 7) % 256);
    const decoded = Uint8Array.from(atob(toBase64(big)), (c) => c.charCodeAt(0));
    expect(decoded).toEqual(big);
  });

  it('reads a Blob', async () => {
    expect(await blobToBase64(new Blob([new Uint8Array([104, 105])]))).toBe('aGk=');
  });
});
