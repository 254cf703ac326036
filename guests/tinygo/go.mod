module github.com/alloclab/alloclab/guests/tinygo

go 1.22
