// mimalloc baseline: allocator ABI v1 (guests/README.md) over mimalloc's own
// API (mi_malloc_aligned, mi_free, mi_realloc_aligned), compiled with
// mimalloc's static.c into the module; libc's malloc is not replaced.
//
// The ABI's free takes three parameters and libc's one, so the exported functions
// have other C names and take their export names from export_name attributes.
#include <stddef.h>
#include <string.h>
#include <mimalloc.h>

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

EXPORT("alloc") void *abi_alloc(size_t size, size_t align) {
	return mi_malloc_aligned(size, align);
}

EXPORT("free") void abi_free(void *ptr, size_t size, size_t align) {
	(void)size, (void)align;
	mi_free(ptr);
}

EXPORT("realloc") void *abi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
	(void)old_size;
	return mi_realloc_aligned(ptr, new_size, align);
}
