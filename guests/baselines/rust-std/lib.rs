//! rust-std baseline: allocator ABI v1 (guests/README.md) over Rust's standard
//! allocator. On wasm32-unknown-unknown, std's System allocator is the dlmalloc
//! crate, a Rust port of Doug Lea's dlmalloc, growing memory with memory.grow.
//! std::alloc returns null when it cannot allocate (only collections call
//! handle_alloc_error), so out of memory returns 0 as the ABI wants.
//!
//! No crates: built with rustc directly (see ../build.sh).
#![no_std]
extern crate std;

use core::alloc::Layout;
use std::alloc;

/// The ABI guarantees size >= 1 and align a power of two <= 4096, so the layout
/// is valid; a size that overflows when rounded up to align returns 0.
fn layout(size: usize, align: usize) -> Option<Layout> {
    Layout::from_size_align(size, align).ok()
}

#[no_mangle]
pub unsafe extern "C" fn alloc(size: usize, align: usize) -> *mut u8 {
    match layout(size, align) {
        Some(l) => alloc::alloc(l),
        None => core::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut u8, size: usize, align: usize) {
    alloc::dealloc(ptr, Layout::from_size_align_unchecked(size, align))
}

/// std's realloc keeps the layout's alignment (for alignments above dlmalloc's own
/// it allocates, copies and frees) and returns null with the old block intact.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
    if layout(new_size, align).is_none() {
        return core::ptr::null_mut();
    }
    alloc::realloc(ptr, Layout::from_size_align_unchecked(old_size, align), new_size)
}
