// Shim: emmalloc.c claims memory with sbrk, defined in ../shim.c over memory.grow.
#pragma once
#include <stdint.h>
void *sbrk(intptr_t increment);
