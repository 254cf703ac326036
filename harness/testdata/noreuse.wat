;; noreuse.wat: a bump allocator that takes back the last block freed only when
;; it is at most 4096 bytes: larger freed blocks are never used again, so its
;; memory grows on every large alloc however few blocks are live.
(module $noreuse
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 64))
  (func (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $p i32) (local $end i64)
    ;; p = (top + align - 1) & -align
    (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $size))))
    ;; grow when the block ends past memory; 0 when memory cannot grow
    (if (i64.gt_u (local.get $end) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.wrap_i64 (i64.sub
                (i64.shr_u (i64.add (local.get $end) (i64.const 0xffff)) (i64.const 16))
                (i64.extend_i32_u (memory.size))))))
          (then (return (i32.const 0))))))
    (global.set $top (i32.wrap_i64 (local.get $end)))
    (local.get $p))
  ;; free takes back the last block, when it is small
  (func (export "free") (param $ptr i32) (param $size i32) (param $align i32)
    (if (i32.and (i32.le_u (local.get $size) (i32.const 4096))
                 (i32.eq (i32.add (local.get $ptr) (local.get $size)) (global.get $top)))
      (then (global.set $top (local.get $ptr))))))
