// The job search as the results show it: where the query's digits fall in a phone number,
// so a match by a phone fragment can be checked at a glance.

export interface Segment {
  text: string;
  hit: boolean;
}

/**
 * `phone` cut into plain and matching pieces: every query term with two or more digits
 * is looked for among the phone's digits, whatever spaces or dashes either has
 * ("0013 8" finds "138 0013 8000"). No match: one plain piece.
 */
export function phoneSegments(phone: string, query: string): Segment[] {
  // Positions in `phone` of its digits, in order.
  const at: number[] = [];
  for (let i = 0; i < phone.length; i++) if (/\d/.test(phone[i])) at.push(i);
  const digits = at.map((i) => phone[i]).join('');
  const hit = new Array<boolean>(phone.length).fill(false);
  const terms = [query.replace(/[\s\-()+]/g, ''), ...query.split(/\s+/)]
    .map((term) => term.replace(/\D/g, ''))
    .filter((term) => term.length >= 2);
  for (const term of terms) {
    let from = digits.indexOf(term);
    while (from >= 0) {
      // Mark from the first to the last matching digit, separators between them included.
      for (let i = at[from]; i <= at[from + term.length - 1]; i++) hit[i] = true;
      from = digits.indexOf(term, from + 1);
    }
  }
  const out: Segment[] = [];
  for (let i = 0; i < phone.length; i++) {
    const last = out[out.length - 1];
    if (last && last.hit === hit[i]) last.text += phone[i];
    else out.push({ text: phone[i], hit: hit[i] });
  }
  return out.length > 0 ? out : [{ text: phone, hit: false }];
}
