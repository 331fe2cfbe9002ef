package mrun

import "github.com/vmihailenco/msgpack/v5"

// Raw is one MessagePack-encoded value, kept as bytes.
//
// A parameter of type Raw receives its argument's encoding exactly as it is in the frame
// (copied, so it may be kept), whatever the value is: use it to pass values through untouched,
// including ext types and bin that an any parameter would refuse or convert. A Raw result is
// written to the result frame as is, at any depth, so it must hold exactly one well-formed value;
// an empty Raw is written as nil.
type Raw []byte

// EncodeMsgpack writes r unchanged; it makes Raw a msgpack.CustomEncoder, so a Raw nested in a
// result (a slice element, a struct field) is written as is too.
func (r Raw) EncodeMsgpack(enc *msgpack.Encoder) error {
	if len(r) == 0 {
		return enc.EncodeNil()
	}
	_, err := enc.Writer().Write(r)
	return err
}

// DecodeMsgpack copies the next value's encoding into r; it makes *Raw a
// msgpack.CustomDecoder, so a Raw struct field receives its value's bytes.
func (r *Raw) DecodeMsgpack(dec *msgpack.Decoder) error {
	msg, err := dec.DecodeRaw()
	*r = Raw(msg)
	return err
}
