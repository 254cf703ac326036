//go:build tinygo

package main

// minAlign is the alignment of every object on TinyGo's wasm heap: 16, the
// alignment of max_align_t (-gc=leaking) and the size of a heap block (the
// collectors).
const minAlign = 16
