;; floor.wat: the lab's overhead floor, not an allocator. alloc bumps a pointer
;; and rewinds when it passes 3 MiB, so blocks overlap: the checker would refuse
;; it, and the harness never checks it. Timing it gives the cost of the lab itself
;; per op (driver loop, calls into the guest) in each mode, which every run
;; publishes beside the real guests.
;;
;; Rebuild: wat2wasm --debug-names floor.wat
(module $floor
  ;; 64 pages (4 MiB), never grown: the largest block a scenario asks for is 1 MiB.
  (memory (export "memory") 64)
  (global $top (mut i32) (i32.const 64))

  (func $alloc (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    ;; p = (top + align - 1) & -align
    (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    ;; past 3 MiB: start again at 4096, which every alignment divides
    (if (i32.gt_u (i32.add (local.get $p) (local.get $size)) (i32.const 0x300000))
      (then (local.set $p (i32.const 4096))))
    (global.set $top (i32.add (local.get $p) (local.get $size)))
    (local.get $p))

  (func (export "free") (param i32 i32 i32))

  ;; realloc keeps the block when it shrinks; otherwise a new one, not copied.
  (func (export "realloc") (param $ptr i32) (param $old i32) (param $align i32) (param $new i32) (result i32)
    (if (result i32) (i32.le_u (local.get $new) (local.get $old))
      (then (local.get $ptr))
      (else (call $alloc (local.get $new) (local.get $align)))))

  (func (export "reset") (global.set $top (i32.const 64))))
