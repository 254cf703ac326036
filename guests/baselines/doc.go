// Package baselines holds the recipes for real-world allocator baselines (the
// allocators that toolchains ship, wrapped to keep guest ABI v1) and a test that
// runs each built module through the checker. It has no code of its own: build.sh
// builds the modules into out/, which is never committed; see README.md.
package baselines
