;; edge.wat: the edge cases of record.Wasm (record_test.go). malloc is a bump
;; allocator; free has the wrong signature, so the recorder ignores it; the
;; exports exit with status 3, take a parameter, spin forever or trap, and
;; alloc2 traps unless _initialize ran first.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (global $initialized (mut i32) (i32.const 0))
  (func $malloc (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (local.get $p)
      (i32.and (i32.add (local.get $size) (i32.const 15)) (i32.const -16))))
    (local.get $p))
  (func $free (export "free") (param i64))
  (func (export "_initialize") (global.set $initialized (i32.const 1)))
  (func (export "alloc2")
    (if (i32.eqz (global.get $initialized)) (then unreachable))
    (drop (call $malloc (i32.const 16)))
    (drop (call $malloc (i32.const 32))))
  (func (export "exit3")
    (drop (call $malloc (i32.const 8)))
    (call $proc_exit (i32.const 3)))
  (func (export "takes") (param i32))
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "trap") unreachable))
