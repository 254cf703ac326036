;; driver.wat: replays a scenario inside wazero. It imports the guest's exports and
;; calls them directly, so one host call runs a whole batch of ops and the timing
;; measures the allocator, not wazero's host->guest call path.
;;
;; Its own memory (not the guest's) holds:
;;   [0, 4*slots)   the slot table: the pointer each live slot holds
;;   [ops, ...)     the ops, 16 bytes each:
;;                    byte 0   kind: 1 alloc, 2 free, 3 realloc, 4 reset, 5 mark
;;                    byte 1   log2 of the alignment
;;                    bytes 4  slot   (i32)
;;                    bytes 8  size   (i32; realloc: the new size)
;;                    bytes 12 old size (i32; realloc only)
;;   [counts, ...)  checked passes: what each op of the batch cost the guest, 24
;;                  bytes per op, op from first: the instructions, memory ops and
;;                  bulk bytes its counters (package meter) rose by, each an i64
;;
;; Rebuild: wat2wasm --debug-names driver.wat
(module $driver
  (import "guest" "alloc" (func $alloc (param i32 i32) (result i32)))
  (import "guest" "free" (func $free (param i32 i32 i32)))
  ;; realloc and reset come through shims, as the guest may not export them.
  (import "abi.realloc" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
  (import "abi.reset" "reset" (func $reset))
  ;; The checker's hooks on the host, called only when $checked is set.
  (import "checker" "before" (func $before (param i32)))     ;; op index; before free, reset and mark
  (import "checker" "after" (func $after (param i32 i32)))   ;; op index, pointer; after alloc and realloc
  ;; The metered guest's counters, or globals that stay 0 for a guest that is not
  ;; metered; read only when $checked is set.
  (import "meter" "instrs" (global $instrs (mut i64)))
  (import "meter" "mem_ops" (global $mem_ops (mut i64)))
  (import "meter" "bulk_bytes" (global $bulk_bytes (mut i64)))

  (memory (export "memory") 1)

  ;; current is the op being replayed, kept only when $checked is set, so that the
  ;; host can name the op at fault when the guest traps.
  (global $current (export "current") (mut i32) (i32.const 0))

  ;; nop does nothing: the host times calls to it to measure the cost of one call.
  (func (export "nop"))

  ;; run replays ops [$from, $to) of the op array at $ops and returns the index of
  ;; the first op it did not complete: $to, or an alloc or realloc that returned 0.
  ;; When $checked is set it calls the checker's hooks and writes each completed
  ;; op's counts at $counts.
  (func (export "run") (param $ops i32) (param $from i32) (param $to i32) (param $checked i32) (param $counts i32) (result i32)
    (local $i i32) (local $op i32) (local $slot i32) (local $p i32)
    (local $instrs0 i64) (local $mem_ops0 i64) (local $bulk_bytes0 i64) (local $rec i32)
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $op (i32.add (local.get $ops) (i32.shl (local.get $i) (i32.const 4))))
        (local.set $slot (i32.shl (i32.load offset=4 (local.get $op)) (i32.const 2)))
        (if (local.get $checked)
          (then
            (global.set $current (local.get $i))
            (local.set $instrs0 (global.get $instrs))
            (local.set $mem_ops0 (global.get $mem_ops))
            (local.set $bulk_bytes0 (global.get $bulk_bytes))))
        ;; Each kind's handler follows the end of the block its br_table entry
        ;; names; every handler but the last branches on to $continue.
        (block $continue
          (block $mark
            (block $reset
              (block $realloc
                (block $free
                  (block $alloc
                    (block $bad
                      ;; stack: kind
                      (br_table $bad $alloc $free $realloc $reset $mark $bad
                        (i32.load8_u (local.get $op))))
                    unreachable)
                  ;; alloc(size, 1 << align_log2)
                  (local.set $p
                    (call $alloc
                      (i32.load offset=8 (local.get $op))
                      (i32.shl (i32.const 1) (i32.load8_u offset=1 (local.get $op)))))
                  (if (i32.eqz (local.get $p)) (then (return (local.get $i))))
                  (i32.store (local.get $slot) (local.get $p))
                  (if (local.get $checked) (then (call $after (local.get $i) (local.get $p))))
                  (br $continue))
                ;; free(slot's pointer, size, align)
                (if (local.get $checked) (then (call $before (local.get $i))))
                (call $free
                  (i32.load (local.get $slot))
                  (i32.load offset=8 (local.get $op))
                  (i32.shl (i32.const 1) (i32.load8_u offset=1 (local.get $op))))
                (br $continue))
              ;; realloc(slot's pointer, old size, align, new size)
              (local.set $p
                (call $realloc
                  (i32.load (local.get $slot))
                  (i32.load offset=12 (local.get $op))
                  (i32.shl (i32.const 1) (i32.load8_u offset=1 (local.get $op)))
                  (i32.load offset=8 (local.get $op))))
              (if (i32.eqz (local.get $p)) (then (return (local.get $i))))
              (i32.store (local.get $slot) (local.get $p))
              (if (local.get $checked) (then (call $after (local.get $i) (local.get $p))))
              (br $continue))
            ;; reset()
            (if (local.get $checked) (then (call $before (local.get $i))))
            (call $reset)
            (br $continue))
          ;; mark: no call to the guest; the checker notes the memory size
          (if (local.get $checked) (then (call $before (local.get $i)))))
        (if (local.get $checked)
          (then
            (local.set $rec (i32.add (local.get $counts)
              (i32.mul (i32.sub (local.get $i) (local.get $from)) (i32.const 24))))
            (i64.store (local.get $rec) (i64.sub (global.get $instrs) (local.get $instrs0)))
            (i64.store offset=8 (local.get $rec) (i64.sub (global.get $mem_ops) (local.get $mem_ops0)))
            (i64.store offset=16 (local.get $rec) (i64.sub (global.get $bulk_bytes) (local.get $bulk_bytes0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))
)
