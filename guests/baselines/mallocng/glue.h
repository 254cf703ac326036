// glue.h for musl's mallocng on wasm32: this file replaces musl's
// src/malloc/mallocng/glue.h (build.sh copies the mallocng sources, unchanged,
// next to it). musl's glue maps mallocng onto musl's internals (syscalls, locks,
// the auxiliary vector); here the module is single-threaded and has no kernel,
// so locks are empty, brk always fails (mallocng then takes its metadata areas
// from mmap, as it does on a kernel without brk), and mmap, munmap and mremap
// are the page mapper in pages.c over memory.grow.
#ifndef MALLOC_GLUE_H
#define MALLOC_GLUE_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

// use macros to appropriately namespace these (as musl's glue does).
#define size_classes __malloc_size_classes
#define ctx __malloc_context
#define alloc_meta __malloc_alloc_meta
#define is_allzero __malloc_allzerop
#define dump_heap __dump_heap

void *__libc_malloc_impl(size_t);
void *__libc_realloc(void *, size_t);
void __libc_free(void *);

#define malloc __libc_malloc_impl
#define realloc __libc_realloc
#define free __libc_free
// Not musl's name: keeps the module's aligned_alloc apart from wasi-libc's.
#define aligned_alloc __mallocng_aligned_alloc

// mallocng's consistency checks stay on, as in musl: a broken invariant traps.
#undef assert
#define assert(x) do { if (!(x)) a_crash(); } while(0)

static inline void a_crash(void) { __builtin_trap(); }
static inline int a_ctz_32(uint32_t x) { return __builtin_ctz(x); }
static inline int a_clz_32(uint32_t x) { return __builtin_clz(x); }
// Single-threaded: never reached while MT is 0, but free.c and malloc.c name them.
static inline int a_cas(volatile int *p, int t, int s) { int old = *p; if (old == t) *p = s; return old; }
static inline void a_or(volatile int *p, int v) { *p |= v; }

// brk fails: no memory is set aside for a break.
#define brk(p) ((uintptr_t)-1)

#define mmap __mallocng_mmap
#define munmap __mallocng_munmap
#define mremap __mallocng_mremap
#define madvise(p, n, a) 0
#define mprotect(p, n, prot) 0

void *__mallocng_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __mallocng_munmap(void *addr, size_t len);
void *__mallocng_mremap(void *old, size_t old_len, size_t new_len, int flags, ...);

#define DISABLE_ALIGNED_ALLOC 0

// musl takes the secret that tags metadata areas from AT_RANDOM; a module has
// no auxiliary vector, so this is musl's own fallback, a fixed value here.
static inline uint64_t get_random_secret()
{
	uint64_t secret = (uintptr_t)&secret * 1103515245;
	return secret;
}

// mallocng's own page size (its groups and mmap threshold are counted in 4 KiB
// pages), not wasm's 64 KiB (wasi-libc's PAGESIZE): the page mapper hands out
// 4 KiB runs.
#undef PAGESIZE
#define PAGESIZE 4096

#define MT 0

#define RDLOCK_IS_EXCLUSIVE 1

#define LOCK_OBJ_DEF int __malloc_lock[1]

static inline void rdlock() {}
static inline void wrlock() {}
static inline void unlock() {}
static inline void upgradelock() {}
static inline void resetlock() {}

#endif
