// What emmalloc.c expects from emscripten's runtime, for a standalone module:
// sbrk over memory.grow, and the heap-size queries.
#include <stdint.h>
#include <stddef.h>

#define PAGE 65536u

extern unsigned char __heap_base; // the end of static data, set by wasm-ld

static uintptr_t brk = (uintptr_t)&__heap_base;

size_t emscripten_get_heap_size(void) { return __builtin_wasm_memory_size(0) * PAGE; }

// wasm32's largest memory, rounded down to whole pages that size_t can hold.
size_t emscripten_get_heap_max(void) { return (size_t)0 - PAGE; }

// sbrk moves the break by increment bytes and returns the old one, growing memory
// by the pages it needs (standalone emscripten grows by need too); (void *)-1 when
// memory cannot grow.
void *sbrk(intptr_t increment) {
	uintptr_t old = brk, end = old + (uintptr_t)increment;
	if (increment > 0 && end < old)
		return (void *)-1;
	size_t have = emscripten_get_heap_size();
	if (end > have) {
		size_t pages = (end - have + PAGE - 1) / PAGE;
		if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
			return (void *)-1;
	}
	brk = end;
	return (void *)old;
}
