// Package results owns alloclab's results files: what a benchmark is called, what
// its units mean, and how the files are written and read back.
//
//   - Name builds and parses benchmark names, Alloc/scenario=S[/variant]/guest=G/mode=M
//     (Boundary/... for the host-boundary suite), so every writer and reader agrees.
//   - Units and BoundaryUnits are the tables of every unit the lab writes, in the
//     scenario suite and the host-boundary suite: its name, whether it is exact
//     (the same on every run), whether lower or higher is better, and what it
//     means. They drive the "Unit NAME assume=exact better=lower" lines of a
//     results file and README's two unit tables (a test keeps README equal to
//     them).
//   - Writer appends benchmark records to a results file, one write per record, so
//     an interrupted run keeps what finished; Resume reopens a file, cuts a torn
//     last line and says which benchmarks it already holds.
//   - HeapRecord is the schema of the heap sidecar RUN.heap.json beside RUN.txt:
//     utilisation over a trace and heap maps, written by the suite and drawn by the
//     report. The sidecar is JSON lines (one benchmark per line) and is appended to
//     like the results file; ReadHeap also reads the older single-object form.
package results
