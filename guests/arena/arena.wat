;; arena: a region allocator behind alloclab's ABI v1 (see ../README.md).
;;
;; Memory is a list of chunks laid end to end, each a whole number of 64 KiB
;; pages starting on a page boundary, with a 16-byte header:
;;
;;   chunk + 0   next  i32   address of the next chunk, 0 ends the list
;;   chunk + 4   size  i32   bytes in the chunk, header included
;;   chunk + 8   (unused, keeps the first block 16-aligned)
;;
;;   0                  65536                     $tail           memory end
;;   | hdr | blocks ... | hdr | blocks ...  ...   | hdr | blocks  | unused |
;;     head chunk: the initial page; its header lives at address 0, so 0 is
;;     never a block, and no chunk's next can point back to it.
;;
;; Strategy: alloc bumps $bump inside the current chunk $cur. When the
;; request does not fit, the next chunk becomes current. Chunks after $cur
;; are unused since the last reset and lie end to end, so one that is too
;; small absorbs the chunks after it until the request fits. A chunk is
;; added at the end only when the list runs out: one page, or as many pages
;; as a larger request needs (the tail grows the same way). free is a no-op.
;; reset makes the head current again and keeps every chunk: the same
;; sequence of requests replayed after reset finds each chunk ready and
;; never grows memory. realloc resizes the last block of the current chunk
;; in place when it still fits there, and moves any other block.
;;
;; Addresses are computed in i64 so that nothing wraps: a request whose end
;; lies past 65535 pages (such as size 0xFFFFFFF0) simply fails with 0.
(module $arena
  ;; One page to start with, no maximum: the host decides the limit.
  (memory (export "memory") 1)

  ;; Header of the head chunk: next = 0, size = 0x10000 (little endian).
  (data (i32.const 0) "\00\00\00\00" "\00\00\01\00")

  ;; The current chunk, the next free byte in it and its end (i64, as the
  ;; addresses alloc computes from them).
  (global $cur (mut i32) (i32.const 0))
  (global $bump (mut i64) (i64.const 16))
  (global $limit (mut i64) (i64.const 0x10000))
  ;; The last chunk of the list, where new chunks are appended.
  (global $tail (mut i32) (i32.const 0))
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

  ;; $take places [p, p+size) at the first align boundary after chunk c's
  ;; header. If it fits, c becomes the current chunk and p is returned;
  ;; otherwise 0 and nothing changes.
  (func $take (param $c i32) (param $size i32) (param $align i32) (result i32)
    (local $p i64)
    (local $end i64)
    (local $lim i64)
    ;; p = (c + 16 + align - 1) & -align
    local.get $c
    i64.extend_i32_u
    local.get $align
    i32.const 1
    i32.sub
    i64.extend_i32_u
    i64.add
    i64.const 16
    i64.add               ;; stack = [c + 16 + align - 1]
    i64.const 0
    local.get $align
    i64.extend_i32_u
    i64.sub               ;; stack = [c + 16 + align - 1, -align]
    i64.and               ;; stack = [p]
    local.tee $p
    local.get $size
    i64.extend_i32_u
    i64.add
    local.set $end        ;; end = p + size
    (local.set $lim (i64.add (i64.extend_i32_u (local.get $c))
                             (i64.load32_u offset=4 (local.get $c))))
    (if (i64.gt_u (local.get $end) (local.get $lim))
      (then (return (i32.const 0))))
    (global.set $cur (local.get $c))
    (global.set $bump (local.get $end))
    (global.set $limit (local.get $lim))
    (global.set $last (i32.wrap_i64 (local.get $p)))
    (global.get $last)
  )

  ;; $chunk_bytes is the size a chunk at base needs for (size, align): the
  ;; header, padding up to the aligned block, the block, rounded up to whole
  ;; pages. As the header alone is 16 bytes, that is at least one page: the
  ;; standard 64 KiB chunk.
  (func $chunk_bytes (param $base i64) (param $size i32) (param $align i32) (result i64)
    local.get $base
    local.get $align
    i32.const 1
    i32.sub
    i64.extend_i32_u
    i64.add
    i64.const 16
    i64.add
    i64.const 0
    local.get $align
    i64.extend_i32_u
    i64.sub
    i64.and               ;; stack = [p], the block's address in the chunk
    local.get $base
    i64.sub               ;; stack = [p - base]
    local.get $size
    i64.extend_i32_u
    i64.add               ;; stack = [p - base + size]
    i64.const 0xFFFF
    i64.add
    i64.const -0x10000
    i64.and               ;; stack = [bytes, whole pages]
  )

  ;; $alloc_slow runs when the current chunk is full. Every chunk after $cur
  ;; is unused since the last reset, and they lie end to end, so:
  ;;   1. take $cur.next if it fits;
  ;;   2. else merge the chunk after it into it, and try again;
  ;;   3. when the merged chunk is the tail and still too small, grow it by
  ;;      the pages it lacks;
  ;;   4. when $cur is the tail itself, append a new chunk.
  ;; A request replayed after reset thus finds its chunk ready at step 1.
  (func $alloc_slow (param $size i32) (param $align i32) (result i32)
    (local $c i32)
    (local $n i32)
    (local $p i32)
    (local $base i64)
    (local $bytes i64)
    (local.set $c (i32.load (global.get $cur)))
    (if (i32.eqz (local.get $c))
      (then
        ;; 4. A new chunk starts where the tail (= $cur) ends.
        (local.set $base (i64.add (i64.extend_i32_u (global.get $tail))
                                  (i64.load32_u offset=4 (global.get $tail))))
        (local.set $bytes (call $chunk_bytes (local.get $base) (local.get $size) (local.get $align)))
        (if (i32.eqz (call $fit (i64.add (local.get $base) (local.get $bytes))))
          (then (return (i32.const 0))))
        ;; base + bytes <= 0xFFFF0000 now: both fit an i32.
        (local.set $c (i32.wrap_i64 (local.get $base)))
        (i32.store (local.get $c) (i32.const 0))
        (i32.store offset=4 (local.get $c) (i32.wrap_i64 (local.get $bytes)))
        (i32.store (global.get $tail) (local.get $c))
        (global.set $tail (local.get $c))
        (return (call $take (local.get $c) (local.get $size) (local.get $align)))))
    (loop $retry
      ;; 1. Does c fit?
      (local.set $p (call $take (local.get $c) (local.get $size) (local.get $align)))
      (if (local.get $p) (then (return (local.get $p))))
      (local.set $n (i32.load (local.get $c)))
      (if (local.get $n)
        (then
          ;; 2. c absorbs n: c.size += n.size; c.next = n.next
          (i32.store offset=4 (local.get $c)
            (i32.add (i32.load offset=4 (local.get $c)) (i32.load offset=4 (local.get $n))))
          (i32.store (local.get $c) (i32.load (local.get $n)))
          (if (i32.eq (local.get $n) (global.get $tail))
            (then (global.set $tail (local.get $c))))
          (br $retry))))
    ;; 3. c is the tail: grow it to the size the request needs.
    (local.set $bytes (call $chunk_bytes (i64.extend_i32_u (local.get $c))
                                         (local.get $size) (local.get $align)))
    (if (i32.eqz (call $fit (i64.add (i64.extend_i32_u (local.get $c)) (local.get $bytes))))
      (then (return (i32.const 0))))
    (i32.store offset=4 (local.get $c) (i32.wrap_i64 (local.get $bytes)))
    (call $take (local.get $c) (local.get $size) (local.get $align))
  )

  ;; alloc(size, align) -> ptr, or 0 when memory runs out.
  (func $alloc (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $p i64)
    (local $end i64)
    ;; p = (bump + align - 1) & -align
    global.get $bump
    local.get $align
    i32.const 1
    i32.sub
    i64.extend_i32_u
    i64.add               ;; stack = [bump + align - 1]
    i64.const 0
    local.get $align
    i64.extend_i32_u
    i64.sub               ;; stack = [bump + align - 1, -align]
    i64.and               ;; stack = [p]
    local.tee $p
    local.get $size
    i64.extend_i32_u
    i64.add
    local.tee $end        ;; stack = [p + size]
    global.get $limit
    i64.gt_u              ;; stack = [past the current chunk]
    if
      (return (call $alloc_slow (local.get $size) (local.get $align)))
    end
    ;; Fast path: bump inside the current chunk.
    (global.set $bump (local.get $end))
    (global.set $last (i32.wrap_i64 (local.get $p)))
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
    ;; The last block of the current chunk ends at $bump: resize it in
    ;; place if the new end is still inside the chunk.
    (if (i32.and
          (i32.eq (local.get $ptr) (global.get $last))
          (i64.eq (i64.add (i64.extend_i32_u (local.get $ptr))
                           (i64.extend_i32_u (local.get $old)))
                  (global.get $bump)))
      (then
        (local.set $end (i64.add (i64.extend_i32_u (local.get $ptr))
                                 (i64.extend_i32_u (local.get $new))))
        (if (i64.le_u (local.get $end) (global.get $limit))
          (then
            (global.set $bump (local.get $end))
            (return (local.get $ptr))))))
    ;; Otherwise move: a new block, then copy min(old, new) bytes. The old
    ;; block is left behind (free is a no-op anyway).
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

  ;; reset(): every block dies at once. The head chunk becomes current
  ;; again; the list is kept, and alloc_slow walks it before growing.
  (func $reset (export "reset")
    (global.set $cur (i32.const 0))
    (global.set $bump (i64.const 16))
    (global.set $limit (i64.load32_u offset=4 (i32.const 0)))
    (global.set $last (i32.const 0))
  )
)
