package cache_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag/cache"
)

func Example() {
	dir, err := os.MkdirTemp("", "results")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// One process stores the result of a call under the call's key...
	key, _ := abi.ParseKey("60721b16d0071d77dd499fbd10c89df7")
	c, err := cache.Open(dir, cache.Options{Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	c.Put(key, []byte{0x2a}) // the MessagePack encoding of 42

	// ...and a later one finds it there instead of running the call.
	later, err := cache.Open(dir, cache.Options{Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	v, ok := later.Get(key)
	fmt.Printf("%#x %v\n", v, ok)
	st, _ := later.Stats()
	fmt.Printf("%d entry, %d bytes on disk\n", st.Entries, st.Bytes)
	// Output:
	// 0x2a true
	// 1 entry, 41 bytes on disk
}

func ExampleCache_Trim() {
	dir, err := os.MkdirTemp("", "results")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	c, err := cache.Open(dir, cache.Options{MaxAge: 24 * time.Hour, ManualTrim: true})
	if err != nil {
		log.Fatal(err)
	}
	c.Put(abi.Key{1}, []byte{0x01})
	c.Put(abi.Key{2}, []byte{0x02})

	// Two days later, neither entry has been used for longer than MaxAge.
	st, err := c.Trim(time.Now().Add(48 * time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("removed %d entries (%d bytes), kept %d\n", st.Removed, st.RemovedBytes, st.Kept)
	// Output: removed 2 entries (82 bytes), kept 0
}
