;; leaky.wat: a deliberately faulty allocator, the fixture of leak-check's tests
;; (../leak_test.go). It bumps a pointer through a heap that starts at 4 KiB, and
;; keeps freed blocks on one free list that alloc reuses only for a request of
;; exactly the block's size (rounded up to 16 bytes) and alignment. But every
;; 10th call to free loses its block: the block never reaches the free list, so
;; its bytes cannot be handed out again, and the next request of that size must
;; come from fresh memory. Keeps ABI v1 (../../../guests/README.md): memory,
;; alloc and free; no imports.
;;
;; Rebuild: wat2wasm --debug-names leaky.wat
(module $leaky
  (memory (export "memory") 1)
  ;; next unused byte of the heap: 0 to 4 KiB is never handed out
  (global $top (mut i32) (i32.const 4096))
  ;; the free list: a free block holds the next free block (0 ends it) at +0
  ;; and its rounded size at +4
  (global $head (mut i32) (i32.const 0))
  ;; calls to free so far
  (global $frees (mut i32) (i32.const 0))

  (func (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $n i64) (local $prev i32) (local $p i32) (local $end i64)
    ;; n = size rounded up to 16, in 64 bits so that it cannot overflow
    (local.set $n (i64.and (i64.add (i64.extend_i32_u (local.get $size)) (i64.const 15))
                           (i64.const -16)))
    ;; the first free block of exactly n bytes that is aligned
    (local.set $p (global.get $head))
    (block $done
      (loop $scan
        (br_if $done (i32.eqz (local.get $p)))
        (if (i32.and
              (i64.eq (i64.extend_i32_u (i32.load offset=4 (local.get $p))) (local.get $n))
              (i32.eqz (i32.and (local.get $p) (i32.sub (local.get $align) (i32.const 1)))))
          (then
            (if (local.get $prev)
              (then (i32.store (local.get $prev) (i32.load (local.get $p))))
              (else (global.set $head (i32.load (local.get $p)))))
            (return (local.get $p))))
        (local.set $prev (local.get $p))
        (local.set $p (i32.load (local.get $p)))
        (br $scan)))
    ;; none: bump. p = (top + align - 1) & -align
    (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i64.add (i64.extend_i32_u (local.get $p)) (local.get $n)))
    (if (i64.gt_u (local.get $end) (i64.const 0xffffffff))
      (then (return (i32.const 0))))
    ;; grow by the pages the block lacks
    (if (i64.gt_u (local.get $end) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.wrap_i64 (i64.sub
                (i64.shr_u (i64.add (local.get $end) (i64.const 0xffff)) (i64.const 16))
                (i64.extend_i32_u (memory.size))))))
          (then (return (i32.const 0))))))
    (global.set $top (i32.wrap_i64 (local.get $end)))
    (local.get $p))

  (func (export "free") (param $ptr i32) (param $size i32) (param $align i32)
    (global.set $frees (i32.add (global.get $frees) (i32.const 1)))
    ;; the fault: every 10th block freed is lost
    (if (i32.eqz (i32.rem_u (global.get $frees) (i32.const 10)))
      (then (return)))
    (i32.store (local.get $ptr) (global.get $head))
    (i32.store offset=4 (local.get $ptr)
      (i32.and (i32.add (local.get $size) (i32.const 15)) (i32.const -16)))
    (global.set $head (local.get $ptr))))
