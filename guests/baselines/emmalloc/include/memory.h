// Shim: clang lowers these to memory.copy and memory.fill (-mbulk-memory).
#pragma once
#include <stddef.h>
#define memcpy(d, s, n) __builtin_memcpy(d, s, n)
#define memset(d, c, n) __builtin_memset(d, c, n)
