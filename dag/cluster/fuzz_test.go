package cluster

import (
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
