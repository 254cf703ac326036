;; pool.wat: segregated size classes with a free list per class, carved from
;; slabs; page runs for everything larger. Keeps alloclab's ABI v1
;; (../README.md): exports memory, alloc, free and realloc; no reset, no
;; imports, no start function.
;;
;; Size classes (14 of them, bytes):
;;
;;   index  0  1  2  3  4   5   6   7   8   9   10   11   12   13
;;   size  16 32 48 64 96 128 192 256 384 512  768 1024 1536 2048
;;   align 16 32 16 64 32 128  64 256 128 512  256 1024  512 2048
;;
;; Above 32 B each power of two gets a half step (1.5x), so rounding up wastes
;; at most a third of a block instead of half. A request is first widened to
;; s = max(size, align). If s <= 2048 it goes to the smallest class >= s whose
;; blocks are aligned to at least `align` (the "align" row above). Slabs start
;; on a 4 KiB boundary, so block i of class c sits at slab + i*c and is aligned
;; to c & -c, the largest power of two dividing c. Because align <= s and every
;; power of two from 16 to 2048 is a class, such a class always exists: every
;; align up to 2048 is honoured by the small classes. Anything with s > 2048
;; (a large size, or align 4096) goes to the page runs.
;;
;; Small blocks. Each class has a LIFO free list threaded through its free
;; blocks (the first 4 bytes of a free block hold the next free block, 0 ends
;; the list) and a current slab it carves from: a bump pointer and the bytes
;; left in that slab. alloc pops the free list; if it is empty it carves the
;; next block from the slab; if the slab is spent it takes a new 16 KiB slab
;; (4 pages) from the page runs. free pushes the block on its class's list.
;; All three steps are O(1). A slab belongs to its class for good: its blocks
;; are never handed to another class nor its pages back to the page runs.
;;
;; Page runs. Above the classes memory is handed out in 4 KiB "pages" (not the
;; 64 KiB wasm pages, which are too coarse). Free runs of pages sit on one
;; singly linked list, kept in address order; a free run holds its own header
;; in its first 8 bytes:
;;
;;   run+0  next free run (address; 0 ends the list), always above this one
;;   run+4  length in 4 KiB pages
;;
;; alloc takes the first run that is long enough (first fit) and splits it:
;; the front goes to the caller, the rest stays on the list. free puts the run
;; back in address order and merges it with the free runs just below and just
;; above it, so freed pages coalesce and are reused by later requests of any
;; size. A run's length at free time comes from the size and align the caller
;; passes (sized free, as Rust's allocator API does): ceil(s / 4096) pages,
;; the same formula alloc used, so no header is needed on live runs.
;;
;; Growth. Every page of the linear memory above the control page is either in
;; a slab, in a live run, or on the free-run list. Only when no free run fits
;; does alloc call memory.grow, and then for just the wasm pages it lacks: if
;; the highest free run reaches the end of memory it counts towards the
;; request. The new pages are freed into the list (merging with that run) and
;; the search runs again. When memory.grow returns -1 alloc returns 0; it never
;; traps. Sizes are turned into page counts with shifts that cannot overflow,
;; so a huge size (0xFFFFFFF0 is 2^20 pages) just fails to grow and returns 0.
;;
;; Memory map. The first 4 KiB page is the control area; the heap (slabs and
;; runs) starts at 0x1000, so address 0 is never handed out.
;;
;;   0x0000        never used (0 means "none" / failure)
;;   0x0004  i32   head of the free-run list
;;   0x0040  i32[14]  free-list head per class
;;   0x0080  i32[14]  bump pointer in the class's current slab
;;   0x00C0  i32[14]  bytes left in the class's current slab
;;   0x0100  i32[14]  class sizes (data segment)
;;   0x0140  u8[129]  class index for s, looked up at (s + 15) >> 4 (data segment)
;;   0x1000  heap
;;
;; Zeroed memory is a valid empty state (no free blocks, no slab, no runs), so
;; the only lazy initialisation, on the first alloc, is to put the pages the
;; memory already has (above the control page) on the free-run list.
(module
  (memory (export "memory") 1)

  ;; Set once the initial pages are on the free-run list. The one global.
  (global $ready (mut i32) (i32.const 0))

  ;; Class sizes, i32 little endian, at 0x100.
  (data (i32.const 0x100)
    "\10\00\00\00" "\20\00\00\00" "\30\00\00\00" "\40\00\00\00"  ;;   16   32   48   64
    "\60\00\00\00" "\80\00\00\00" "\c0\00\00\00" "\00\01\00\00"  ;;   96  128  192  256
    "\80\01\00\00" "\00\02\00\00" "\00\03\00\00" "\00\04\00\00"  ;;  384  512  768 1024
    "\00\06\00\00" "\00\08\00\00")                               ;; 1536 2048

  ;; Size -> class table at 0x140. Entry k is the smallest class >= 16*k; all
  ;; classes are multiples of 16, so for 1 <= s <= 2048 entry (s+15)>>4 is
  ;; the smallest class >= s. One row per 256 bytes of s.
  (data (i32.const 0x140)
    "\00\00\01\02\03\04\04\05\05\06\06\06\06\07\07\07"  ;; k   0..15  (s    0..240)
    "\07\08\08\08\08\08\08\08\08\09\09\09\09\09\09\09"  ;; k  16..31  (s  256..496)
    "\09\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a"  ;; k  32..47  (s  512..752)
    "\0a\0b\0b\0b\0b\0b\0b\0b\0b\0b\0b\0b\0b\0b\0b\0b"  ;; k  48..63  (s  768..1008)
    "\0b\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c"  ;; k  64..79  (s 1024..1264)
    "\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c\0c"  ;; k  80..95  (s 1280..1520)
    "\0c\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d"  ;; k  96..111 (s 1536..1776)
    "\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d\0d"  ;; k 112..127 (s 1792..2032)
    "\0d")                                              ;; k 128      (s 2048)

  ;; $init puts the pages memory already has, above the control page, on the
  ;; free-run list. Called by the first alloc.
  (func $init
    (local $pages i32)
    (global.set $ready (i32.const 1))
    ;; 4 KiB pages in memory = wasm pages * 16 (at most 2^20: no overflow)
    (local.set $pages (i32.shl (memory.size) (i32.const 4)))
    (if (i32.gt_u (local.get $pages) (i32.const 1))
      (then
        (call $run_free (i32.const 0x1000)
                        (i32.sub (local.get $pages) (i32.const 1))))))

  ;; $req widens a request to s = max(size, align).
  (func $req (param $size i32) (param $align i32) (result i32)
    (select (local.get $size) (local.get $align)
            (i32.gt_u (local.get $size) (local.get $align))))

  ;; $pages is the number of 4 KiB pages for s bytes: ceil(s / 4096), computed
  ;; as (s >> 12) + (s has a remainder) so it cannot overflow for any s.
  (func $pages (param $s i32) (result i32)
    (i32.add (i32.shr_u (local.get $s) (i32.const 12))
             (i32.ne (i32.and (local.get $s) (i32.const 4095)) (i32.const 0))))

  ;; $class returns the class index for s (1 <= s <= 2048) and align (a power
  ;; of two <= s): the smallest class >= s whose block alignment c & -c is at
  ;; least align. Only a 1.5x class can be too loosely aligned, and the class
  ;; after it is a power of two >= s >= align, so the loop steps at most once
  ;; (e.g. s 40, align 32: 48 is aligned to 16 only, so 64).
  (func $class (param $s i32) (param $align i32) (result i32)
    (local $idx i32) (local $c i32)
    (local.set $idx
      (i32.load8_u offset=0x140
        (i32.shr_u (i32.add (local.get $s) (i32.const 15)) (i32.const 4))))
    (loop $fit
      (local.set $c (i32.load offset=0x100 (i32.shl (local.get $idx) (i32.const 2))))
      ;; [] -> c & -c, the largest power of two dividing c
      (if (i32.lt_u (i32.and (local.get $c) (i32.sub (i32.const 0) (local.get $c)))
                    (local.get $align))
        (then
          (local.set $idx (i32.add (local.get $idx) (i32.const 1)))
          (br $fit))))
    (local.get $idx))

  ;; $bucket names where a request lives, for realloc: the class index (0..13)
  ;; for small requests, 16 + its page count for runs. Two requests with the
  ;; same bucket are served by the same block.
  (func $bucket (param $size i32) (param $align i32) (result i32)
    (local $s i32)
    (local.set $s (call $req (local.get $size) (local.get $align)))
    (if (result i32) (i32.le_u (local.get $s) (i32.const 2048))
      (then (call $class (local.get $s) (local.get $align)))
      (else (i32.add (call $pages (local.get $s)) (i32.const 16)))))

  ;; ---- page runs ---------------------------------------------------------

  ;; $run_free puts the run of $n pages at $addr on the free-run list, in
  ;; address order, merged with the free runs right below and right above it.
  ;; Adjacency is tested on page numbers (addr >> 12), which cannot overflow
  ;; even at the 4 GiB top of memory.
  (func $run_free (param $addr i32) (param $n i32)
    (local $link i32) (local $cur i32) (local $next i32) (local $page i32)
    (local.set $page (i32.shr_u (local.get $addr) (i32.const 12)))
    ;; $link is the address of the word that points at $cur: the list head
    ;; (0x4) or the `next` field (offset 0) of the run before $cur. So when
    ;; $link is not 0x4 it is also the previous free run itself.
    (local.set $link (i32.const 0x4))
    (local.set $cur (i32.load (i32.const 0x4)))
    (block $found
      (loop $walk
        (br_if $found (i32.eqz (local.get $cur)))
        (br_if $found (i32.gt_u (local.get $cur) (local.get $addr)))
        (local.set $link (local.get $cur))
        (local.set $cur (i32.load (local.get $cur)))
        (br $walk)))
    ;; Now prev ($link, unless 0x4) < addr < $cur (or $cur is 0).
    ;; Merge with the run above: absorb its pages and its `next`.
    (local.set $next (local.get $cur))
    (if (local.get $cur)
      (then
        (if (i32.eq (i32.add (local.get $page) (local.get $n))
                    (i32.shr_u (local.get $cur) (i32.const 12)))
          (then
            (local.set $n (i32.add (local.get $n) (i32.load offset=4 (local.get $cur))))
            (local.set $next (i32.load (local.get $cur)))))))
    ;; Merge with the run below: it grows by $n pages and now links to $next.
    (if (i32.ne (local.get $link) (i32.const 0x4))
      (then
        (if (i32.eq (i32.add (i32.shr_u (local.get $link) (i32.const 12))
                             (i32.load offset=4 (local.get $link)))
                    (local.get $page))
          (then
            (i32.store offset=4 (local.get $link)
              (i32.add (i32.load offset=4 (local.get $link)) (local.get $n)))
            (i32.store (local.get $link) (local.get $next))
            (return)))))
    ;; No run below to merge with: this run gets its own header.
    (i32.store (local.get $addr) (local.get $next))
    (i32.store offset=4 (local.get $addr) (local.get $n))
    (i32.store (local.get $link) (local.get $addr)))

  ;; $run_take returns the first free run of at least $n pages, split so that
  ;; only $n pages leave the list, or 0 if no free run is long enough.
  (func $run_take (param $n i32) (result i32)
    (local $link i32) (local $cur i32) (local $m i32) (local $rest i32)
    (local.set $link (i32.const 0x4))
    (loop $walk
      (local.set $cur (i32.load (local.get $link)))
      (if (i32.eqz (local.get $cur))
        (then (return (i32.const 0))))
      (local.set $m (i32.load offset=4 (local.get $cur)))
      (if (i32.ge_u (local.get $m) (local.get $n))
        (then
          (if (i32.eq (local.get $m) (local.get $n))
            (then
              ;; exact fit: unlink the whole run
              (i32.store (local.get $link) (i32.load (local.get $cur))))
            (else
              ;; split: the tail [cur + n pages, cur + m pages) stays free with
              ;; a header of its own. n < m <= pages in memory, so n << 12
              ;; does not overflow.
              (local.set $rest
                (i32.add (local.get $cur) (i32.shl (local.get $n) (i32.const 12))))
              (i32.store (local.get $rest) (i32.load (local.get $cur)))
              (i32.store offset=4 (local.get $rest) (i32.sub (local.get $m) (local.get $n)))
              (i32.store (local.get $link) (local.get $rest))))
          (return (local.get $cur))))
      (local.set $link (local.get $cur))
      (br $walk))
    (unreachable))

  ;; $run_alloc returns a run of $n pages (4 KiB aligned), growing memory by
  ;; just what is missing when no free run fits; 0 if memory cannot grow.
  (func $run_alloc (param $n i32) (result i32)
    (local $p i32) (local $last i32) (local $need i32) (local $w i32) (local $old i32)
    (local.set $p (call $run_take (local.get $n)))
    (if (local.get $p)
      (then (return (local.get $p))))
    ;; Nothing fits. Find the highest free run: if it reaches the end of
    ;; memory, the new pages merge with it and it counts towards $n.
    (local.set $need (local.get $n))
    (local.set $last (i32.load (i32.const 0x4)))
    (if (local.get $last)
      (then
        (loop $walk
          (if (i32.load (local.get $last))
            (then
              (local.set $last (i32.load (local.get $last)))
              (br $walk))))
        (if (i32.eq (i32.add (i32.shr_u (local.get $last) (i32.const 12))
                             (i32.load offset=4 (local.get $last)))
                    (i32.shl (memory.size) (i32.const 4)))
          (then
            ;; run_take failed, so the last run is shorter than $n: need >= 1
            (local.set $need
              (i32.sub (local.get $n) (i32.load offset=4 (local.get $last))))))))
    ;; wasm pages to grow: ceil(need / 16). need <= 2^20, no overflow.
    (local.set $w (i32.shr_u (i32.add (local.get $need) (i32.const 15)) (i32.const 4)))
    ;; [] -> old size in wasm pages, or -1
    (local.set $old (memory.grow (local.get $w)))
    (if (i32.eq (local.get $old) (i32.const -1))
      (then (return (i32.const 0))))
    ;; The new pages [old * 64 KiB, +w * 64 KiB) join the free-run list
    ;; (merging with $last if it was at the end), after which a run of $n
    ;; pages is free for sure.
    (call $run_free (i32.shl (local.get $old) (i32.const 16))
                    (i32.shl (local.get $w) (i32.const 4)))
    (call $run_take (local.get $n)))

  ;; ---- small blocks ------------------------------------------------------

  ;; $small_alloc returns a block of class $idx: from its free list, else
  ;; carved from its slab, else from a new 16 KiB slab; 0 if out of memory.
  (func $small_alloc (param $idx i32) (result i32)
    (local $slot i32) (local $p i32) (local $c i32) (local $left i32)
    ;; byte offset of this class's entry in each of the per-class arrays
    (local.set $slot (i32.shl (local.get $idx) (i32.const 2)))
    ;; 1. pop the free list
    (local.set $p (i32.load offset=0x40 (local.get $slot)))
    (if (local.get $p)
      (then
        (i32.store offset=0x40 (local.get $slot) (i32.load (local.get $p)))
        (return (local.get $p))))
    ;; 2. carve the next block from the current slab. Bytes left rather than
    ;; an end address, so a slab at the 4 GiB top cannot wrap the test.
    (local.set $c (i32.load offset=0x100 (local.get $slot)))
    (local.set $left (i32.load offset=0xC0 (local.get $slot)))
    (if (i32.ge_u (local.get $left) (local.get $c))
      (then
        (local.set $p (i32.load offset=0x80 (local.get $slot)))
        (i32.store offset=0x80 (local.get $slot) (i32.add (local.get $p) (local.get $c)))
        (i32.store offset=0xC0 (local.get $slot) (i32.sub (local.get $left) (local.get $c)))
        (return (local.get $p))))
    ;; 3. the slab is spent (its tail, < c bytes, is lost): take a new one of
    ;; 4 pages from the page runs and hand out its first block.
    (local.set $p (call $run_alloc (i32.const 4)))
    (if (i32.eqz (local.get $p))
      (then (return (i32.const 0))))
    (i32.store offset=0x80 (local.get $slot) (i32.add (local.get $p) (local.get $c)))
    (i32.store offset=0xC0 (local.get $slot) (i32.sub (i32.const 16384) (local.get $c)))
    (local.get $p))

  ;; ---- ABI v1 --------------------------------------------------------------

  ;; alloc(size, align) -> ptr, or 0 when memory cannot grow.
  (func $alloc (export "alloc") (param $size i32) (param $align i32) (result i32)
    (local $s i32)
    (if (i32.eqz (global.get $ready))
      (then (call $init)))
    ;; ABI: align is a power of two up to 4096. Refuse more rather than hand
    ;; out a block that is not aligned to it.
    (if (i32.gt_u (local.get $align) (i32.const 4096))
      (then (return (i32.const 0))))
    (local.set $s (call $req (local.get $size) (local.get $align)))
    (if (i32.le_u (local.get $s) (i32.const 2048))
      (then
        (return (call $small_alloc (call $class (local.get $s) (local.get $align))))))
    (call $run_alloc (call $pages (local.get $s))))

  ;; free(ptr, size, align): size and align are those passed to alloc (or the
  ;; last realloc) and pick the class or the run length.
  (func $free (export "free") (param $ptr i32) (param $size i32) (param $align i32)
    (local $s i32) (local $slot i32)
    (if (i32.eqz (local.get $ptr))
      (then (return)))
    (local.set $s (call $req (local.get $size) (local.get $align)))
    (if (i32.le_u (local.get $s) (i32.const 2048))
      (then
        ;; push on the class's free list: block.next = head; head = block
        (local.set $slot
          (i32.shl (call $class (local.get $s) (local.get $align)) (i32.const 2)))
        (i32.store (local.get $ptr) (i32.load offset=0x40 (local.get $slot)))
        (i32.store offset=0x40 (local.get $slot) (local.get $ptr))
        (return)))
    (call $run_free (local.get $ptr) (call $pages (local.get $s))))

  ;; realloc(ptr, old_size, align, new_size) -> ptr: the same block if the new
  ;; size maps to the same class or the same run length; otherwise a new block
  ;; holding the first min(old_size, new_size) bytes, and the old one is
  ;; freed. On failure returns 0 and the old block stays live and intact.
  (func $realloc (export "realloc")
        (param $ptr i32) (param $old i32) (param $align i32) (param $new i32)
        (result i32)
    (local $q i32)
    (if (i32.eqz (local.get $ptr))
      (then (return (call $alloc (local.get $new) (local.get $align)))))
    (if (i32.eq (call $bucket (local.get $old) (local.get $align))
                (call $bucket (local.get $new) (local.get $align)))
      (then (return (local.get $ptr))))
    (local.set $q (call $alloc (local.get $new) (local.get $align)))
    (if (i32.eqz (local.get $q))
      (then (return (i32.const 0))))
    ;; [] -> copy min(old, new) bytes; the blocks are disjoint
    (memory.copy (local.get $q) (local.get $ptr)
      (select (local.get $old) (local.get $new)
              (i32.lt_u (local.get $old) (local.get $new))))
    (call $free (local.get $ptr) (local.get $old) (local.get $align))
    (local.get $q))
)
