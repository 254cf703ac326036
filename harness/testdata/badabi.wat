;; badabi.wat: a module that does not keep the ABI: alloc has the wrong type and
;; free is missing.
(module $badabi
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 64)))
