package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag/cache"
	"github.com/mrun-dev/mrun/graphfile"
	"github.com/vmihailenco/msgpack/v5"
)

// resultCache opens the result cache of --result-cache, once, unless --no-cache is given or the
// calls run on a cluster (whose store keeps results itself). A cache that cannot be opened is
// reported and the work goes on without it.
func (x *execution) resultCache() *cache.Cache {
	if x.cacheOpened {
		return x.cache
	}
	x.cacheOpened = true
	if x.opts.noCache || x.opts.resultCache == "" || x.opts.cluster.url != "" {
		return nil
	}
	c, err := cache.Open(x.opts.resultCache, cache.Options{})
	if err != nil {
		fmt.Fprintf(x.io.Err, "mrun: warning: no result cache: %v\n", err)
		return nil
	}
	x.cache = c
	return c
}

// planKey derives the key under which the result cache keeps the keys of a graph file's
// outputs: from the file's bytes and each module's identity (its bytes and capabilities, the
// memory limit included), which is all that decides the outputs' keys. With it, a graph whose
// outputs are all cached is answered without spawning its calls, which for a 100,000-call
// graph is most of the work left once no call runs. ok is false when there is no cache.
func (x *execution) planKey(g *graphfile.Graph, files []moduleFile) (k abi.Key, ok bool, err error) {
	if x.resultCache() == nil {
		return abi.Key{}, false, nil
	}
	h := sha256.New()
	h.Write([]byte("mrun/graph-outputs/v2\x00")) // v2: tensors print as {"$tensor": …}
	sum := g.Sum()
	h.Write(sum[:])
	for i, m := range g.Modules() {
		id, err := files[i].identity() // native.go
		if err != nil {
			return abi.Key{}, false, g.Errorf(m.Pos, "module %q: %v", m.Name, err)
		}
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(m.Name))))
		h.Write([]byte(m.Name))
		h.Write(id[:])
	}
	copy(k[:], h.Sum(nil))
	return k, true, nil
}

// planEntry is what the result cache keeps under a graph's plan key: the keys of the values
// its outputs are made of, and the outputs as printed. The keys tie the entry to those values:
// once any of them is trimmed away, the entry is not used either.
type planEntry struct {
	Keys [][]byte `msgpack:"keys"`
	JSON []byte   `msgpack:"json"`
}

// cachedOutputs returns the outputs of the graph with plan key plan, as printed, if the result
// cache holds them and the values they are made of; else nil.
func (x *execution) cachedOutputs(plan abi.Key, ok bool) []byte {
	if !ok || x.opts.trace != "" { // a trace is asked for: run the graph
		return nil
	}
	c := x.resultCache()
	b, hit := c.Get(plan)
	if !hit {
		return nil
	}
	var e planEntry
	if abi.Unmarshal(b, &e) != nil || !json.Valid(e.JSON) {
		return nil
	}
	for _, k := range e.Keys {
		if len(k) != abi.KeySize {
			return nil
		}
		if _, hit := c.Get(abi.Key(k)); !hit {
			return nil
		}
	}
	if x.opts.progress {
		fmt.Fprintf(x.io.Err, "outputs from the result cache: no call ran\n")
	}
	return e.JSON
}

// keepOutputs records out, the graph's outputs, under plan once the result cache holds all the
// values they are made of: only then were they all pure, and a later run may skip the graph.
func (x *execution) keepOutputs(g *graphfile.Graph, plan abi.Key, ok bool, out *jsonObject) {
	if !ok {
		return
	}
	c := x.resultCache()
	objs := g.OutputObjects()
	e := planEntry{Keys: make([][]byte, len(objs))}
	for i, o := range objs {
		k := o.Key()
		if _, hit := c.Get(k); !hit {
			return
		}
		e.Keys[i] = k[:]
	}
	var buf bytes.Buffer
	if writeJSON(&buf, out) != nil {
		return
	}
	e.JSON = buf.Bytes()
	b, err := msgpack.Marshal(&e)
	if err != nil {
		return
	}
	c.Put(plan, b)
}
