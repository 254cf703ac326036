;; realloc_emulated.wat: the "abi.realloc" shim for a guest without realloc:
;; alloc a new block, copy the bytes that survive, free the old block.
;; On failure it returns 0 and leaves the old block intact, as the ABI requires.
;;
;; Rebuild: wat2wasm --debug-names realloc_emulated.wat
(module $realloc_emulated
  (import "guest" "memory" (memory 0))
  (import "guest" "alloc" (func $alloc (param i32 i32) (result i32)))
  (import "guest" "free" (func $free (param i32 i32 i32)))
  (func (export "realloc") (param $ptr i32) (param $old i32) (param $align i32) (param $new i32) (result i32)
    (local $p i32)
    (local.set $p (call $alloc (local.get $new) (local.get $align)))
    (if (local.get $p)
      (then
        ;; copy min(old, new) bytes
        (memory.copy (local.get $p) (local.get $ptr)
          (select (local.get $old) (local.get $new) (i32.lt_u (local.get $old) (local.get $new))))
        (call $free (local.get $ptr) (local.get $old) (local.get $align))))
    (local.get $p)))
