package cluster_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// startAuthCluster starts a cluster whose server gives out keys (in cfg.CredsDir, or a new
// directory), with workers of 2 slots each.
func startAuthCluster(t *testing.T, workers int, cfg cluster.ServerConfig, opts cluster.Options) *testCluster {
	t.Helper()
	if cfg.CredsDir == "" {
		cfg.CredsDir = filepath.Join(t.TempDir(), "creds")
	}
	return startClusterWith(t, workers, 2, cfg, opts)
}

// raw connects a plain nats.go client with role r's key; refusals of the server arrive on
// the returned channel.
func (ac *testCluster) raw(t *testing.T, r cluster.Role) (*nats.Conn, jetstream.JetStream, chan error) {
	t.Helper()
	key, err := nats.NkeyOptionFromSeed(cluster.KeyFile(ac.creds, r))
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan error, 16)
	nc, err := nats.Connect(ac.srv.URL(), key, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case refused <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, refused
}

// refusal runs op and returns the server's refusal of it: a forbidden request is not
// answered, so op is cut short when the refusal arrives.
func refusal(t *testing.T, refused chan error, op func(ctx context.Context) error) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	select {
	case err := <-refused:
		cancel()
		<-done
		return err.Error()
	case err := <-done:
		t.Fatalf("the server allowed it (error: %v)", err)
	}
	return ""
}

// purge purges a stream: the server answers the lookup, and refuses the purge.
func purge(ctx context.Context, js jetstream.JetStream, name string) error {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return err
	}
	return s.Purge(ctx)
}

// An honest client and worker run the seed graph, nested calls, a large argument frame and a
// large value on a cluster with credentials, and a client may read what it needs.
func TestAuthHonestRoles(t *testing.T) {
	ac := startAuthCluster(t, 2, cluster.ServerConfig{}, cluster.Options{AckWait: 3 * time.Second, InlineMax: 1 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := dag.New(dag.Config{Slots: 256, Executor: ac.conn.Executor(), Store: ac.conn.Store()})
	inc, sumAll, triage := ac.fn(t, seed, "inc"), ac.fn(t, seed, "sum_all"), ac.fn(t, seed, "triage")
	incs := make(dag.Tuple, 10)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sumAll, incs)
	parts := dag.SpawnN(triage, 2, []float64{0.4, 0.7, 0.2, 0.8})
	sa, sb := dag.Spawn(sumAll, parts[0]), dag.Spawn(sumAll, parts[1])
	driver := dag.Spawn(ac.fn(t, seed, "driver")) // nested: the worker submits calls too
	all := append(dag.Tuple{total, sa, sb, driver}, incs...)
	if err := eng.Execute(ctx, all...); err != nil {
		t.Fatal(err)
	}
	got, err := eng.FetchAll(ctx, total, sa, sb, driver)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(55), 0.6000000000000001, 1.5, []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	// Through the Object Stores: a 5 KB frame (FrameStore) and a 160 KB value (ValueStore).
	const c = "../../testdata/c/conformance.wasm"
	cinc := ac.fn(t, c, "inc")
	cincs := make([]*dag.Object, 300)
	for i := range cincs {
		cincs[i] = dag.Spawn(cinc, i)
	}
	ctotal := dag.Spawn(ac.fn(t, c, "sum_all"), cincs)
	m := dag.Spawn(ac.fn(t, c, "rand_matrix"), 200, 100)
	if err := eng.Execute(ctx, ctotal, m); err != nil {
		t.Fatal(err)
	}
	if got, err := eng.FetchAll(ctx, ctotal, m); err != nil || got[0] != int64(45150) || fmt.Sprint(got[1])[:16] != "float64[200 100]" {
		t.Fatalf("sum_all of 300 incs, rand_matrix = %.40v, %v", got, err)
	}
	if ws, err := ac.conn.Workers(ctx); err != nil || len(ws) != 2 {
		t.Fatalf("a client lists %d workers, error %v", len(ws), err)
	}
}

// What a client and a worker may not do, the server refuses, naming what was refused; the
// results and the queue stay as they were.
func TestAuthRefusals(t *testing.T) {
	ac := startAuthCluster(t, 1, cluster.ServerConfig{}, cluster.Options{AckWait: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := dag.New(dag.Config{Executor: ac.conn.Executor(), Store: ac.conn.Store()})
	const c = "../../testdata/c/conformance.wasm"
	two := dag.Spawn(ac.fn(t, c, "inc"), 1)
	if err := eng.Execute(ctx, two); err != nil {
		t.Fatal(err)
	}
	key := two.Key().String()
	nobody := dag.Spawn(ac.fn(t, c, "inc"), 77).Key().String() // a result nobody computed yet

	_, js, refused := ac.raw(t, cluster.RoleClient)
	results, err := js.KeyValue(ctx, cluster.ResultBucket)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := js.Stream(ctx, cluster.TaskStream)
	if err != nil {
		t.Fatal(err)
	}
	client := []struct {
		what string
		op   func(ctx context.Context) error
		want string
	}{
		{"overwrite a result", func(ctx context.Context) error { _, err := results.Put(ctx, key, []byte("\x00poisoned")); return err },
			`Permissions Violation for Publish to "$KV.mrun_results.` + key + `"`},
		{"pre-create a result", func(ctx context.Context) error {
			_, err := results.Create(ctx, nobody, []byte("\x00\xcd\x05\x39"))
			return err
		},
			`Permissions Violation for Publish to "$KV.mrun_results.` + nobody + `"`},
		{"purge a result", func(ctx context.Context) error { return results.Purge(ctx, key) },
			`Permissions Violation for Publish to "$KV.mrun_results.` + key + `"`},
		{"purge the results", func(ctx context.Context) error { return purge(ctx, js, "KV_"+cluster.ResultBucket) },
			`Permissions Violation for Publish to "$JS.API.STREAM.PURGE.KV_mrun_results"`},
		{"write a large value", func(ctx context.Context) error {
			_, err := js.Publish(ctx, "$O."+cluster.ValueStore+".C.x", []byte("poisoned"))
			return err
		}, `Permissions Violation for Publish to "$O.mrun_values.C.x"`},
		{"purge the task stream", func(ctx context.Context) error { return tasks.Purge(ctx) },
			`Permissions Violation for Publish to "$JS.API.STREAM.PURGE.MRUN_TASKS"`},
		{"delete the task stream", func(ctx context.Context) error { return js.DeleteStream(ctx, cluster.TaskStream) },
			`Permissions Violation for Publish to "$JS.API.STREAM.DELETE.MRUN_TASKS"`},
		{"take a call", func(ctx context.Context) error {
			cons, err := js.Consumer(ctx, cluster.TaskStream, cluster.WorkerGroup)
			if err != nil {
				return err
			}
			_, err = cons.Next(jetstream.FetchMaxWait(5 * time.Second))
			return err
		}, `Permissions Violation for Publish to "$JS.API.CONSUMER.MSG.NEXT.MRUN_TASKS.mrun-workers"`},
		{"report a call done", func(ctx context.Context) error {
			_, err := js.Publish(ctx, "mrun.done.x", []byte("x"))
			return err
		}, `Permissions Violation for Publish to "mrun.done.x"`},
	}
	for _, tt := range client {
		if got := refusal(t, refused, tt.op); got != "nats: permissions violation: "+tt.want {
			t.Errorf("a client may not %s: got %q, want %q", tt.what, got, tt.want)
		}
	}

	_, wjs, wrefused := ac.raw(t, cluster.RoleWorker)
	worker := []struct {
		what string
		op   func(ctx context.Context) error
		want string
	}{
		{"purge the task stream", func(ctx context.Context) error { return purge(ctx, wjs, cluster.TaskStream) },
			`Permissions Violation for Publish to "$JS.API.STREAM.PURGE.MRUN_TASKS"`},
		{"purge the results", func(ctx context.Context) error { return purge(ctx, wjs, "KV_"+cluster.ResultBucket) },
			`Permissions Violation for Publish to "$JS.API.STREAM.PURGE.KV_mrun_results"`},
		{"purge the large values", func(ctx context.Context) error { return purge(ctx, wjs, "OBJ_"+cluster.ValueStore) },
			`Permissions Violation for Publish to "$JS.API.STREAM.PURGE.OBJ_mrun_values"`},
		{"delete the results", func(ctx context.Context) error { return wjs.DeleteKeyValue(ctx, cluster.ResultBucket) },
			`Permissions Violation for Publish to "$JS.API.STREAM.DELETE.KV_mrun_results"`},
		{"upload a module", func(ctx context.Context) error {
			_, err := wjs.Publish(ctx, "$O."+cluster.ModuleStore+".C.x", []byte("x"))
			return err
		}, `Permissions Violation for Publish to "$O.mrun_modules.C.x"`},
	}
	for _, tt := range worker {
		if got := refusal(t, wrefused, tt.op); got != "nats: permissions violation: "+tt.want {
			t.Errorf("a worker may not %s: got %q, want %q", tt.what, got, tt.want)
		}
	}

	// Nothing changed: the result is the worker's, the other was never written.
	if got, err := eng.FetchAll(ctx, two); err != nil || got[0] != int64(2) {
		t.Fatalf("inc 1 = %v, %v", got, err)
	}
	if _, err := results.Get(ctx, nobody); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("inc 77's entry: %v", err)
	}
	if _, err := js.Stream(ctx, cluster.TaskStream); err != nil {
		t.Fatalf("the task stream: %v", err)
	}

	// Prune with a client's key is refused as soon as the server says so.
	pctx, stop := ac.conn.WatchDenied(ctx)
	defer stop()
	_, err = ac.conn.Prune(pctx, cluster.PruneOptions{})
	cause := context.Cause(pctx)
	if err == nil || !errors.Is(cause, cluster.ErrDenied) ||
		cause.Error() != `the server denied this to these credentials: permissions violation for publish to "$KV.mrun_results.`+key+`"` {
		t.Fatalf("prune as a client: %v (cause %v)", err, cause)
	}

	// The admin may.
	admin, err := cluster.Connect(ctx, ac.srv.URL(), cluster.Options{NkeyFile: cluster.KeyFile(ac.creds, cluster.RoleAdmin)})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if st, err := admin.Prune(ctx, cluster.PruneOptions{}); err != nil || st.Results != 1 {
		t.Fatalf("prune as the admin: %+v, %v", st, err)
	}
}

// A coordinator with a worker's key may submit calls (as a worker's guests do) but not upload
// a module: the call fails at once, saying so.
func TestAuthWorkerKeyUploads(t *testing.T) {
	ac := startAuthCluster(t, 0, cluster.ServerConfig{}, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := cluster.Connect(ctx, ac.srv.URL(), cluster.Options{NkeyFile: cluster.KeyFile(ac.creds, cluster.RoleWorker)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eng := dag.New(dag.Config{Executor: conn.Executor(), Store: conn.Store()})
	start := time.Now()
	err = eng.Execute(ctx, dag.Spawn(ac.fn(t, "../../testdata/wat/conformance.wasm", "inc"), 1))
	want := regexp.MustCompile(`^task inc \(key [0-9a-f]{32}, module conformance\): publish module conformance to mrun_modules: ` +
		`the server denied this to these credentials: permissions violation for publish to "\$O\.mrun_modules\.C\.[0-9A-Za-z]+" \(a client's key may\)$`)
	if err == nil || !want.MatchString(err.Error()) || !errors.Is(err, cluster.ErrDenied) {
		t.Fatalf("a call with a worker's key: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second { // not the publication's 5 s timeout
		t.Errorf("the refusal took %v", d)
	}
}

// Without credentials, or with a key the server does not know, Connect says the server
// refused them; a client that finds an asset missing says it may not create it.
func TestAuthConnectErrors(t *testing.T) {
	ac := startAuthCluster(t, 0, cluster.ServerConfig{}, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	url := ac.srv.URL()
	stranger := filepath.Join(t.TempDir(), "stranger.nk")
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	if err := os.WriteFile(stranger, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []cluster.Options{{}, {NkeyFile: stranger}} {
		_, err := cluster.Connect(ctx, url, opts)
		if want := "cluster: connect to " + url + ": the server refused these credentials (nats: authorization violation)"; err == nil || err.Error() != want || !errors.Is(err, cluster.ErrAuth) {
			t.Errorf("Connect with %+v: %v, want %q", opts, err, want)
		}
	}
	_, err := cluster.Connect(ctx, url, cluster.Options{NkeyFile: filepath.Join(t.TempDir(), "missing.nk")})
	if err == nil || !strings.HasPrefix(err.Error(), "cluster: connect to "+url+": nkey: open ") {
		t.Errorf("Connect with a missing key file: %v", err)
	}

	// The admin removes the frame store: a client cannot make it again.
	_, js, _ := ac.raw(t, cluster.RoleAdmin)
	if err := js.DeleteObjectStore(ctx, cluster.FrameStore); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = cluster.Connect(ctx, url, cluster.Options{NkeyFile: cluster.KeyFile(ac.creds, cluster.RoleClient)})
	want := "cluster: set up JetStream on " + url + ": object store mrun_frames: it does not exist, and these credentials may not create it (start the server with 'mrun cluster up', or connect once with the admin's): " +
		`the server denied this to these credentials: permissions violation for publish to "$JS.API.STREAM.CREATE.OBJ_mrun_frames"`
	if err == nil || err.Error() != want || !errors.Is(err, cluster.ErrDenied) {
		t.Fatalf("Connect without the frame store:\n got %v\nwant %s", err, want)
	}
	if d := time.Since(start); d > 4*time.Second { // not the request's 5 s timeout
		t.Errorf("the refusal took %v", d)
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://ann:s3cret@10.0.0.5:4222", "nats://ann:xxxxx@10.0.0.5:4222"},
		{"nats://s3cret@10.0.0.5:4222", "nats://xxxxx@10.0.0.5:4222"},
		{"tls://ann:s3cret@a:4222,nats://b:4222,nats://bob:pw@c:4222", "tls://ann:xxxxx@a:4222,nats://b:4222,nats://bob:xxxxx@c:4222"},
		{"nats://ann:s3%cret@host", "nats://xxxxx@host"},
		{"ann:s3cret@host:4222", "xxxxx@host:4222"},
		{"", ""},
	} {
		if got := cluster.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A server with TLS and client certificates admits a client that trusts its authority and
// shows a certificate it signed, and no other.
func TestAuthTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := writeCert(t, dir, "ca", nil, nil)
	writeCert(t, dir, "server", ca, caKey)
	writeCert(t, dir, "client", ca, caKey)
	f := func(name string) string { return filepath.Join(dir, name) }
	ac := startAuthCluster(t, 1, cluster.ServerConfig{TLSCert: f("server.pem"), TLSKey: f("server-key.pem"), TLSCA: f("ca.pem")},
		cluster.Options{TLSCA: f("ca.pem"), TLSCert: f("client.pem"), TLSKey: f("client-key.pem")})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	url := ac.srv.URL()
	if !strings.HasPrefix(url, "tls://127.0.0.1:") {
		t.Fatalf("URL = %s", url)
	}
	eng := dag.New(dag.Config{Executor: ac.conn.Executor(), Store: ac.conn.Store()})
	two := dag.Spawn(ac.fn(t, "../../testdata/c/conformance.wasm", "inc"), 1)
	if err := eng.Execute(ctx, two); err != nil {
		t.Fatal(err)
	}
	if got, err := eng.FetchAll(ctx, two); err != nil || got[0] != int64(2) {
		t.Fatalf("inc 1 over TLS = %v, %v", got, err)
	}
	client := cluster.KeyFile(ac.creds, cluster.RoleClient)
	// Without a client certificate: TLS 1.3 completes the handshake before the server checks
	// it, so the client sees either the server's alert or the connection closing.
	_, err := cluster.Connect(ctx, url, cluster.Options{NkeyFile: client, TLSCA: f("ca.pem")})
	if err == nil || !strings.HasPrefix(err.Error(), "cluster: connect to "+url+": ") ||
		!strings.Contains(err.Error(), "tls: certificate required") && !strings.Contains(err.Error(), "connection closed by remote after TLS handshake") {
		t.Errorf("Connect without a client certificate: %v", err)
	}
	_, err = cluster.Connect(ctx, url, cluster.Options{NkeyFile: client, TLSCert: f("client.pem"), TLSKey: f("client-key.pem")})
	if want := "cluster: connect to " + url + ": nats: tls error: tls: failed to verify certificate: x509: certificate signed by unknown authority"; err == nil || err.Error() != want {
		t.Errorf("Connect without the authority: %v, want %s", err, want)
	}
}

// writeCert writes name.pem and name-key.pem into dir: a certificate authority when parent
// is nil, else a certificate for 127.0.0.1 it signs.
func writeCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mrun test " + name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// A server with credentials creates the assets as ServerConfig.Assets says, and a server
// restarted on the same directories keeps its keys, so its clients carry on.
func TestAuthServerAssetsAndRestart(t *testing.T) {
	cfg := cluster.ServerConfig{Port: -1, StoreDir: t.TempDir(), CredsDir: filepath.Join(t.TempDir(), "creds"),
		Assets: cluster.Options{AckWait: 7 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var seeds []string
	for range 2 {
		srv, err := cluster.StartServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(cluster.KeyFile(cfg.CredsDir, cluster.RoleClient))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(b))
		ac := &testCluster{srv: srv, creds: cfg.CredsDir}
		_, js, _ := ac.raw(t, cluster.RoleClient)
		cons, err := js.Consumer(ctx, cluster.TaskStream, cluster.WorkerGroup)
		if err != nil {
			t.Fatal(err)
		}
		if got := cons.CachedInfo().Config.AckWait; got != 7*time.Second {
			t.Fatalf("the workers' consumer has AckWait %v, want 7s", got)
		}
		srv.Shutdown()
	}
	if seeds[0] != seeds[1] {
		t.Fatal("the restarted server wrote a new client key")
	}
}

// Prune removes the argument frames a stopped coordinator left in FrameStore, with the
// large values.
func TestPruneLeftoverFrames(t *testing.T) {
	ac := startAuthCluster(t, 0, cluster.ServerConfig{}, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, js, _ := ac.raw(t, cluster.RoleClient)
	frames, err := js.ObjectStore(ctx, cluster.FrameStore)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := frames.PutBytes(ctx, "frame-left-behind", make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	admin, err := cluster.Connect(ctx, ac.srv.URL(), cluster.Options{NkeyFile: cluster.KeyFile(ac.creds, cluster.RoleAdmin)})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if st, err := admin.Prune(ctx, cluster.PruneOptions{}); err != nil || st != (cluster.PruneStats{Values: 1, ValueBytes: 1000}) {
		t.Fatalf("prune: %+v, %v", st, err)
	}
	if _, err := frames.GetInfo(ctx, "frame-left-behind"); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("the frame after the prune: %v", err)
	}
}
