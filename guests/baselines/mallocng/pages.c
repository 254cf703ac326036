// The page mapper under mallocng: mmap, munmap and mremap over memory.grow, in
// mallocng's 4 KiB pages. It stands in for the kernel, so its policy is part of
// what is measured and is kept plain: mapped runs are taken first fit from an
// address-ordered list of unmapped runs (coalesced on munmap); when none fits,
// the run goes at the top, growing memory by the 64 KiB pages it needs. A run
// unmapped at the top lowers the top. Like anonymous mmap, every run is zeroed:
// memory never handed out is zero already, so only reused bytes are cleared.
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096u
#define WASM_PAGE 65536u

extern unsigned char __heap_base; // the end of static data, set by wasm-ld

// run is the header kept in the first bytes of each unmapped run.
struct run {
	size_t len;
	struct run *next;
};

static struct run *runs;       // unmapped runs below top, by address
static uintptr_t top;          // end of the mapped region
static uintptr_t used;         // end of the highest byte ever mapped: zero above

static void init(void) {
	if (!top)
		top = used = ((uintptr_t)&__heap_base + PAGE - 1) & -(uintptr_t)PAGE;
}

// zero clears [p, p+n) where it was ever handed out.
static void zero(uintptr_t p, size_t n) {
	if (p < used)
		memset((void *)p, 0, (p + n < used ? p + n : used) - p);
}

// grow_to makes memory reach end; 0 when memory.grow refuses.
static int grow_to(uintptr_t end) {
	size_t have = __builtin_wasm_memory_size(0) * (size_t)WASM_PAGE;
	if (end <= have)
		return 1;
	size_t pages = (end - have + WASM_PAGE - 1) / WASM_PAGE;
	return __builtin_wasm_memory_grow(0, pages) != (size_t)-1;
}

// take maps len bytes (a multiple of PAGE) and returns them zeroed, or 0.
static void *take(size_t len) {
	init();
	for (struct run **pp = &runs; *pp; pp = &(*pp)->next) {
		struct run *r = *pp;
		if (r->len < len)
			continue;
		uintptr_t p = (uintptr_t)r;
		if (r->len == len) {
			*pp = r->next;
		} else {
			struct run *rest = (struct run *)(p + len);
			rest->len = r->len - len;
			rest->next = r->next;
			*pp = rest;
		}
		zero(p, len);
		return (void *)p;
	}
	uintptr_t p = top;
	if (len > UINTPTR_MAX - p || !grow_to(p + len))
		return 0;
	top = p + len;
	zero(p, len);
	if (top > used)
		used = top;
	return (void *)p;
}

// give unmaps [p, p+len), merging it with its unmapped neighbours; a run that
// then ends at the top lowers the top instead.
static void give(uintptr_t p, size_t len) {
	struct run **link = &runs, **prevlink = 0;
	while (*link && (uintptr_t)*link < p) {
		prevlink = link;
		link = &(*link)->next;
	}
	struct run *r = (struct run *)p;
	r->len = len;
	r->next = *link;
	*link = r;
	if (r->next && p + r->len == (uintptr_t)r->next) {
		r->len += r->next->len;
		r->next = r->next->next;
	}
	if (prevlink && (uintptr_t)*prevlink + (*prevlink)->len == p) {
		(*prevlink)->len += r->len;
		(*prevlink)->next = r->next;
		link = prevlink;
		r = *link;
	}
	if ((uintptr_t)r + r->len == top) {
		top = (uintptr_t)r;
		*link = 0;
	}
}

void *__mallocng_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
	(void)addr, (void)prot, (void)flags, (void)fd, (void)off;
	if (len == 0 || len > SIZE_MAX - PAGE)
		return MAP_FAILED;
	void *p = take((len + PAGE - 1) & -(size_t)PAGE);
	return p ? p : MAP_FAILED;
}

int __mallocng_munmap(void *addr, size_t len) {
	give((uintptr_t)addr, (len + PAGE - 1) & -(size_t)PAGE);
	return 0;
}

// mremap is refused: mallocng's realloc then allocates, copies and frees.
void *__mallocng_mremap(void *old, size_t old_len, size_t new_len, int flags, ...) {
	(void)old, (void)old_len, (void)new_len, (void)flags;
	return MAP_FAILED;
}
