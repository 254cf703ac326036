;; realloc_reexport.wat: the "abi.realloc" shim for a guest that exports realloc.
;; It re-exports the guest's own function, so the driver calls it directly.
;;
;; Rebuild: wat2wasm --debug-names realloc_reexport.wat
(module $realloc_reexport
  (import "guest" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
  (export "realloc" (func $realloc)))
