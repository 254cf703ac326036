package bitmap

import "testing"

func TestEmptySpans(t *testing.T) {
	const page = 4096
	for _, tc := range []struct {
		name      string
		set       [][2]uint32 // ptr, size
		cover     uint64
		end, want uint64
	}{
		{"nothing set", nil, 0, 4 * page, 4 * page},
		{"one byte in the first page", [][2]uint32{{0, 1}}, page, 4 * page, 3 * page},
		{"a block across a page boundary", [][2]uint32{{page - 8, 16}}, 2 * page, 4 * page, 2 * page},
		{"last byte of a page", [][2]uint32{{3*page - 1, 1}}, 3 * page, 4 * page, 3 * page},
		{"every page", [][2]uint32{{100, 3 * page}}, 4 * page, 4 * page, 0},
		{"map shorter than memory", [][2]uint32{{page, 64}}, page + 64, 16 * page, 15 * page},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Bits
			b.Cover(tc.cover)
			for _, s := range tc.set {
				b.Set(s[0], s[1], true)
			}
			if got := b.EmptySpans(tc.end, page); got != tc.want {
				t.Errorf("EmptySpans(%d, %d) = %d, want %d", tc.end, page, got, tc.want)
			}
		})
	}
}
