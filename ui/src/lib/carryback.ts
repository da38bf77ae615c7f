/** Accessories typed as one line: split on commas (either width), 、 or semicolons. */
export function splitAccessories(text: string): string[] {
  return text
    .split(/[,，、;；\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The default promised return date: a week from `today`, as YYYY-MM-DD in local time. */
export function defaultReturnDate(today: Date): string {
  const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 7);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
