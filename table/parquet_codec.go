package table

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// zstdCheck decompresses zstd pages for checkCompressed; DecodeAll may be called from many
// goroutines at once.
var zstdCheck = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(maxParquetPage)))
})

// checkCompressed checks that src, compressed with codec, decompresses to at most size bytes,
// before the Parquet decoder decompresses it: its decoders allocate what a damaged page
// declares (Snappy's length, a zstd frame's size) or, for LZ4, double their buffer until the
// page decodes, which a damaged page never does. Snappy's declared length is checked; the
// other codecs are decompressed here into a bounded buffer or a discarding writer, so a page
// costs a second decompression.
func checkCompressed(codec format.CompressionCodec, src []byte, size int64) error {
	switch codec {
	case format.Uncompressed:
		return nil
	case format.Snappy:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return fmt.Errorf("snappy: %w", err)
		}
		if int64(n) > size {
			return fmt.Errorf("snappy: %d bytes decompressed, the page header says %d", n, size)
		}
		return nil
	case format.Lz4Raw:
		if _, err := lz4.UncompressBlock(src, make([]byte, size)); err != nil {
			return fmt.Errorf("lz4: %w (or more than the %d bytes the page header says)", err, size)
		}
		return nil
	case format.Zstd:
		d, err := zstdCheck()
		if err != nil {
			return err
		}
		out, err := d.DecodeAll(src, nil)
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		if int64(len(out)) > size {
			return fmt.Errorf("zstd: %d bytes decompressed, the page header says %d", len(out), size)
		}
		return nil
	case format.Gzip:
		r, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		return limitCopy("gzip", r, size)
	case format.Brotli:
		return limitCopy("brotli", brotli.NewReader(bytes.NewReader(src)), size)
	}
	return fmt.Errorf("compression %s is not read (write the file with Snappy, zstd, gzip, Brotli, LZ4_RAW or none)", codec)
}

func limitCopy(what string, r io.Reader, size int64) error {
	n, err := io.Copy(io.Discard, io.LimitReader(r, size+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n > size {
		return fmt.Errorf("%s: more than the %d bytes the page header says", what, size)
	}
	return nil
}
