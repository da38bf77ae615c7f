/** Calls `f` once input has been quiet for `ms`. */
export function debounce<A extends unknown[]>(f: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}
