// Shim: emmalloc.c logs to the JavaScript console with EM_ASM in its debugging
// functions; a standalone module has no console, so the calls compile to nothing.
#pragma once
#define EM_ASM(...) ((void)0)
#define MAIN_THREAD_ASYNC_EM_ASM(...) ((void)0)
