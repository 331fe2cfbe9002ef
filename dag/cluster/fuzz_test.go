package cluster

import (
	goruntime "runtime"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/vmihailenco/msgpack/v5"
)

// Decoding arbitrary bytes as a task message, checking it, and recomputing its key never
// panics: anyone who may publish to the task subject chooses these bytes.
func FuzzTaskMsg(f *testing.F) {
	frame, _ := abi.EncodeFrame([]any{55}, nil)
	tmpl, _ := abi.NewTemplate(frame)
	var sum [32]byte
	sum[0] = 0xc5
	key := abi.TaskKey(sum, "inc", 1, tmpl)
	for _, t := range []taskMsg{
		{ID: "a", Key: key[:], Module: "c5" + "00000000000000000000000000000000000000000000000000000000000000", ModName: "seed", Func: "inc", NOutput: 1, Frame: frame, Reply: "mrun.done.x"},
		{ID: "b", Key: key[:], Module: "c5" + "00000000000000000000000000000000000000000000000000000000000000", Func: "divmod", NOutput: 2, FrameRef: "frame-b", Timeout: 1e9, Depth: 3, MaxDepth: 5, MaxTasks: 50},
		{ID: "c"},
	} {
		b, err := msgpack.Marshal(&t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeTask(b)
		if err != nil {
			return
		}
		if len(m.Key) != abi.KeySize || m.NOutput < 1 {
			t.Fatalf("decodeTask accepted %+v", m)
		}
		tmpl, err := abi.NewTemplate(m.Frame)
		if err != nil {
			return
		}
		_ = m.checkKey(tmpl)
	})
}

// The first seed is a valid message whose key is its call's; changing any part of the call
// makes the key check refuse it.
func TestTaskMsg_CheckKey(t *testing.T) {
	frame, _ := abi.EncodeFrame([]any{55}, nil)
	tmpl, _ := abi.NewTemplate(frame)
	var sum [32]byte
	sum[0] = 0xc5
	key := abi.TaskKey(sum, "inc", 1, tmpl)
	good := taskMsg{ID: "a", Key: key[:], Module: "c5" + "00000000000000000000000000000000000000000000000000000000000000", ModName: "seed", Func: "inc", NOutput: 1, Frame: frame}
	b, _ := msgpack.Marshal(&good)
	m, err := decodeTask(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.checkKey(tmpl); err != nil {
		t.Fatal(err)
	}
	other, _ := abi.EncodeFrame([]any{999}, nil)
	otherTmpl, _ := abi.NewTemplate(other)
	for name, change := range map[string]func(m *taskMsg){
		"function": func(m *taskMsg) { m.Func = "dec" },
		"outputs":  func(m *taskMsg) { m.NOutput = 2 },
		"module":   func(m *taskMsg) { m.Module = "c6" + m.Module[2:] },
	} {
		m := good
		change(&m)
		if err := m.checkKey(tmpl); err == nil {
			t.Errorf("with another %s: accepted", name)
		}
	}
	if err := good.checkKey(otherTmpl); err == nil {
		t.Error("with other arguments: accepted")
	}

	for _, c := range []struct {
		change func(m *taskMsg)
		want   string
	}{
		{func(m *taskMsg) { m.Key = m.Key[:4] }, "key of 4 bytes, want 16"},
		{func(m *taskMsg) { m.Module = "C5" + m.Module[2:] }, `module "C5` + good.Module[2:] + `" is not a SHA-256 in lowercase hex`},
		{func(m *taskMsg) { m.Func = "" }, "no function"},
		{func(m *taskMsg) { m.NOutput = 0 }, "n_output 0 is outside 1 to 1048576"},
		{func(m *taskMsg) { m.Timeout = -1 }, "negative timeout -1"},
		{func(m *taskMsg) { m.Depth = -1 }, "negative nesting depth -1"},
		{func(m *taskMsg) { m.MaxTasks = -1 }, "negative limits: max depth 0, max tasks -1"},
		{func(m *taskMsg) { m.FrameRef = "x" }, "both an inline argument frame and a reference to one"},
	} {
		m := good
		c.change(&m)
		b, _ := msgpack.Marshal(&m)
		if _, err := decodeTask(b); err == nil || err.Error() != c.want {
			t.Errorf("decodeTask = %v, want %q", err, c.want)
		}
	}
}

// A message whose string or binary header claims gigabytes it does not hold is refused
// without allocating them: a worker must not run out of memory on twelve bytes.
func TestTaskMsg_HugeLengthAllocatesNothing(t *testing.T) {
	for _, b := range [][]byte{
		{0x81, 0xa3, 'k', 'e', 'y', 0xc6, 0xff, 0xff, 0xff, 0xff},     // key: bin 32, 4 GiB
		{0x81, 0xa2, 'f', 'n', 0xdb, 0xdb, 0xdb, 0xdb, 0xdb},          // fn: str 32, 3.7 GiB
		{0x81, 0xa1, 'z', 0xdd, 0xff, 0xff, 0xff, 0xff},               // unknown field: array 32
		{0x81, 0xa5, 'f', 'r', 'a', 'm', 'e', 0xc6, 0x7f, 0, 0, 0, 1}, // frame: 2 GiB
	} {
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		_, err := decodeTask(b)
		goruntime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("decodeTask(% x) accepted it", b)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("decodeTask(% x) allocated %d bytes before failing with %v", b, n, err)
		}
		var d doneMsg
		goruntime.ReadMemStats(&before)
		err = abi.Unmarshal(b, &d)
		goruntime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; err == nil || n > 1<<20 {
			t.Errorf("decoding % x as a completion: err %v after allocating %d bytes", b, err, n)
		}
	}
}
