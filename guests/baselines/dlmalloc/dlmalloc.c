// dlmalloc baseline: allocator ABI v1 (guests/README.md) over wasi-libc's
// malloc family, which is Doug Lea's dlmalloc. The wrapper adds nothing but the
// ABI's shape: sized free is ignored, and alignments above malloc's own (16 on
// wasm32) go through aligned_alloc.
//
// The ABI's free takes three parameters and libc's one, so the exported functions
// have other C names and take their export names from export_name attributes.
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

// malloc's guaranteed alignment.
#define MIN_ALIGN _Alignof(max_align_t)

EXPORT("alloc") void *abi_alloc(size_t size, size_t align) {
	if (align <= MIN_ALIGN)
		return malloc(size);
	return aligned_alloc(align, size);
}

EXPORT("free") void abi_free(void *ptr, size_t size, size_t align) {
	(void)size, (void)align;
	free(ptr);
}

EXPORT("realloc") void *abi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
	if (align <= MIN_ALIGN)
		return realloc(ptr, new_size);
	// realloc would lose the alignment: move the block by hand.
	void *p = aligned_alloc(align, new_size);
	if (p == NULL)
		return NULL;
	memcpy(p, ptr, old_size < new_size ? old_size : new_size);
	free(ptr);
	return p;
}
