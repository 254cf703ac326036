// allocs.c: a known allocation pattern, for the tests of 'alloclab trace'. The
// tests record it natively (with glibc's mtrace) and as a wasm module (with
// wazero's function listeners) and look for each step's distinctive sizes.
//
// allocs.wasm is built from it with wasi-libc (Debian packages clang-19 lld-19
// wasi-libc) by, in this directory:
//
//	clang-19 --target=wasm32-wasi --sysroot=/usr -O1 -Wl,--strip-debug -o allocs.wasm allocs.c
//
// --strip-debug drops DWARF but keeps the name section, where the recorder finds
// wasi-libc's malloc and free (they are not exported). The native test builds
// it with: cc -O1 -o allocs allocs.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 100

struct node {
	struct node *next;
	char payload[36]; // sizeof: 40 bytes on wasm32, 48 on 64-bit hosts
};

// sink keeps every pointer observable, so the compiler cannot elide a
// malloc/free pair.
void *volatile sink;

static void list(void) {
	struct node *head = NULL;
	for (int i = 0; i < NODES; i++) {
		struct node *n = malloc(sizeof *n);
		if (n == NULL)
			abort();
		n->next = head;
		n->payload[0] = (char)i;
		head = n;
	}
	// Free every other node, then the rest.
	for (struct node *n = head; n != NULL && n->next != NULL; n = n->next) {
		struct node *dead = n->next;
		n->next = dead->next;
		sink = dead;
		free(dead);
	}
	while (head != NULL) {
		struct node *next = head->next;
		sink = head;
		free(head);
		head = next;
	}
}

static void grow(void) {
	// A buffer doubling by realloc from 24 to 24 << 10 bytes: 10 reallocs.
	size_t size = 24;
	char *buf = malloc(size);
	if (buf == NULL)
		abort();
	for (int i = 0; i < 10; i++) {
		size *= 2;
		buf = realloc(buf, size);
		if (buf == NULL)
			abort();
		buf[size - 1] = 1;
	}
	sink = buf;
	free(buf);
}

static void aligned(void) {
	int *zeros = calloc(300, sizeof(int)); // 1200 bytes
	void *a = aligned_alloc(64, 192);
	void *b = NULL;
	if (zeros == NULL || a == NULL || posix_memalign(&b, 256, 1000) != 0)
		abort();
	sink = zeros;
	sink = a;
	sink = b;
	free(b);
	free(a);
	free(zeros);
}

// churn is exported so the tests can call it with -invoke, without _start.
#ifdef __wasm__
__attribute__((export_name("churn")))
#endif
void churn(void) {
	void *p[7];
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 7; i++)
			p[i] = malloc(777);
		for (int i = 0; i < 7; i++) {
			sink = p[i];
			free(p[i]);
		}
	}
}

int main(void) {
	list();
	grow();
	aligned();
	churn();
	puts("allocs: done");
	return 0;
}
