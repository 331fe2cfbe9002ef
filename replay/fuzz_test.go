package replay

import (
	"testing"
)

// FuzzParseManifest feeds the manifest reader arbitrary bytes: it must return a bundle or an
// error, never panic, and a bundle it accepts names a function, a called module among its
// modules, and at least one output.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"mrun-replay-bundle","version":1,"key":"ab0000000000000000000000000000cd","module":"m","function":"f","n_output":1,` +
		`"modules":[{"name":"m","sha256":"0000000000000000000000000000000000000000000000000000000000000000","size":8,"env":{"K":"V"},` +
		`"mounts":[{"host":"/srv","guest":"/data"}],"deterministic":true}],"limits":{"timeout":"1s"},"outcome":{"failed":true,"error":"x","effects":["clock"]}}`))
	f.Add([]byte(`{"format":"mrun-replay-bundle","version":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, js []byte) {
		p, err := parseManifest(js)
		if err != nil {
			return
		}
		b := p.Bundle
		found := false
		for _, m := range b.Modules {
			found = found || m.Name == b.Module
		}
		if b.Function == "" || !found || b.NOutput < 1 {
			t.Errorf("accepted a bundle of %q.%q with n_output %d, modules %v", b.Module, b.Function, b.NOutput, b.Modules)
		}
	})
}
