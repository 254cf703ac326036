package report

import (
	"bytes"
	"fmt"
	"html"
)

// CellClass is what a heap map cell holds.
type CellClass int

const (
	// NeverUsed cells start at or above the heap's high-water mark: no block ever
	// reached them.
	NeverUsed CellClass = iota
	// Free cells are inside the heap with no live byte: a hole.
	Free
	// SomeLive cells are inside the heap and less than half live.
	SomeLive
	// MostlyLive cells are at least half live, but not 90%.
	MostlyLive
	// Live cells are at least 90% live.
	Live
)

// cellStyle is each class's fill and its name in the legend.
var cellStyle = [...]struct{ Fill, Name string }{
	NeverUsed:  {"#e5e7eb", "never used (at or above the heap's end)"},
	Free:       {"#f97316", "free inside the heap"},
	SomeLive:   {"#bfdbfe", "under half live"},
	MostlyLive: {"#60a5fa", "half to 90% live"},
	Live:       {"#1e3a8a", "90% or more live"},
}

// Classify returns the class of each cell of m.
func Classify(m *HeapMap) []CellClass {
	out := make([]CellClass, len(m.Live))
	cell := uint64(m.CellBytes)
	for i, live := range m.Live {
		start := uint64(i) * cell
		size := cell
		if m.MemoryBytes > start && m.MemoryBytes-start < size {
			size = m.MemoryBytes - start // the last cell may be cut short by the end of memory
		}
		switch f := float64(live) / float64(max(size, 1)); {
		case start >= m.HeapBytes && live == 0:
			out[i] = NeverUsed
		case live == 0:
			out[i] = Free
		case f >= 0.9:
			out[i] = Live
		case f >= 0.5:
			out[i] = MostlyLive
		default:
			out[i] = SomeLive
		}
	}
	return out
}

// HeapMapStats counts the bytes of each kind in a heap map.
type HeapMapStats struct {
	Cells                  int
	FreeCells, UnusedCells int
	// FreeInHeap is the heap's bytes that are not live: heap_bytes - live_bytes.
	FreeInHeap uint64
}

// MapStats returns m's counts.
func MapStats(m *HeapMap) HeapMapStats {
	s := HeapMapStats{Cells: len(m.Live)}
	for _, c := range Classify(m) {
		switch c {
		case Free:
			s.FreeCells++
		case NeverUsed:
			s.UnusedCells++
		}
	}
	if m.HeapBytes > m.LiveBytes {
		s.FreeInHeap = m.HeapBytes - m.LiveBytes
	}
	return s
}

const (
	mapCols    = 64 // cells per row
	mapCellW   = 10
	mapCellH   = 12
	mapRowGap  = 3
	mapLeft    = 74 // room for the address labels
	mapTop     = 4
	mapPadding = 4
)

// HeapMapSVG draws m as an SVG picture: memory from address 0 left to right and
// top to bottom, 64 cells a row, each coloured by its class, with each row's start
// address on the left and the heap's end marked. title is the picture's accessible
// name.
func HeapMapSVG(m *HeapMap, title string) []byte {
	classes := Classify(m)
	rows := (len(classes) + mapCols - 1) / mapCols
	w := mapLeft + mapCols*mapCellW + mapPadding
	h := mapTop + rows*(mapCellH+mapRowGap) + mapPadding
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Liberation Sans', sans-serif">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", w, h)
	for r := range rows {
		y := mapTop + r*(mapCellH+mapRowGap)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end" fill="#4b5563">%s</text>`+"\n",
			mapLeft-6, y+mapCellH-2, byteSize(uint64(r)*mapCols*uint64(m.CellBytes)))
		// Runs of cells of one class are drawn as one rectangle.
		for c := 0; c < mapCols; {
			i := r*mapCols + c
			if i >= len(classes) {
				break
			}
			k := classes[i]
			n := 1
			for c+n < mapCols && i+n < len(classes) && classes[i+n] == k {
				n++
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n",
				mapLeft+c*mapCellW, y, n*mapCellW, mapCellH, cellStyle[k].Fill)
			c += n
		}
	}
	// Mark the heap's end: a dark tick at the first cell at or above it.
	if m.CellBytes > 0 && m.HeapBytes < m.MemoryBytes {
		i := int((m.HeapBytes + uint64(m.CellBytes) - 1) / uint64(m.CellBytes))
		if i < len(classes) {
			x := mapLeft + (i%mapCols)*mapCellW
			y := mapTop + (i/mapCols)*(mapCellH+mapRowGap)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="2" height="%d" fill="#111827"/>`+"\n", x-1, y-1, mapCellH+2)
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// byteSize formats n bytes with a binary prefix: 0, 512 B, 16 KiB, 1.5 MiB.
func byteSize(n uint64) string {
	switch {
	case n == 0:
		return "0"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	}
	v, units := float64(n)/1024, []string{"KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	if v < 10 {
		return fmt.Sprintf("%.2f %s", v, units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
