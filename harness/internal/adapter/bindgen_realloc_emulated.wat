;; bindgen_realloc_emulated.wat: "bindgen.realloc" for a module without
;; __wbindgen_realloc: malloc, copy min(old, new), free.
;;
;; Rebuild: wat2wasm --debug-names bindgen_realloc_emulated.wat
(module $bindgen_realloc_emulated
  (import "guest.raw" "memory" (memory 0))
  (import "guest.raw" "__wbindgen_malloc" (func $malloc (param i32 i32) (result i32)))
  (import "guest.raw" "__wbindgen_free" (func $free (param i32 i32 i32)))
  (func (export "__wbindgen_realloc") (param $ptr i32) (param $old i32) (param $new i32) (param $align i32) (result i32)
    (local $p i32)
    (local.set $p (call $malloc (local.get $new) (local.get $align)))
    (if (local.get $p)
      (then
        (memory.copy (local.get $p) (local.get $ptr)
          (select (local.get $old) (local.get $new) (i32.lt_u (local.get $old) (local.get $new))))
        (call $free (local.get $ptr) (local.get $old) (local.get $align))))
    (local.get $p)))
