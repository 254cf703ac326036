module github.com/alloclab/alloclab/examples/alloclabtest

go 1.26.8

require github.com/alloclab/alloclab v0.0.0

require (
	github.com/aclements/go-moremath v0.0.0-20210112150236-f10218a38794 // indirect
	github.com/montanaflynn/stats v0.14.0 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/perf v0.0.0-20260908200009-22c9c6c9d4da // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/alloclab/alloclab => ../..
