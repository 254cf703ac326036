;; freelist: a general-purpose allocator for alloclab (guest ABI v1).
;;
;; Strategy: first fit over an explicit, doubly linked list of free blocks. A free
;; block larger than the request is split and the rest stays free; a block that is
;; freed is merged at once with a free neighbour on either side. Both neighbours are
;; found in O(1) with boundary tags: every block carries its size in a header AND in
;; a footer, so the block before b is found from the word just below b.
;;
;; Block layout. A block is a run of bytes [b, b+size). Its first and last words hold
;; the same tag: the block's total size (a multiple of 8, header and footer included)
;; OR'd with a used bit (bit 0).
;;
;;     used block                           free block
;;     +--------------------------+         +--------------------------+
;;   b | header:  size | 1        |       b | header:  size | 0        |
;; b+4 | payload (ptr = b+4) ...  |     b+4 | next free block, or 0    |
;;     |                          |     b+8 | prev free block, or 0    |
;;     |                          |         | (unused) ...             |
;;     | ...                      |         |                          |
;;     | footer:  size | 1        |         | footer:  size | 0        |
;;     +--------------------------+         +--------------------------+
;;                                 ^ b+size: the next block's header
;;
;; - Headers sit at addresses = 4 (mod 8) and sizes are multiples of 8, so every
;;   payload is 8-aligned. The smallest block is 16 bytes (header, two links,
;;   footer): a used block costs 8 bytes of tags, plus rounding up to 8.
;; - The list is LIFO: a freed block goes to the front, and alloc takes the first
;;   block on the list that fits.
;; - Invariant: no two free blocks are ever adjacent (free merges at once). So the
;;   neighbours of a free block are always used, and splitting one never has to
;;   merge anything.
;;
;; Memory map. Two sentinels spare every bounds check on the neighbours:
;;
;;   0 .. 67      unused: address 0 is never a block
;;   68 .. 75     prologue: a used block of 8 bytes that is never freed; it sits
;;                before the first block so that block's left neighbour is used
;;   76 ..        the blocks, up to $heap_end (the first payload is at 80)
;;   $heap_end    epilogue: a lone header "size 0, used" in the last 4 bytes of
;;                memory, so the last block's right neighbour is used
;;
;; When no free block fits, memory grows by just enough pages: if the last block is
;; free it is extended, else a new block starts where the epilogue was; the epilogue
;; moves to the new end of memory.
;;
;; All the allocator's state is the two globals below and the tags in memory. The heap
;; is set up lazily by the first alloc (the ABI has no init call the guest can count on).
(module
  (memory (export "memory") 1)

  ;; Address of the epilogue, the last word of memory; 0 until the heap is set up.
  (global $heap_end (mut i32) (i32.const 0))
  ;; The first block on the free list; 0 when the list is empty.
  (global $free_head (mut i32) (i32.const 0))

  ;; ------------------------------------------------------------------ tags

  ;; $size: the size of the block whose header is at $b (the tag without its used bit).
  (func $size (param $b i32) (result i32)
    (i32.and (i32.load (local.get $b)) (i32.const -8)))

  ;; $set_block writes the tag (size | used) into header and footer of [b, b+size).
  (func $set_block (param $b i32) (param $size i32) (param $used i32)
    (local $tag i32)
    (local.set $tag (i32.or (local.get $size) (local.get $used)))
    (i32.store (local.get $b) (local.get $tag))
    (i32.store (i32.sub (i32.add (local.get $b) (local.get $size)) (i32.const 4))
               (local.get $tag)))

  ;; ------------------------------------------------------------------ free list
  ;; next link at b+4, prev link at b+8 (the offset= immediates below).

  ;; $push puts free block $b at the front of the list.
  (func $push (param $b i32)
    (i32.store offset=4 (local.get $b) (global.get $free_head))  ;; b.next = head
    (i32.store offset=8 (local.get $b) (i32.const 0))            ;; b.prev = none
    (if (global.get $free_head)
      (then (i32.store offset=8 (global.get $free_head) (local.get $b))))  ;; head.prev = b
    (global.set $free_head (local.get $b)))

  ;; $unlink takes free block $b off the list, wherever it is: O(1).
  (func $unlink (param $b i32)
    (local $next i32)
    (local $prev i32)
    (local.set $next (i32.load offset=4 (local.get $b)))
    (local.set $prev (i32.load offset=8 (local.get $b)))
    (if (local.get $prev)
      (then (i32.store offset=4 (local.get $prev) (local.get $next)))  ;; prev.next = next
      (else (global.set $free_head (local.get $next))))              ;; b was the head
    (if (local.get $next)
      (then (i32.store offset=8 (local.get $next) (local.get $prev)))))  ;; next.prev = prev

  ;; ------------------------------------------------------------------ heap

  ;; $init lays out prologue, one free block over the rest of memory, and epilogue.
  (func $init
    (local $end i32)
    ;; memory.size is in 64 KiB pages; the epilogue is the last word
    (local.set $end (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 4)))
    (call $set_block (i32.const 68) (i32.const 8) (i32.const 1))   ;; prologue
    (i32.store (local.get $end) (i32.const 1))                     ;; epilogue
    (call $set_block (i32.const 76) (i32.sub (local.get $end) (i32.const 76)) (i32.const 0))
    (call $push (i32.const 76))
    (global.set $heap_end (local.get $end)))

  ;; $grow_heap makes memory at least $req bytes long (64-bit: $req may exceed 4 GiB),
  ;; growing by the fewest pages that do, and moves the epilogue to the new last word.
  ;; The caller owns the bytes between the old $heap_end and the new one. Returns 1,
  ;; or 0 (and changes nothing) when memory cannot grow that far.
  ;;
  ;; The heap stops at 65535 pages, one page short of the wasm32 maximum: at 65536
  ;; pages the byte length 2^32 does not fit in an i32, and wazero's compiler traps on
  ;; accesses near the top of such a memory. A request that would need the last page
  ;; gets 0 instead.
  (func $grow_heap (param $req i64) (result i32)
    (local $have i64)
    (local $pages i64)
    (local $end i32)
    (if (i64.gt_u (local.get $req) (i64.const 0xFFFF0000))   ;; 65535 pages
      (then (return (i32.const 0))))
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $req) (local.get $have))
      (then
        ;; pages = ceil((req - have) / 64 KiB), at most 65534 here
        (local.set $pages
          (i64.shr_u
            (i64.add (i64.sub (local.get $req) (local.get $have)) (i64.const 0xFFFF))
            (i64.const 16)))
        local.get $pages
        i32.wrap_i64
        memory.grow     ;; stack: [old page count, or -1 when the host refuses]
        i32.const -1
        i32.eq          ;; stack: [refused?]
        if
          i32.const 0   ;; out of memory is a 0 result, never a trap
          return
        end))
    ;; Take the end from memory.size (not from $req): the new last word.
    (local.set $end (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 4)))
    (i32.store (local.get $end) (i32.const 1))   ;; the new epilogue
    (global.set $heap_end (local.get $end))
    (i32.const 1))

  ;; ------------------------------------------------------------------ carving blocks

  ;; $take turns [b, b+total) into a used block for a request of $need bytes (tags
  ;; included). A tail of 16 bytes or more is split off as a free block; a smaller
  ;; tail (8 bytes) cannot be a block and stays in the used block.
  ;; The tail's right neighbour must be used (callers ensure it), so no merge is due.
  (func $take (param $b i32) (param $total i32) (param $need i32)
    (local $rest i32)
    (local.set $rest (i32.sub (local.get $total) (local.get $need)))
    (if (i32.ge_u (local.get $rest) (i32.const 16))
      (then
        (call $set_block (local.get $b) (local.get $need) (i32.const 1))
        (call $set_block (i32.add (local.get $b) (local.get $need)) (local.get $rest) (i32.const 0))
        (call $push (i32.add (local.get $b) (local.get $need))))
      (else
        (call $set_block (local.get $b) (local.get $total) (i32.const 1)))))

  ;; $place carves the used block with payload $p out of free block $b, which $fit
  ;; has checked, and returns $p. The used block's header is at p-4, so the bytes
  ;; [b, p-4) in front of it ("front", a multiple of 8) must go somewhere:
  ;;   0        nothing to do (always the case for align 8)
  ;;   8        too small for a block: the block before b, which is used (by the
  ;;            invariant), grows by 8 bytes to cover them. (It is never the
  ;;            prologue: the block after it starts at 76, payload 80, and 80 + 8
  ;;            is a multiple of no alignment above 8.)
  ;;   16 or +  split off as a free block of its own
  (func $place (param $b i32) (param $p i32) (param $need i32) (result i32)
    (local $total i32)
    (local $front i32)
    (local $left i32)
    (local.set $total (call $size (local.get $b)))
    (call $unlink (local.get $b))
    (local.set $front (i32.sub (i32.sub (local.get $p) (i32.const 4)) (local.get $b)))
    (if (local.get $front)
      (then
        (if (i32.ge_u (local.get $front) (i32.const 16))
          (then
            (call $set_block (local.get $b) (local.get $front) (i32.const 0))
            (call $push (local.get $b)))
          (else
            ;; $left = size of the block before b, read from its footer at b-4
            (local.set $left (i32.and (i32.load (i32.sub (local.get $b) (i32.const 4))) (i32.const -8)))
            (call $set_block (i32.sub (local.get $b) (local.get $left))
                             (i32.add (local.get $left) (local.get $front))
                             (i32.const 1))))
        (local.set $b (i32.sub (local.get $p) (i32.const 4)))
        (local.set $total (i32.sub (local.get $total) (local.get $front)))))
    (call $take (local.get $b) (local.get $total) (local.get $need))
    (local.get $p))

  ;; $payload_at: the lowest payload address at or after b+4 that is a multiple of
  ;; $align (a power of two): (b + 4 + align-1) & ~(align-1). Computed in 64 bits,
  ;; so it cannot wrap near the top of a 4 GiB address space.
  (func $payload_at (param $b i32) (param $align i32) (result i64)
    (local $mask i64)
    local.get $align
    i32.const 1
    i32.sub
    i64.extend_i32_u
    local.set $mask  ;; mask = align - 1, e.g. 0xFFF for 4096
    local.get $b
    i64.extend_i32_u
    i64.const 4
    i64.add          ;; stack: [b+4], the lowest payload the block could have
    local.get $mask
    i64.add          ;; stack: [b+4+mask]
    local.get $mask
    i64.const -1
    i64.xor          ;; stack: [b+4+mask, ~mask]
    i64.and)         ;; stack: [p], b+4 rounded up to a multiple of align

  ;; $fit: the aligned payload address if free block $b can hold a used block of $need
  ;; bytes, else 0. The used block is [p-4, p-4+need) and must end by b+size.
  (func $fit (param $b i32) (param $need i32) (param $align i32) (result i32)
    (local $p i64)
    (if (i32.eq (local.get $align) (i32.const 8))
      (then
        ;; fast path: b+4 is always 8-aligned, so the payload goes right there
        (return
          (select
            (i32.add (local.get $b) (i32.const 4))
            (i32.const 0)
            (i32.ge_u (call $size (local.get $b)) (local.get $need))))))
    (local.set $p (call $payload_at (local.get $b) (local.get $align)))
    (if (result i32)
      (i64.le_u
        (i64.sub (i64.add (local.get $p) (i64.extend_i32_u (local.get $need))) (i64.const 4))
        (i64.extend_i32_u (i32.add (local.get $b) (call $size (local.get $b)))))
      (then (i32.wrap_i64 (local.get $p)))
      (else (i32.const 0))))

  ;; $find walks the free list, first fit, and places the block in the first free
  ;; block that can hold it. Returns the payload, or 0 if no free block fits. O(n) in
  ;; the number of free blocks.
  (func $find (param $need i32) (param $align i32) (result i32)
    (local $b i32)
    (local $p i32)
    (local.set $b (global.get $free_head))
    (block $none
      (loop $scan
        (br_if $none (i32.eqz (local.get $b)))
        (local.set $p (call $fit (local.get $b) (local.get $need) (local.get $align)))
        (if (local.get $p)
          (then (return (call $place (local.get $b) (local.get $p) (local.get $need)))))
        (local.set $b (i32.load offset=4 (local.get $b)))   ;; b = b.next
        (br $scan)))
    (i32.const 0))

  ;; $alloc_block: a used block of $need bytes (tags included) whose payload is
  ;; $align-aligned, from the free list, else from new memory. Returns the payload or 0.
  (func $alloc_block (param $need i32) (param $align i32) (result i32)
    (local $p i32)
    (local $old_end i32)
    (local $last i32)
    (local $start i32)
    (local $p64 i64)
    (local.set $p (call $find (local.get $need) (local.get $align)))
    (if (local.get $p) (then (return (local.get $p))))

    ;; Nothing fits: grow. The new block starts at the last block if that one is
    ;; free (it gets extended, so we grow only by the shortfall), else at the epilogue.
    (local.set $old_end (global.get $heap_end))
    (local.set $last (i32.load (i32.sub (local.get $old_end) (i32.const 4))))  ;; last block's footer
    (local.set $start
      (select
        (i32.sub (local.get $old_end) (local.get $last))  ;; free: its tag is its size
        (local.get $old_end)
        (i32.eqz (i32.and (local.get $last) (i32.const 1)))))
    ;; Memory must hold the used block [p-4, p-4+need) and the epilogue word after
    ;; it: it must be p + need bytes long.
    (local.set $p64 (call $payload_at (local.get $start) (local.get $align)))
    (if (i32.eqz (call $grow_heap (i64.add (local.get $p64) (i64.extend_i32_u (local.get $need)))))
      (then (return (i32.const 0))))
    ;; [start, heap_end) is now one free block. An extended last block is on the list
    ;; already; a new one goes on it.
    (call $set_block (local.get $start) (i32.sub (global.get $heap_end) (local.get $start)) (i32.const 0))
    (if (i32.eq (local.get $start) (local.get $old_end))
      (then (call $push (local.get $start))))
    (call $place (local.get $start) (i32.wrap_i64 (local.get $p64)) (local.get $need)))

  ;; $release frees the block at $b, whose size is read from its header, and merges
  ;; it with a free neighbour on either side.
  (func $release (param $b i32)
    (local $size i32)
    (local $tag i32)
    (local.set $size (call $size (local.get $b)))
    ;; Right neighbour: its header is at b+size. If free, unlink it and absorb it.
    (local.set $tag (i32.load (i32.add (local.get $b) (local.get $size))))
    (if (i32.eqz (i32.and (local.get $tag) (i32.const 1)))
      (then
        (call $unlink (i32.add (local.get $b) (local.get $size)))
        (local.set $size (i32.add (local.get $size) (local.get $tag)))))  ;; free tag = size
    ;; Left neighbour: its footer is the word at b-4.
    (local.set $tag (i32.load (i32.sub (local.get $b) (i32.const 4))))
    (if (i32.eqz (i32.and (local.get $tag) (i32.const 1)))
      (then
        ;; The left block grows over this one and keeps its place on the list. Our
        ;; old header is now inside it: clear it, so a second free of this pointer
        ;; sees a free tag and is ignored (see $free).
        (i32.store (local.get $b) (i32.const 0))
        (local.set $b (i32.sub (local.get $b) (local.get $tag)))
        (call $set_block (local.get $b) (i32.add (local.get $size) (local.get $tag)) (i32.const 0)))
      (else
        (call $set_block (local.get $b) (local.get $size) (i32.const 0))
        (call $push (local.get $b)))))

  ;; ------------------------------------------------------------------ argument checks

  ;; $block_align: the alignment to use, at least 8; 0 if $align is not a power of two.
  (func $block_align (param $align i32) (result i32)
    ;; a power of two (or 0) has no bit in common with itself minus one
    (if (i32.and (local.get $align) (i32.sub (local.get $align) (i32.const 1)))
      (then (return (i32.const 0))))
    (select (local.get $align) (i32.const 8) (i32.gt_u (local.get $align) (i32.const 8))))

  ;; $block_size: the block size for a payload of $size bytes, tags included:
  ;; (size + 8) rounded up to 8, at least 16. 0 if the size is so huge that size + 15
  ;; would wrap: no memory of 4 GiB could hold such a block anyway.
  (func $block_size (param $size i32) (result i32)
    (local $n i32)
    (if (i32.gt_u (local.get $size) (i32.const 0xFFFFFFE0))
      (then (return (i32.const 0))))
    (local.set $n (i32.and (i32.add (local.get $size) (i32.const 15)) (i32.const -8)))
    (select (local.get $n) (i32.const 16) (i32.gt_u (local.get $n) (i32.const 16))))

  ;; ------------------------------------------------------------------ ABI v1

  ;; alloc(size, align) -> ptr: ptr % align == 0, or 0 when memory cannot be had.
  (func $alloc (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $need i32)
    (if (i32.eqz (global.get $heap_end)) (then (call $init)))
    (local.set $align (call $block_align (local.get $align)))
    (local.set $need (call $block_size (local.get $size)))
    (if (i32.or (i32.eqz (local.get $align)) (i32.eqz (local.get $need)))
      (then (return (i32.const 0))))
    (call $alloc_block (local.get $need) (local.get $align)))

  ;; free(ptr, size, align): size and align are ignored, the header knows the size.
  (func $free (export "free") (param $ptr i32) (param $size i32) (param $align i32)
    (local $b i32)
    (if (i32.eqz (local.get $ptr)) (then (return)))
    (local.set $b (i32.sub (local.get $ptr) (i32.const 4)))
    ;; A block whose tag says free is not freed again. This catches a plain double
    ;; free; it is no guarantee (the bytes may belong to another block by then).
    (if (i32.eqz (i32.and (i32.load (local.get $b)) (i32.const 1)))
      (then (return)))
    (call $release (local.get $b)))

  ;; realloc(ptr, old_size, align, new_size) -> ptr, in this order of preference:
  ;;   1. shrink (or keep) in place, splitting off the tail if it makes a block;
  ;;   2. grow in place over a free right neighbour that is big enough;
  ;;   3. if the block is last in the heap (maybe followed by a free last block):
  ;;      move to a free block that fits if there is one (memory we have comes first),
  ;;      else grow memory and the block in place;
  ;;   4. else move: alloc, copy min(old_size, new_size) bytes, free the old block.
  ;; On failure it returns 0 and the old block is untouched and still live.
  (func $realloc (export "realloc")
    (param $ptr i32) (param $old_size i32) (param $align i32) (param $new_size i32)
    (result i32)
    (local $need i32)
    (local $b i32)
    (local $size i32)
    (local $next i32)
    (local $tag i32)
    (local $room i32)
    (local $q i32)
    (local $len i32)
    (if (i32.eqz (local.get $ptr))
      (then (return (call $alloc (local.get $new_size) (local.get $align)))))
    (local.set $align (call $block_align (local.get $align)))
    (local.set $need (call $block_size (local.get $new_size)))
    (if (i32.or (i32.eqz (local.get $align)) (i32.eqz (local.get $need)))
      (then (return (i32.const 0))))
    (local.set $b (i32.sub (local.get $ptr) (i32.const 4)))
    (local.set $size (call $size (local.get $b)))

    ;; 1. Shrink, or no change of block size.
    (if (i32.le_u (local.get $need) (local.get $size))
      (then
        (if (i32.ge_u (i32.sub (local.get $size) (local.get $need)) (i32.const 16))
          (then
            ;; Cut the tail off as a used block, then release it: that merges it with
            ;; a free right neighbour if there is one.
            (call $set_block (local.get $b) (local.get $need) (i32.const 1))
            (local.set $next (i32.add (local.get $b) (local.get $need)))
            (call $set_block (local.get $next) (i32.sub (local.get $size) (local.get $need)) (i32.const 1))
            (call $release (local.get $next))))
        (return (local.get $ptr))))

    ;; 2. Grow over a free right neighbour. $room = what we can have without moving.
    (local.set $next (i32.add (local.get $b) (local.get $size)))
    (local.set $tag (i32.load (local.get $next)))
    (local.set $room (local.get $size))
    (if (i32.eqz (i32.and (local.get $tag) (i32.const 1)))
      (then
        (local.set $room (i32.add (local.get $size) (local.get $tag)))
        (if (i32.ge_u (local.get $room) (local.get $need))
          (then
            (call $unlink (local.get $next))
            ;; the neighbour's right neighbour is used (invariant): $take may split
            (call $take (local.get $b) (local.get $room) (local.get $need))
            (return (local.get $ptr))))))

    (if (i32.eq (i32.add (local.get $b) (local.get $room)) (global.get $heap_end))
      (then
        ;; 3. Last in the heap. A free block that fits wins over growing memory.
        (local.set $q (call $find (local.get $need) (local.get $align)))
        (if (i32.eqz (local.get $q))
          (then
            ;; Grow memory to hold [b, b+need) and the epilogue after it.
            (if (i32.eqz (call $grow_heap
                           (i64.add (i64.extend_i32_u (local.get $b))
                                    (i64.extend_i32_u (i32.add (local.get $need) (i32.const 4))))))
              (then (return (i32.const 0))))
            (if (i32.eqz (i32.and (local.get $tag) (i32.const 1)))
              (then (call $unlink (local.get $next))))
            (call $take (local.get $b) (i32.sub (global.get $heap_end) (local.get $b)) (local.get $need))
            (return (local.get $ptr)))))
      (else
        ;; 4. Move anywhere (this may grow memory too).
        (local.set $q (call $alloc_block (local.get $need) (local.get $align)))
        (if (i32.eqz (local.get $q)) (then (return (i32.const 0))))))

    ;; Moved (3 or 4): copy min(old_size, new_size) bytes, and never more than the old
    ;; block holds (size - 8), then free the old block.
    (local.set $len (local.get $old_size))
    (if (i32.lt_u (local.get $new_size) (local.get $len)) (then (local.set $len (local.get $new_size))))
    (if (i32.lt_u (i32.sub (local.get $size) (i32.const 8)) (local.get $len))
      (then (local.set $len (i32.sub (local.get $size) (i32.const 8)))))
    (memory.copy (local.get $q) (local.get $ptr) (local.get $len))
    (call $release (local.get $b))
    (local.get $q))
)
