//go:build !tinygo

package main

// minAlign is the alignment of every Go heap object of 16 bytes or more on wasm.
// Smaller pointer-free objects share 16-byte blocks (the tiny allocator), each
// aligned by its size: to 8 when the size is a multiple of 8, else to 4, else 2.
const minAlign = 8
