;; bindgen_realloc_reexport.wat: "bindgen.realloc" for a module with __wbindgen_realloc.
;;
;; Rebuild: wat2wasm --debug-names bindgen_realloc_reexport.wat
(module $bindgen_realloc_reexport
  (import "guest.raw" "__wbindgen_realloc" (func $f (param i32 i32 i32 i32) (result i32)))
  (export "__wbindgen_realloc" (func $f)))
