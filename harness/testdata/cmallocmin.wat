;; cmallocmin.wat: cmalloc.wat with malloc and free only, to test the C
;; adapter's fallbacks: emulated realloc, and no alignment above 16.
(module $cmallocmin
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 64))
  (func $aligned_alloc (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i64)
    (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $size))))
    (if (i64.gt_u (local.get $end) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.wrap_i64 (i64.sub
                (i64.shr_u (i64.add (local.get $end) (i64.const 0xffff)) (i64.const 16))
                (i64.extend_i32_u (memory.size))))))
          (then (return (i32.const 0))))))
    (global.set $top (i32.wrap_i64 (local.get $end)))
    (local.get $p))
  (func $malloc (export "malloc") (param $size i32) (result i32)
    (call $aligned_alloc (i32.const 16) (local.get $size)))
  (func (export "free") (param i32)))
