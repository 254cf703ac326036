// tlsf and as-stub baselines: allocator ABI v1 (guests/README.md) over
// AssemblyScript's heap API. The runtime picked at build time decides the
// allocator behind heap.alloc: TLSF (--runtime minimal) or the stub runtime's
// bump pointer (--runtime stub), whose free only gives back the last block.
//
// Blocks are 16-aligned (AL_MASK = 15). For a larger alignment the wrapper
// allocates size + align bytes and rounds the pointer up past the start, which
// leaves at least 16 bytes in front of it: the word just before the aligned
// pointer keeps the allocator's own pointer for free.
//
// Both runtimes trap (unreachable) when memory.grow fails, instead of returning 0.

// @ts-ignore: decorator
@inline const AL: usize = 16;

export function alloc(size: usize, align: usize): usize {
  if (align <= AL) return heap.alloc(size);
  let raw = heap.alloc(size + align);
  let ptr = (raw + align) & ~(align - 1);
  store<usize>(ptr - sizeof<usize>(), raw);
  return ptr;
}

export function free(ptr: usize, size: usize, align: usize): void {
  heap.free(align <= AL ? ptr : load<usize>(ptr - sizeof<usize>()));
}

export function realloc(ptr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (align <= AL) return heap.realloc(ptr, newSize);
  // heap.realloc may move the block to an address with another alignment.
  let p = alloc(newSize, align);
  memory.copy(p, ptr, min(oldSize, newSize));
  free(ptr, oldSize, align);
  return p;
}

// Called for a failed assertion or throw (such as a size past BLOCK_MAXSIZE), in
// place of the env.abort import: the module then imports nothing.
function trap(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}
