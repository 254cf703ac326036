// Package bitmap is the checkers' map of linear memory: one bit per byte, set
// where a live block lies, so overlap tests cost a word per 64 bytes.
package bitmap

// Bits is a bitmap over addresses from 0.
type Bits []uint64

// Cover grows b to cover addresses below end.
func (b *Bits) Cover(end uint64) {
	if words := int((end + 63) / 64); words > len(*b) {
		*b = append(*b, make([]uint64, words-len(*b))...)
	}
}

// Any reports whether any byte of [ptr, ptr+size) is set. The range must be covered.
func (b Bits) Any(ptr, size uint32) bool {
	found := false
	b.words(ptr, size, func(w *uint64, mask uint64) bool {
		found = *w&mask != 0
		return !found
	})
	return found
}

// Set sets or clears [ptr, ptr+size). The range must be covered.
func (b Bits) Set(ptr, size uint32, live bool) {
	b.words(ptr, size, func(w *uint64, mask uint64) bool {
		if live {
			*w |= mask
		} else {
			*w &^= mask
		}
		return true
	})
}

// words calls fn with each word of [ptr, ptr+size) and the mask of its bits in
// the range, until fn returns false.
func (b Bits) words(ptr, size uint32, fn func(w *uint64, mask uint64) bool) {
	lo, hi := uint64(ptr), uint64(ptr)+uint64(size)
	for lo < hi {
		n := min(64-lo%64, hi-lo)
		mask := ^uint64(0)
		if n < 64 {
			mask = (uint64(1)<<n - 1) << (lo % 64)
		}
		if !fn(&b[lo/64], mask) {
			return
		}
		lo += n
	}
}

// EmptySpans returns the bytes of the span-byte pieces of [0, end) that hold no set
// bit; span is a multiple of 64 and end of span. Bits past b's length are clear.
func (b Bits) EmptySpans(end, span uint64) uint64 {
	words := span / 64
	var empty uint64
	for lo := uint64(0); lo < end/64; lo += words {
		clear := true
		for w := lo; w < min(lo+words, uint64(len(b))); w++ {
			if b[w] != 0 {
				clear = false
				break
			}
		}
		if clear {
			empty += span
		}
	}
	return empty
}
