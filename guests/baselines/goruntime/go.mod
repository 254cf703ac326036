module github.com/alloclab/alloclab/guests/baselines/goruntime

go 1.22
