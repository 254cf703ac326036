// Shim: defined in ../shim.c.
#pragma once
#include <stddef.h>
size_t emscripten_get_heap_size(void);
size_t emscripten_get_heap_max(void);
