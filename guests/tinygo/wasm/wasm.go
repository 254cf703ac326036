// Package wasm is what the TinyGo twins share: the memory.size and memory.grow
// instructions, word access to linear memory, and Base, where each twin's heap
// begins. Nothing here allocates (the twins are built with -gc=none, so an
// allocation would not link).
package wasm

import "unsafe"

// Base stands for address 0 of the WAT twin: a twin keeps its heap where the WAT
// guest keeps it, shifted by Base. The page below belongs to TinyGo: its stack
// (16 KiB, target.json's -zstack-size), then its data (the twin's globals, a few
// hundred bytes). target.json makes the initial memory 2 pages, so a twin has the
// WAT guest's memory plus that page and grows by the same pages at the same ops.
const Base = 1 << 16

// memorySize and memoryGrow are the LLVM intrinsics of the two instructions,
// declared as the runtime declares them (a bodyless //export is a C function).
//
//export llvm.wasm.memory.size.i32
func memorySize(index int32) int32

//export llvm.wasm.memory.grow.i32
func memoryGrow(index int32, delta int32) int32

// Size is memory.size: the memory's length in 64 KiB pages.
func Size() uint32 { return uint32(memorySize(0)) }

// Grow is memory.grow: it adds pages and returns the old size in pages, or -1
// when the host refuses.
func Grow(pages uint32) int32 { return memoryGrow(0, int32(pages)) }

// Fit makes sure [0, end) is inside memory, growing by the missing pages only.
// It reports false when memory.grow fails (the host's page limit) or end is past
// 65535 pages: the last page is never used, as wazero v1.12.0 mishandles a full
// 4 GiB memory. It is bump.wat's and arena.wat's $fit.
func Fit(end uint64) bool {
	if end > 0xFFFF_0000 {
		return false
	}
	have := uint64(Size()) << 16
	if have >= end {
		return true
	}
	return Grow(uint32((end-have+0xFFFF)>>16)) != -1
}

// Load reads the 32-bit word at addr.
func Load(addr uint32) uint32 { return *(*uint32)(unsafe.Pointer(uintptr(addr))) }

// Store writes the 32-bit word v at addr.
func Store(addr, v uint32) { *(*uint32)(unsafe.Pointer(uintptr(addr))) = v }

// Copy copies n bytes from src to dst (memory.copy: the target has bulk memory).
func Copy(dst, src, n uint32) {
	copy(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(dst))), n),
		unsafe.Slice((*byte)(unsafe.Pointer(uintptr(src))), n))
}

// Ptr returns the address of a word of the twin's own data, such as a list head,
// so that the twin can treat it like a word of the heap, as the WAT guest does.
func Ptr(p *uint32) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }
