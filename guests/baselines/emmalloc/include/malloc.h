// Shim: the declarations emmalloc.c needs, as in emscripten's libc.
#pragma once
#include <stddef.h>
struct mallinfo {
	int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
void *malloc(size_t size);
void free(void *ptr);
void *realloc(void *ptr, size_t size);
void *calloc(size_t num, size_t size);
void *memalign(size_t alignment, size_t size);
size_t malloc_usable_size(void *ptr);
