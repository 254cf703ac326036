;; bump: the simplest allocator behind alloclab's ABI v1 (see ../README.md).
;;
;; Layout of linear memory:
;;
;;   0          64                       $top              memory.size * 64 KiB
;;   | reserved | block | pad | block ... | free, never used yet |
;;
;; Strategy: $top is the first free byte. alloc aligns $top up, hands out
;; [ptr, ptr+size) and moves $top past it, growing memory by just the pages
;; the block needs. free does nothing: memory is never reused before reset.
;; reset rewinds $top to the heap start; the pages stay (wasm memory cannot
;; shrink) and are reused without growing again. realloc resizes the most
;; recent block in place, and moves any other block (alloc + copy).
;;
;; Addresses are computed in i64 so that nothing wraps: a request whose end
;; lies past 65535 pages (such as size 0xFFFFFFF0) simply fails with 0.
(module $bump
  ;; One page to start with, no maximum: the host decides the limit.
  (memory (export "memory") 1)

  ;; First address handed out; 0..63 stay unused so 0 is never a block.
  (global $heap_start i64 (i64.const 64))
  ;; First free byte (i64, as the addresses alloc computes from it).
  (global $top (mut i64) (i64.const 64))
  ;; Address of the most recent block, 0 when there is none.
  (global $last (mut i32) (i32.const 0))

  ;; $fit makes sure [0, end) is inside memory, growing by the missing
  ;; pages only. Returns 1 on success, 0 when memory.grow fails (the host's
  ;; page limit) or end is past 65535 pages: the last page is never used, as
  ;; wazero v1.12.0 mishandles a full 4 GiB memory (memory.size reads 0 and
  ;; every access traps).
  (func $fit (param $end i64) (result i32)
    (local $have i64)
    (if (i64.gt_u (local.get $end) (i64.const 0xFFFF_0000))
      (then (return (i32.const 0))))
    memory.size
    i64.extend_i32_u
    i64.const 16
    i64.shl               ;; stack = [pages * 65536]
    local.tee $have
    local.get $end
    i64.ge_u              ;; stack = [have >= end]
    if
      i32.const 1
      return              ;; the memory already there is enough
    end
    local.get $end
    local.get $have
    i64.sub
    i64.const 0xFFFF
    i64.add
    i64.const 16
    i64.shr_u             ;; stack = [ceil((end - have) / 65536)]
    i32.wrap_i64
    memory.grow           ;; stack = [old pages, or -1]
    i32.const -1
    i32.ne                ;; stack = [grew]
  )

  ;; alloc(size, align) -> ptr, or 0 when memory runs out.
  (func $alloc (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $ptr i64)
    (local $end i64)
    ;; ptr = (top + align - 1) & -align
    global.get $top
    local.get $align
    i32.const 1
    i32.sub
    i64.extend_i32_u
    i64.add               ;; stack = [top + align - 1]
    i64.const 0
    local.get $align
    i64.extend_i32_u
    i64.sub               ;; stack = [top + align - 1, -align]
    i64.and               ;; stack = [ptr]
    local.tee $ptr
    local.get $size
    i64.extend_i32_u
    i64.add               ;; stack = [ptr + size]
    local.set $end
    ;; Fast path: the block ends inside memory; else grow (or fail).
    (if (i64.gt_u (local.get $end)
                  (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (then
        (if (i32.eqz (call $fit (local.get $end)))
          (then (return (i32.const 0))))))
    (global.set $top (local.get $end))
    (global.set $last (i32.wrap_i64 (local.get $ptr)))
    (global.get $last)
  )

  ;; free(ptr, size, align): a no-op; the block is reclaimed by reset only.
  (func $free (export "free") (param $ptr i32) (param $size i32) (param $align i32))

  ;; realloc(ptr, old_size, align, new_size) -> ptr, or 0 with the old
  ;; block intact.
  (func $realloc (export "realloc")
    (param $ptr i32) (param $old i32) (param $align i32) (param $new i32)
    (result i32)
    (local $end i64)
    (local $q i32)
    ;; The most recent block ends at $top: grow or shrink it in place.
    (if (i32.and
          (i32.eq (local.get $ptr) (global.get $last))
          (i64.eq (i64.add (i64.extend_i32_u (local.get $ptr))
                           (i64.extend_i32_u (local.get $old)))
                  (global.get $top)))
      (then
        (local.set $end (i64.add (i64.extend_i32_u (local.get $ptr))
                                 (i64.extend_i32_u (local.get $new))))
        ;; Shrinking always fits; growing may need pages. On failure
        ;; $top is untouched, so the old block stays as it was.
        (if (i32.eqz (call $fit (local.get $end)))
          (then (return (i32.const 0))))
        (global.set $top (local.get $end))
        (return (local.get $ptr))))
    ;; Any other block moves: a new block, then copy min(old, new) bytes.
    ;; The old block is simply left behind (free is a no-op anyway).
    (local.set $q (call $alloc (local.get $new) (local.get $align)))
    (if (local.get $q)
      (then
        local.get $q
        local.get $ptr
        local.get $old
        local.get $new
        local.get $old
        local.get $new
        i32.lt_u          ;; stack = [q, ptr, old, new, old < new]
        select            ;; stack = [q, ptr, min(old, new)]
        memory.copy))
    (local.get $q)
  )

  ;; reset(): every block dies at once; the pages are kept for reuse.
  (func $reset (export "reset")
    (global.set $top (global.get $heap_start))
    (global.set $last (i32.const 0))
  )
)
