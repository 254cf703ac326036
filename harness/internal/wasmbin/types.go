package wasmbin

import "fmt"

// ValType reads a value type as wazero decodes one: a number, v128, funcref,
// externref, exnref, or a typed reference (ref null ht) or (ref ht).
func (c *Reader) ValType() {
	switch t := c.Byte(); t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69:
	case 0x63, 0x64:
		c.HeapType()
	default:
		c.Fail(fmt.Sprintf("unsupported value type %#x", t))
	}
}

// RefType reads a table's reference type.
func (c *Reader) RefType() {
	switch t := c.Byte(); t {
	case 0x70, 0x6f, 0x69:
	case 0x63, 0x64:
		c.HeapType()
	default:
		c.Fail(fmt.Sprintf("unsupported reference type %#x", t))
	}
}

// HeapType reads a heap type (s33): func, extern, exn or a type index.
func (c *Reader) HeapType() {
	switch t := c.Varint(33); {
	case t >= 0, t == -16, t == -17, t == -23:
	default:
		c.Fail(fmt.Sprintf("unsupported heap type %d", t))
	}
}
