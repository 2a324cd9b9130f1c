/** Owns how a thrown value becomes one line of text: its message, never an object dumped as `[object Object]`. */
export function errorMessage(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  return Object.prototype.toString.call(thrown);
}
