;; oobatlimit.wat: a bump allocator that takes back the last block freed, and
;; that, when memory.grow fails, hands out the block anyway, past the end of
;; memory: sound until its memory limit, so only an out-of-memory pass finds it.
(module $oobatlimit
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 64))
  (func (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $p i32) (local $end i64)
    ;; p = (top + align - 1) & -align
    (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $size))))
    ;; grow when the block ends past memory, and ignore a refusal (the bug)
    (if (i64.gt_u (local.get $end) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (then
        (drop (memory.grow (i32.wrap_i64 (i64.sub
          (i64.shr_u (i64.add (local.get $end) (i64.const 0xffff)) (i64.const 16))
          (i64.extend_i32_u (memory.size))))))))
    (global.set $top (i32.wrap_i64 (local.get $end)))
    (local.get $p))
  ;; free takes back the block when it is the last one
  (func (export "free") (param $ptr i32) (param $size i32) (param $align i32)
    (if (i32.eq (i32.add (local.get $ptr) (local.get $size)) (global.get $top))
      (then (global.set $top (local.get $ptr))))))
