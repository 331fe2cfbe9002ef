package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
)

// SummaryLimit is how long, in bytes, Summarize makes a summary at most.
const SummaryLimit = 240

// Summarize renders an argument frame (ABI.md section 3) as a call's arguments are written in
// Python: positional values, then name=value keywords, as in `41, "x", exp=10`. Strings are
// quoted, byte strings, tensors and tables are named by their size, and the text stops at
// SummaryLimit bytes with "…". A frame that does not decode is summarised as such.
func Summarize(frame []byte) string {
	v, err := abi.Decode(frame)
	if err != nil {
		return fmt.Sprintf("(%d bytes that do not decode: %v)", len(frame), err)
	}
	var w summary
	parts, ok := v.([]any)
	if !ok || len(parts) != 2 {
		w.value(v)
		return w.String()
	}
	args, _ := parts[0].([]any)
	kwargs, _ := parts[1].(map[string]any)
	for i, a := range args {
		if i > 0 {
			w.text(", ")
		}
		w.value(a)
	}
	keys := make([]string, 0, len(kwargs))
	for k := range kwargs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 || len(args) > 0 {
			w.text(", ")
		}
		w.text(k + "=")
		w.value(kwargs[k])
	}
	return w.String()
}

// summary is a text that stops growing at SummaryLimit bytes.
type summary struct {
	b    strings.Builder
	full bool
}

func (s *summary) text(t string) {
	if s.full {
		return
	}
	if s.b.Len()+len(t) > SummaryLimit {
		t = t[:SummaryLimit-s.b.Len()]
		for len(t) > 0 && !utf8.ValidString(t) { // do not cut a character in two
			t = t[:len(t)-1]
		}
		s.b.WriteString(t)
		s.b.WriteString("…")
		s.full = true
		return
	}
	s.b.WriteString(t)
}

func (s *summary) String() string { return s.b.String() }

func (s *summary) value(v any) {
	if s.full {
		return
	}
	switch v := v.(type) {
	case nil:
		s.text("None")
	case bool:
		if v {
			s.text("True")
		} else {
			s.text("False")
		}
	case string:
		s.text(strconv.Quote(v))
	case []byte:
		s.text(fmt.Sprintf("<%d bytes>", len(v)))
	case []any:
		s.text("[")
		for i, e := range v {
			if i > 0 {
				s.text(", ")
			}
			s.value(e)
			if s.full {
				return
			}
		}
		s.text("]")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s.text("{")
		for i, k := range keys {
			if i > 0 {
				s.text(", ")
			}
			s.text(strconv.Quote(k) + ": ")
			s.value(v[k])
			if s.full {
				return
			}
		}
		s.text("}")
	case abi.Tensor:
		s.text(fmt.Sprintf("<tensor %s %v>", v.DType, v.Shape))
	case *abi.Tensor:
		s.text(fmt.Sprintf("<tensor %s %v>", v.DType, v.Shape))
	case abi.Table:
		s.text(fmt.Sprintf("<table of %d rows>", v.Rows()))
	case *abi.Table:
		s.text(fmt.Sprintf("<table of %d rows>", v.Rows()))
	default:
		s.text(fmt.Sprint(v))
	}
}

// Arguments returns a summary of the arguments of the failed (or, with All, recorded) call
// with key k (Summarize), if r keeps its bundle in memory or wrote it under Dir. The dashboard
// shows it in a failed task's detail.
func (r *Recorder) Arguments(k abi.Key) (string, bool) {
	r.mu.Lock()
	b, ok := r.kept[k]
	path, written := r.written[k]
	r.mu.Unlock()
	switch {
	case ok:
		return Summarize(b.Frame), true
	case written:
		frame, err := os.ReadFile(filepath.Join(path, argsFile))
		if err != nil {
			return "", false
		}
		return Summarize(frame), true
	}
	return "", false
}
