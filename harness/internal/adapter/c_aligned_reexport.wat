;; c_aligned_reexport.wat: "c.aligned" for a module that exports aligned_alloc.
;;
;; Rebuild: wat2wasm --debug-names c_aligned_reexport.wat
(module $c_aligned_reexport
  (import "guest.raw" "aligned_alloc" (func $f (param i32 i32) (result i32)))
  (export "aligned_alloc" (func $f)))
