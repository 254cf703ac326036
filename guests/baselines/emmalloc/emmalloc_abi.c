// emmalloc baseline: allocator ABI v1 (guests/README.md) over emscripten's
// emmalloc (system/lib/emmalloc.c, taken unchanged from Debian's emscripten
// package by ../build.sh), compiled for the emscripten target so that its
// malloc alignment is emscripten's 8 bytes.
//
// The ABI's free takes three parameters and libc's one, so the exported functions
// have other C names and take their export names from export_name attributes.
#include <stddef.h>

#define EXPORT(name) __attribute__((export_name(name)))

void *emmalloc_memalign(size_t alignment, size_t size);
void *emmalloc_aligned_realloc(void *ptr, size_t alignment, size_t size);
void emmalloc_free(void *ptr);
void __wasm_call_ctors(void);

// emmalloc sets up its free lists in a constructor: _initialize runs the
// constructors, once.
EXPORT("_initialize") void abi_initialize(void) {
	static int done;
	if (!done) {
		done = 1;
		__wasm_call_ctors();
	}
}

// emmalloc rounds align up to its minimum of 8 itself.
EXPORT("alloc") void *abi_alloc(size_t size, size_t align) {
	return emmalloc_memalign(align, size);
}

EXPORT("free") void abi_free(void *ptr, size_t size, size_t align) {
	(void)size, (void)align;
	emmalloc_free(ptr);
}

// Resizes in place when the neighbour is free, else moves the block; 0 with the
// old block intact when memory is short.
EXPORT("realloc") void *abi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
	(void)old_size;
	return emmalloc_aligned_realloc(ptr, align, new_size);
}
