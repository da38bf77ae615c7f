import { describe, expect, it } from 'vitest';
import { phoneSegments } from './search';

const marked = (phone: string, query: string) =>
  phoneSegments(phone, query)
    .map((s) => (s.hit ? `[${s.text}]` : s.text))
    .join('');

describe('phone fragments in search results', () => {
  it('marks where the typed digits are, across the phone number spacing', () => {
    expect(marked('13800138000', '0013')).toBe('138[0013]8000');
    expect(marked('138 0013 8000', '00138')).toBe('138 [0013 8]000');
    expect(marked('138-0013-8000', '0013 8')).toBe('138-[0013-8]000');
    expect(marked('+86 138 0013 8000', '王 8000')).toBe('+86 138 0013 [8000]');
  });

  it('marks every place the fragment occurs', () => {
    expect(marked('13800138000', '138')).toBe('[138]00[138]000');
  });

  it('leaves the phone plain when the query has no digits or they are not in it', () => {
    expect(marked('13800138000', '王伟')).toBe('13800138000');
    expect(marked('13800138000', '999')).toBe('13800138000');
    expect(marked('13800138000', '1')).toBe('13800138000');
    expect(phoneSegments('', '138')).toEqual([{ text: '', hit: false }]);
  });
});
