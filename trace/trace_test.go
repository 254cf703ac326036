package trace

import (
	"reflect"
	"testing"
)

func TestLowerResets(t *testing.T) {
	var b Builder
	x := b.Alloc(10, 8)
	y := b.Alloc(20, 16)
	b.Realloc(x, 30)
	b.Free(y)
	b.Alloc(40, 8)
	b.Reset()
	b.Mark()
	got := b.Trace().LowerResets().Ops
	want := []Op{
		{Kind: Alloc, Slot: 0, Size: 10, Align: 8},
		{Kind: Alloc, Slot: 1, Size: 20, Align: 16},
		{Kind: Realloc, Slot: 0, Size: 30, Align: 8, OldSize: 10},
		{Kind: Free, Slot: 1, Size: 20, Align: 16},
		{Kind: Alloc, Slot: 1, Size: 40, Align: 8},
		{Kind: Free, Slot: 1, Size: 40, Align: 8}, // newest first
		{Kind: Free, Slot: 0, Size: 30, Align: 8},
		{Kind: Mark},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if st := b.Trace().Stats(); st.PeakLiveBytes != 70 || st.Allocs != 3 || st.Resets != 1 {
		t.Errorf("stats %+v, want peak 70, 3 allocs, 1 reset", st)
	}
}

func TestStatsLiveBlocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  func(b *Builder)
		want int
	}{
		{"empty", func(*Builder) {}, 0},
		{"alloc and realloc", func(b *Builder) { b.Realloc(b.Alloc(8, 8), 16); b.Alloc(8, 8) }, 2},
		{"free", func(b *Builder) { b.Free(b.Alloc(8, 8)); b.Alloc(8, 8) }, 1},
		{"reset", func(b *Builder) { b.Alloc(8, 8); b.Reset(); b.Alloc(8, 8) }, 1},
		{"free all", func(b *Builder) { b.Alloc(8, 8); b.Alloc(8, 8); b.FreeAll() }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			tc.ops(&b)
			if got := b.Trace().Stats().LiveBlocks; got != tc.want {
				t.Errorf("LiveBlocks = %d, want %d", got, tc.want)
			}
		})
	}
}
