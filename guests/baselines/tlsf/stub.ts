// as-stub baseline: index.ts's ABI over the stub runtime (--runtime stub), plus
// reset, which only the stub runtime has: it rewinds the bump pointer to the
// start of the heap, freeing every block at once.
export * from "./index";

export function reset(): void {
  heap.reset();
}
