;; c.wat: adapts a module with the C convention (malloc, free, and optionally
;; aligned_alloc and realloc) to the lab's ABI. The harness instantiates the
;; user's module as "guest.raw" and this adapter as "guest"; the optional
;; functions come through "c.aligned" and "c.realloc", each either a re-export of
;; the module's own or a fallback.
;;
;; Rebuild: wat2wasm --debug-names c.wat
(module $c
  (import "guest.raw" "memory" (memory $mem 0))
  (import "guest.raw" "malloc" (func $malloc (param i32) (result i32)))
  (import "guest.raw" "free" (func $cfree (param i32)))
  (import "c.aligned" "aligned_alloc" (func $aligned_alloc (param i32 i32) (result i32)))
  (import "c.realloc" "realloc" (func $crealloc (param i32 i32) (result i32)))
  (export "memory" (memory $mem))

  ;; malloc's blocks are aligned to 16 on wasm32 (max_align_t); beyond that, ask
  ;; aligned_alloc, whose size must be a multiple of the alignment in C11.
  (func (export "alloc") (param $size i32) (param $align i32) (result i32)
    (if (result i32) (i32.le_u (local.get $align) (i32.const 16))
      (then (call $malloc (local.get $size)))
      (else
        (call $aligned_alloc (local.get $align)
          ;; round size up to a multiple of align
          (i32.and (i32.add (local.get $size) (i32.sub (local.get $align) (i32.const 1)))
                   (i32.sub (i32.const 0) (local.get $align)))))))

  (func (export "free") (param $ptr i32) (param i32 i32)
    (call $cfree (local.get $ptr)))

  ;; realloc keeps malloc's alignment only: blocks aligned above 16 are moved by
  ;; hand, allocating aligned, copying and freeing.
  (func (export "realloc") (param $ptr i32) (param $old i32) (param $align i32) (param $new i32) (result i32)
    (local $p i32)
    (if (i32.le_u (local.get $align) (i32.const 16))
      (then (return (call $crealloc (local.get $ptr) (local.get $new)))))
    (local.set $p (call $aligned_alloc (local.get $align)
      (i32.and (i32.add (local.get $new) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align)))))
    (if (local.get $p)
      (then
        (memory.copy (local.get $p) (local.get $ptr)
          (select (local.get $old) (local.get $new) (i32.lt_u (local.get $old) (local.get $new))))
        (call $cfree (local.get $ptr))))
    (local.get $p)))
