package replay_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/replay"
	"github.com/mrun-dev/mrun/runtime"
)

// sample is a bundle with every field set.
func sample() *replay.Bundle {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	var key abi.Key
	key[0], key[15] = 0xab, 0xcd
	return &replay.Bundle{
		Key: key, Module: "m", Function: "f", NOutput: 2,
		Frame: []byte{0x92, 0x90, 0x80},
		Modules: []replay.Module{{
			Name: "m", SHA256: sha256.Sum256(wasm), Size: len(wasm), Bytes: wasm,
			Config: runtime.ModuleConfig{
				Env: map[string]string{"K": "V"}, Mounts: []runtime.Mount{{HostDir: "/srv/data", GuestPath: "/data"}},
				Deterministic: true, MemoryLimitPages: 16, MaySpawn: []string{"other"},
			},
		}},
		Limits:  replay.Limits{MemoryLimitPages: 32, MaxResult: 1 << 20, MaxOutput: 4096, MaxDepth: 5, MaxTasks: 50, MaxWaiting: 3, MaxArgument: 1 << 10, Timeout: 1500 * time.Millisecond},
		Outcome: replay.Outcome{Failed: true, Err: "f (module m): boom", Stdout: []byte("out\n"), Stderr: []byte("err\n"), Effects: runtime.ReadClock | runtime.ReadFile},
	}
}

func TestWriteRead_roundTrip(t *testing.T) {
	for _, failed := range []bool{true, false} {
		b := sample()
		if !failed {
			b.Outcome = replay.Outcome{Result: []byte{0x92, 0x01, 0x02}, Stdout: []byte("x")}
		}
		dir := filepath.Join(t.TempDir(), "bundle")
		if err := replay.Write(dir, b); err != nil {
			t.Fatal(err)
		}
		got, err := replay.Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("read back\n%+v\nwrote\n%+v", got, b)
		}
	}
}

// writeSample writes sample() to a new directory and returns it.
func writeSample(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := replay.Write(dir, sample()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// editManifest rewrites bundle.json of dir with edit applied to its decoded form.
func editManifest(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "bundle.json")
	js, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	js, _ = json.Marshal(m)
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRead_corruptBundles(t *testing.T) {
	sum := sha256.Sum256([]byte("\x00asm\x01\x00\x00\x00"))
	for _, c := range []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		want    string // after "read bundle DIR: "
	}{
		{"no manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "bundle.json")) },
			"no bundle.json in it: not a replay bundle, or its writing was cut short"},
		{"manifest not JSON", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "bundle.json"), []byte("{\"format\":"), 0o644)
		},
			"bundle.json: not valid JSON: unexpected EOF"},
		{"other format", func(t *testing.T, dir string) { editManifest(t, dir, func(m map[string]any) { m["format"] = "zip" }) },
			`bundle.json: format is "zip", not "mrun-replay-bundle": not a replay bundle`},
		{"newer version", func(t *testing.T, dir string) { editManifest(t, dir, func(m map[string]any) { m["version"] = 2 }) },
			"bundle.json: format version 2 is newer than this mrun reads (1): replay it with the mrun that wrote it, or a newer one"},
		{"bad key", func(t *testing.T, dir string) { editManifest(t, dir, func(m map[string]any) { m["key"] = "xyz" }) },
			`bundle.json: key "xyz": `},
		{"n_output 0", func(t *testing.T, dir string) { editManifest(t, dir, func(m map[string]any) { m["n_output"] = 0 }) },
			"bundle.json: n_output is 0: want 1 to 16777215"},
		{"called module missing", func(t *testing.T, dir string) { editManifest(t, dir, func(m map[string]any) { m["module"] = "gone" }) },
			`bundle.json: module "gone", the called function's, is not in modules`},
		{"bad timeout", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["limits"].(map[string]any)["timeout"] = "-1s" })
		}, `bundle.json: limits: timeout "-1s" is not a positive duration such as 1.5s`},
		{"no frame", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "args.msgpack")) },
			"open DIR/args.msgpack: no such file or directory"},
		{"module bytes missing", func(t *testing.T, dir string) { os.RemoveAll(filepath.Join(dir, "modules")) },
			fmt.Sprintf("module m: open DIR/modules/%x.wasm: no such file or directory", sum)},
		{"module bytes corrupt", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "modules", fmt.Sprintf("%x.wasm", sum)), []byte("\x00asm"), 0o644)
		}, fmt.Sprintf("module m: modules/%x.wasm is corrupt: its SHA-256 is %x", sum, sha256.Sum256([]byte("\x00asm")))},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeSample(t)
			c.corrupt(t, dir)
			_, err := replay.Read(dir)
			want := "read bundle " + dir + ": " + strings.ReplaceAll(c.want, "DIR", dir)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Read: %v\nwant %s", err, want)
			}
		})
	}
	t.Run("not a directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nothing")
		_, err := replay.Read(path)
		want := "read bundle " + path + ": not a directory: give the directory mrun printed for the failed task"
		if err == nil || err.Error() != want {
			t.Errorf("Read: %v\nwant %s", err, want)
		}
	})
}
