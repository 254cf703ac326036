;; c_realloc_reexport.wat: "c.realloc" for a module that exports realloc.
;;
;; Rebuild: wat2wasm --debug-names c_realloc_reexport.wat
(module $c_realloc_reexport
  (import "guest.raw" "realloc" (func $f (param i32 i32) (result i32)))
  (export "realloc" (func $f)))
