;; growable.wat: a memory with a declared maximum and a function that grows it,
;; for the stale-view tests with plain wazero (../view_test.go).
;;
;; Rebuild: wat2wasm --debug-names growable.wat
(module $growable
  (memory (export "memory") 1 16)
  ;; grow(pages) is memory.grow: the old size in pages, or -1
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages))))
