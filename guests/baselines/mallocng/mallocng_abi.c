// mallocng baseline: allocator ABI v1 (guests/README.md) over musl's mallocng
// (src/malloc/mallocng from Debian's musl source package, unchanged, with
// glue.h and pages.c of this folder in place of musl's kernel glue).
//
// The ABI's free takes three parameters and libc's one, so the exported functions
// have other C names and take their export names from export_name attributes.
#include <stddef.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

// mallocng's entry points under the names glue.h gives them.
void *__libc_malloc_impl(size_t n);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *__mallocng_aligned_alloc(size_t align, size_t len);

// mallocng's blocks are 16-aligned (UNIT).
#define MIN_ALIGN 16

EXPORT("alloc") void *abi_alloc(size_t size, size_t align) {
	if (align <= MIN_ALIGN)
		return __libc_malloc_impl(size);
	return __mallocng_aligned_alloc(align, size);
}

EXPORT("free") void abi_free(void *ptr, size_t size, size_t align) {
	(void)size, (void)align;
	__libc_free(ptr);
}

EXPORT("realloc") void *abi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
	if (align <= MIN_ALIGN)
		return __libc_realloc(ptr, new_size);
	// realloc would lose the alignment: move the block by hand.
	void *p = __mallocng_aligned_alloc(align, new_size);
	if (p == NULL)
		return NULL;
	memcpy(p, ptr, old_size < new_size ? old_size : new_size);
	__libc_free(ptr);
	return p;
}
