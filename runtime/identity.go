package runtime

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"path"
	"path/filepath"
	"slices"
)

// identityDomain starts the hashed encoding of a module's identity, so that it can never equal
// the SHA-256 of some module's bytes by construction, and so that a later encoding can be told
// apart by its version.
const identityDomain = "mrun module identity v1\x00"

// Identity returns what identifies the module's calls: two modules with equal Identity give
// equal results for equal calls, so a task key derived from it (with the function and the
// arguments) may be shared and cached. It is the SHA-256 of the module's bytes (Sum) when the
// module was loaded with the default sandbox: no Env, no Mounts, not Deterministic and no
// MemoryLimitPages of its own. Otherwise it is the SHA-256 of a fixed domain string, Sum, and a
// canonical encoding of what in its ModuleConfig can change a result: Env sorted by name, the
// Mounts in order (each host directory made absolute and clean, and its guest path), whether it
// is Deterministic, and MemoryLimitPages. MaySpawn is not part of it: it allows calls, it does
// not change what they return; neither are the runtime's own limits (Config), which a cluster
// worker sets for itself while keys must agree across workers: when a memory limit can change
// what a call returns (a guest that checks whether memory.grow succeeded), give it as the
// module's MemoryLimitPages, as the mrun command does with --memory-limit.
//
// Identity equals Sum exactly for modules without capabilities, so keys derived from Sum by
// those who only have the bytes (cluster workers) agree with keys derived from Identity.
func (m *Module) Identity() [32]byte { return m.identity }

// IdentityHex returns Identity as 64 lowercase hex digits.
func (m *Module) IdentityHex() string { return hex.EncodeToString(m.identity[:]) }

// IdentityOf returns the Identity a module of bytes wasm loaded with mc has, on a runtime
// without a memory limit of its own, without compiling it.
func IdentityOf(wasm []byte, mc ModuleConfig) ([32]byte, error) {
	if err := mc.check(); err != nil {
		return [32]byte{}, err
	}
	return identity(sha256.Sum256(wasm), mc)
}

// identity computes Module.Identity for the bytes of SHA-256 sum loaded with mc.
func identity(sum [32]byte, mc ModuleConfig) ([32]byte, error) {
	if len(mc.Env) == 0 && len(mc.Mounts) == 0 && !mc.Deterministic && mc.MemoryLimitPages == 0 {
		return sum, nil
	}
	h := sha256.New()
	h.Write([]byte(identityDomain))
	h.Write(sum[:])
	writeUint32(h, uint32(len(mc.Env)))
	for _, k := range slices.Sorted(maps.Keys(mc.Env)) {
		writeString(h, k)
		writeString(h, mc.Env[k])
	}
	writeUint32(h, uint32(len(mc.Mounts)))
	for _, mt := range mc.Mounts {
		dir, err := filepath.Abs(mt.HostDir)
		if err != nil {
			return [32]byte{}, fmt.Errorf("mount %s: %w", mt.HostDir, err)
		}
		writeString(h, dir)
		writeString(h, path.Clean(mt.GuestPath))
	}
	det := byte(0)
	if mc.Deterministic {
		det = 1
	}
	h.Write([]byte{det})
	writeUint32(h, mc.MemoryLimitPages)
	var id [32]byte
	h.Sum(id[:0])
	return id, nil
}

// writeUint32 writes v big-endian.
func writeUint32(h hash.Hash, v uint32) { h.Write(binary.BigEndian.AppendUint32(nil, v)) }

// writeString writes s prefixed with its length, so that no two lists of strings encode alike.
func writeString(h hash.Hash, s string) {
	writeUint32(h, uint32(len(s)))
	h.Write([]byte(s))
}
