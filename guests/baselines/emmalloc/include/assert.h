// Shim: emscripten's release build of emmalloc (libemmalloc.a) has NDEBUG set.
#pragma once
#ifdef NDEBUG
#define assert(x) ((void)0)
#else
#define assert(x) ((x) ? (void)0 : __builtin_trap())
#endif
#define static_assert _Static_assert
