package table

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// thriftMaxDepth bounds the nesting of structs, lists and maps checkThrift follows.
const thriftMaxDepth = 32

// checkThrift walks one Thrift compact-protocol struct at the start of b, without decoding
// it, and returns its length. Every list, set, map and binary length must fit in the bytes
// that remain: Parquet's decoder allocates a list's declared length before it reads the
// elements, so a damaged length of a few bytes would make it allocate gigabytes (and a
// failed allocation ends the process, which no recover catches).
func checkThrift(b []byte) (int, error) {
	c := thriftChecker{b: b}
	if err := c.value(12, 0); err != nil {
		return 0, err
	}
	return c.off, nil
}

type thriftChecker struct {
	b   []byte
	off int
}

var errThriftShort = errors.New("the Thrift data ends early")

func (c *thriftChecker) byte() (byte, error) {
	if c.off >= len(c.b) {
		return 0, errThriftShort
	}
	c.off++
	return c.b[c.off-1], nil
}

func (c *thriftChecker) varint() (uint64, error) {
	x, n := binary.Uvarint(c.b[c.off:])
	if n <= 0 {
		return 0, errThriftShort
	}
	c.off += n
	return x, nil
}

func (c *thriftChecker) skip(n uint64) error {
	if n > uint64(len(c.b)-c.off) {
		return fmt.Errorf("a length of %d where %d bytes remain", n, len(c.b)-c.off)
	}
	c.off += int(n)
	return nil
}

// value skips one value of compact type t (12 a struct).
func (c *thriftChecker) value(t byte, depth int) error {
	if depth > thriftMaxDepth {
		return fmt.Errorf("values nested more than %d deep", thriftMaxDepth)
	}
	switch t {
	case 1, 2: // a bool: in a list, one byte; in a struct, in the field header (see struct)
		return c.skip(1)
	case 3:
		return c.skip(1)
	case 4, 5, 6:
		_, err := c.varint()
		return err
	case 7:
		return c.skip(8)
	case 8:
		n, err := c.varint()
		if err != nil {
			return err
		}
		return c.skip(n)
	case 9, 10:
		h, err := c.byte()
		if err != nil {
			return err
		}
		n, et := uint64(h>>4), h&0x0f
		if n == 15 {
			if n, err = c.varint(); err != nil {
				return err
			}
		}
		if n > uint64(len(c.b)-c.off) { // every element takes a byte or more
			return fmt.Errorf("a list of %d elements where %d bytes remain", n, len(c.b)-c.off)
		}
		for range n {
			if err := c.value(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11:
		n, err := c.varint()
		if err != nil || n == 0 {
			return err
		}
		if n > uint64(len(c.b)-c.off) {
			return fmt.Errorf("a map of %d entries where %d bytes remain", n, len(c.b)-c.off)
		}
		kv, err := c.byte()
		if err != nil {
			return err
		}
		for range n {
			if err := c.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := c.value(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12:
		for {
			h, err := c.byte()
			if err != nil {
				return err
			}
			if h == 0 { // stop
				return nil
			}
			if h>>4 == 0 { // a field id of its own, as a zigzag varint
				if _, err := c.varint(); err != nil {
					return err
				}
			}
			if ft := h & 0x0f; ft != 1 && ft != 2 { // a bool field's value is its type
				if err := c.value(ft, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return fmt.Errorf("unknown Thrift type %d", t)
}
