;; bindgen.wat: adapts a module with wasm-bindgen's allocator exports
;; (__wbindgen_malloc(size, align), __wbindgen_free(ptr, size, align), and
;; optionally __wbindgen_realloc(ptr, old, new, align)) to the lab's ABI. The
;; argument orders differ; the semantics are the same as the lab's.
;;
;; Rebuild: wat2wasm --debug-names bindgen.wat
(module $bindgen
  (import "guest.raw" "memory" (memory $mem 0))
  (import "guest.raw" "__wbindgen_malloc" (func $malloc (param i32 i32) (result i32)))
  (import "guest.raw" "__wbindgen_free" (func $free (param i32 i32 i32)))
  (import "bindgen.realloc" "__wbindgen_realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
  (export "memory" (memory $mem))
  (export "free" (func $free))
  (export "alloc" (func $malloc))
  (func (export "realloc") (param $ptr i32) (param $old i32) (param $align i32) (param $new i32) (result i32)
    (call $realloc (local.get $ptr) (local.get $old) (local.get $new) (local.get $align))))
